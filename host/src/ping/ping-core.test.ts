import { suite } from "uvu";
import * as assert from "uvu/assert";
import { PEV, PingCore, type PingEffect } from "./ping-core.js";

const t = suite("ping core");
const DEADPING = 5000;

function statuses(effects: PingEffect[]): string[] {
  return effects.flatMap((e) => (e.kind === "ping-status" ? [`${e.node}:${e.previous}->${e.status}`] : []));
}
function events(effects: PingEffect[]): string[] {
  return effects.flatMap((e) => (e.kind === "event" ? [e.event] : []));
}

function core() {
  return new PingCore({
    deadpingMs: DEADPING,
    nodes: [
      { name: "192.0.2.254", addresses: ["192.0.2.254"] },
      { name: "uplinks", addresses: ["198.51.100.1", "198.51.100.2"] },
    ],
  });
}

t("starts init; the first reply makes a node 'ping' with ping.up", () => {
  const c = core();
  assert.equal(c.addresses(), ["192.0.2.254", "198.51.100.1", "198.51.100.2"]);
  assert.equal(c.start(0), []);
  assert.is(c.status("192.0.2.254"), "init");
  assert.is(c.settled(), false);
  const e = c.reply(300, "192.0.2.254");
  assert.equal(statuses(e), ["192.0.2.254:init->ping"]);
  assert.equal(events(e), [PEV.up]);
  assert.equal(c.reply(1300, "192.0.2.254"), [], "a reply to a node that is up changes nothing");
  assert.is(c.reachable(), 1);
});

t("never answering: dead deadping after start; silent: dead deadping after the last reply, not before", () => {
  const c = core();
  c.start(1000);
  c.reply(1100, "198.51.100.2");
  assert.is(c.nextWakeup(), 1000 + DEADPING);
  assert.equal(c.tick(1000 + DEADPING - 1), []);
  let e = c.tick(1000 + DEADPING);
  assert.equal(statuses(e), ["192.0.2.254:init->dead"]);
  assert.equal(events(e), [PEV.dead]);
  assert.is(c.settled(), true);
  assert.is(c.nextWakeup(), 1100 + DEADPING);
  assert.equal(c.tick(1100 + DEADPING - 1), []);
  e = c.tick(1100 + DEADPING);
  assert.equal(statuses(e), ["uplinks:ping->dead"]);
  assert.is(c.reachable(), 0);
  assert.is(c.nextWakeup(), Infinity);
  e = c.reply(9000, "198.51.100.1");
  assert.equal(statuses(e), ["uplinks:dead->ping"]);
  const ev = e.find((x) => x.kind === "event");
  assert.ok(ev && ev.kind === "event" && ev.fields.reachable === 1 && ev.fields.total === 2);
});

t("a group stays up while any of its addresses answers", () => {
  const c = core();
  c.start(0);
  for (let now = 0; now < 60_000; now += 1000) {
    // The two addresses answer in turn, each silent for longer than deadping.
    const which = Math.floor(now / 10_000) % 2 === 0 ? "198.51.100.1" : "198.51.100.2";
    const e = [...c.reply(now, which), ...c.tick(now)];
    assert.ok(!statuses(e).some((s) => s.startsWith("uplinks:") && s.endsWith("dead")), `at ${now}`);
  }
  assert.is(c.status("uplinks"), "ping");
  const snap = c.snapshot().nodes.find((n) => n.name === "uplinks")!;
  assert.equal(snap.addresses.map((a) => a.address), ["198.51.100.1", "198.51.100.2"]);
  assert.is(snap.lastReplyAt, 59_000);
});

t("an address shared by a ping line and a group keeps both; unknown replies are ignored", () => {
  const c = new PingCore({ deadpingMs: DEADPING, nodes: [{ name: "192.0.2.1", addresses: ["192.0.2.1"] }, { name: "g", addresses: ["192.0.2.1", "192.0.2.2"] }] });
  assert.equal(c.addresses(), ["192.0.2.1", "192.0.2.2"]);
  c.start(0);
  assert.equal(statuses(c.reply(10, "192.0.2.1")), ["192.0.2.1:init->ping", "g:init->ping"]);
  const e = c.reply(20, "203.0.113.9");
  assert.equal(events(e), [PEV.unknownReply]);
  assert.equal(c.reply(30, "203.0.113.9"), [], "logged at most once a minute");
  assert.is(c.reachable(), 2);
});

t("nothing happens before start", () => {
  const c = core();
  assert.equal(c.reply(0, "192.0.2.254"), []);
  assert.equal(c.tick(100_000), []);
  assert.is(c.nextWakeup(), Infinity);
});

t.run();
