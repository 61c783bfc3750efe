// external/lubdub: a cluster-glue external STONITH plugin for the lubdub
// device, so Heartbeat-era and Pacemaker clusters (stonith:external/lubdub
// through fence_legacy) can fence through it. cluster-glue runs it as
//   lubdub getconfignames | getinfo-devid | getinfo-devname | getinfo-devdescr
//        | getinfo-devurl | getinfo-xml | gethosts | status | reset HOST | on HOST | off HOST
// with the parameters in the environment: serial_port (the device's host
// port tty) and authkeys (the Heartbeat authkeys file whose active sha1/md5
// key signs requests); optionally key (INDEX METHOD SECRET instead of
// authkeys), baud and client_name. Exit 0 is success; a failed reset exits
// 5 (S_RESETFAIL). off is read back before it counts.

import { hostname } from "node:os";
import { type DeviceKey } from "@lubdub/protocol";
import { HostDeviceClient } from "../device/client.js";
import { SerialDeviceLink } from "../device/serial-link.js";
import { loadKey } from "./fence-lubdub.js";

export const CONFIG_NAMES = ["serial_port", "authkeys"];
const S_OK = 0;
const S_FAIL = 1;
const S_RESETFAIL = 5;

const INFO_XML = `<parameters>
<parameter name="serial_port" unique="1" required="1">
<content type="string" />
<shortdesc lang="en">Serial port</shortdesc>
<longdesc lang="en">The tty of the host port the lubdub device is on (e.g. /dev/ttyUSB0)</longdesc>
</parameter>
<parameter name="authkeys" unique="0" required="1">
<content type="string" default="/etc/ha.d/authkeys" />
<shortdesc lang="en">authkeys file</shortdesc>
<longdesc lang="en">Heartbeat authkeys file; its active sha1 or md5 key signs the requests to the device</longdesc>
</parameter>
<parameter name="key" unique="0" required="0">
<content type="string" />
<shortdesc lang="en">Key</shortdesc>
<longdesc lang="en">The cluster key instead of an authkeys file: INDEX METHOD SECRET</longdesc>
</parameter>
<parameter name="baud" unique="0" required="0">
<content type="integer" default="19200" />
<shortdesc lang="en">Baud rate</shortdesc>
<longdesc lang="en">Baud rate of the serial port</longdesc>
</parameter>
</parameters>
`;

export interface PluginIo {
  env: NodeJS.ProcessEnv;
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function externalLubdub(argv: string[], io: PluginIo): Promise<number> {
  const [op, host] = argv;
  const env = io.env;
  switch (op) {
    case "getconfignames":
      io.out(CONFIG_NAMES.join(" ") + "\n");
      return S_OK;
    case "getinfo-devid":
      io.out("lubdub device\n");
      return S_OK;
    case "getinfo-devname":
      io.out(`lubdub device ${env["serial_port"] ?? ""}\n`);
      return S_OK;
    case "getinfo-devdescr":
      io.out("The lubdub device: a board on the serial ports of a two-node cluster that relays heartbeats, watches both hosts and switches their power. Requests are signed with the cluster key; the device arbitrates between two hosts fencing each other.\n");
      return S_OK;
    case "getinfo-devurl":
      io.out("https://github.com/lubdub/lubdub\n");
      return S_OK;
    case "getinfo-xml":
      io.out(INFO_XML);
      return S_OK;
    case "gethosts":
    case "status":
    case "reset":
    case "on":
    case "off":
      break;
    default:
      io.err(`external/lubdub: unknown operation '${op ?? ""}'\n`);
      return S_FAIL;
  }
  if ((op === "reset" || op === "on" || op === "off") && !host) {
    io.err(`external/lubdub: ${op} needs a host name\n`);
    return S_FAIL;
  }
  const tty = env["serial_port"];
  if (!tty || !tty.startsWith("/")) {
    io.err("external/lubdub: serial_port is not set to a tty path\n");
    return S_FAIL;
  }
  const params: Record<string, string> = {};
  for (const n of ["authkeys", "key"]) if (env[n]) params[n] = env[n]!;
  const key = loadKey(params);
  if (typeof key === "string") {
    io.err(`external/lubdub: ${key}\n`);
    return S_FAIL;
  }
  let link: SerialDeviceLink;
  try {
    link = await SerialDeviceLink.open(tty, { baud: Number(env["baud"] ?? "19200") || 19200 });
  } catch (e) {
    io.err(`external/lubdub: cannot open ${tty}: ${(e as Error).message}\n`);
    return op === "reset" ? S_RESETFAIL : S_FAIL;
  }
  const client = new HostDeviceClient(link, key as DeviceKey, { name: env["client_name"] || hostname() });
  try {
    const st = await client.hello();
    if (!st.ok) {
      io.err(`external/lubdub: the device is not configured (${st.error ?? "no key"})\n`);
      return op === "reset" ? S_RESETFAIL : S_FAIL;
    }
    if (op === "status") {
      io.out(`lubdub device on ${tty}: ${st.outlets.length} outlets, boot ${st.boot ?? "?"}\n`);
      return S_OK;
    }
    if (op === "gethosts") {
      // cluster-glue splits this output at blanks: a name with a blank
      // ("Outlet 3", an unassigned outlet) cannot be a host and is left out.
      const names = [...new Set(st.outlets.map((o) => o.name.toLowerCase()).filter((n) => !/\s/.test(n)))];
      if (names.length === 0) return S_FAIL;
      io.out(names.join("\n") + "\n");
      return S_OK;
    }
    const action = op === "reset" ? "reboot" : op!;
    const r = await client.fence(host!, action, `external/lubdub ${op}`);
    if (!r.ok) {
      io.err(`external/lubdub: ${op} ${host}: ${r.error}\n`);
      return op === "reset" ? S_RESETFAIL : S_FAIL;
    }
    if (op === "off" || op === "on") {
      const back = await client.fence(host!, "status", `external/lubdub verify ${op}`);
      if (!back.ok || back.state !== op) {
        io.err(`external/lubdub: ${host} reads ${back.ok ? back.state : back.error} after ${op}\n`);
        return S_FAIL;
      }
    }
    io.out(`${host}: ${op} done (${r.state})\n`);
    return S_OK;
  } catch (e) {
    io.err(`external/lubdub: ${(e as Error).message}\n`);
    return op === "reset" ? S_RESETFAIL : S_FAIL;
  } finally {
    client.close();
    await link.close();
  }
}
