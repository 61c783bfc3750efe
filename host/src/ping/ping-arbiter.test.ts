import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AEV, type ArbiterEffect, hysteresisFor, MIN_GIVEUP_INTERVAL_MS, minIntervalFor, PingArbiter, REPORT_REFRESH_MS } from "./ping-arbiter.js";
import { PingCore } from "./ping-core.js";

const t = suite("ping arbiter (ipfail)");
const DEADPING = 5000;
const H = hysteresisFor(DEADPING);

function gives(effects: ArbiterEffect[]): number {
  return effects.filter((e) => e.kind === "give-up").length;
}
function sends(effects: ArbiterEffect[]): { count: number; total: number }[] {
  return effects.flatMap((e) => (e.kind === "send" ? [{ count: e.body.count, total: e.body.total }] : []));
}
function events(effects: ArbiterEffect[]): string[] {
  return effects.flatMap((e) => (e.kind === "event" ? [e.event] : []));
}

/** An arbiter whose peer is active and whose counts are set. */
function arb(local: number | null, peer: number | null, total = 2): PingArbiter {
  const a = new PingArbiter({ node: "alpha", peer: "bravo", deadpingMs: DEADPING });
  a.peerStatus(0, "active");
  a.localCount(0, local, total);
  if (peer !== null) a.peerReport(0, { count: peer, total });
  return a;
}

/** Runs ticks every 250 ms over [from, to); returns the give-ups with their times. */
function runTicks(a: PingArbiter, from: number, to: number): number[] {
  const at: number[] = [];
  for (let now = from; now < to; now += 250) if (gives(a.tick(now)) > 0) at.push(now);
  return at;
}

t("timings: hysteresis 2 × deadping, at least 10 s; minimum interval at least a minute", () => {
  assert.is(hysteresisFor(1000), 10_000);
  assert.is(hysteresisFor(30_000), 60_000);
  assert.is(minIntervalFor(1000), MIN_GIVEUP_INTERVAL_MS);
  assert.is(minIntervalFor(30_000), 120_000);
});

t("fewer than the peer for the whole hysteresis: gives all groups up, once", () => {
  const a = arb(1, 2);
  assert.is(a.snapshot().worseSince, 0);
  assert.is(a.nextWakeup(), H);
  assert.equal(runTicks(a, 0, H), []);
  const e = a.tick(H);
  assert.equal(e.filter((x) => x.kind === "give-up"), [{ kind: "give-up", set: "all", local: 1, peer: 2, total: 2 }]);
  assert.ok(events(e).includes(AEV.giveUp));
  a.holding(H, false); // the groups went to the peer
  assert.equal(runTicks(a, H + 1, H + 10 * 60_000), [], "nothing left to give");
});

t("never when counts are equal, when this node reaches more, or while the peer's count is unknown", () => {
  for (const [l, p] of [[2, 2], [0, 0], [1, 1], [2, 1]] as const) assert.equal(runTicks(arb(l, p), 0, 10 * H), [], `${l} vs ${p}`);
  assert.equal(runTicks(arb(0, null), 0, 10 * H), [], "a stock Heartbeat peer never reports");
  assert.equal(runTicks(arb(null, 2), 0, 10 * H), [], "this node's ping nodes have no verdict yet");
});

t("never when the peer is not active, and a dead or restarted peer's count is forgotten", () => {
  let a = arb(0, 2);
  a.peerStatus(1000, "dead");
  assert.equal(runTicks(a, 1000, 10 * H), []);
  a.peerStatus(10 * H, "active");
  assert.equal(runTicks(a, 10 * H, 20 * H), [], "the old count went with the peer");
  a = arb(0, 2);
  a.peerStatus(1000, "init");
  a.peerStatus(1100, "active");
  assert.equal(runTicks(a, 1100, 10 * H), []);
  a.peerReport(10 * H, { count: 2, total: 2 });
  assert.equal(runTicks(a, 10 * H, 12 * H), [10 * H + H]);
  a = arb(0, 2);
  a.peerStatus(1000, "up");
  assert.equal(runTicks(a, 1000, 10 * H), [], "up is not yet negotiating");
});

t("an imbalance that clears before the hysteresis moves nothing and says so", () => {
  const a = arb(1, 2);
  assert.equal(runTicks(a, 0, H - 250), []);
  const e = a.localCount(H - 100, 2, 2);
  assert.ok(events(e).includes(AEV.cleared));
  a.localCount(H, 1, 2); // worse again: a fresh period starts
  assert.equal(runTicks(a, H, 2 * H), []);
  assert.equal(runTicks(a, 2 * H, 2 * H + 250), [2 * H]);
});

t("different totals are not compared", () => {
  const a = arb(0, null, 2);
  const e = a.peerReport(0, { count: 3, total: 3 });
  assert.ok(events(e).includes(AEV.mismatch));
  assert.equal(runTicks(a, 0, 10 * H), []);
  for (const bad of [{ count: 3, total: 2 }, { count: -1, total: 2 }, { count: 1.5, total: 2 }, { count: "1", total: 2 }, {}]) {
    assert.ok(events(a.peerReport(1, bad as { count: unknown; total: unknown })).includes(AEV.badReport), JSON.stringify(bad));
  }
});

t("a give-up the failover could not carry out is retried, but not before the minimum interval", () => {
  const a = arb(0, 1, 1);
  const MIN = a.minIntervalMs;
  // holding stays true: the standby was ignored (the other side was in flux).
  const at = runTicks(a, 0, H + 3 * MIN);
  assert.equal(at, [H, H + MIN, H + 2 * MIN, H + 3 * MIN].filter((x) => x < H + 3 * MIN));
  for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! >= MIN);
});

t("sends this node's count on change, when the peer appears or restarts, and every refresh period", () => {
  const a = new PingArbiter({ node: "alpha", peer: "bravo", deadpingMs: DEADPING });
  assert.equal(sends(a.localCount(0, 2, 2)), [], "peer not there yet");
  assert.equal(sends(a.peerStatus(10, "init")), [{ count: 2, total: 2 }]);
  assert.equal(sends(a.peerStatus(20, "up")), []);
  assert.equal(sends(a.peerStatus(30, "active")), []);
  assert.equal(sends(a.localCount(40, 2, 2)), [], "unchanged");
  assert.equal(sends(a.localCount(50, 1, 2)), [{ count: 1, total: 2 }]);
  assert.equal(sends(a.localCount(60, null, 2)), [], "no verdict, nothing to say");
  assert.is(a.nextWakeup(), 50 + REPORT_REFRESH_MS);
  a.localCount(70, 1, 2);
  assert.equal(sends(a.tick(50 + REPORT_REFRESH_MS)), [{ count: 1, total: 2 }]);
  assert.equal(sends(a.peerStatus(100_000, "dead")), []);
  assert.equal(sends(a.localCount(100_100, 2, 2)), [], "nobody to tell");
  assert.equal(sends(a.peerStatus(100_200, "init")), [{ count: 2, total: 2 }]);
});

// ---- a seeded two-node simulation ------------------------------------------

/** mulberry32: a small seeded generator, so a failing run can be replayed (LUBDUB_SEED). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let x = (s = (s + 0x6d2b79f5) >>> 0);
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const KEEPALIVE = 1000;
const PING_NODES = [{ name: "gw1", addresses: ["192.0.2.254"] }, { name: "gw2", addresses: ["198.51.100.254"] }];

/**
 * Two nodes, each with its own ping core and arbiter, probing both ping nodes
 * every keepalive. `reach(node, address, now)` says whether a probe gets an
 * answer. Count reports travel with a small delay. Returns each node's
 * give-ups; a give-up moves the groups (holding passes to the other node).
 */
function simulate(durationMs: number, reach: (node: "alpha" | "bravo", address: string, now: number) => boolean) {
  const names = ["alpha", "bravo"] as const;
  const nodes = names.map((name) => ({
    name,
    core: new PingCore({ deadpingMs: DEADPING, nodes: PING_NODES }),
    arb: new PingArbiter({ node: name, peer: name === "alpha" ? "bravo" : "alpha", deadpingMs: DEADPING }),
    gaveUp: [] as number[],
  }));
  const wire: { at: number; to: number; count: number; total: number }[] = [];
  const handle = (i: number, now: number, effects: ArbiterEffect[]) => {
    for (const e of effects) {
      if (e.kind === "send") wire.push({ at: now + 20, to: 1 - i, count: e.body.count, total: e.body.total });
      if (e.kind === "give-up") {
        nodes[i]!.gaveUp.push(now);
        handle(i, now, nodes[i]!.arb.holding(now, false));
        handle(1 - i, now, nodes[1 - i]!.arb.holding(now, true));
      }
    }
  };
  nodes.forEach((n, i) => {
    n.core.start(0);
    handle(i, 0, n.arb.holding(0, i === 0)); // alpha holds the groups
    handle(i, 0, n.arb.peerStatus(0, "active"));
  });
  for (let now = 0; now <= durationMs; now += 50) {
    for (let k = wire.length - 1; k >= 0; k--) {
      const m = wire[k]!;
      if (m.at > now) continue;
      wire.splice(k, 1);
      handle(m.to, now, nodes[m.to]!.arb.peerReport(now, m));
    }
    nodes.forEach((n, i) => {
      if (now % KEEPALIVE === 0) for (const a of n.core.addresses()) if (reach(n.name, a, now)) n.core.reply(now + 1, a);
      n.core.tick(now);
      handle(i, now, n.arb.localCount(now, n.core.settled() ? n.core.reachable() : null, PING_NODES.length));
      handle(i, now, n.arb.tick(now));
    });
  }
  return { alpha: nodes[0]!.gaveUp, bravo: nodes[1]!.gaveUp };
}

/** On/off periods for one flapping path: outages up to `maxDownMs`, answers in between. */
function flapping(random: () => number, durationMs: number, maxDownMs: number): (now: number) => boolean {
  const downs: [number, number][] = [];
  for (let t0 = 0; t0 < durationMs; ) {
    t0 += KEEPALIVE + random() * 3000; // up for 1-4 s: long enough for a probe to see it
    const len = 200 + random() * (maxDownMs - 200);
    downs.push([t0, t0 + len]);
    t0 += len;
  }
  return (now) => !downs.some(([a, b]) => now >= a && now < b);
}

const seed = process.env.LUBDUB_SEED ? Number(process.env.LUBDUB_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

t(`a flapping ping node moves nothing; a real loss moves the groups once (seed ${seed}, replay with LUBDUB_SEED=${seed})`, () => {
  const random = rng(seed);
  const HOUR = 3_600_000;
  // 1. Lossy: 60% of alpha's probes to gw2 are lost, but never more than 12
  // in a row (longer silences are outages, not flapping).
  const lossy = new Map<number, boolean>();
  let run = 0;
  let r = simulate(HOUR, (node, address, now) => {
    if (node !== "alpha" || address !== "198.51.100.254") return true;
    if (!lossy.has(now)) {
      const answered = run >= 12 || random() >= 0.6;
      run = answered ? 0 : run + 1;
      lossy.set(now, answered);
    }
    return lossy.get(now)!;
  });
  assert.equal(r, { alpha: [], bravo: [] }, "lossy path");
  // 2. Flapping: alpha loses gw2 again and again, each outage short enough
  // that gw2 shows as dead for less than the hysteresis (an outage of L shows
  // as dead for at most L - deadping + 2 keepalives).
  const flap = flapping(random, HOUR, DEADPING + H - 3 * KEEPALIVE);
  r = simulate(HOUR, (node, address, now) => node !== "alpha" || address !== "198.51.100.254" || flap(now));
  assert.equal(r, { alpha: [], bravo: [] }, "flapping path");
  // 3. Both lose gw2 at the same moment: equal counts, nothing moves.
  r = simulate(HOUR, (_node, address, now) => address !== "198.51.100.254" || now < 600_000);
  assert.equal(r, { alpha: [], bravo: [] }, "shared loss");
  // 4. Flapping, then a real loss: alpha loses gw2 for good at 20 min.
  const LOSS = 1_200_000;
  r = simulate(HOUR, (node, address, now) => node !== "alpha" || address !== "198.51.100.254" || (now < LOSS && flap(now)));
  assert.is(r.bravo.length, 0);
  assert.is(r.alpha.length, 1, `alpha gave up at ${r.alpha.join(", ")}`);
  const at = r.alpha[0]!;
  // Not before the loss (an outage already under way when it came may count), not later than deadping + hysteresis after it.
  assert.ok(at >= LOSS && at <= LOSS + DEADPING + H + 2 * KEEPALIVE, `gave up ${at - LOSS} ms after the loss`);
});

t.run();
