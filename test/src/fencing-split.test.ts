// Fencing through the lubdub device, split brain made impossible: two
// servers with a UDP link and a serial link through the device (which also
// switches their power), a floating IP and an HTTP service, a client probing
// it every 10 ms and watching that the IP never answers from two MACs.
//  - UDP cut while the serial link through the device is up: no failover;
//  - both cut: exactly one node fences the other through the device and takes
//    over; the fenced node's outlet is cycled; no instant where both run the
//    service.
// Repeated (20 times by default, LUBDUB_FENCING_REPS) on one lab.
//
// Which node fences: both declare the other dead at the same deadtime, and
// lubdubd fences a dead peer whether or not it holds anything (Heartbeat's
// semantics), so both may ask; the device lets exactly one through. That is
// the node that stays, whichever it is: when it is the node that did not hold
// the group, it takes the group over; when it is the holder, it keeps it. The
// test accepts either and checks: exactly one successful fence (the device's
// record), that node's outlet, and only it, switched off and on again, the
// survivor holding the group and serving within SERVE_BOUND_MS of the cut,
// the fenced node never answering after its power went, and never two MACs
// answering for the IP.
//
// The device's fence hold (fence.hold_ms, 20 s here, 10 min by default): a
// node fenced by its peer may not fence that peer for that long. An operator
// relies on it after the fence: the fenced node reboots, and when the links
// are still cut it declares its peer dead after initdead and asks to fence it
// (as Heartbeat does; it cannot know whether the peer is alive) — the device
// refuses, the node gives up and takes nothing over. The last repetition
// keeps the links cut through the fenced node's reboot and checks just that.
// In the other repetitions the links come back as soon as the survivor
// serves. The hold also means a node fenced in one repetition is refused in
// the next few: to keep the takeover path exercised, the group is put on
// that node (lubdub standby on the holder) before the links are cut, so the
// node the device lets through is the one that takes over.
//
// The UDP-only cut is checked in the first repetition and in the last one
// (after the nodes were fenced and rebooted 19 times): whether the serial
// link through the device keeps the peers alive does not depend on the
// repetition, only on that link carrying heartbeats, which every repetition
// shows again (the survivor hears its rebooted peer through it when the UDP
// link is back: the lab restores both at once, and both are in use).
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
const HOLD_MS = 20000;
/** The survivor serves within this of the cut: the peer's deadtime (plus the 2 s a node adds to it in its first 5 s: a fenced node rebooted in the previous repetition), the fence (a request and its answer at 115200 baud), the takeover, and slack for a loaded machine. */
const SERVE_BOUND_MS = DEADTIME_MS + 2000 + 3000;

interface Outcome {
  rep: number;
  holder: string;
  winner: string;
  refused: boolean;
  serveMs: number;
  /** From the cut to the survivor's fence request (its deadtime for the peer). */
  deadMs: number;
}

testWhere(t, `UDP cut with the serial link up: no failover; both cut: exactly one node fences the other through the device and takes over, its outlet cycled, never two servers (${REPS} repetitions)`, REQS, async () => {
  const base = mkdtempSync(join(tmpdir(), "lubdub-fencing-split-"));
  const lab = new FencingLab(base, {
    haresources: `alpha ${VIP}/24/lub0 httpd\n`,
    lubdubCf: "fencing timeout=10s attempt_timeout=3s retry=300ms retry_max=1s\ndevice_watchdog off\n",
    settings: { "fence.hold_ms": String(HOLD_MS), "outlet.off_ms": "500" },
  });
  const started = Date.now();
  const outcomes: Outcome[] = [];
  let rebootFenceMs = -1;
  try {
    await lab.start();
    await lab.f.waitServedBy("alpha", 30000);
    await lab.settled({ [VIP]: "alpha" });

    // lubdub status: the serial link goes through the device, and the device's own state.
    const st = await lab.status(0);
    const serial = st.media.find((m: { kind: string }) => m.kind === "serial");
    assert.is(serial.note, "through the lubdub device");
    assert.is(st.fencing.type, "lubdub");
    assert.ok(st.device.reachable, JSON.stringify(st.device));
    assert.equal(st.device.status.outlets.map((o: { name: string; state: string }) => `${o.name} ${o.state}`), ["alpha on", "bravo on"]);
    const text = (await lab.cli(0, ["status"])).out;
    assert.match(text, /serial .*through the lubdub device/);
    assert.match(text, /Device on .*heartbeat medium.*answering/);
    assert.match(text, /outlets: 1 alpha on, 2 bravo on/);
    // No fence at start-up: both came up within initdead.
    assert.equal(lab.deviceEvents("fence"), [], "a fence at start-up");

    let holder = 0;
    let barred: number | null = null; // the node fenced last, while the device's hold may still refuse it
    for (let rep = 1; rep <= REPS; rep++) {
      const last = rep === REPS;
      const fail = (what: string) => new Error(`rep ${rep}: ${what}\n${lab.describe()}`);
      // The node the device will refuse (fenced in the previous repetition) gets the group, so that the other takes it over.
      if (barred !== null && barred !== holder) {
        await lab.standby(holder);
        await lab.settled({ [VIP]: NODES[barred]! });
        await lab.f.waitServedBy(NODES[barred]!, 5000, Date.now()).catch((e: Error) => {
          throw fail(`after standby: ${e.message}`);
        });
        holder = barred;
      }
      const h = NODES[holder]!;
      const marks = lab.agents.map((a) => a.records.length);
      const devMark = lab.dev.records.length;
      const powerMark = lab.power.length;
      // 1. UDP cut, the serial link through the device up: nothing moves.
      if (rep === 1 || last) {
        const udpAt = Date.now();
        lab.cutUdp(true);
        await sleep(DEADTIME_MS * 1.6);
        for (const [i, a] of lab.agents.entries()) {
          const dead = a.records.slice(marks[i]).find((r) => r.event === "node.dead" || r.event === "fence.request" || r.event === "fence.attempt");
          if (dead) throw fail(`${a.node} declared its peer dead with the serial link up`);
        }
        const seen = lab.f.probes.filter((p) => p.t >= udpAt);
        assert.ok(seen.length > 20 && seen.every((p) => p.ok && p.node === h), `rep ${rep}: the service moved or failed with the serial link up`);
      }
      // 2. Both cut: both declare the other dead; the device lets exactly one fence through.
      const cutAt = Date.now();
      lab.cutUdp(true);
      lab.cutSerial(true);
      const fence = await lab.dev.waitRecord((r) => r.event === "fence", DEADTIME_MS + 5000, devMark, "a fence").catch((e: Error) => {
        throw fail(e.message);
      });
      const m = /^(alpha|bravo) reboot by port [ab] \((alpha|bravo)\): \1 declared dead by \2$/.exec(String(fence.msg));
      if (!m) throw fail(`unexpected fence record: ${String(fence.msg)}`);
      const loser = NODES.indexOf(m[1] as (typeof NODES)[number]);
      const winner = 1 - loser;
      const [w, l] = [NODES[winner]!, NODES[loser]!];
      assert.is(m[2], w);
      if (barred !== null && winner === barred) {
        // Only when the hold ran out (a slow repetition): then the race was fresh.
        const since = Date.parse(String(fence.time)) - lastFenceAt;
        assert.ok(since >= HOLD_MS, `rep ${rep}: ${w} fenced ${l} ${since} ms after being fenced itself (fence.hold_ms ${HOLD_MS})`);
      }
      // The survivor: fence confirmed, holds the group, serves.
      await lab.agents[winner]!.event("fence.result", {}, 10000, marks[winner]).catch((e: Error) => {
        throw fail(e.message);
      });
      const servedAt = await lab.f.waitServedBy(w, SERVE_BOUND_MS, winner === holder ? 0 : cutAt).catch((e: Error) => {
        throw fail(e.message);
      });
      const serveMs = Math.max(0, servedAt - cutAt);
      if (winner !== holder) assert.ok(serveMs <= SERVE_BOUND_MS, `rep ${rep}: ${w} served ${serveMs} ms after the cut`);
      const off = lab.power.slice(powerMark).find((p) => !p.on);
      if (!off) throw fail(`${l}'s outlet never switched off`);
      assert.is(off.host, loser + 1, `rep ${rep}: outlet ${off.host} switched off, ${l} was fenced`);
      if (winner !== holder) {
        assert.ok(servedAt >= off.deviceAt, `rep ${rep}: ${w} served ${off.deviceAt - servedAt} ms before ${l} lost power`);
        const acquire = lab.agents[winner]!.records.slice(marks[winner]).find((r) => r.event === "rsc.acquire");
        assert.ok(acquire && Date.parse(String(acquire.time)) >= Date.parse(String(fence.time)), `rep ${rep}: ${w} started taking over before its fence`);
      }

      if (last) {
        // The links stay cut: the fenced node reboots, declares its peer dead after initdead and asks to fence it: the device refuses (its hold); it takes nothing over.
        const on = await lab.dev.waitRecord((r) => r.event === "outlet" && new RegExp(`^outlet ${loser + 1} on`).test(String(r.msg)), 10000, devMark, `outlet ${loser + 1} on`).catch((e: Error) => {
          throw fail(e.message);
        });
        const onAt = Date.parse(String(on.time));
        const refusedRec = await lab.agents[loser]!.waitFor((r) => r.event === "fence.attempt-failed" && /lost-arbitration/.test(String(r.msg)) && Date.parse(String(r.time)) > onAt, 15000, marks[loser], `${l}'s fence request after its reboot, refused`).catch((e: Error) => {
          throw fail(e.message);
        });
        const refusedAt = Date.parse(String(refusedRec.time));
        rebootFenceMs = refusedAt - onAt;
        assert.ok(lab.powered[loser], `rep ${rep}: ${l} asked before it was powered on again`);
        await sleep(1000);
        assert.is(lab.agents[loser]!.records.slice(marks[loser]).find((r) => r.event === "rsc.acquire"), undefined, `rep ${rep}: ${l} took over after a refused fence`);
        const after = lab.f.probes.filter((p) => p.t >= refusedAt);
        assert.ok(after.every((p) => p.ok && p.node === w), `rep ${rep}: the client saw ${JSON.stringify(after.filter((p) => !(p.ok && p.node === w)).slice(0, 3))}`);
      }
      lab.cutSerial(false);
      lab.cutUdp(false);
      // The fenced node's outlet comes back on (outlet.off_ms), it boots and rejoins; the group stays with the survivor.
      await lab.dev.waitRecord((r) => r.event === "outlet" && new RegExp(`^outlet ${loser + 1} on`).test(String(r.msg)), 10000, devMark, `outlet ${loser + 1} on`).catch((e: Error) => {
        throw fail(e.message);
      });
      // After the last repetition's refused fence the rebooted node rejoins without learning who holds the group (see the note at the end of this file).
      await lab.settled({ [VIP]: w }, 20000, last ? { unsureOf: loser } : {});
      const fences = lab.deviceEvents("fence", devMark);
      assert.equal(fences, [String(fence.msg)], `rep ${rep}: the device's fences`);
      assert.equal(lab.power.slice(powerMark).map((p) => `${p.host} ${p.on ? "on" : "off"}`), [`${loser + 1} off`, `${loser + 1} on`], `rep ${rep}: power`);
      const confirmed = lab.agents.map((a, i) => a.records.slice(marks[i]).filter((r) => r.event === "fence.confirmed").length);
      assert.is(confirmed[winner], 1, `rep ${rep}: ${w} confirmed ${confirmed[winner]} fences`);
      assert.is(confirmed[loser], 0, `rep ${rep}: ${l} confirmed a fence`);
      // (a probe sent once the power model had cut the node off; its answer may lag the device's record by the model's own work)
      const lAnswered = lab.f.probes.find((p) => p.ok && p.node === l && p.t > off.doneAt);
      if (lAnswered) {
        const around = lab.f.probes.filter((p) => p.t >= off.doneAt - 300 && p.t <= lAnswered.t + 100).map((p) => `${p.t - off.doneAt}:${p.ok ? p.node : "-"}`);
        throw fail(`${l} answered a probe sent ${lAnswered.t - off.doneAt} ms after it lost power (probes, ms from the power cut: ${around.join(" ")}; power ${JSON.stringify(lab.power.slice(powerMark))})`);
      }
      assert.equal(lab.f.doubleAnswers, [], `rep ${rep}: the VIP answered from two MACs at once`);
      // (the device's own log of refusals is rate-limited: the loser's log says it)
      const refused = lab.agents[loser]!.records.slice(marks[loser]).some((r) => r.event === "fence.attempt-failed" && /lost-arbitration/.test(String(r.msg)));
      const req = lab.agents[winner]!.records.slice(marks[winner]).find((r) => r.event === "fence.request");
      outcomes.push({ rep, holder: h, winner: w, refused, serveMs, deadMs: req ? Date.parse(String(req.time)) - cutAt : -1 });
      lastFenceAt = Date.parse(String(fence.time));
      barred = loser;
      holder = winner;
    }
    const st2 = await lab.status(holder);
    assert.match(st2.device.status.lastFence, /declared dead by/);
    assert.match((await lab.cli(holder, ["status"])).out, /last fence: reboot \S+, asked by \S+/);
    const takeovers = outcomes.filter((o) => o.winner !== o.holder);
    const ms = takeovers.map((o) => o.serveMs).sort((a, b) => a - b);
    console.log(
      `  ${REPS} repetitions in ${((Date.now() - started) / 1000).toFixed(1)} s: ${takeovers.length} takeovers (the node without the group fenced the holder), ${REPS - takeovers.length} kept (the holder fenced the other); ` +
        `the loser's own request reached the device and was refused in ${outcomes.filter((o) => o.refused).length}; ` +
        `served by the taker after the cut: median ${ms[Math.floor(ms.length / 2)] ?? "-"} ms, max ${ms[ms.length - 1] ?? "-"} ms (deadtime ${DEADTIME_MS} ms, bound ${SERVE_BOUND_MS} ms)`,
    );
    if (REPS > 0) console.log(`  last repetition, the links kept cut: the fenced node, powered on again, asked to fence its peer ${rebootFenceMs} ms later and was refused (fence.hold_ms ${HOLD_MS}); it took nothing over`);
    console.log(`  ${outcomes.map((o) => `${o.rep}:${o.holder[0]}>${o.winner[0]}${o.refused ? "r" : ""} ${o.deadMs}/${o.serveMs}`).join(", ")}`);
    assert.equal(lab.f.doubleAnswers, []);
  } finally {
    await lab.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});
let lastFenceAt = 0;

// Note (failover core, reported): a node that came up alone (its peer not
// heard within initdead: it fences the peer, the device refuses) and then
// hears its peer again is stable and holds nothing, while the peer holds the
// group; neither sends its resource report when the other comes back, so the
// returning node's view shows the group held by no one. It takes nothing, so
// the service is not touched; the lab waits for the survivor's view and for
// the returning node not to think anyone else holds the group.

t.run();
