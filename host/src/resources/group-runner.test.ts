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

t("start: status then start, left to right; a running resource is left alone", async () => {
  const f = fake({ a: { running: false }, b: { running: true }, c: { running: false } });
  const r = await startGroup(f.group, f.opts);
  assert.ok(r.ok);
  assert.equal(f.calls, ["a status", "a start", "b status", "c status", "c start"]);
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
  assert.equal(f.calls, ["a status", "a start", "b status", "b start", "c stop", "b stop", "a stop"]);
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
  assert.equal(f.calls, ["a status", "a start"]);
  assert.is(r.release, null);
});

t.run();
