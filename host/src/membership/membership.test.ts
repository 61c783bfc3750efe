import { suite } from "uvu";
import * as assert from "uvu/assert";
import { SimCluster } from "./testing/sim-cluster.js";

const t = suite("membership core");
const SEED = Number(process.env.LUBDUB_SEED) || 20261122;

function statusOf(c: SimCluster, observer: string, peer: string): string {
  return c.nodes.get(observer)!.core.snapshot().peers.find((p) => p.name === peer)!.status;
}

t("two nodes see each other within initdead and both go active", () => {
  const c = new SimCluster({ seed: SEED, nodes: ["alpha", "bravo"], links: ["eth0"], keepaliveMs: 1000, deadtimeMs: 6000, initdeadMs: 12000 });
  c.runUntil(12000);
  for (const [a, b] of [["alpha", "bravo"], ["bravo", "alpha"]] as const) {
    assert.is(statusOf(c, a, b), "active", `${a} sees ${b}`);
    assert.is(c.nodes.get(a)!.core.snapshot().status, "active");
    assert.ok(c.nodes.get(a)!.core.snapshot().peers[0]!.links[0]!.up);
  }
});

t("a killed peer is declared dead within its deadtime plus a keepalive; a restart is recognised by its generation", () => {
  const c = new SimCluster({ seed: SEED, nodes: ["alpha", "bravo"], links: ["eth0"], keepaliveMs: 1000, deadtimeMs: 6000 });
  c.runUntil(20000);
  c.kill("bravo");
  const killedAt = c.now;
  c.runUntil(40000);
  const dead = c.effectsOf("alpha", "peer-status").filter((e) => e.status === "dead");
  assert.is(dead.length, 1);
  assert.ok(dead[0]!.at - killedAt <= 6000 + 1000, `declared dead after ${dead[0]!.at - killedAt} ms`);
  assert.ok(dead[0]!.at - killedAt > 5000, "not before deadtime");
  const linkDead = c.effectsOf("alpha", "link-status").filter((e) => !e.up);
  assert.is(linkDead.length, 1);

  c.restart("bravo");
  c.runUntil(60000);
  assert.is(statusOf(c, "alpha", "bravo"), "active");
  assert.is(statusOf(c, "bravo", "alpha"), "active");
  assert.is(c.nodes.get("alpha")!.core.snapshot().peers[0]!.generation, 1001);
  const events = c.effectsOf("alpha", "event").map((e) => e.event);
  assert.ok(events.includes("node.dead"));
});

t("a restart faster than deadtime is noticed through the higher generation", () => {
  const c = new SimCluster({ seed: SEED, nodes: ["alpha", "bravo"], links: ["eth0"], keepaliveMs: 1000, deadtimeMs: 6000 });
  c.runUntil(15000);
  c.kill("bravo");
  c.runUntil(16000);
  c.restart("bravo");
  c.runUntil(30000);
  const events = c.effectsOf("alpha", "event").map((e) => e.event);
  assert.ok(events.includes("node.restart"));
  assert.not.ok(events.includes("node.dead"));
  assert.is(statusOf(c, "alpha", "bravo"), "active");
});

t("30% loss for 60 s at keepalive 200 ms / deadtime 2 s: nobody dies, sequenced messages arrive once and in order, requests stay rate-limited", () => {
  const c = new SimCluster({ seed: SEED, nodes: ["alpha", "bravo"], links: ["eth0"], keepaliveMs: 200, deadtimeMs: 2000, initdeadMs: 4000 });
  c.runUntil(5000);
  const start = c.now;
  c.links.get("eth0")!.loss = 0.3;
  let sent = 0;
  for (let ms = start; ms < start + 60000; ms += 100) {
    c.runUntil(ms);
    if (ms % 300 === 0) c.send("alpha", { t: "ip-request", ipaddr: `app-${sent++}` });
  }
  c.links.get("eth0")!.loss = 0;
  c.runUntil(start + 65000);
  for (const n of ["alpha", "bravo"]) {
    const deaths = c.effectsOf(n, "peer-status").filter((e) => e.status === "dead");
    assert.is(deaths.length, 0, `${n} declared its peer dead`);
  }
  const got = c.effectsOf("bravo", "deliver").filter((d) => d.message.body.t === "ip-request").map((d) => (d.message.body as { ipaddr: string }).ipaddr);
  assert.is(got.length, sent, "every app message delivered");
  assert.equal(got, Array.from({ length: sent }, (_, i) => `app-${i}`), "once and in order");
  // Heartbeat's rule: one request per missing number per max_rexmit_delay (250 ms), at most.
  const requests = c.effectsOf("bravo", "send").filter((s) => s.type === "NS_rexmit");
  const perSeqTimes = new Map<string, number[]>();
  for (const r of requests) {
    const key = /firstseq=(\d+)/.exec(r.datagram.replace(/\d+:\(0\)/g, ""))?.[1] ?? "?";
    perSeqTimes.set(key, [...(perSeqTimes.get(key) ?? []), r.at]);
  }
  for (const [k, times] of perSeqTimes) {
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 240, `seq ${k} re-requested after ${times[i]! - times[i - 1]!} ms`);
  }
  console.log(`  ${sent} app messages, ${requests.length} rexmit requests, ${c.effectsOf("alpha", "send").filter((s) => s.type === "rexmit").length} retransmissions`);
});

t("a message with an older generation is dropped as a replay; bad bytes are counted, never thrown", () => {
  const c = new SimCluster({ seed: SEED, nodes: ["alpha", "bravo"], links: ["eth0"], keepaliveMs: 1000, deadtimeMs: 6000 });
  c.runUntil(10000);
  // capture a bravo status, restart bravo (new generation), then replay the old one
  const old = c.effectsOf("bravo", "send").find((s) => s.type === "status")!;
  c.restart("bravo");
  c.runUntil(15000);
  const alpha = c.nodes.get("alpha")!;
  const before = alpha.core.snapshot().counters["msg.replay"] ?? 0;
  alpha.core.receive(c.now, "eth0", old.datagram);
  assert.is(alpha.core.snapshot().counters["msg.replay"], before + 1);
  for (const junk of ["", "hello", "###\n5:(0)t=x,%%%\n3:9 x,", old.datagram.replace("t=status", "t=statuz")]) {
    alpha.core.receive(c.now, "eth0", junk);
  }
  const counters = alpha.core.snapshot().counters;
  assert.ok((counters["msg.malformed"] ?? 0) >= 2);
  assert.ok((counters["msg.bad-auth"] ?? 0) >= 1);
});

t("two links: one dead link is reported, the peer stays alive over the other", () => {
  const c = new SimCluster({ seed: SEED, nodes: ["alpha", "bravo"], links: ["eth0", "/dev/ttyS0"], keepaliveMs: 500, deadtimeMs: 3000 });
  c.runUntil(8000);
  c.links.get("eth0")!.up = false;
  c.runUntil(20000);
  assert.is(statusOf(c, "alpha", "bravo"), "active");
  const links = c.nodes.get("alpha")!.core.snapshot().peers[0]!.links;
  assert.equal(links.map((l) => [l.link, l.up]), [["eth0", false], ["/dev/ttyS0", true]]);
});

t.run();
