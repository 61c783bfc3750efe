// Fencing through the lubdub device, split brain made impossible: two
// servers with a UDP link and a serial link through the device (which also
// switches their power), a floating IP and an HTTP service, a client probing
// it every 10 ms and watching that the IP never answers from two MACs.
//  - UDP cut while the serial link through the device is up: no failover;
//  - both cut: exactly one node (the one that does not hold the group) fences
//    the other through the device and takes over; the fenced node's outlet
//    is cycled; the client never sees two servers;
// repeated (20 times by default, LUBDUB_FENCING_REPS), the lab reused: with
// auto_failback off the group stays where it went, so the roles alternate.
// How the links are cut and how a power cut is modelled: support/fencing-lab.ts.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { sleep } from "./support/agent-proc.js";
import { deviceRequirements } from "./support/device-proc.js";
import { VIP } from "./support/failover-lab.js";
import { FencingLab, NODES } from "./support/fencing-lab.js";
import { ARPING, NETNS_LAB, NFT, TCPDUMP, testWhere } from "./support/require.js";

const t = suite("fencing: split brain through the device");
const REQS = [...NETNS_LAB, ARPING, TCPDUMP, NFT, ...deviceRequirements("sim")];
const REPS = Number(process.env.LUBDUB_FENCING_REPS ?? 20);
const DEADTIME_MS = 1000;

testWhere(t, `UDP cut with the serial link up: no failover; both cut: exactly one node fences the other through the device and takes over, its outlet cycled, never two servers (${REPS} repetitions)`, REQS, async () => {
  const base = mkdtempSync(join(tmpdir(), "lubdub-fencing-split-"));
  const lab = new FencingLab(base, {
    haresources: `alpha ${VIP}/24/lub0 httpd\n`,
    lubdubCf: "fencing timeout=10s attempt_timeout=3s retry=300ms retry_max=1s\ndevice_watchdog off\n",
  });
  const started = Date.now();
  try {
    await lab.start();
    await lab.f.waitServedBy("alpha", 30000);
    await lab.settled({ [VIP]: "alpha" });

    // lubdub status: the serial link goes through the device, and the device's own state.
    const st = lab.agents[0]!.status();
    const serial = st.media.find((m: { kind: string }) => m.kind === "serial");
    assert.is(serial.note, "through the lubdub device");
    assert.is(st.fencing.type, "lubdub");
    assert.ok(st.device.reachable, JSON.stringify(st.device));
    assert.equal(st.device.status.outlets.map((o: { name: string; state: string }) => `${o.name} ${o.state}`), ["alpha on", "bravo on"]);
    const text = lab.agents[0]!.cli(["status"]).out;
    assert.match(text, /serial .*through the lubdub device/);
    assert.match(text, /Device on .*heartbeat medium.*answering/);
    assert.match(text, /outlets: 1 alpha on, 2 bravo on/);

    let holder = 0;
    const takeoverMs: number[] = [];
    for (let rep = 1; rep <= REPS; rep++) {
      const other = 1 - holder;
      const [h, o] = [NODES[holder]!, NODES[other]!];
      const marks = lab.agents.map((a) => a.records.length);
      // 1. UDP cut, the serial link through the device up: nothing moves.
      lab.cutUdp(true);
      await sleep(DEADTIME_MS * 1.6);
      for (const [i, a] of lab.agents.entries()) {
        const dead = a.records.slice(marks[i]).find((r) => r.event === "node.dead" || r.event === "fence.attempt");
        assert.is(dead, undefined, `rep ${rep}: ${a.node} declared its peer dead with the serial link up\n${lab.describe()}`);
      }
      assert.ok(lab.f.probes.slice(-20).every((p) => p.ok && p.node === h), `rep ${rep}: service moved with the serial link up`);
      // 2. Both cut: the other node fences the holder and takes over.
      const devMark = lab.dev.records.length;
      const powerMark = lab.power.length;
      const cutAt = Date.now();
      lab.cutSerial(true);
      const servedAt = await lab.f.waitServedBy(o, 15000, cutAt).catch((e: Error) => {
        throw new Error(`rep ${rep}: ${e.message}\n${lab.describe()}`);
      });
      takeoverMs.push(servedAt - cutAt);
      lab.cutSerial(false);
      lab.cutUdp(false);
      const fences = lab.deviceEvents("fence", devMark);
      assert.is(fences.length, 1, `rep ${rep}: fences ${JSON.stringify(fences)}`);
      assert.match(fences[0]!, new RegExp(`^${h} reboot by .*${o}.*: ${h} declared dead by ${o}$`), fences[0]);
      const offs = lab.power.slice(powerMark).filter((p) => !p.on);
      assert.equal(offs.map((p) => p.host), [holder + 1], `rep ${rep}: power ${JSON.stringify(lab.power.slice(powerMark))}`);
      assert.ok(offs[0]!.at <= servedAt, `rep ${rep}: ${o} served before ${h} lost power`);
      const fencer = lab.agents[other]!.records.slice(marks[other]).filter((r) => r.event === "fence.confirmed");
      assert.is(fencer.length, 1, `rep ${rep}: ${o} fence.confirmed ${fencer.length}`);
      // (the holder may also ask, when it had not yet heard that the other held nothing: the device refuses it — one fence above)
      // The fenced server comes back (outlet on after outlet.off_ms) and rejoins; the group stays with o.
      await lab.dev.waitRecord((r) => r.event === "outlet" && new RegExp(`^outlet ${holder + 1} on`).test(String(r.msg)), 10000, devMark, `outlet ${holder + 1} on`);
      await lab.settled({ [VIP]: o });
      assert.equal(lab.f.doubleAnswers, [], `rep ${rep}: the VIP answered from two MACs at once`);
      holder = other;
    }
    const st2 = lab.agents[holder]!.status();
    assert.match(st2.device.status.lastFence, /declared dead by/);
    assert.match(lab.agents[holder]!.cli(["status"]).out, /last fence: reboot \S+, asked by \S+/);
    takeoverMs.sort((a, b) => a - b);
    console.log(`  ${REPS} repetitions in ${((Date.now() - started) / 1000).toFixed(1)} s; takeover after the cut: median ${takeoverMs[Math.floor(takeoverMs.length / 2)]} ms, max ${takeoverMs[takeoverMs.length - 1]} ms (deadtime ${DEADTIME_MS} ms)`);
    assert.equal(lab.f.doubleAnswers, []);
  } finally {
    await lab.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

t.run();
