// Two stock Heartbeat 3.0.6 nodes whose only medium is a `serial` line to the
// device simulator (each through a socat pty pair to one host port): they
// form a cluster through the device and each reports the other active with
// the real cl_status; when the device stops, neither hears the other and
// both declare each other dead.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DeviceProc, deviceRequirements } from "./support/device-proc.js";
import { NetnsLab } from "./support/netns.js";
import { HEARTBEAT, UNSHARE, testWhere } from "./support/require.js";
import { StockNode } from "./support/stock-node.js";

const t = suite("stock heartbeat through the device simulator");
const DEADTIME_MS = 4000;
const SLACK_MS = 5000;

function hacf(tty: string): string {
  return ["keepalive 500ms", "warntime 2", "deadtime 4", "initdead 8", "baud 19200", `serial ${tty}`, "node alpha bravo", "auto_failback on"].join("\n");
}

const AUTHKEYS = "auth 1\n1 sha1 device-relay-key\n";

testWhere(t, "serial only: alpha on port A, bravo on port B form one cluster through the device; device stopped: each declares the other dead", ["root", "netns", HEARTBEAT, UNSHARE, ...deviceRequirements("sim")], async () => {
  const base = mkdtempSync(join(tmpdir(), "lubdub-device-hb-"));
  const dev = await DeviceProc.start({ console: false, baud: 19200, dir: join(base, "device") });
  const lab = NetnsLab.create({ hosts: 2 });
  const alpha = new StockNode("alpha", join(base, "alpha"), lab, 1);
  const bravo = new StockNode("bravo", join(base, "bravo"), lab, 2);
  try {
    alpha.configure(hacf(dev.hostA), AUTHKEYS);
    bravo.configure(hacf(dev.hostB), AUTHKEYS);
    alpha.start();
    bravo.start();

    await alpha.waitLog(/Status update for node bravo: status active/, 30000);
    await bravo.waitLog(/Status update for node alpha: status active/, 30000);
    assert.equal(alpha.clStatus(["nodestatus", "bravo"]), { code: 0, out: "active\n" });
    assert.equal(bravo.clStatus(["nodestatus", "alpha"]), { code: 0, out: "active\n" });
    assert.equal(alpha.clStatus(["hblinkstatus", "bravo", dev.hostA]), { code: 0, out: "up\n" });
    assert.equal(bravo.clStatus(["hblinkstatus", "alpha", dev.hostB]), { code: 0, out: "up\n" });

    const st = dev.status()!;
    const [pa, pb] = [st.device!.ports[0]!, st.device!.ports[1]!];
    console.log(`  through the device: port a ${pa.relayed} relayed, ${pa.droppedBytes} bytes dropped; port b ${pb.relayed} relayed, ${pb.droppedBytes} bytes dropped`);
    assert.ok(pa.relayed > 0 && pb.relayed > 0, "heartbeats relayed both ways");
    const complaints = [...alpha.logLines(), ...bravo.logLines()].filter((l) => /^(ERROR|CRIT)/.test(l) && /auth|checksum|packet|message|serial/i.test(l));
    assert.equal(complaints, [], "stock heartbeat complained about what the device relayed");

    // The device stops: the line goes quiet both ways.
    const fromA = alpha.logLines().length;
    const fromB = bravo.logLines().length;
    const stopped = Date.now();
    await dev.stopDevice();
    await alpha.waitLog(/node bravo: is dead/, DEADTIME_MS + SLACK_MS, fromA);
    await bravo.waitLog(/node alpha: is dead/, DEADTIME_MS + SLACK_MS, fromB);
    console.log(`  both declared dead ${Date.now() - stopped} ms after the device stopped (deadtime ${DEADTIME_MS} ms)`);
    // cl_status prints "dead" and exits non-zero for a node that is not up.
    assert.is(alpha.clStatus(["nodestatus", "bravo"]).out, "dead\n");
    assert.is(bravo.clStatus(["nodestatus", "alpha"]).out, "dead\n");
  } catch (e) {
    console.log(`  alpha log:\n${alpha.logLines().slice(-15).join("\n")}\n  bravo log:\n${bravo.logLines().slice(-15).join("\n")}\n  device:\n${dev.describe()}`);
    throw e;
  } finally {
    await alpha.kill();
    await bravo.kill();
    await dev.stop();
    lab.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

t.run();
