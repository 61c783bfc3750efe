// Watchdogs in lubdubd:
//  - the device watchdog: an agent hung with SIGSTOP stops sending, the device
//    power-cycles its host within the watchdog timeout (lubdub.cf
//    device_watchdog), and the peer takes over only after that (it declares
//    the host dead at deadtime, fences it through the device, then takes
//    over); a clean stop (SIGTERM) disarms the device watchdog before the
//    serial port closes, so the stopped host is not power-cycled;
//  - the kernel watchdog (ha.cf watchdog): this machine has no softdog
//    (checked below: /dev/watchdog, modprobe), so the logic is tested
//    against a stand-in: a regular file the agent writes instead of
//    /dev/watchdog — fed as heartbeats go out, 'V' (the magic close) last on
//    a clean stop; a path that cannot be opened stops the start with a clear
//    error.
// Power is modelled as support/fencing-lab.ts describes.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AgentProc, sleep, writeHaDir } from "./support/agent-proc.js";
import { deviceRequirements } from "./support/device-proc.js";
import { VIP } from "./support/failover-lab.js";
import { FencingLab } from "./support/fencing-lab.js";
import { DEVICE_POLL_MS } from "../../host/dist/agent/device-watch.js";
import { ARPING, NETNS_LAB, NFT, TCPDUMP, testWhere } from "./support/require.js";

const t = suite("fencing: watchdogs");
const REQS = [...NETNS_LAB, ARPING, TCPDUMP, NFT, ...deviceRequirements("sim")];
const WD_MS = 1500;
const DEADTIME_MS = 3000;

/** Why the real softdog cannot be used here, or null when it can. */
function softdogMissing(): string | null {
  if (existsSync("/dev/watchdog")) return null;
  const r = spawnSync("modprobe", ["softdog"], { encoding: "utf8" });
  if (r.status === 0 && existsSync("/dev/watchdog")) return null;
  return `no /dev/watchdog and 'modprobe softdog' ${r.error ? `cannot run (${r.error.message})` : `failed: ${(r.stderr || "").trim()}`}`;
}

testWhere(t, `an agent hung with SIGSTOP: the device power-cycles its host within its watchdog timeout (${WD_MS} ms), and the peer takes over only after that; SIGTERM disarms first`, REQS, async () => {
  const base = mkdtempSync(join(tmpdir(), "lubdub-fencing-wd-"));
  const lab = new FencingLab(base, {
    haresources: `alpha ${VIP}/24/lub0 httpd\n`,
    lubdubCf: `fencing timeout=10s attempt_timeout=3s retry=300ms retry_max=1s\ndevice_watchdog ${WD_MS}ms\n`,
    deadtime: String(DEADTIME_MS / 1000),
    // A server takes longer to boot than its peer's deadtime: the outlet stays off 5 s.
    settings: { "outlet.off_ms": "5000" },
  });
  try {
    await lab.start();
    await lab.f.waitServedBy("alpha", 30000);
    await lab.settled({ [VIP]: "alpha" });
    const [alpha, bravo] = lab.agents as [AgentProc, AgentProc];
    await alpha.event("device.watchdog-armed", {}, 10000);
    await bravo.event("device.watchdog-armed", {}, 10000);
    // The device's own view: both hosts' watchdogs armed with our timeout.
    await lab.dev.waitRecord((r) => r.event === "wd" && /armed 1500 ms by .*alpha/.test(String(r.msg)), 5000);
    // Past the device's grace after its start (wd.grace_ms), into plain watching.
    const until = Date.now() + 10000;
    while (!alpha.status().device.status?.watchdogs.some((w: { host: string; state: string }) => w.host === "alpha" && w.state === "armed") && Date.now() < until) await sleep(250);
    const st = alpha.status();
    assert.is(st.device.watchdog.armed, true);
    assert.ok(st.device.status.watchdogs.some((w: { host: string; state: string; timeoutMs: number }) => w.host === "alpha" && w.state === "armed" && w.timeoutMs === WD_MS), JSON.stringify(st.device.status.watchdogs));
    assert.match(alpha.cli(["status"]).out, /this host's watchdog: armed, 1500 ms/);

    const devMark = lab.dev.records.length;
    const bravoMark = bravo.records.length;
    const stoppedAt = Date.now();
    alpha.signal("SIGSTOP");
    const cycle = await lab.dev.waitRecord((r) => r.event === "wd" && /alpha.* silent .*power cycle/.test(String(r.msg)), WD_MS + 3000, devMark, "the watchdog's power cycle of alpha");
    const cycleAt = Date.parse(String(cycle.time));
    const servedAt = await lab.f.waitServedBy("bravo", DEADTIME_MS + 10000, stoppedAt);
    console.log(`  SIGSTOP: alpha power-cycled by the device watchdog ${cycleAt - stoppedAt} ms later (timeout ${WD_MS} ms); bravo served ${servedAt - stoppedAt} ms after the stop (deadtime ${DEADTIME_MS} ms)`);
    assert.ok(cycleAt - stoppedAt <= WD_MS + 500, `cycled ${cycleAt - stoppedAt} ms after the stop`);
    assert.ok(cycleAt - stoppedAt >= WD_MS - 300, `cycled too early: ${cycleAt - stoppedAt} ms`);
    assert.ok(servedAt > cycleAt, "bravo served before alpha was power-cycled");
    const taken = bravo.records.slice(bravoMark).find((r) => r.event === "rsc.acquire");
    assert.ok(taken && Date.parse(String(taken.time)) > cycleAt, "bravo started taking over before the cycle");
    const confirmed = bravo.records.slice(bravoMark).find((r) => r.event === "fence.confirmed");
    assert.ok(confirmed, "bravo fenced alpha before taking over");
    // bravo was told by the device.
    assert.ok(bravo.records.slice(bravoMark).some((r) => r.event === "device.event"), "bravo logged the device's event");
    // alpha comes back after the cycle and rejoins; the group stays with bravo (auto_failback off).
    await lab.settled({ [VIP]: "bravo" }, 30000);
    await alpha.event("device.watchdog-armed", {}, 10000, alpha.records.findIndex((r, i) => i > 0 && r.event === "node.starting" && Date.parse(String(r.time)) > cycleAt));

    // The device reboots (the simulator restarted: its watchdogs are gone, its boot count goes up): each agent
    // sees the new boot count at its next status poll and arms its watchdog again. The UDP link is up all along:
    // the serial link through the device going quiet for a moment moves nothing.
    const rebootMark = lab.dev.records.length;
    const marks = lab.agents.map((a) => a.records.length);
    const bootBefore = (await lab.status(0)).device.status.boot as number;
    const rebootAt = Date.now();
    await lab.dev.restart();
    for (const [i, a] of lab.agents.entries()) {
      const re = await a.event("device.rebooted", {}, DEVICE_POLL_MS + 5000, marks[i]);
      assert.match(String(re.msg), new RegExp(`boot ${bootBefore} → ${bootBefore + 1}`));
      await a.event("device.watchdog-rearm", {}, 5000, marks[i]);
      await a.event("device.watchdog-armed", {}, 5000, marks[i]);
      await lab.dev.waitRecord((r) => r.event === "wd" && new RegExp(`armed ${WD_MS} ms by .*${a.node}`).test(String(r.msg)), 5000, rebootMark, `the device's record of ${a.node}'s watchdog armed again`);
    }
    const rearmedMs = Date.now() - rebootAt;
    const st2 = await lab.status(0);
    assert.is(st2.device.status.boot, bootBefore + 1);
    assert.is(st2.device.watchdog.armed, true);
    for (const [i, a] of lab.agents.entries()) {
      assert.is(a.records.slice(marks[i]).find((r) => r.event === "node.dead" || r.event === "fence.request"), undefined, `${a.node} declared its peer dead over a device reboot`);
    }
    assert.equal(lab.deviceEvents("outlet", rebootMark).filter((m) => / off /.test(m)), [], "an outlet went off over the device reboot");
    console.log(`  device reboot: both agents armed their watchdogs again ${rearmedMs} ms after it (status poll every ${DEVICE_POLL_MS} ms)`);

    // A clean stop disarms the device watchdog before the port closes: no power cycle follows.
    const mark2 = lab.dev.records.length;
    const powerMark = lab.power.length;
    assert.is(await bravo.stop(20000), 0);
    assert.ok(bravo.records.some((r) => r.event === "device.watchdog-disarmed"), "bravo logged the disarm");
    await lab.dev.waitRecord((r) => r.event === "wd" && /disarmed by .*bravo/.test(String(r.msg)), 3000, mark2, "the device's disarm record");
    await sleep(WD_MS + 1500);
    assert.equal(lab.power.slice(powerMark).filter((p) => p.host === 2), [], "bravo was power-cycled after a clean stop");
    assert.equal(lab.f.doubleAnswers, []);
  } catch (e) {
    console.log(lab.describe());
    throw e;
  } finally {
    await lab.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

testWhere(t, "kernel watchdog (ha.cf watchdog): fed as heartbeats go out, magic close on a clean stop; an unopenable path stops the start with a clear error", [], async () => {
  const why = softdogMissing();
  console.log(why ? `  softdog: ${why}; testing against a stand-in file instead of /dev/watchdog` : "  softdog present: still testing against a stand-in file (the real one would reboot this machine on a failure)");
  const base = mkdtempSync(join(tmpdir(), "lubdub-kwd-"));
  const agent = new AgentProc("alpha", join(base, "alpha"), null, 0);
  const wd = join(base, "watchdog");
  const hacf = (path: string) => ["keepalive 100ms", "deadtime 1", "warntime 500ms", "initdead 2", "udpport 17694", "ucast lo 127.0.0.1", "node alpha", `watchdog ${path}`].join("\n");
  try {
    writeHaDir(agent.configDir, { hacf: hacf(join(base, "no-such-dir", "watchdog")), authkeys: "auth 1\n1 sha1 k\n" });
    agent.start();
    await agent.waitFor(() => agent.exitCode !== null, 10000, 0, "exit").catch(() => undefined);
    while (agent.exitCode === null) await sleep(50);
    assert.is(agent.exitCode, 65);
    assert.match(agent.stderr.join(""), /watchdog .*no-such-dir\/watchdog: cannot open: ENOENT \(no such device: load a watchdog driver, e\.g\. modprobe softdog\); not started/);

    writeHaDir(agent.configDir, { hacf: hacf(wd), authkeys: "auth 1\n1 sha1 k\n" });
    spawnSync("sh", ["-c", `: > ${wd}`]);
    agent.start();
    await agent.event("watchdog.open", {}, 10000);
    await sleep(1500);
    const fed = statSync(wd).size;
    assert.ok(fed >= 10, `only ${fed} writes in 1.5 s at keepalive 100 ms`);
    const st = agent.status();
    assert.is(st.kernelWatchdog.open, true);
    assert.is(/\0+$/.test(readFileSync(wd, "latin1")), true, "fed with NUL bytes, no magic close yet");
    assert.is(await agent.stop(), 0);
    const content = readFileSync(wd, "latin1");
    assert.is(content.slice(-1), "V", "the magic close comes last");
    assert.is(content.indexOf("V"), content.length - 1, "exactly one magic close");
    assert.ok(agent.records.some((r) => r.event === "watchdog.closed"));
  } finally {
    await agent.kill9();
    rmSync(base, { recursive: true, force: true });
  }
});

t.run();
