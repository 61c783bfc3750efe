// Starting, stopping and checking one resource group, as Heartbeat's
// ResourceManager does it (takegroup, givegroup, statgroup):
//
//   start: left to right; a resource whose status says it runs is left
//     alone, otherwise it is started (in one call when the class offers
//     statusThenStart). A class may finish the part of its start that can no
//     longer fail it while the next resource starts (ActionContext's
//     finishLater: the IP classes' first gratuitous ARP confirmation); the
//     group counts as started once all of it is done. The first start that fails ends the
//     attempt: the whole group is then released (stopped right to left, as
//     givegroup does, so a half-started resource is stopped too) and the
//     result carries the failing script's output.
//   stop: right to left; a failed stop is retried (HA_STOPRETRYMAX times, a
//     second apart). When it still fails, status decides: stopped means the
//     script is merely not LSB-compliant (stopping a stopped resource must
//     succeed) and the resource counts as stopped; running means the group
//     cannot be released. Heartbeat reboots the machine there; lubdub
//     reports the resource as stuck and lets the caller decide. The other
//     resources are stopped either way.
//   status: every resource's status; "all", "some" or "none" running.
//
// Heartbeat runs these scripts without any time limit; lubdub gives every
// action a timeout (options below) and kills the script's process group
// past it. Pure orchestration over ResourceClass: the class lookup is a
// parameter. The caller must not run two of these on the same group at once.

import { getResourceClass } from "./classes.js";
import type { Action, ActionContext, ActionResult, ResourceClass, ResourceSpec, StatusThenStart } from "./resource-class.js";

export const DEFAULT_START_TIMEOUT_MS = 60_000;
export const DEFAULT_STOP_TIMEOUT_MS = 60_000;
export const DEFAULT_STATUS_TIMEOUT_MS = 30_000;
/** ResourceManager's HA_STOPRETRYMAX: a failed stop is tried again this many times. */
export const DEFAULT_STOP_RETRIES = 10;
/** ResourceManager sleeps this long between stop attempts. */
export const DEFAULT_STOP_RETRY_DELAY_MS = 1000;

/** What the runner needs of a group: its key and its resources in haresources order. */
export interface RunnableGroup {
  key: string;
  resources: ResourceSpec[];
}

export interface GroupRunOptions {
  /** className → class; default: the registry in classes.ts. */
  classFor?: (className: string) => ResourceClass | undefined;
  /** Environment for every script (heartbeatScriptEnv()). */
  env?: Record<string, string>;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  statusTimeoutMs?: number;
  stopRetries?: number;
  stopRetryDelayMs?: number;
  /** Cancels the run: the running script is killed and no further action starts. Nothing is rolled back. */
  signal?: AbortSignal;
  /** Called after every action, for logs. */
  onStep?: (step: GroupStep) => void;
}

export interface GroupStep {
  resource: ResourceSpec;
  action: Action;
  result: ActionResult;
  /** 1 for the first try of an action; stop retries count up. */
  attempt: number;
}

export interface StartGroupResult {
  key: string;
  /** Every resource runs. */
  ok: boolean;
  /** Resources that were already running and were left alone (raw). */
  alreadyRunning: string[];
  /** The resource whose start failed, with the script's result (output included). */
  failed: { resource: ResourceSpec; result: ActionResult } | null;
  /** After a failed start: the release of the group. null when the start succeeded or was cancelled. */
  release: StopGroupResult | null;
  /** The run was cancelled (signal); what ran stays as it is. */
  aborted: boolean;
  steps: GroupStep[];
}

export interface StopGroupResult {
  key: string;
  /** Every resource is stopped (the group is released). */
  ok: boolean;
  /** Resources that would not stop and whose status says they still run: the group is not released. */
  stuck: { resource: ResourceSpec; result: ActionResult }[];
  /** Resources whose stop failed but whose status says stopped (ResourceManager: "probably not LSB-compliant"). */
  stopFailedButStopped: string[];
  aborted: boolean;
  steps: GroupStep[];
}

export type GroupState = "all" | "some" | "none";

export interface GroupStatusResult {
  key: string;
  /** Heartbeat's statgroup answer. */
  state: GroupState;
  /** All resources run: the group is active here. */
  running: boolean;
  resources: { resource: ResourceSpec; result: ActionResult }[];
}

function missingClass(spec: ResourceSpec): ActionResult {
  return { ok: false, exitCode: null, timedOut: false, output: `[lubdub: no resource class '${spec.className}' for '${spec.raw}']`, state: "failed" };
}

function abortedResult(): ActionResult {
  return { ok: false, exitCode: null, timedOut: false, output: "[lubdub: cancelled]", state: "failed" };
}

function threw(spec: ResourceSpec, what: string, e: unknown): ActionResult {
  return { ok: false, exitCode: null, timedOut: false, output: `[lubdub: ${spec.className} ${what} threw: ${(e as Error)?.message ?? String(e)}]`, state: "failed" };
}

class Runner {
  readonly steps: GroupStep[] = [];
  /** Steps whose class finishes their action later (finishLater), until they have. */
  private readonly unfinished: Promise<void>[] = [];
  constructor(private readonly o: GroupRunOptions) {}

  get aborted(): boolean {
    return this.o.signal?.aborted ?? false;
  }

  private timeout(action: Action): number {
    if (action === "start") return this.o.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    if (action === "stop") return this.o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    return this.o.statusTimeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
  }

  private classOf(resource: ResourceSpec): ResourceClass | undefined {
    return (this.o.classFor ?? getResourceClass)(resource.className);
  }

  /** The context of one action; `later` collects what a start hands over through finishLater. */
  private context(action: Action, later: Promise<string>[] | null): ActionContext {
    const ctx: ActionContext = { timeoutMs: this.timeout(action), env: this.o.env ?? {}, signal: this.o.signal };
    if (later) ctx.finishLater = (rest) => later.push(rest);
    return ctx;
  }

  /** Records a step; one whose class finishes later gets the rest of its output, and is reported, when that is done. */
  private record(resource: ResourceSpec, action: Action, result: ActionResult, attempt: number, later: Promise<string>[]): void {
    const step: GroupStep = { resource, action, result, attempt };
    this.steps.push(step);
    if (later.length === 0) {
      this.o.onStep?.(step);
      return;
    }
    const rests = later.map((p) => p.catch((e: unknown) => `; [lubdub: ${resource.className} ${action} failed to finish: ${(e as Error)?.message ?? String(e)}]`));
    this.unfinished.push(
      Promise.all(rests).then((texts) => {
        step.result = { ...step.result, output: step.result.output + texts.join("") };
        this.o.onStep?.(step);
      }),
    );
  }

  /** Waits until every step has finished what its class handed over. */
  async settle(): Promise<void> {
    while (this.unfinished.length > 0) await Promise.all(this.unfinished.splice(0));
  }

  async act(resource: ResourceSpec, action: Action, attempt = 1, offerLater = false): Promise<ActionResult> {
    const cls = this.classOf(resource);
    const later: Promise<string>[] = [];
    let result: ActionResult;
    if (this.aborted) result = abortedResult();
    else if (!cls) result = missingClass(resource);
    else {
      try {
        result = await cls.run(resource, action, this.context(action, offerLater ? later : null));
      } catch (e) {
        // Classes should not throw; a bug in one must not stop a failover.
        result = threw(resource, action, e);
      }
    }
    this.record(resource, action, result, attempt, later);
    return result;
  }

  /**
   * ResourceManager's `we_own_resource || doscript start`: status, then start
   * unless it runs (none after a cancel). One call to the class when it
   * offers statusThenStart, recorded as the same two steps.
   */
  async statusThenStart(resource: ResourceSpec): Promise<StatusThenStart> {
    const cls = this.classOf(resource);
    if (!cls?.statusThenStart || this.aborted) {
      const status = await this.act(resource, "status");
      if (status.ok || this.aborted) return { status, start: null };
      return { status, start: await this.act(resource, "start", 1, true) };
    }
    const later: Promise<string>[] = [];
    let r: StatusThenStart;
    try {
      r = await cls.statusThenStart(resource, this.context("status", null), this.context("start", later));
    } catch (e) {
      // As for run(): a bug in a class is a failed start, and the group is released.
      const failed = threw(resource, "status/start", e);
      r = { status: failed, start: failed };
    }
    this.record(resource, "status", r.status, 1, []);
    if (r.start) this.record(resource, "start", r.start, 1, later);
    return r;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        this.o.signal?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.o.signal?.addEventListener("abort", done, { once: true });
    });
  }
}

async function stopWith(r: Runner, group: RunnableGroup, o: GroupRunOptions): Promise<StopGroupResult> {
  const retries = Math.max(0, o.stopRetries ?? DEFAULT_STOP_RETRIES);
  const delay = o.stopRetryDelayMs ?? DEFAULT_STOP_RETRY_DELAY_MS;
  const stuck: StopGroupResult["stuck"] = [];
  const stopFailedButStopped: string[] = [];
  const from = r.steps.length;
  for (const res of [...group.resources].reverse()) {
    if (r.aborted) break;
    let result = await r.act(res, "stop");
    for (let attempt = 2; !result.ok && attempt <= retries + 1 && !r.aborted; attempt++) {
      await r.sleep(delay);
      if (r.aborted) break;
      result = await r.act(res, "stop", attempt);
    }
    if (result.ok || r.aborted) continue;
    const status = await r.act(res, "status");
    if (status.ok) stuck.push({ resource: res, result });
    else if (!r.aborted) stopFailedButStopped.push(res.raw);
  }
  const aborted = r.aborted;
  return { key: group.key, ok: !aborted && stuck.length === 0, stuck, stopFailedButStopped, aborted, steps: r.steps.slice(from) };
}

/** Stops the group right to left. Never throws. */
export async function stopGroup(group: RunnableGroup, o: GroupRunOptions = {}): Promise<StopGroupResult> {
  return stopWith(new Runner(o), group, o);
}

/** Starts the group left to right; on a failed start, releases it. Never throws. */
export async function startGroup(group: RunnableGroup, o: GroupRunOptions = {}): Promise<StartGroupResult> {
  const r = new Runner(o);
  const alreadyRunning: string[] = [];
  let failed: StartGroupResult["failed"] = null;
  for (const res of group.resources) {
    if (r.aborted) break;
    // ResourceManager: we_own_resource "$j" || doscript "$j" start
    const { status, start } = await r.statusThenStart(res);
    if (start === null) {
      if (r.aborted) break;
      if (status.ok) {
        alreadyRunning.push(res.raw);
        continue;
      }
    }
    const result = start ?? { ok: false, exitCode: null, timedOut: false, output: `[lubdub: ${res.className} made no start after status said not running]` };
    if (!result.ok) {
      failed = { resource: res, result };
      break;
    }
  }
  const aborted = r.aborted;
  let release: StopGroupResult | null = null;
  if (failed && !aborted) {
    // ResourceManager: "Giving up resources due to failure of $j", then givegroup.
    release = await stopWith(r, group, o);
  }
  // What the classes finish in the background (bounded by them) is part of the start.
  await r.settle();
  return { key: group.key, ok: !failed && !aborted, alreadyRunning, failed, release, aborted, steps: r.steps };
}

/** Heartbeat's name for taking a group (ResourceManager takegroup). */
export const runGroup = startGroup;

/** The status of every resource of the group, left to right. Never throws. */
export async function groupStatus(group: RunnableGroup, o: GroupRunOptions = {}): Promise<GroupStatusResult> {
  const r = new Runner(o);
  const resources: GroupStatusResult["resources"] = [];
  for (const res of group.resources) resources.push({ resource: res, result: await r.act(res, "status") });
  const up = resources.filter((x) => x.result.ok).length;
  const state: GroupState = up === 0 ? "none" : up === resources.length ? "all" : "some";
  return { key: group.key, state, running: state === "all", resources };
}
