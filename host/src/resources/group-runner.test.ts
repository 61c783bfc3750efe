// The group runner's orchestration over fake classes (the real scripts are
// exercised in test/src/resources.test.ts).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { groupStatus, startGroup, stopGroup, type GroupRunOptions } from "./group-runner.js";
import type { Action, ActionResult, ResourceClass, ResourceSpec } from "./resource-class.js";

const t = suite("group runner");

interface FakeRes {
  running: boolean;
  failStart?: boolean;
  /** Stop fails this many times, then works. */
  failStops?: number;
  /** Stop fails but the resource stops anyway (a non-LSB script). */
  stopLies?: boolean;
}

function fake(resources: Record<string, FakeRes>) {
  const calls: string[] = [];
  const cls: ResourceClass = {
    name: "fake",
    async run(spec: ResourceSpec, action: Action): Promise<ActionResult> {
      calls.push(`${spec.name} ${action}`);
      const r = resources[spec.name]!;
      const res = (ok: boolean, output = ""): ActionResult => ({ ok, exitCode: ok ? 0 : 1, timedOut: false, output });
      if (action === "status") return { ...res(r.running), state: r.running ? "running" : "stopped" };
      if (action === "start") {
        if (r.failStart) return res(false, `${spec.name}: cannot start`);
        r.running = true;
        return res(true);
      }
      if (r.stopLies) {
        r.running = false;
        return res(false, "stop: exit 1");
      }
      if ((r.failStops ?? 0) > 0) {
        r.failStops!--;
        return res(false, "busy");
      }
      r.running = false;
      return res(true);
    },
  };
  const group = {
    key: Object.keys(resources)[0]!,
    resources: Object.keys(resources).map((name): ResourceSpec => ({ raw: name, className: "fake", name, args: [], params: {}, path: null })),
  };
  const opts: GroupRunOptions = { classFor: (n) => (n === "fake" ? cls : undefined), stopRetryDelayMs: 1 };
  return { calls, group, opts, resources };
}

t("start: every status first, then the starts left to right; a running resource is asked again after an earlier start, and left alone", async () => {
  const f = fake({ a: { running: false }, b: { running: true }, c: { running: false } });
  const r = await startGroup(f.group, f.opts);
  assert.ok(r.ok);
  assert.equal(f.calls, ["a status", "b status", "c status", "a start", "b status", "c start"]);
  assert.equal(r.steps.map((s) => `${s.resource.name} ${s.action}`), ["a status", "b status", "c status", "a start", "b status", "c start"]);
  assert.equal(r.alreadyRunning, ["b"]);
  assert.is(r.failed, null);
  assert.is(r.release, null);
});

t("a failed start releases the whole group right to left, with the failing output", async () => {
  const f = fake({ a: { running: false }, b: { running: false, failStart: true }, c: { running: false } });
  const r = await startGroup(f.group, f.opts);
  assert.not.ok(r.ok);
  assert.is(r.failed!.resource.name, "b");
  assert.is(r.failed!.result.output, "b: cannot start");
  assert.equal(f.calls, ["a status", "b status", "c status", "a start", "b start", "c stop", "b stop", "a stop"]);
  assert.ok(r.release!.ok);
  assert.equal(r.release!.steps.map((s) => s.resource.name), ["c", "b", "a"]);
  assert.not.ok(f.resources.a!.running);
});

t("stop: right to left; a failed stop is retried, then judged by status", async () => {
  let f = fake({ a: { running: true }, b: { running: true, failStops: 2 } });
  let r = await stopGroup(f.group, f.opts);
  assert.ok(r.ok);
  assert.equal(f.calls, ["b stop", "b stop", "b stop", "a stop"]);
  assert.equal(r.steps.map((s) => s.attempt), [1, 2, 3, 1]);

  f = fake({ a: { running: true }, b: { running: true, failStops: 5 } });
  r = await stopGroup(f.group, { ...f.opts, stopRetries: 2 });
  assert.not.ok(r.ok);
  assert.equal(f.calls, ["b stop", "b stop", "b stop", "b status", "a stop"]);
  assert.equal(r.stuck.map((s) => s.resource.name), ["b"]);
  assert.is(r.stuck[0]!.result.output, "busy");

  f = fake({ a: { running: true, stopLies: true } });
  r = await stopGroup(f.group, { ...f.opts, stopRetries: 0 });
  assert.ok(r.ok);
  assert.equal(r.stopFailedButStopped, ["a"]);
  assert.equal(f.calls, ["a stop", "a status"]);
});

t("status: all, some, none", async () => {
  assert.is((await groupStatus(fake({ a: { running: true }, b: { running: true } }).group, fake({ a: { running: true }, b: { running: true } }).opts)).state, "all");
  const f = fake({ a: { running: true }, b: { running: false } });
  const s = await groupStatus(f.group, f.opts);
  assert.is(s.state, "some");
  assert.not.ok(s.running);
  const g = fake({ a: { running: false }, b: { running: false } });
  assert.is((await groupStatus(g.group, g.opts)).state, "none");
});

t("a class that is not registered fails the action; a class that throws does not throw out", async () => {
  const f = fake({ a: { running: false } });
  let r = await startGroup(f.group, { ...f.opts, classFor: () => undefined, stopRetries: 0 });
  assert.not.ok(r.ok);
  assert.match(r.failed!.result.output, /no resource class 'fake'/);
  const thrower: ResourceClass = {
    name: "fake",
    run() {
      throw new Error("boom");
    },
  };
  r = await startGroup(f.group, { ...f.opts, classFor: () => thrower, stopRetries: 0 });
  assert.not.ok(r.ok);
  assert.match(r.failed!.result.output, /threw: boom/);
});

t("cancelled: no further action, nothing rolled back", async () => {
  const f = fake({ a: { running: false }, b: { running: false } });
  const ac = new AbortController();
  const r = await startGroup(f.group, { ...f.opts, signal: ac.signal, onStep: (s) => s.action === "start" && ac.abort() });
  assert.ok(r.aborted);
  assert.not.ok(r.ok);
  assert.equal(f.calls, ["a status", "b status", "a start"]);
  assert.is(r.release, null);
});

t("statuses at once, all answered before the first start; starts strictly one after the other, left to right", async () => {
  const events: string[] = [];
  let busy = 0;
  let most = 0;
  const delays: Record<string, number> = { a: 30, b: 5, c: 15 };
  const cls: ResourceClass = {
    name: "fake",
    async run(spec, action) {
      busy++;
      most = Math.max(most, busy);
      events.push(`${spec.name} ${action} begins`);
      await new Promise((resolve) => setTimeout(resolve, action === "status" ? delays[spec.name]! : 5));
      events.push(`${spec.name} ${action} ends`);
      busy--;
      return action === "status" ? { ok: false, exitCode: 3, timedOut: false, output: "", state: "stopped" } : { ok: true, exitCode: 0, timedOut: false, output: "" };
    },
  };
  const group = { key: "a", resources: ["a", "b", "c"].map((name): ResourceSpec => ({ raw: name, className: "fake", name, args: [], params: {}, path: null })) };
  const r = await startGroup(group, { classFor: () => cls });
  assert.ok(r.ok);
  assert.equal(events.slice(0, 3), ["a status begins", "b status begins", "c status begins"]);
  const firstStart = events.indexOf("a start begins");
  assert.ok(events.slice(0, firstStart).filter((e) => e.endsWith("status ends")).length === 3, "every status answered before the first start");
  assert.equal(events.slice(firstStart), ["a start begins", "a start ends", "b start begins", "b start ends", "c start begins", "c start ends"]);
  assert.is(most, 3, "the statuses ran together");
  assert.equal(r.steps.map((s) => `${s.resource.name} ${s.action}`), ["a status", "b status", "c status", "a start", "b start", "c start"]);
});

t("a resource that ran before an earlier start and no longer does is started; one running before anything started is not asked again", async () => {
  // b's status depends on a: running before a starts (a stale pid file), stopped after.
  const calls: string[] = [];
  const state = { a: false, b: true, c: true };
  const cls: ResourceClass = {
    name: "fake",
    async run(spec, action) {
      calls.push(`${spec.name} ${action}`);
      const name = spec.name as keyof typeof state;
      if (action === "status") return { ok: state[name], exitCode: state[name] ? 0 : 3, timedOut: false, output: "", state: state[name] ? "running" : "stopped" };
      if (action === "start") {
        state[name] = true;
        if (name === "a") state.b = false;
      }
      return { ok: true, exitCode: 0, timedOut: false, output: "" };
    },
  };
  const mk = (names: string[]) => ({ key: names[0]!, resources: names.map((name): ResourceSpec => ({ raw: name, className: "fake", name, args: [], params: {}, path: null })) });
  let r = await startGroup(mk(["a", "b"]), { classFor: () => cls });
  assert.ok(r.ok);
  assert.equal(calls, ["a status", "b status", "a start", "b status", "b start"]);
  assert.equal(r.alreadyRunning, []);
  // c runs, and nothing was started before it: its first answer stands.
  calls.length = 0;
  state.a = false;
  r = await startGroup(mk(["c", "a"]), { classFor: () => cls });
  assert.ok(r.ok);
  assert.equal(calls, ["c status", "a status", "a start"]);
  assert.equal(r.alreadyRunning, ["c"]);
});

t("probe: its start is used for the first resource started only; later ones start through run; steps as status and start", async () => {
  const calls: string[] = [];
  const res = (ok: boolean, output: string, extra: Partial<ActionResult> = {}): ActionResult => ({ ok, exitCode: 0, timedOut: false, output, ...extra });
  const cls: ResourceClass = {
    name: "fake",
    async run(spec, action, ctx) {
      calls.push(`${spec.name} run ${action} (${ctx.timeoutMs})`);
      return res(action !== "status", `${spec.name} ${action} by run`, { state: "stopped" });
    },
    async probe(spec, ctx) {
      calls.push(`${spec.name} probe (${ctx.timeoutMs})`);
      return {
        status: res(false, `${spec.name} stopped`, { state: "stopped" }),
        start: async (startCtx) => {
          calls.push(`${spec.name} probe start (${startCtx.timeoutMs})`);
          return res(true, `${spec.name} started from the probe`);
        },
      };
    },
  };
  const group = { key: "a", resources: ["a", "b"].map((name): ResourceSpec => ({ raw: name, className: "fake", name, args: [], params: {}, path: null })) };
  const seen: string[] = [];
  const r = await startGroup(group, { classFor: () => cls, statusTimeoutMs: 7, startTimeoutMs: 9, onStep: (s) => seen.push(`${s.resource.name} ${s.action}`) });
  assert.ok(r.ok);
  assert.equal(calls, ["a probe (7)", "b probe (7)", "a probe start (9)", "b run start (9)"]);
  assert.equal(r.steps.map((s) => `${s.resource.name} ${s.action}: ${s.result.output}`), ["a status: a stopped", "b status: b stopped", "a start: a started from the probe", "b start: b start by run"]);
  assert.equal(seen, ["a status", "b status", "a start", "b start"]);
});

t("a failed start (from the probe, or one that throws) stops what started, right to left; later resources are not started", async () => {
  for (const how of ["fails", "throws"]) {
    const calls: string[] = [];
    const cls: ResourceClass = {
      name: "fake",
      async run(spec, action) {
        calls.push(`${spec.name} ${action}`);
        return { ok: action !== "status", exitCode: 0, timedOut: false, output: "", state: "stopped" };
      },
      async probe(spec) {
        calls.push(`${spec.name} probe`);
        const status: ActionResult = { ok: false, exitCode: 3, timedOut: false, output: "", state: "stopped" };
        if (spec.name !== "b") return { status };
        return {
          status,
          start: async () => {
            calls.push("b probe start");
            if (how === "throws") throw new Error("boom");
            return { ok: false, exitCode: 1, timedOut: false, output: "no" };
          },
        };
      },
    };
    const group = { key: "b", resources: ["b", "c"].map((name): ResourceSpec => ({ raw: name, className: "fake", name, args: [], params: {}, path: null })) };
    const r = await startGroup(group, { classFor: () => cls, stopRetries: 0 });
    assert.not.ok(r.ok);
    assert.is(r.failed!.resource.name, "b");
    assert.match(r.failed!.result.output, how === "throws" ? /threw: boom/ : /^no$/);
    assert.equal(calls, ["b probe", "c probe", "b probe start", "c stop", "b stop"]);
  }
  // A start in the middle fails: the one before it is stopped, the one after it never started.
  const f = fake({ a: { running: false }, b: { running: false, failStart: true }, c: { running: false } });
  const r = await startGroup(f.group, { ...f.opts, stopRetries: 0 });
  assert.not.ok(r.ok);
  assert.not.ok(f.calls.includes("c start"));
  assert.not.ok(f.resources.a!.running);
});

t("finishLater: the next resource starts at once; the group is started, and the step complete, when the rest is done", async () => {
  const order: string[] = [];
  let finish: (s: string) => void = () => undefined;
  const cls: ResourceClass = {
    name: "fake",
    async run(spec, action, ctx) {
      order.push(`${spec.name} ${action}`);
      if (action === "status") return { ok: false, exitCode: 3, timedOut: false, output: "", state: "stopped" };
      if (spec.name === "a" && ctx.finishLater) {
        ctx.finishLater(new Promise<string>((resolve) => (finish = resolve)).then((x) => (order.push("a rest done"), x)));
        return { ok: true, exitCode: 0, timedOut: false, output: "a started" };
      }
      return { ok: true, exitCode: 0, timedOut: false, output: `${spec.name} started` };
    },
  };
  const group = { key: "a", resources: ["a", "b"].map((name): ResourceSpec => ({ raw: name, className: "fake", name, args: [], params: {}, path: null })) };
  const seen: string[] = [];
  let settled = false;
  const p = startGroup(group, { classFor: () => cls, onStep: (s) => seen.push(`${s.resource.name} ${s.action}: ${s.result.output}`) }).then((r) => ((settled = true), r));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(order, ["a status", "b status", "a start", "b start"]);
  assert.not.ok(settled, "the group is not started before the rest of a's start is done");
  finish("; confirmed");
  const r = await p;
  assert.ok(r.ok);
  assert.equal(order.at(-1), "a rest done");
  assert.equal(r.steps.map((s) => s.result.output), ["", "", "a started; confirmed", "b started"]);
  // a's start is reported when it is complete.
  assert.equal(seen, ["a status: ", "b status: ", "b start: b started", "a start: a started; confirmed"]);
});

t("finishLater is offered only to start in a group", async () => {
  const offered: string[] = [];
  const cls: ResourceClass = {
    name: "fake",
    async run(spec, action, ctx) {
      if (ctx.finishLater) offered.push(action);
      return { ok: action !== "status", exitCode: 0, timedOut: false, output: "", state: "stopped" };
    },
  };
  const group = { key: "a", resources: [{ raw: "a", className: "fake", name: "a", args: [], params: {}, path: null }] };
  await startGroup(group, { classFor: () => cls });
  await stopGroup(group, { classFor: () => cls });
  await groupStatus(group, { classFor: () => cls });
  assert.equal(offered, ["start"]);
});

t.run();
