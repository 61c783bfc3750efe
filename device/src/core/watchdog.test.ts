import { test } from "uvu";
import * as assert from "uvu/assert";
import { ERR_BAD_REQUEST } from "@lubdub/protocol";
import { Bench } from "../testing/fake-hal.js";
import { Agent } from "../testing/host-agent.js";
import { PORT_A, PORT_B } from "./hal.js";

const KEY = { index: 1, method: "sha1", secret: "s3cret" };
const CFG = [
  "a.host=alpha", "b.host=bravo", "outlet.1=alpha", "outlet.2=bravo", "key.index=1", "key.secret=s3cret",
  "outlet.off_ms=2000", "wd.grace_ms=30000", "wd.max_per_hour=3", "wd.min_timeout_ms=1000",
].join("\n");
const HB = ">>>\nt=status\nst=active\nsrc=alpha\n<<<\n";

function setup(cfg = CFG) {
  const b = new Bench(cfg);
  const a = new Agent(b, PORT_A, "alpha", KEY);
  const c = new Agent(b, PORT_B, "bravo", KEY);
  a.hello();
  c.hello();
  return { b, a, c };
}
/** Where the test starts watching: the clock and the outlet history so far. */
const mark = (b: Bench) => ({ t: b.hal.time, i: b.hal.outletHistory.length });
/** Outlet 1 (alpha) switches as [ms since the mark, on] since the mark. */
const alphaSwitches = (b: Bench, m: { t: number; i: number }) => b.hal.outletHistory.slice(m.i).filter((h) => h.n === 1).map((h) => [h.at - m.t, h.on]);

test("not armed after boot: silence does nothing", () => {
  const { b } = setup();
  b.advance(20 * 60000);
  assert.is(b.hal.outletHistory.filter((h) => h.at > 1000).length, 0);
  assert.is(b.dev.status().ports[PORT_A]!.wd, "off");
});

test("armed, fed by traffic; silent for its timeout: off, outlet.off_ms, on; logged; wd-cycle to the other host", () => {
  const { b, a, c } = setup();
  assert.ok(a.arm(5000).ok);
  assert.is(b.dev.status().ports[PORT_A]!.wd, "armed");
  for (let i = 0; i < 20; i++) {
    b.advance(4000);
    b.dev.portData(PORT_A, HB);
  }
  assert.is(b.hal.outletHistory.filter((h) => h.n === 1 && h.at > 1000).length, 0, "fed: no cycle");
  const t0 = mark(b);
  b.advance(4900);
  assert.is(alphaSwitches(b, t0).length, 0);
  b.advance(200);
  const sw = alphaSwitches(b, t0);
  assert.equal(sw.map((x) => x[1]), [false]);
  assert.ok((sw[0]![0] as number) >= 5000 && (sw[0]![0] as number) <= 5100);
  b.advance(2000);
  assert.equal(alphaSwitches(b, t0).map((x) => x[1]), [false, true]);
  assert.is((alphaSwitches(b, t0)[1]![0] as number) - (sw[0]![0] as number), 2000);
  assert.ok(b.hal.logged("wd").some((l) => /port a \(alpha\) silent/.test(l.text)));
  const ev = c.read().filter((r) => r.t === "ldev-event");
  assert.is(ev.length, 1);
  assert.is(ev[0]!.f.event, "wd-cycle");
  assert.is(ev[0]!.f.host, "alpha");
  assert.is(ev[0]!.auth, "");
  assert.is(a.read().filter((r) => r.t === "ldev-event").length, 0);
  assert.is(b.dev.status().ports[PORT_A]!.wdCycles, 1);
  assert.is(b.dev.outlets()[1]!.on, true, "the other host's outlet untouched");
});

test("after a cycle the host gets wd.grace_ms to boot before it is watched again", () => {
  const { b, a } = setup();
  a.arm(5000);
  const t0 = mark(b);
  b.advance(5100 + 2000); // cycle done, power back on
  assert.is(alphaSwitches(b, t0).length, 2);
  assert.is(b.dev.status().ports[PORT_A]!.wd, "grace");
  const on = b.hal.time;
  b.advance(30000 + 4800);
  assert.is(alphaSwitches(b, t0).length, 2, "no cycle during grace + timeout");
  b.advance(300);
  assert.is(alphaSwitches(b, t0).length, 3, "silent after grace: cycled again");
  assert.ok(b.hal.time - on >= 35000);
});

test("a host that boots and talks during grace is watched from its traffic once grace is over", () => {
  const { b, a } = setup();
  a.arm(5000);
  const t0 = mark(b);
  b.advance(7200); // cycled, power back on at +7000: grace until +37000
  b.advance(10000);
  b.dev.portData(PORT_A, HB);
  a.hello();
  assert.ok(a.arm(5000).ok);
  for (let i = 0; i < 30; i++) {
    b.advance(2000);
    b.dev.portData(PORT_A, HB);
  }
  assert.is(alphaSwitches(b, t0).length, 2, "talking: no further cycle");
  const last = b.hal.time;
  b.advance(4900);
  assert.is(alphaSwitches(b, t0).length, 2);
  b.advance(200);
  assert.is(alphaSwitches(b, t0).length, 3, "silent for the timeout: cycled");
  assert.ok(b.hal.time - last >= 5000);
});

test("at most wd.max_per_hour cycles in an hour, then wd-giveup; re-arming within the hour gives up again; later it cycles", () => {
  const { b, a, c } = setup();
  a.arm(5000);
  const t0 = mark(b);
  b.advance(3 * (5000 + 2000 + 30000 + 500));
  assert.is(alphaSwitches(b, t0).filter((x) => x[1] === false).length, 3);
  b.advance(60000);
  assert.is(alphaSwitches(b, t0).filter((x) => x[1] === false).length, 3, "no fourth cycle");
  assert.is(b.dev.status().ports[PORT_A]!.wd, "gaveup");
  const evs = c.read().filter((r) => r.t === "ldev-event").map((r) => r.f.event);
  assert.equal(evs, ["wd-cycle", "wd-cycle", "wd-cycle", "wd-giveup"]);
  assert.ok(b.hal.logged("wd").some((l) => /giving up/.test(l.text)));
  // re-armed within the hour: still over the limit
  a.hello();
  assert.ok(a.arm(5000).ok);
  b.advance(6000);
  assert.is(alphaSwitches(b, t0).filter((x) => x[1] === false).length, 3);
  assert.equal(c.read().filter((r) => r.t === "ldev-event").map((r) => r.f.event), ["wd-giveup"]);
  // an hour after the first cycle, re-armed: cycles again
  b.advance(3600000 - (b.hal.time - t0.t) + 1000);
  a.hello();
  assert.ok(a.arm(5000).ok);
  b.advance(5200);
  assert.is(alphaSwitches(b, t0).filter((x) => x[1] === false).length, 4);
});

test("wd.max_per_hour=0 never cycles", () => {
  const { b, a, c } = setup(CFG + "\nwd.max_per_hour=0");
  a.arm(5000);
  const t0 = mark(b);
  b.advance(10000);
  assert.is(alphaSwitches(b, t0).length, 0);
  assert.equal(c.read().map((r) => r.f.event), ["wd-giveup"]);
});

test("disarm (clean shutdown) stops it; re-arm starts it", () => {
  const { b, a } = setup();
  a.arm(5000);
  assert.ok(a.disarm().ok);
  assert.is(b.dev.status().ports[PORT_A]!.wd, "off");
  const t0 = mark(b);
  b.advance(60000);
  assert.is(alphaSwitches(b, t0).length, 0);
  a.arm(2000);
  b.advance(2100);
  assert.is(alphaSwitches(b, t0).length, 1);
});

test("timeouts outside wd.min/max_timeout_ms are refused; arm needs authentication", () => {
  const { b, a } = setup();
  assert.is(a.arm(999).error, ERR_BAD_REQUEST);
  assert.is(a.arm(600001).error, ERR_BAD_REQUEST);
  assert.is(a.request("ldev-wd-arm", {}).error, ERR_BAD_REQUEST);
  assert.is(a.arm(5000, { sign: false }).error, "unsigned");
  assert.is(b.dev.status().ports[PORT_A]!.wd, "off");
});

test("a host fenced off is not power-cycled back on by its watchdog", () => {
  const { b, a, c } = setup();
  a.arm(5000);
  assert.ok(c.fence("alpha", "off").ok);
  const t0 = mark(b);
  b.advance(10 * 60000);
  assert.is(alphaSwitches(b, t0).length, 0);
  // switched on again: grace, then watched
  assert.is(b.dev.status().ports[PORT_A]!.wd, "armed");
  b.dev.switchOutlet(1, true, "console:admin");
  assert.is(b.dev.status().ports[PORT_A]!.wd, "grace");
  b.advance(30000 + 5200);
  assert.equal(alphaSwitches(b, t0).map((x) => x[1]), [true, false]);
});

test("watchdogs are per port: B's silence cycles bravo, not alpha", () => {
  const { b, a, c } = setup();
  a.arm(5000);
  c.arm(3000);
  for (let i = 0; i < 10; i++) {
    b.advance(1000);
    b.dev.portData(PORT_A, HB);
  }
  const offs = b.hal.outletHistory.filter((h) => !h.on).map((h) => h.n);
  assert.equal(offs, [2]);
  assert.equal(a.read().filter((r) => r.t === "ldev-event").map((r) => r.f.host), ["bravo"]);
});

test("watchdog state is not persisted: a device restart leaves it disarmed", () => {
  const { b, a } = setup();
  a.arm(5000);
  b.restart();
  const t0 = mark(b);
  b.advance(60000);
  assert.is(alphaSwitches(b, t0).length, 0);
  assert.is(b.dev.status().ports[PORT_A]!.wd, "off");
});

test.run();
