import { test } from "uvu";
import * as assert from "uvu/assert";
import { ERR_BAD_REQUEST, ERR_BAD_SIGNATURE, ERR_LOST_ARBITRATION, ERR_NOT_CONFIGURED, ERR_STALE_NONCE, ERR_UNKNOWN_TARGET, ERR_UNSIGNED, ERR_WRONG_KEY } from "@lubdub/protocol";
import { Bench } from "../testing/fake-hal.js";
import { Agent } from "../testing/host-agent.js";
import { PORT_A, PORT_B } from "./hal.js";

const KEY = { index: 1, method: "sha1", secret: "s3cret" };
export const CFG = [
  "a.host=alpha", "b.host=bravo", "outlet.1=alpha", "outlet.2=bravo", "outlet.3=Bravo", "key.index=1", "key.method=sha1", "key.secret=s3cret",
  "fence.hold_ms=60000", "outlet.off_ms=2000", "wd.grace_ms=30000",
].join("\n");

function setup(cfg = CFG) {
  const b = new Bench(cfg);
  const a = new Agent(b, PORT_A, "alpha", KEY);
  const c = new Agent(b, PORT_B, "bravo", KEY);
  a.hello();
  c.hello();
  return { b, a, c };
}
const power = (b: Bench) => b.dev.outlets().map((o) => (o.cycling ? "c" : o.on ? "1" : "0")).join("");

test("hello: signed status with outlets, watchdogs, boot and nonce", () => {
  const b = new Bench(CFG);
  const a = new Agent(b, PORT_A, "alpha", KEY);
  const st = a.hello();
  assert.is(st.t, "ldev-status");
  assert.is(st.auth, "");
  assert.ok(st.ok);
  assert.is(st.f.outlets, "1 alpha on;2 bravo on;3 Bravo on;4 Outlet 4 on");
  assert.is(st.f.watchdogs, "a alpha off 0 0;b bravo off 0 0");
  assert.is(st.f.boot, "1");
  assert.is(st.f.lastfence, "");
  assert.ok(st.f.nonce!.length > 0);
  assert.is(b.hal.take(PORT_B), "", "nothing reaches the other host");
});

test("without a key: status says not-configured and every request is refused", () => {
  const b = new Bench("a.host=alpha\noutlet.1=bravo");
  const a = new Agent(b, PORT_A, "alpha", KEY);
  const st = a.hello();
  assert.not.ok(st.ok);
  assert.is(st.error, ERR_NOT_CONFIGURED);
  const r = a.fence("bravo", "off");
  assert.is(r.error, ERR_NOT_CONFIGURED);
  assert.is(power(b), "1111");
  assert.is(b.dev.status().ports[PORT_A]!.refused, 1);
});

test("fence off by node name: every outlet of that name (any case), result signed with state and next nonce", () => {
  const { b, a, c } = setup();
  const n1 = a.nonce;
  const r = a.fence("BRAVO", "off", "peer dead");
  assert.ok(r.ok, r.error ?? "");
  assert.is(r.auth, "");
  assert.is(r.f.state, "off");
  assert.is(r.f.reqid, "alpha-1");
  assert.ok(r.f.nonce !== n1, "nonce rotated");
  assert.is(power(b), "1001");
  const log = b.hal.logged("fence")[0]!.text;
  assert.match(log, "port a (alpha)");
  assert.match(log, "peer dead");
  const ev = c.read();
  assert.is(ev.length, 1);
  assert.is(ev[0]!.f.event, "fenced");
  assert.is(ev[0]!.f.host, "BRAVO");
  assert.is(ev[0]!.f.by, "alpha");
  assert.is(ev[0]!.auth, "");
  const lf = b.dev.status().lastFence!;
  assert.equal([lf.port, lf.by, lf.target, lf.action, lf.reason], ["a", "alpha", "BRAVO", "off", "peer dead"]);
});

test("fence by outlet number, on, status and reboot", () => {
  const { b, a } = setup();
  assert.is(a.fence("4", "off").f.state, "off");
  assert.is(a.fence("4", "status").f.state, "off");
  assert.is(a.fence("4", "on").f.state, "on");
  const r = a.fence("4", "reboot");
  assert.is(r.f.state, "cycling");
  assert.is(power(b), "111c");
  b.advance(1900);
  assert.is(power(b), "111c");
  b.advance(200);
  assert.is(power(b), "1111");
  const h = b.hal.outletHistory.filter((x) => x.n === 4).map((x) => x.on);
  assert.equal(h.slice(-2), [false, true]);
});

test("refusals: unsigned, forged, wrong key index, stale and missing nonce, unknown target, bad request", () => {
  const { b, a } = setup();
  assert.is(a.fence("bravo", "off", "x", { sign: false }).error, ERR_UNSIGNED);
  assert.is(a.fence("bravo", "off", "x", { key: { ...KEY, secret: "guess" } }).error, ERR_BAD_SIGNATURE);
  assert.is(a.fence("bravo", "off", "x", { key: { ...KEY, index: 2 } }).error, ERR_WRONG_KEY);
  assert.is(a.fence("bravo", "off", "x", { nonce: "1-1-1" }).error, ERR_STALE_NONCE);
  assert.is(a.fence("bravo", "off", "x", { nonce: null }).error, ERR_STALE_NONCE);
  assert.is(a.fence("charlie", "off").error, ERR_UNKNOWN_TARGET);
  assert.is(a.fence("9", "off").error, ERR_UNKNOWN_TARGET);
  assert.is(a.fence("bravo", "explode").error, ERR_BAD_REQUEST);
  assert.is(a.fence("bravo", "off", "x".repeat(200)).error, ERR_BAD_REQUEST);
  assert.is(a.arm(5).error, ERR_BAD_REQUEST);
  assert.is(power(b), "1111");
  assert.is(b.dev.status().ports[PORT_A]!.refused, 10);
  assert.ok(b.hal.logged("refused").length >= 5);
  for (const r of a.replies) assert.is(r.auth, "", "refusals are signed too");
});

test("a recorded request replayed later is refused", () => {
  const { b, a } = setup();
  const frame = a.build("ldev-fence", { target: "4", action: "off", reason: "once" });
  assert.ok(a.send(frame)!.ok);
  a.fence("4", "on");
  const again = a.send(frame)!;
  assert.is(again.error, ERR_STALE_NONCE);
  assert.is(power(b), "1111");
  // the same request replayed on the other port is refused too (each port has its own nonce)
  const c = new Agent(b, PORT_B, "bravo", KEY);
  c.hello();
  assert.is(c.send(frame)!.error, ERR_STALE_NONCE);
});

test("nonces are unique across ports and device restarts", () => {
  const b = new Bench(CFG);
  const seen = new Set<string>();
  for (let boot = 0; boot < 3; boot++) {
    for (const p of [PORT_A, PORT_B]) {
      const ag = new Agent(b, p, "x", KEY);
      ag.hello();
      for (let i = 0; i < 5; i++) {
        assert.not.ok(seen.has(ag.nonce!), `nonce ${ag.nonce} repeated`);
        seen.add(ag.nonce!);
        ag.fence("4", "status");
      }
    }
    b.restart();
  }
});

test("arbitration: both ask within the window, exactly one is fenced, the winner is never fenced by the loser within hold", () => {
  const { b, a, c } = setup();
  const fa = a.build("ldev-fence", { target: "bravo", action: "reboot", reason: "bravo silent" });
  const fc = c.build("ldev-fence", { target: "alpha", action: "reboot", reason: "alpha silent" });
  // both requests arrive in the same read of the line
  b.dev.portData(PORT_A, fa);
  b.dev.portData(PORT_B, fc);
  const ra = a.read().filter((r) => r.t === "ldev-result")[0]!;
  const rc = c.read().filter((r) => r.t === "ldev-result")[0]!;
  assert.ok(ra.ok);
  assert.is(rc.error, ERR_LOST_ARBITRATION);
  assert.is(power(b), "1cc1");
  b.advance(2500);
  assert.is(power(b), "1111");
  // bravo is back within fence.hold_ms: still cannot fence alpha, by name or by number
  assert.is(c.fence("alpha", "off").error, ERR_LOST_ARBITRATION);
  assert.is(c.fence("1", "reboot").error, ERR_LOST_ARBITRATION);
  assert.is(c.fence("4", "off").error, null, "other outlets are fine");
  assert.is(power(b), "1110");
  b.advance(60000);
  assert.ok(c.fence("alpha", "off").ok, "after the hold it may");
  assert.is(power(b), "0110");
  assert.match(b.hal.logged("refused").map((l) => l.text).join("\n"), "lost-arbitration");
});

test("a requester whose own outlet is off may not fence", () => {
  const { b, a, c } = setup();
  assert.ok(a.fence("bravo", "off").ok);
  assert.is(c.fence("alpha", "off").error, ERR_LOST_ARBITRATION);
  assert.is(c.fence("4", "off").error, ERR_LOST_ARBITRATION);
  assert.is(c.fence("4", "status").error, null);
  assert.is(power(b), "1001");
});

test("outlet states and boot count persist across a device restart; nonces of the old boot are stale", () => {
  const { b, a } = setup();
  assert.ok(a.fence("bravo", "off").ok);
  a.fence("4", "reboot");
  const old = a.nonce!;
  b.restart();
  assert.is(power(b), "1001", "fenced outlets stay off; a cycle in progress comes back on");
  assert.is(b.hal.outlet[2], false);
  assert.is(b.hal.outlet[4], true);
  assert.is(b.dev.status().boot, 2);
  assert.is(a.fence("bravo", "on", "x", { nonce: old }).error, ERR_STALE_NONCE);
  assert.is(a.hello().f.boot, "2");
  assert.ok(a.fence("bravo", "on").ok);
});

test("bad stored settings keep defaults and are logged with line numbers", () => {
  const b = new Bench("a.host=alpha\nnonsense\nwd.max_per_hour=x\nb.host=bravo\nbogus=1\n");
  const logs = b.hal.logged("settings").map((l) => l.text);
  assert.is(logs.length, 3);
  assert.match(logs[0]!, ":2:");
  assert.match(logs[1]!, ":3:");
  assert.match(logs[2]!, ":5:");
  assert.is(b.dev.settings().values["wd.max_per_hour"], "3");
  assert.is(b.dev.settings().values["b.host"], "bravo");
});

test("nothing crashes on random device-looking input", () => {
  const { b } = setup();
  let seed = 7;
  const r = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const parts = [">>>\n", "<<<\n", "t=ldev-fence\n", "t=ldev-wd-arm\n", "nonce=1\n", "auth=1 00\n", "target=\n", "(2)x=y\n", "timeout=99999999999999999\n", "=\n", "\x00", "\r", "t=ldev-hello\n", "action=reboot\n", "target=1\n"];
  for (let i = 0; i < 5000; i++) b.dev.portData(r() < 0.5 ? PORT_A : PORT_B, parts[Math.floor(r() * parts.length)]!);
  b.advance(1000);
  assert.is(b.hal.logged("internal").length, 0);
  assert.is(power(b), "1111");
});

test("console backend: switch, reboot with done, settings persisted", () => {
  const b = new Bench(CFG);
  let done = 0;
  b.dev.switchOutlet(2, false, "console:admin");
  assert.not.ok(b.dev.rebootOutlet(2, "console:admin", () => done++), "already off");
  assert.ok(b.dev.rebootOutlet(1, "console:admin", () => done++));
  assert.is(power(b), "c011");
  b.advance(2100);
  assert.is(done, 1);
  assert.is(power(b), "1011");
  assert.is(b.dev.changeSetting("outlet.4", "charlie"), "");
  assert.match(b.hal.storage["lubdub.cfg"]!, "outlet.4=charlie");
  assert.ok(b.dev.changeSetting("wd.max_per_hour", "999").length > 0);
  b.restart();
  assert.is(b.dev.outlets()[3]!.name, "charlie");
  assert.is(power(b), "1011");
});

test("hardware watchdog enabled at start and kicked every tick", () => {
  const b = new Bench("hw_wd_s=7");
  assert.is(b.hal.watchdogSeconds, 7);
  const k = b.hal.kicks;
  b.advance(1000);
  assert.is(b.hal.kicks - k, 10);
});

test.run();
