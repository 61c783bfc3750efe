// fence_lubdub: a fence agent (fence-agents API) for the lubdub device, so
// Pacemaker/Corosync clusters can fence through it. Run by the fencer with
// no arguments and name=value lines on stdin, or by hand with the matching
// options (-o ACTION, -n PLUG, --serial-port=TTY…).
//
// Actions: on, off, reboot, status, list, list-status, monitor, metadata,
// validate-all. Exit codes as fence-agents':
//   0 success (status: the plug is on)      2 status: the plug is off
//   1 generic failure (device unreachable, unknown plug, refused)
//   2 bad arguments (other actions)          3 the device refused our key
//   5 no answer in time                      6 / 7 state not ON / not OFF after switching
// A timeout is never a success; off is read back before it counts.
//
// The device is reached over its host port (serial_port), and requests are
// signed with the cluster key (the authkeys file's active entry, or key=).

import { readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { create } from "xmlbuilder2";
import { type DeviceKey, parseAuthkeys } from "@lubdub/protocol";
import { DeviceError, HostDeviceClient, type DeviceOutlet } from "../device/client.js";
import { SerialDeviceLink } from "../device/serial-link.js";

export const EC_OK = 0;
export const EC_GENERIC = 1;
export const EC_BAD_ARGS = 2;
export const EC_STATUS_OFF = 2;
export const EC_LOGIN_DENIED = 3;
export const EC_TIMED_OUT = 5;
export const EC_WAITING_ON = 6;
export const EC_WAITING_OFF = 7;

const ACTIONS = ["on", "off", "reboot", "status", "list", "list-status", "monitor", "metadata", "meta-data", "validate-all"] as const;
type Action = (typeof ACTIONS)[number];

interface ParamDef {
  name: string;
  getopt: string;
  /** Long option name(s) and short letter that set it on the command line. */
  long: string;
  short?: string;
  type: "string" | "boolean" | "integer" | "second" | "select";
  default?: string;
  options?: string[];
  required?: boolean;
  deprecated?: boolean;
  obsoletes?: string;
  /** For the metadata: which name this is an alias of (stdin value goes there). */
  aliasOf?: string;
  desc: string;
}

export const PARAMS: ParamDef[] = [
  { name: "action", getopt: "-o, --action=[action]", long: "action", short: "o", type: "string", default: "reboot", required: true, desc: "Fencing action" },
  { name: "port", getopt: "-n, --plug=[id]", long: "", type: "string", deprecated: true, aliasOf: "plug", desc: "Outlet number or node name on the device" },
  { name: "plug", getopt: "-n, --plug=[id]", long: "plug", short: "n", type: "string", obsoletes: "port", desc: "Outlet number or node name on the device" },
  { name: "serial_port", getopt: "--serial-port=[tty]", long: "serial-port", type: "string", required: true, desc: "The tty of the host port the device is on" },
  { name: "baud", getopt: "--baud=[rate]", long: "baud", type: "integer", default: "19200", desc: "Baud rate of the serial port" },
  { name: "authkeys", getopt: "--authkeys=[file]", long: "authkeys", type: "string", default: "/etc/ha.d/authkeys", desc: "Heartbeat authkeys file whose active sha1 or md5 key signs the requests" },
  { name: "key", getopt: "--key=[index method secret]", long: "key", type: "string", desc: "The cluster key instead of an authkeys file: INDEX METHOD SECRET (method sha1 or md5)" },
  { name: "client_name", getopt: "--client-name=[name]", long: "client-name", type: "string", desc: "Name this host gives the device (default: the host name)" },
  { name: "method", getopt: "-m, --method=[method]", long: "method", short: "m", type: "select", default: "onoff", options: ["onoff", "cycle"], desc: "Method to fence (onoff: off, verify, on; cycle: the device's own power cycle)" },
  { name: "delay", getopt: "--delay=[seconds]", long: "delay", type: "second", default: "0", desc: "Wait X seconds before fencing is started" },
  { name: "power_timeout", getopt: "--power-timeout=[seconds]", long: "power-timeout", type: "second", default: "20", desc: "Test X seconds for status change after ON/OFF" },
  { name: "separator", getopt: "-C, --separator=[char]", long: "separator", short: "C", type: "string", default: ",", desc: "Separator for CSV created by 'list' operation" },
  { name: "quiet", getopt: "-q, --quiet", long: "quiet", short: "q", type: "boolean", desc: "Disable logging to stderr" },
  { name: "verbose", getopt: "-v, --verbose", long: "verbose", short: "v", type: "boolean", desc: "Verbose mode" },
  { name: "debug", getopt: "-D, --debug-file=[debugfile]", long: "", type: "string", deprecated: true, aliasOf: "debug_file", desc: "Write debug information to given file" },
  { name: "debug_file", getopt: "-D, --debug-file=[debugfile]", long: "debug-file", short: "D", type: "string", obsoletes: "debug", desc: "Write debug information to given file" },
  { name: "version", getopt: "-V, --version", long: "version", short: "V", type: "boolean", desc: "Display version information and exit" },
  { name: "help", getopt: "-h, --help", long: "help", short: "h", type: "boolean", desc: "Display help and exit" },
];

const BOOL_TRUE = ["1", "yes", "on", "true"];

/** The metadata document (fence-agents' metadata.rng shape). */
export function metadataXml(): string {
  const root = create({ version: "1.0" }).ele("resource-agent", { name: "fence_lubdub", shortdesc: "Fence agent for the lubdub device" });
  root.ele("longdesc").txt("fence_lubdub switches the outlets of a lubdub device, a small board on the serial ports of a two-node cluster that relays heartbeats, watches both hosts and powers them. Requests are signed with the cluster's Heartbeat authkeys key and the device's per-port nonce; the device arbitrates when both hosts ask to fence each other.");
  root.ele("vendor-url").txt("https://github.com/lubdub/lubdub");
  const params = root.ele("parameters");
  for (const p of PARAMS) {
    const attrs: Record<string, string> = { name: p.name, unique: "0", required: p.required ? "1" : "0" };
    if (p.deprecated) attrs["deprecated"] = "1";
    if (p.obsoletes) attrs["obsoletes"] = p.obsoletes;
    const e = params.ele("parameter", attrs);
    e.ele("getopt", { mixed: p.getopt });
    const content = e.ele("content", p.default !== undefined ? { type: p.type, default: p.default } : { type: p.type });
    for (const o of p.options ?? []) content.ele("option", { value: o });
    e.ele("shortdesc", { lang: "en" }).txt(p.desc);
  }
  const actions = root.ele("actions");
  actions.ele("action", { name: "on", automatic: "0" });
  for (const a of ["off", "reboot", "status", "list", "list-status", "monitor", "metadata", "validate-all"]) actions.ele("action", { name: a });
  return root.end({ prettyPrint: true }) + "\n";
}

export interface Io {
  stdin: () => Promise<string>;
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Command-line options → parameters; null with an error text when they do not parse. */
export function parseArgv(argv: string[]): { params: Record<string, string> } | { error: string } {
  const params: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let def: ParamDef | undefined;
    let value: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const long = eq > 0 ? a.slice(2, eq) : a.slice(2);
      def = PARAMS.find((p) => p.long === long);
      if (eq > 0) value = a.slice(eq + 1);
    } else if (a.startsWith("-") && a.length >= 2) {
      def = PARAMS.find((p) => p.short === a[1]);
      if (a.length > 2) value = a.slice(2);
    }
    if (!def) return { error: `unknown option ${a}` };
    if (def.type === "boolean") {
      params[def.name] = "1";
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) return { error: `option ${a} needs a value` };
    }
    params[def.name] = value;
  }
  return { params };
}

/** stdin name=value lines as the fencer writes them: # and empty lines skipped, the last value wins. */
export function parseStdin(text: string, err: (s: string) => void): Record<string, string> {
  const params: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      err(`fence_lubdub: ignoring line without '=': ${line}\n`);
      continue;
    }
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1);
    const def = PARAMS.find((p) => p.name === name);
    if (!def && name !== "nodename" && name !== "nodeid" && name !== "ttydev") {
      err(`fence_lubdub: Ignoring unknown option '${name}'\n`);
      continue;
    }
    params[def?.aliasOf ?? (name === "ttydev" ? "serial_port" : name)] = value;
  }
  return params;
}

/** The signing key from key= or the authkeys file. */
export function loadKey(params: Record<string, string>): DeviceKey | string {
  const k = params["key"];
  if (k !== undefined && k.trim() !== "") {
    const w = k.trim().split(/\s+/);
    const [index, method, secret] = w.length === 2 ? ["1", w[0]!, w[1]!] : [w[0]!, w[1] ?? "", w.slice(2).join(" ")];
    if (!/^[0-9]{1,2}$/.test(index) || (method !== "sha1" && method !== "md5") || !secret) return "key: expected INDEX METHOD SECRET with method sha1 or md5";
    return { index: Number(index), method, secret };
  }
  const path = params["authkeys"] ?? "/etc/ha.d/authkeys";
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch (e) {
    return `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const r = parseAuthkeys(text, path);
  if (!r.ok) return `${path}: ${r.errors.map((d) => d.message).join("; ")}`;
  const entry = r.keys.entries.get(r.keys.active);
  if (!entry || (entry.method.name !== "sha1" && entry.method.name !== "md5")) return `${path}: the active key must be sha1 or md5 (the device refuses crc)`;
  return { index: entry.index, method: entry.method.name, secret: entry.key };
}

function problems(action: Action, p: Record<string, string>): string[] {
  const out: string[] = [];
  if (!p["serial_port"]) out.push("serial_port (--serial-port) is required");
  else if (!p["serial_port"].startsWith("/")) out.push(`serial_port '${p["serial_port"]}' is not a device path`);
  if (p["baud"] !== undefined && !/^[0-9]{3,7}$/.test(p["baud"])) out.push(`baud '${p["baud"]}' is not a rate`);
  for (const n of ["delay", "power_timeout"]) if (p[n] !== undefined && !/^[0-9]+(\.[0-9]+)?$/.test(p[n]!)) out.push(`${n} '${p[n]}' is not a number of seconds`);
  if (p["method"] !== undefined && p["method"] !== "onoff" && p["method"] !== "cycle") out.push(`method '${p["method"]}' is not onoff or cycle`);
  if (["on", "off", "reboot", "status"].includes(action) && !p["plug"] && !p["nodename"]) out.push("plug (-n) is required for this action");
  const key = loadKey(p);
  if (typeof key === "string") out.push(key);
  return out;
}

function usage(): string {
  return `Usage: fence_lubdub [options]\n   or: (name=value lines on stdin) | fence_lubdub\nOptions:\n${PARAMS.filter((p) => p.long).map((p) => `   ${p.getopt.padEnd(34)} ${p.desc}`).join("\n")}\nActions: ${ACTIONS.filter((a) => a !== "meta-data").join(", ")}\n`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function errorCode(e: unknown): number {
  if (e instanceof DeviceError) return e.kind === "timeout" ? EC_TIMED_OUT : e.kind === "auth" ? EC_LOGIN_DENIED : EC_GENERIC;
  return EC_GENERIC;
}

const AUTH_ERRORS = ["unsigned", "bad-signature", "wrong-key-index", "unsupported-method", "not-configured"];

/** Runs fence_lubdub; resolves with the exit code. */
export async function fenceLubdub(argv: string[], io: Io): Promise<number> {
  let params: Record<string, string>;
  if (argv.length === 0) {
    params = parseStdin(await io.stdin(), io.err);
  } else {
    const r = parseArgv(argv);
    if ("error" in r) {
      io.err(`fence_lubdub: ${r.error}\n${usage()}`);
      return EC_BAD_ARGS;
    }
    params = r.params;
  }
  if (params["help"] !== undefined && BOOL_TRUE.includes(params["help"])) {
    io.out(usage());
    return EC_OK;
  }
  if (params["version"] !== undefined && BOOL_TRUE.includes(params["version"])) {
    io.out("0.1.0\n");
    return EC_OK;
  }
  const action = (params["action"] ?? "reboot").toLowerCase() as Action;
  if (!ACTIONS.includes(action)) {
    io.err(`fence_lubdub: unknown action '${params["action"]}'\n`);
    return EC_GENERIC;
  }
  if (action === "metadata" || action === "meta-data") {
    io.out(metadataXml());
    return EC_OK;
  }
  const quiet = params["quiet"] !== undefined && BOOL_TRUE.includes(params["quiet"]);
  const verbose = params["verbose"] !== undefined && BOOL_TRUE.includes(params["verbose"]);
  const say = (s: string) => {
    if (!quiet) io.err(`fence_lubdub: ${s}\n`);
  };
  const bad = problems(action, params);
  if (action === "validate-all") {
    for (const b of bad) io.err(`fence_lubdub: ${b}\n`);
    if (bad.length === 0 && !statOk(params["serial_port"]!)) {
      io.err(`fence_lubdub: ${params["serial_port"]}: no such device\n`);
      return EC_BAD_ARGS;
    }
    return bad.length === 0 ? EC_OK : EC_BAD_ARGS;
  }
  if (bad.length > 0) {
    for (const b of bad) io.err(`fence_lubdub: ${b}\n`);
    return EC_BAD_ARGS;
  }
  const key = loadKey(params) as DeviceKey;
  const target = params["plug"] || params["nodename"] || "";
  const powerTimeoutMs = Number(params["power_timeout"] ?? "20") * 1000;
  const sep = params["separator"] ?? ",";
  let link: SerialDeviceLink;
  try {
    link = await SerialDeviceLink.open(params["serial_port"]!, { baud: Number(params["baud"] ?? "19200") });
  } catch (e) {
    io.err(`fence_lubdub: Unable to connect/login to fencing device: ${(e as Error).message}\n`);
    return EC_GENERIC;
  }
  const client = new HostDeviceClient(link, key, { name: params["client_name"] || hostname(), timeoutMs: Math.max(1000, Math.min(powerTimeoutMs, 30_000)) });
  const reason = `fence_lubdub ${action}${params["nodename"] ? ` for ${params["nodename"]}` : ""}`;
  try {
    const st = await client.hello();
    if (!st.ok) {
      io.err(`fence_lubdub: the device is not configured (${st.error ?? "no key"})\n`);
      return action === "monitor" ? EC_GENERIC : EC_LOGIN_DENIED;
    }
    if (action === "monitor") return EC_OK;
    if (action === "list" || action === "list-status") {
      for (const o of st.outlets) io.out(action === "list" ? `${o.n}${sep}${o.name}\n` : `${o.n}${sep}${o.name}${sep}${outletWord(o)}\n`);
      return EC_OK;
    }
    const status = async (): Promise<"on" | "off" | number> => {
      const r = await client.fence(target, "status", reason);
      if (!r.ok) {
        io.err(`fence_lubdub: status of ${target}: ${r.error}\n`);
        return AUTH_ERRORS.includes(r.error ?? "") ? EC_LOGIN_DENIED : EC_GENERIC;
      }
      return r.state === "on" ? "on" : "off";
    };
    if (action === "status") {
      const s = await status();
      if (typeof s === "number") return s;
      io.out(`Status: ${s.toUpperCase()}\n`);
      return s === "on" ? EC_OK : EC_STATUS_OFF;
    }
    if ((action === "off" || action === "reboot") && Number(params["delay"] ?? "0") > 0) {
      say(`delay ${params["delay"]} s before ${action}`);
      await sleep(Number(params["delay"]) * 1000);
    }
    /** Switches and waits (up to power_timeout) until the state reads back as wanted. */
    const switchTo = async (want: "on" | "off"): Promise<number> => {
      const r = await client.fence(target, want, reason);
      if (!r.ok) {
        io.err(`fence_lubdub: ${want} ${target} refused: ${r.error}\n`);
        return AUTH_ERRORS.includes(r.error ?? "") ? EC_LOGIN_DENIED : EC_GENERIC;
      }
      const until = Date.now() + powerTimeoutMs;
      for (;;) {
        const s = await status();
        if (typeof s === "number") return s;
        if (s === want) return EC_OK;
        if (Date.now() >= until) {
          io.err(`fence_lubdub: ${target} is not ${want.toUpperCase()} after ${powerTimeoutMs / 1000} s\n`);
          return want === "on" ? EC_WAITING_ON : EC_WAITING_OFF;
        }
        await sleep(250);
      }
    };
    if (action === "on" || action === "off") {
      const code = await switchTo(action);
      if (code === EC_OK) io.out("Success: Powered " + action.toUpperCase() + "\n");
      return code;
    }
    // reboot
    if ((params["method"] ?? "onoff") === "cycle") {
      const r = await client.fence(target, "reboot", reason);
      if (!r.ok) {
        io.err(`fence_lubdub: reboot ${target} refused: ${r.error}\n`);
        return AUTH_ERRORS.includes(r.error ?? "") ? EC_LOGIN_DENIED : EC_GENERIC;
      }
      if (verbose) say(`${target} ${r.state}`);
      io.out("Success: Rebooted\n");
      return EC_OK;
    }
    const off = await switchTo("off");
    if (off !== EC_OK) return off;
    const on = await switchTo("on");
    if (on !== EC_OK) say(`${target} was switched off but did not come back on (exit ${on}); the fence itself succeeded`);
    io.out("Success: Rebooted\n");
    return EC_OK;
  } catch (e) {
    io.err(`fence_lubdub: ${(e as Error).message}\n`);
    return errorCode(e);
  } finally {
    client.close();
    await link.close();
  }
}

function outletWord(o: DeviceOutlet): string {
  return o.state === "on" ? "ON" : o.state === "off" ? "OFF" : "UNKNOWN";
}

function statOk(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads all of stdin (the fencer closes it after the parameters). */
export function readStdin(): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    if (process.stdin.isTTY) return resolve("");
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (d: string) => (text += d));
    process.stdin.on("end", () => resolve(text));
    process.stdin.on("error", () => resolve(text));
  });
}
