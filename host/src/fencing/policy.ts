// Fencing policy: what the agent does between "the peer is dead, fence it
// before taking over" and the answer it gives the failover core.
//
//   [delay]  this node waits first when lubdub.cf says so (fencing_delay), so
//            that in a race between two nodes fencing each other through
//            tools that do not arbitrate, the other (preferred) node wins;
//   attempt  the device is asked (reboot or off) with a per-attempt time
//            limit; only an outcome that confirms the action counts;
//   retry    after a failure, again after a backoff that doubles from
//            retry_min up to retry_max, as long as the total time allows;
//   give up  when the total time is spent (or the device says it does not
//            control that node): a loud fence.gave-up, the alert command, and
//            the answer "bad" / "badhost", so the core does NOT take over;
//   abort    when the peer is seen alive again (the core no longer wants the
//            fence): fence.aborted, no further attempts, the answer "bad".
//            An attempt already sent to the device cannot be recalled: the
//            wait for it is cancelled, but the device may still carry it out.
//
// FencePolicy is the deterministic core: inputs are calls with the time,
// outputs are effects (start an attempt, cancel one, log, alert, finish).
// createFenceHook is the shell around it: a FenceHook the agent plugs into
// its ResourceShell, driven by an injected Clock (real timers in the agent,
// a fake clock in tests).

import type { StonithResult } from "@lubdub/protocol";
import { confirms, fail, type FenceDevice, type FenceLog, type FenceOutcome } from "./types.js";
import { runProgram } from "./run.js";

export interface FencePolicyConfig {
  /** What fencing does to the peer: Heartbeat resets (reboot); off keeps it down. */
  action: "reboot" | "off";
  /** Wait before the first attempt (this node's fencing_delay; 0 for none). */
  delayMs: number;
  /** From the first attempt on, the longest fencing may take before giving up. */
  totalTimeoutMs: number;
  /** Longest one attempt may take. */
  attemptTimeoutMs: number;
  /** First backoff after a failed attempt; doubled after each failure… */
  retryMinMs: number;
  /** …up to this. */
  retryMaxMs: number;
  /** Command run when fencing gives up: argv, without a shell. Empty: none. */
  alert: string[];
}

export const DEFAULT_FENCE_POLICY: FencePolicyConfig = {
  action: "reboot",
  delayMs: 0,
  totalTimeoutMs: 5 * 60_000,
  attemptTimeoutMs: 60_000,
  retryMinMs: 2_000,
  retryMaxMs: 30_000,
  alert: [],
};

/** Longest an alert command may run. */
export const ALERT_TIMEOUT_MS = 30_000;

export type PolicyEffect =
  | { kind: "attempt"; run: number; attempt: number; node: string; action: "reboot" | "off" }
  | { kind: "cancel"; run: number; attempt: number; why?: "timeout" | "aborted" }
  | { kind: "log"; level: "info" | "warn" | "error" | "crit"; event: string; msg: string; fields: Record<string, unknown> }
  | { kind: "alert"; run: number; node: string; result: StonithResult; message: string }
  | { kind: "finish"; run: number; node: string; result: StonithResult };

type Phase = "delay" | "attempt" | "backoff" | "done";

interface Run {
  id: number;
  node: string;
  phase: Phase;
  /** When the current wait ends (delay, attempt limit, backoff). */
  until: number;
  /** Total deadline (set when the first attempt starts). */
  deadline: number;
  attempt: number;
  failures: number;
  lastError: string;
  /** Time limit of the current attempt. */
  limitMs: number;
}

/** Stable event names (logs, tests and operators key on them). */
export const FENCE_EVENTS = {
  delay: "fence.delay",
  attempt: "fence.attempt",
  attemptFailed: "fence.attempt-failed",
  retry: "fence.retry",
  confirmed: "fence.confirmed",
  gaveUp: "fence.gave-up",
  aborted: "fence.aborted",
  alertRan: "fence.alert",
  alertFailed: "fence.alert-failed",
} as const;

export class FencePolicy {
  private runs = new Map<number, Run>();
  private nextId = 1;

  constructor(private readonly c: FencePolicyConfig) {}

  /** Starts fencing `node`; returns the run id in the first effect's `run`. */
  start(now: number, node: string): { run: number; effects: PolicyEffect[] } {
    const r: Run = { id: this.nextId++, node, phase: "delay", until: now + this.c.delayMs, deadline: 0, attempt: 0, failures: 0, lastError: "", limitMs: 0 };
    this.runs.set(r.id, r);
    const out: PolicyEffect[] = [];
    if (this.c.delayMs > 0) {
      out.push(this.log("warn", FENCE_EVENTS.delay, `waiting ${this.c.delayMs} ms before fencing ${node} (fencing_delay: the peer is preferred in a fencing race)`, { node, delayMs: this.c.delayMs }));
    } else {
      this.begin(now, r, out);
    }
    return { run: r.id, effects: out };
  }

  /** The device answered attempt `attempt` of run `run`. Stale answers (after a timeout) are ignored. */
  attemptDone(now: number, run: number, attempt: number, o: FenceOutcome): PolicyEffect[] {
    const r = this.runs.get(run);
    if (!r || r.phase !== "attempt" || r.attempt !== attempt) return [];
    const out: PolicyEffect[] = [];
    if (confirms(this.c.action, o)) {
      out.push(this.log("warn", FENCE_EVENTS.confirmed, `${r.node} fenced (${this.c.action}, attempt ${attempt})${o.ok && o.detail ? `: ${o.detail}` : ""}`, { node: r.node, attempt, action: this.c.action, state: o.ok ? o.state : null }));
      this.finish(r, "OK", out);
      return out;
    }
    this.failed(now, r, o.ok ? fail("unverified", `the device answered ${o.state}, not ${this.c.action}`) : o, out);
    return out;
  }

  /**
   * Calls off every run fencing `node` (the peer is back): no further
   * attempts, answer "bad", no alert. An attempt in flight is cancelled here,
   * but what the device was already told cannot be recalled: it may still
   * fence the node (the log says so).
   */
  abort(now: number, node: string, reason: string): PolicyEffect[] {
    const out: PolicyEffect[] = [];
    for (const r of [...this.runs.values()]) {
      if (r.node.toLowerCase() !== node.toLowerCase() || r.phase === "done") continue;
      const inFlight = r.phase === "attempt";
      if (inFlight) out.push({ kind: "cancel", run: r.id, attempt: r.attempt, why: "aborted" });
      out.push(
        this.log("warn", FENCE_EVENTS.aborted, `fencing ${r.node} aborted (${reason}) after ${r.attempt} attempt(s)${inFlight ? `; attempt ${r.attempt} was already sent to the device and cannot be recalled: it may still take effect` : ""}`, {
          node: r.node, reason, attempts: r.attempt, inFlight, afterMs: r.attempt > 0 ? now - (r.deadline - this.c.totalTimeoutMs) : 0,
        }),
      );
      this.finish(r, "bad", out);
    }
    return out;
  }

  /** Timers: call at (or after) nextWakeup(). */
  tick(now: number): PolicyEffect[] {
    const out: PolicyEffect[] = [];
    for (const r of [...this.runs.values()]) {
      if (now < r.until) continue;
      if (r.phase === "delay" || r.phase === "backoff") this.begin(now, r, out);
      else if (r.phase === "attempt") {
        out.push({ kind: "cancel", run: r.id, attempt: r.attempt });
        this.failed(now, r, fail("timeout", `no answer within ${r.limitMs} ms`), out, true);
      }
    }
    return out;
  }

  /** When tick() must next be called; null when nothing waits. */
  nextWakeup(): number | null {
    let at: number | null = null;
    for (const r of this.runs.values()) if (r.phase !== "done" && (at === null || r.until < at)) at = r.until;
    return at;
  }

  /** Runs in progress, for status. */
  active(): { node: string; phase: Phase; attempt: number; lastError: string }[] {
    return [...this.runs.values()].map((r) => ({ node: r.node, phase: r.phase, attempt: r.attempt, lastError: r.lastError }));
  }

  private attemptLimit(now: number, r: Run): number {
    return Math.max(0, Math.min(this.c.attemptTimeoutMs, r.deadline - now));
  }

  private begin(now: number, r: Run, out: PolicyEffect[]): void {
    if (r.attempt === 0) r.deadline = now + this.c.totalTimeoutMs;
    r.attempt++;
    r.phase = "attempt";
    const limit = this.attemptLimit(now, r);
    r.limitMs = limit;
    r.until = now + limit;
    out.push(this.log("warn", FENCE_EVENTS.attempt, `fencing ${r.node} (${this.c.action}), attempt ${r.attempt}`, { node: r.node, attempt: r.attempt, action: this.c.action, limitMs: limit }));
    out.push({ kind: "attempt", run: r.id, attempt: r.attempt, node: r.node, action: this.c.action });
  }

  private failed(now: number, r: Run, o: FenceOutcome, out: PolicyEffect[], timedOut = false): void {
    const message = o.ok ? "not confirmed" : timedOut ? `attempt ${r.attempt}: ${o.message}` : o.message;
    const code = o.ok ? "unverified" : o.code;
    r.failures++;
    r.lastError = message;
    out.push(this.log("error", FENCE_EVENTS.attemptFailed, `fencing ${r.node}, attempt ${r.attempt} failed (${code}): ${message}`, { node: r.node, attempt: r.attempt, code }));
    if (code === "badhost" || code === "config") {
      this.giveUp(r, code === "badhost" ? "badhost" : "bad", `${code}: ${message}`, out);
      return;
    }
    const wait = Math.min(this.c.retryMinMs * 2 ** (r.failures - 1), this.c.retryMaxMs);
    if (now + wait >= r.deadline) {
      this.giveUp(r, "bad", `no confirmed fence within ${this.c.totalTimeoutMs} ms (${r.attempt} attempts; last: ${message})`, out);
      return;
    }
    r.phase = "backoff";
    r.until = now + wait;
    out.push(this.log("warn", FENCE_EVENTS.retry, `fencing ${r.node} again in ${wait} ms`, { node: r.node, attempt: r.attempt + 1, waitMs: wait }));
  }

  private giveUp(r: Run, result: StonithResult, why: string, out: PolicyEffect[]): void {
    out.push(this.log("crit", FENCE_EVENTS.gaveUp, `FENCING ${r.node} FAILED, NOT taking over its resources: ${why}`, { node: r.node, attempts: r.attempt, result }));
    if (this.c.alert.length > 0) out.push({ kind: "alert", run: r.id, node: r.node, result, message: why });
    this.finish(r, result, out);
  }

  private finish(r: Run, result: StonithResult, out: PolicyEffect[]): void {
    r.phase = "done";
    this.runs.delete(r.id);
    out.push({ kind: "finish", run: r.id, node: r.node, result });
  }

  private log(level: "info" | "warn" | "error" | "crit", event: string, msg: string, fields: Record<string, unknown>): PolicyEffect {
    return { kind: "log", level, event, msg, fields };
  }
}

/** Time and timers, injected (real ones in the agent, a fake clock in tests). */
export interface Clock {
  now(): number;
  /** Calls fn after ms; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

export type AlertRunner = (argv: string[], env: NodeJS.ProcessEnv) => Promise<{ ok: boolean; detail: string }>;

/** Runs the alert command without a shell, bounded by ALERT_TIMEOUT_MS. */
export const runAlertCommand: AlertRunner = async (argv, env) => {
  const r = await runProgram(argv, { env: { ...process.env, ...env }, timeoutMs: ALERT_TIMEOUT_MS });
  if (r.error !== undefined) return { ok: false, detail: r.error };
  if (r.timedOut) return { ok: false, detail: `still running after ${ALERT_TIMEOUT_MS} ms; killed` };
  return { ok: r.code === 0, detail: `exit ${r.code}` };
};

export interface FenceHookOptions {
  /** The fence device (null: no STONITH configured, the hook answers n_stnth). */
  device: FenceDevice | null;
  policy: FencePolicyConfig;
  log: FenceLog;
  clock?: Clock;
  runAlert?: AlertRunner;
  /** Why, as the device records it. */
  reason?: (node: string) => string;
}

/** What createFenceHook returns: the hook itself plus a handle for status and shutdown. */
export interface PolicyFenceHook {
  (node: string): Promise<StonithResult>;
  /** Runs in progress. */
  active(): ReturnType<FencePolicy["active"]>;
  /** Resolves when the alert commands started so far have finished (tests, shutdown). */
  settled(): Promise<void>;
  /** Calls off fencing `node` (it is alive again): no further attempts; its caller gets "bad". */
  abort(node: string, reason: string): void;
  /** Stops every run (answering "bad") and closes the device. */
  close(): Promise<void>;
}

/**
 * The FenceHook the agent plugs into its ResourceShell: fences through
 * `device` under the policy; "OK" only after a confirmed fence.
 */
export function createFenceHook(o: FenceHookOptions): PolicyFenceHook {
  const clock = o.clock ?? REAL_CLOCK;
  const runAlert = o.runAlert ?? runAlertCommand;
  const policy = new FencePolicy(o.policy);
  const waiting = new Map<number, (r: StonithResult) => void>();
  const byNode = new Map<string, Promise<StonithResult>>();
  const attempts = new Map<string, AbortController>();
  const alerts = new Set<Promise<void>>();
  let cancelTimer: (() => void) | null = null;
  let closed = false;

  const schedule = () => {
    cancelTimer?.();
    cancelTimer = null;
    const at = policy.nextWakeup();
    if (at === null || closed) return;
    cancelTimer = clock.setTimer(at - clock.now(), () => {
      cancelTimer = null;
      apply(policy.tick(clock.now()));
    });
  };

  const apply = (effects: PolicyEffect[]) => {
    for (const e of effects) {
      switch (e.kind) {
        case "log":
          o.log(e.level, e.event, e.msg, e.fields);
          break;
        case "attempt": {
          const ac = new AbortController();
          attempts.set(`${e.run}/${e.attempt}`, ac);
          const reason = o.reason ? o.reason(e.node) : `peer ${e.node} declared dead`;
          o.device!.fence({ node: e.node, action: e.action, reason, signal: ac.signal })
            .catch((err: Error) => fail("failed", `device threw: ${err.message}`))
            .then((outcome) => {
              attempts.delete(`${e.run}/${e.attempt}`);
              if (!closed) apply(policy.attemptDone(clock.now(), e.run, e.attempt, outcome));
            });
          break;
        }
        case "cancel":
          // Stops the wait; a request the device already has may still be carried out.
          attempts.get(`${e.run}/${e.attempt}`)?.abort(new Error(e.why === "aborted" ? "fencing aborted" : "attempt timed out"));
          attempts.delete(`${e.run}/${e.attempt}`);
          break;
        case "alert": {
          const argv = [...o.policy.alert, e.node, e.result];
          const p = runAlert(argv, { LUBDUB_FENCE_NODE: e.node, LUBDUB_FENCE_RESULT: e.result, LUBDUB_FENCE_MESSAGE: e.message })
            .catch((err: Error) => ({ ok: false, detail: err.message }))
            .then((r) => {
              if (r.ok) o.log("warn", FENCE_EVENTS.alertRan, `alert command ran for ${e.node}: ${r.detail}`, { node: e.node, command: o.policy.alert[0] });
              else o.log("error", FENCE_EVENTS.alertFailed, `alert command for ${e.node} failed: ${r.detail}`, { node: e.node, command: o.policy.alert[0] });
            });
          alerts.add(p);
          void p.finally(() => alerts.delete(p));
          break;
        }
        case "finish":
          waiting.get(e.run)?.(e.result);
          waiting.delete(e.run);
          break;
      }
    }
    schedule();
  };

  const hook = ((node: string): Promise<StonithResult> => {
    if (o.device === null) return Promise.resolve("n_stnth");
    if (closed) return Promise.resolve("bad");
    const key = node.toLowerCase();
    const running = byNode.get(key);
    if (running) return running;
    const p = new Promise<StonithResult>((resolve) => {
      const { run, effects } = policy.start(clock.now(), node);
      waiting.set(run, resolve);
      apply(effects);
    });
    byNode.set(key, p);
    void p.finally(() => byNode.delete(key));
    return p;
  }) as PolicyFenceHook;
  hook.active = () => policy.active();
  hook.abort = (node: string, reason: string) => {
    if (closed) return;
    apply(policy.abort(clock.now(), node, reason));
  };
  hook.settled = async () => {
    while (alerts.size > 0) await Promise.all([...alerts]);
  };
  hook.close = async () => {
    closed = true;
    cancelTimer?.();
    for (const ac of attempts.values()) ac.abort(new Error("agent stopping"));
    for (const resolve of waiting.values()) resolve("bad");
    waiting.clear();
    await o.device?.close?.();
  };
  return hook;
}
