import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type Clock, createFenceHook, DEFAULT_FENCE_POLICY, FENCE_EVENTS, FencePolicy, type FencePolicyConfig } from "./policy.js";
import { done, fail, type FenceDevice, type FenceOutcome, type FenceRequest } from "./types.js";
import { ResourceShell } from "../agent/resources.js";
import { createLogger } from "../agent/log.js";

const t = suite("fencing policy");

class FakeClock implements Clock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private id = 0;
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const id = ++this.id;
    this.timers.push({ at: this.t + ms, fn, id });
    return () => (this.timers = this.timers.filter((x) => x.id !== id));
  }
  /** Moves time forward, firing due timers in order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A device whose answers are scripted: an outcome, or "hang" (never answers until aborted). */
class ScriptedDevice implements FenceDevice {
  readonly type = "scripted";
  readonly describe = "scripted";
  calls: { at: number; req: FenceRequest }[] = [];
  aborted = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly script: (FenceOutcome | "hang")[],
  ) {}
  fence(req: FenceRequest): Promise<FenceOutcome> {
    this.calls.push({ at: this.clock.now(), req });
    const next = this.script.shift() ?? fail("failed", "script exhausted");
    if (next !== "hang") return Promise.resolve(next);
    return new Promise((resolve) => {
      req.signal?.addEventListener("abort", () => {
        this.aborted++;
        resolve(fail("aborted", "aborted"));
      });
    });
  }
  async check(): Promise<FenceOutcome> {
    return done("unknown");
  }
}

interface Logged {
  level: string;
  event: string;
  msg: string;
  at: number;
}

function setup(script: (FenceOutcome | "hang")[], policy: Partial<FencePolicyConfig> = {}) {
  const clock = new FakeClock();
  const device = new ScriptedDevice(clock, script);
  const logs: Logged[] = [];
  const alerts: { argv: string[]; env: NodeJS.ProcessEnv }[] = [];
  const hook = createFenceHook({
    device,
    policy: { ...DEFAULT_FENCE_POLICY, ...policy },
    log: (level, event, msg) => logs.push({ level, event, msg, at: clock.now() }),
    clock,
    runAlert: async (argv, env) => {
      alerts.push({ argv, env });
      return { ok: true, detail: "exit 0" };
    },
  });
  const start = clock.now();
  return { clock, device, logs, alerts, hook, start, events: () => logs.map((l) => l.event) };
}

t("success: one attempt, confirmed, OK; no delay, no alert", async () => {
  const s = setup([done("cycling")]);
  const r = s.hook("bravo");
  await s.clock.advance(0);
  assert.is(await r, "OK");
  assert.is(s.device.calls.length, 1);
  assert.is(s.device.calls[0]!.req.action, "reboot");
  assert.is(s.device.calls[0]!.at, s.start);
  assert.equal(s.events(), [FENCE_EVENTS.attempt, FENCE_EVENTS.confirmed]);
  assert.equal(s.alerts, []);
});

t("no device: n_stnth at once", async () => {
  const hook = createFenceHook({ device: null, policy: DEFAULT_FENCE_POLICY, log: () => {} });
  assert.is(await hook("bravo"), "n_stnth");
});

t("delay: the first attempt waits fencing_delay", async () => {
  const s = setup([done("off")], { delayMs: 10_000, action: "off" });
  const r = s.hook("bravo");
  await s.clock.advance(9_999);
  assert.is(s.device.calls.length, 0);
  await s.clock.advance(1);
  assert.is(await r, "OK");
  assert.is(s.device.calls[0]!.at - s.start, 10_000);
  assert.is(s.events()[0], FENCE_EVENTS.delay);
});

t("retries with doubling backoff capped at retry_max, then success", async () => {
  const s = setup([fail("unreachable", "a"), fail("timeout", "b"), fail("refused", "c"), fail("unreachable", "d"), done("on")], { retryMinMs: 1000, retryMaxMs: 3000, totalTimeoutMs: 60_000 });
  const r = s.hook("bravo");
  await s.clock.advance(60_000);
  assert.is(await r, "OK");
  const at = s.device.calls.map((c) => c.at - s.start);
  assert.equal(at, [0, 1000, 3000, 6000, 9000]);
  assert.is(s.events().filter((e) => e === FENCE_EVENTS.retry).length, 4);
});

t("off must be confirmed off: a device answering 'on' is a failure", async () => {
  const s = setup([done("on"), done("off")], { action: "off", retryMinMs: 500 });
  const r = s.hook("bravo");
  await s.clock.advance(1000);
  assert.is(await r, "OK");
  assert.is(s.device.calls.length, 2);
  assert.ok(s.logs.some((l) => l.event === FENCE_EVENTS.attemptFailed && /unverified/.test(l.msg)));
});

t("total timeout: no confirmed fence → bad, fence.gave-up (crit), alert ran with node and result", async () => {
  const s = setup(Array(100).fill(fail("unreachable", "device unplugged")), { retryMinMs: 1000, retryMaxMs: 4000, totalTimeoutMs: 20_000, alert: ["/usr/local/sbin/page", "--urgent"] });
  let result: string | null = null;
  void s.hook("bravo").then((x) => (result = x));
  await s.clock.advance(15_000);
  assert.is(result, null, "still trying within the total time");
  await s.clock.advance(10_000);
  assert.is(result, "bad");
  const gaveUp = s.logs.find((l) => l.event === FENCE_EVENTS.gaveUp)!;
  assert.is(gaveUp.level, "crit");
  assert.ok(gaveUp.at - s.start <= 20_000, "gives up no later than the total timeout");
  // attempts at 0, 1, 3, 7, 11, 15, 19 s; the next (19 s + 4 s) would pass 20 s
  assert.equal(s.device.calls.map((c) => (c.at - s.start) / 1000), [0, 1, 3, 7, 11, 15, 19]);
  await s.hook.settled();
  assert.equal(s.alerts.map((a) => a.argv), [["/usr/local/sbin/page", "--urgent", "bravo", "bad"]]);
  assert.is(s.alerts[0]!.env["LUBDUB_FENCE_NODE"], "bravo");
  assert.ok(s.events().includes(FENCE_EVENTS.alertRan));
});

t("an attempt that hangs is aborted at attempt_timeout and retried; the total timeout bounds everything", async () => {
  const s = setup(["hang", "hang", "hang"], { attemptTimeoutMs: 5000, retryMinMs: 1000, retryMaxMs: 1000, totalTimeoutMs: 12_000 });
  let result: string | null = null;
  void s.hook("bravo").then((x) => (result = x));
  await s.clock.advance(30_000);
  assert.is(result, "bad");
  assert.equal(s.device.calls.map((c) => c.at - s.start), [0, 6000]);
  assert.is(s.device.aborted, 2);
  const gaveUp = s.logs.find((l) => l.event === FENCE_EVENTS.gaveUp)!;
  assert.is(gaveUp.at - s.start, 11_000, "second attempt limited by the total deadline (12 s), then no time for a third");
});

t("badhost: no retry, answered badhost, alert", async () => {
  const s = setup([fail("badhost", "no outlet named bravo")], { alert: ["/bin/alert"] });
  const r = s.hook("bravo");
  await s.clock.advance(0);
  assert.is(await r, "badhost");
  assert.is(s.device.calls.length, 1);
  await s.hook.settled();
  assert.is(s.alerts.length, 1);
});

t("a second request for the same node joins the running one", async () => {
  const s = setup([fail("unreachable", "x"), done("on")], { retryMinMs: 1000 });
  const a = s.hook("bravo");
  const b = s.hook("BRAVO");
  await s.clock.advance(2000);
  assert.is(await a, "OK");
  assert.is(await b, "OK");
  assert.is(s.device.calls.length, 2);
});

t("a late answer from a timed-out attempt is ignored", () => {
  const p = new FencePolicy({ ...DEFAULT_FENCE_POLICY, attemptTimeoutMs: 1000, retryMinMs: 1000 });
  const { run, effects } = p.start(0, "bravo");
  assert.ok(effects.some((e) => e.kind === "attempt"));
  const tick = p.tick(1000);
  assert.ok(tick.some((e) => e.kind === "cancel"));
  assert.equal(p.attemptDone(1500, run, 1, done("off")), [], "stale");
  const again = p.tick(2000);
  assert.ok(again.some((e) => e.kind === "attempt" && e.attempt === 2));
  const fin = p.attemptDone(2100, run, 2, done("cycling"));
  assert.ok(fin.some((e) => e.kind === "finish" && e.result === "OK"));
  assert.is(p.nextWakeup(), null);
});

t("abort (the peer is back) during the backoff: fence.aborted, answer bad, no further attempt even once the device would accept, no alert", async () => {
  // The device refuses (its hold window), then would power the node off: that later attempt must never be made.
  const s = setup([fail("refused", "lost-arbitration"), done("cycling")], { retryMinMs: 2000, alert: ["/bin/alert"] });
  const r = s.hook("bravo");
  await s.clock.advance(1000);
  assert.is(s.device.calls.length, 1);
  s.hook.abort("BRAVO", "peer is back");
  assert.is(await r, "bad");
  await s.clock.advance(60_000);
  assert.is(s.device.calls.length, 1, "no attempt after the abort");
  const aborted = s.logs.find((l) => l.event === FENCE_EVENTS.aborted)!;
  assert.ok(aborted, s.events().join(" "));
  assert.match(aborted.msg, /peer is back/);
  assert.not.match(aborted.msg, /cannot be recalled/, "nothing was in flight");
  assert.not.ok(s.events().includes(FENCE_EVENTS.gaveUp));
  await s.hook.settled();
  assert.equal(s.alerts, []);
  assert.equal(s.hook.active(), []);
  // A new request later (the peer died again) is a fresh run.
  const again = s.hook("bravo");
  await s.clock.advance(0);
  assert.is(await again, "OK");
  assert.is(s.device.calls.length, 2);
});

t("abort with an attempt in flight: the wait is cancelled, the log says it cannot be recalled, no retry", async () => {
  const s = setup(["hang", done("cycling")], { retryMinMs: 1000 });
  const r = s.hook("bravo");
  await s.clock.advance(10);
  s.hook.abort("bravo", "peer is back");
  assert.is(await r, "bad");
  await settle();
  assert.is(s.device.aborted, 1);
  await s.clock.advance(120_000);
  assert.is(s.device.calls.length, 1);
  assert.match(s.logs.find((l) => l.event === FENCE_EVENTS.aborted)!.msg, /cannot be recalled/);
  assert.not.ok(s.events().includes(FENCE_EVENTS.attemptFailed), "the cancelled attempt's answer is not a failure to retry");
});

t("abort during fencing_delay: no attempt at all; abort of another node or of nothing is a no-op", async () => {
  const s = setup([done("off")], { delayMs: 5000 });
  const r = s.hook("bravo");
  s.hook.abort("charlie", "peer is back");
  await s.clock.advance(1000);
  s.hook.abort("bravo", "peer is back");
  assert.is(await r, "bad");
  await s.clock.advance(10_000);
  assert.is(s.device.calls.length, 0);
  s.hook.abort("bravo", "peer is back");
  assert.is(s.events().filter((e) => e === FENCE_EVENTS.aborted).length, 1);
  const p = new FencePolicy(DEFAULT_FENCE_POLICY);
  assert.equal(p.abort(0, "bravo", "peer is back"), []);
  const { run } = p.start(0, "bravo");
  const es = p.abort(10, "bravo", "peer is back");
  assert.equal(es.map((e) => e.kind), ["cancel", "log", "finish"]);
  assert.equal(p.attemptDone(20, run, 1, done("cycling")), [], "the in-flight answer is void");
  assert.is(p.nextWakeup(), null);
  // The hook without a device (no STONITH) accepts abort too.
  createFenceHook({ device: null, policy: DEFAULT_FENCE_POLICY, log: () => {} }).abort("bravo", "peer is back");
});

t("agent wiring: the peer seen alive again while the shell fences it aborts the hook's run; the device gets no further attempt", async () => {
  const s = setup([fail("refused", "lost-arbitration"), done("cycling")], { retryMinMs: 2000 });
  const lines: string[] = [];
  const sent: string[] = [];
  const ok = async () => ({ ok: true, detail: "" });
  const shell = new ResourceShell({
    config: { node: "alpha", peer: "bravo", groups: [{ key: "192.0.2.10", owner: "alpha" }, { key: "192.0.2.20", owner: "bravo" }], mode: "off" },
    actions: { start: ok, stop: ok, running: async () => false, healthy: async () => true },
    fence: s.hook,
    log: createLogger("alpha", "info", { write: (l: string) => void lines.push(l) }),
    send: (b) => void sent.push(b.t),
    now: () => s.clock.now(),
    reschedule: () => {},
  });
  shell.peerStatus("active");
  shell.localActive(true);
  shell.message("bravo", { t: "resource", rscHold: "local", full: { isStable: true }, info: null });
  await s.clock.advance(10);
  shell.peerStatus("dead");
  await s.clock.advance(1000);
  assert.is(s.device.calls.length, 1, "first attempt refused (the device's hold)");
  shell.peerStatus("active");
  await s.clock.advance(60_000);
  assert.is(s.device.calls.length, 1, "no attempt after the peer came back");
  assert.ok(s.events().includes(FENCE_EVENTS.aborted), s.events().join(" "));
  assert.ok(lines.some((l) => l.includes('"fence.cancel"')));
  assert.not.ok(sent.includes("stonith"), "no stonith report for an aborted fence");
  assert.equal(shell.snapshot().groups.map((g) => g.holder), ["alpha", null]);
  shell.close();
});

t("close answers bad and aborts the attempt", async () => {
  const s = setup(["hang"]);
  const r = s.hook("bravo");
  await s.clock.advance(10);
  await s.hook.close();
  assert.is(await r, "bad");
  await settle();
  assert.is(s.device.aborted, 1);
});

t.run();
