// CTS scenarios, starting and stopping (after cts/CTStests.py's
// SimulStart, SimulStop, RestartTest and StandbyTest): both agents started
// at the same instant, both stopped at the same instant, a storm of
// restarts, and standby/takeover while the client keeps several probes
// going. From the client's side: served in time, never by two nodes.

import { type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Cts, HANDOVER_BOUND_MS, READY_MS, sleep } from "./support/cts.js";
import { SERVICE_PORT, VIP } from "./support/failover-lab.js";
import { REPO_ROOT } from "./support/paths.js";
import { testWhere } from "./support/require.js";

const t = suite("cts: start, stop, standby");
const REQS = ["root", "netns", { command: "arping", pkg: "iputils-arping" }, { command: "tcpdump", pkg: "tcpdump" }, { command: "nft", pkg: "nftables" }] as const;
/**
 * A fresh pair started together: both agents up and hearing each other
 * (a keepalive or two), both negotiating at once, which ends as soon as each
 * has the other's report (neither waits Heartbeat's 10 s RQSTDELAY when both
 * are starting), then the start of the group; seconds of slack for CI.
 */
const FRESH_BOUND_MS = 5_000;

testWhere(t, "simultaneous start, three times: the owner serves within 5 s (no 10 s wait for a stable report), the other node never answers", [...REQS], () =>
  Cts.run("simul-start", { noStart: true }, async (c) => {
    const from = Date.now();
    for (let round = 1; round <= 3; round++) {
      const at = Date.now();
      c.alpha.start();
      c.bravo.start();
      const served = await c.f.waitServedBy("alpha", FRESH_BOUND_MS + 10_000, at);
      console.log(`  simultaneous start ${round}: alpha answers ${served - at} ms after both started`);
      assert.ok(served - at <= FRESH_BOUND_MS, `alpha answered ${served - at} ms after the start, bound ${FRESH_BOUND_MS} ms`);
      await c.alpha.event("rsc.stable", {}, READY_MS, 0);
      await sleep(1000);
      assert.ok(c.hasVip(1) && !c.hasVip(2));
      // Both stop together again (clean shutdown), for the next round.
      const [ea, eb] = await Promise.all([c.alpha.stop(10_000), c.bravo.stop(10_000)]);
      assert.equal([ea, eb], [0, 0]);
      assert.ok(!c.hasVip(1) && !c.hasVip(2), "the VIP stayed after both stopped");
      await sleep(500);
    }
    assert.is(c.answers(from).filter((p) => p.node !== "alpha").length, 0, "bravo answered");
    c.assertSingleServer(from, 0);
  }),
);

testWhere(t, "simultaneous stop (SIGTERM to both at once): both exit 0 within 10 s, the address and the service are gone from both, no second MAC on the way", [...REQS], () =>
  Cts.run("simul-stop", {}, async (c) => {
    const from = Date.now();
    const at = Date.now();
    const [ea, eb] = await Promise.all([c.alpha.stop(10_000), c.bravo.stop(10_000)]);
    const took = Date.now() - at;
    console.log(`  simultaneous stop: both exited ${took} ms after SIGTERM`);
    assert.equal([ea, eb], [0, 0], "an agent did not exit cleanly");
    assert.ok(took <= 10_000);
    assert.ok(!c.hasVip(1) && !c.hasVip(2), "the VIP stayed after both stopped");
    await sleep(1000);
    const late = c.answers(at + 500);
    assert.equal(late.slice(0, 3), [], "the service still answered after both agents stopped");
    // Whoever held the group last: alpha, or bravo if alpha's release reached it first; never both in turn.
    c.assertSingleServer(from, 1);
  }),
);

testWhere(t, "restart storm: 8 restarts alternating between the nodes, a second apart; afterwards the owner serves within the bound and never two nodes at once", [...REQS], () =>
  Cts.run("restart-storm", {}, async (c) => {
    const from = Date.now();
    for (let i = 0; i < 8; i++) {
      const a = i % 2 === 0 ? c.alpha : c.bravo;
      const mark = a.records.length;
      assert.is(await a.stop(10_000), 0, `${a.node} did not exit cleanly`);
      a.start();
      await a.event("node.started", {}, 15_000, mark);
      await sleep(1000);
    }
    const at = Date.now();
    const served = await c.f.waitServedBy("alpha", FRESH_BOUND_MS + 10_000, at - 1000);
    await c.alpha.event("node.status", { node: "bravo", status: "active" }, READY_MS, 0);
    await sleep(3000);
    console.log(`  restart storm: alpha serving ${Math.max(0, served - at)} ms after the last restart`);
    c.assertUninterrupted("alpha", Date.now() - 2000);
    assert.ok(c.hasVip(1) && !c.hasVip(2));
    // Each restart of alpha moves the group away and back: at most 2 moves per alpha restart.
    c.assertSingleServer(from, 8);
  }),
);

const LOAD_PROBES = 4;

testWhere(t, `standby and takeover under client load (${LOAD_PROBES} more probes every 5 ms): each move reaches the client within ${HANDOVER_BOUND_MS / 1000} s, never two nodes at once`, [...REQS], () =>
  Cts.run("standby-load", { autoFailback: "off" }, async (c) => {
    const load: ChildProcess[] = [];
    for (let i = 0; i < LOAD_PROBES; i++) {
      const p = c.f.lab.exec(3, [process.execPath, join(REPO_ROOT, "test/dist/fixtures/http-probe.js"), VIP, String(SERVICE_PORT), "5"]);
      p.stdout!.resume();
      p.stderr!.resume();
      load.push(p);
    }
    try {
      await c.bravo.event("rsc.stable", {}, READY_MS);
      const from = Date.now();
      const moves: Array<[string[], string]> = [[["standby"], "bravo"], [["takeover", "all"], "alpha"], [["standby", "local"], "bravo"], [["takeover", "local"], "alpha"]];
      for (let round = 0; round < 2; round++) {
        for (const [args, to] of moves) {
          const mark = Date.now();
          const [ma, mb] = [c.alpha.records.length, c.bravo.records.length];
          const r = await c.cli(c.alpha, args);
          assert.is(r.code, 0, r.out);
          const served = await c.f.waitServedBy(to, HANDOVER_BOUND_MS + 10_000, mark);
          console.log(`  lubdub ${args.join(" ")}: ${to} answers after ${served - mark} ms`);
          assert.ok(served - mark <= HANDOVER_BOUND_MS, `${args.join(" ")}: ${to} answered after ${served - mark} ms, bound ${HANDOVER_BOUND_MS} ms`);
          // Both sides settled before the next request.
          await Promise.all([c.alpha.event("standby.done", {}, 15_000, ma), c.bravo.event("standby.done", {}, 15_000, mb)].map((w) => w.catch(() => undefined)));
          await sleep(1000);
        }
      }
      c.assertSingleServer(from, 8);
    } finally {
      for (const p of load) p.kill("SIGKILL");
    }
  }),
);

t.run();
