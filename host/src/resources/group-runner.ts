// Starting, stopping and checking one resource group, as Heartbeat's
// ResourceManager does it (takegroup, givegroup, statgroup):
//
//   start: every resource's status first, all at once, then the starts left
//     to right: a resource whose status says it runs is left alone, otherwise
//     it is started (see "Statuses first" below). A class may finish the part
//     of its start that can no longer fail it while the next resource starts
//     (ActionContext's finishLater: the IP classes' first gratuitous ARP
//     confirmation); the group counts as started once all of it is done. The
//     first start that fails ends the attempt: the whole group is then
//     released (stopped right to left, as givegroup does, so a half-started
//     resource is stopped too) and the result carries the failing script's
//     output.
//   stop: right to left; a failed stop is retried (HA_STOPRETRYMAX times, a
//     second apart). When it still fails, status decides: stopped means the
//     script is merely not LSB-compliant (stopping a stopped resource must
//     succeed) and the resource counts as stopped; running means the group
//     cannot be released. Heartbeat reboots the machine there; lubdub
//     reports the resource as stuck and lets the caller decide. The other
//     resources are stopped either way.
//   status: every resource's status; "all", "some" or "none" running.
//
// Statuses first. ResourceManager's takegroup runs `we_own_resource R ||
// doscript R start` for one resource after the other, so each status is
// read just before that resource's start, after the earlier resources
// started. lubdub reads every status at once before the first start (as
// Pacemaker probes every resource before it starts any), so the group waits
// for the slowest status instead of for each in turn, and then starts left to
// right, never two at once, never a status during a start. What can differ
// is a status that an earlier resource's start would change:
//   - said running before, stopped after (a service whose stale pid file
//     vanishes under a file system the previous resource mounts): skipping
//     the start would leave it down. So a resource whose early status says
//     running is asked again right before its turn whenever something was
//     started before it in this run; that answer, the one takegroup would
//     have read, decides, and only a resource that runs then is skipped.
//   - said stopped (or failed) before, running after (something an earlier
//     start brought up as a side effect): lubdub starts it where takegroup
//     would not. Starting a running resource is required to succeed and
//     change nothing (LSB: "start" on a running service is success; OCF the
//     same), which is exactly what a start then does.
// A status is read-only, so reading it early changes nothing by itself; when
// an earlier start fails, the statuses of the resources after it were read
// (and are logged) although takegroup would not have asked them. The one
// look of a class's probe is used for its start only when nothing was started
// since (the first resource started); later ones look again in run(start).
//
// Heartbeat runs these scripts without any time limit; lubdub gives every
// action a timeout (options below) and kills the script's process group
// past it. Pure orchestration over ResourceClass: the class lookup is a
// parameter. The caller must not run two of these on the same group at once.

import { getResourceClass } from "./classes.js";
import type { Action, ActionContext, ActionResult, Probe, ResourceClass, ResourceSpec } from "./resource-class.js";

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

  /** The status of a resource for the start's prefetch, not recorded (recordStatus does, in order). Never rejects. */
  async probe(resource: ResourceSpec): Promise<Probe> {
    const cls = this.classOf(resource);
    if (this.aborted) return { status: abortedResult() };
    if (!cls) return { status: missingClass(resource) };
    try {
      if (cls.probe) return await cls.probe(resource, this.context("status", null));
      return { status: await cls.run(resource, "status", this.context("status", null)) };
    } catch (e) {
      return { status: threw(resource, "status", e) };
    }
  }

  recordStatus(resource: ResourceSpec, status: ActionResult): void {
    this.record(resource, "status", status, 1, []);
  }

  /** A start from the probe's own look (Probe.start), recorded as run(start) would be. */
  async startFromProbe(resource: ResourceSpec, start: NonNullable<Probe["start"]>): Promise<ActionResult> {
    const later: Promise<string>[] = [];
    let result: ActionResult;
    if (this.aborted) result = abortedResult();
    else {
      try {
        result = await start(this.context("start", later));
      } catch (e) {
        // As for run(): a bug in a class is a failed start, and the group is released.
        result = threw(resource, "start", e);
      }
    }
    this.record(resource, "start", result, 1, later);
    return result;
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

/** Reads every status, then starts the group left to right; on a failed start, releases it. Never throws. */
export async function startGroup(group: RunnableGroup, o: GroupRunOptions = {}): Promise<StartGroupResult> {
  const r = new Runner(o);
  const alreadyRunning: string[] = [];
  let failed: StartGroupResult["failed"] = null;
  // Statuses first (see the top of this file): all at once, all done before the first start.
  const probes = await Promise.all(group.resources.map((res) => r.probe(res)));
  group.resources.forEach((res, i) => r.recordStatus(res, probes[i]!.status));
  let startedBefore = false;
  for (const [i, res] of group.resources.entries()) {
    if (r.aborted) break;
    const probe = probes[i]!;
    let status = probe.status;
    // Running before an earlier resource started: ask again, as takegroup would ask now.
    if (status.ok && startedBefore) status = await r.act(res, "status");
    if (r.aborted) break;
    // ResourceManager: we_own_resource "$j" || doscript "$j" start
    if (status.ok) {
      alreadyRunning.push(res.raw);
      continue;
    }
    const result = !startedBefore && probe.start ? await r.startFromProbe(res, probe.start) : await r.act(res, "start", 1, true);
    startedBefore = true;
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
