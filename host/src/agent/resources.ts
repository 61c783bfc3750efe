// The imperative shell around the failover core: runs the group actions it
// asks for (one at a time, in order), answers fencing requests, feeds it the
// membership's facts and the peer's messages, and reports holdings.

import type { Body, StonithResult } from "@lubdub/protocol";
import { Failover, type FailoverConfig, type FailoverEffect, type FailoverSnapshot } from "../failover/failover.js";
import type { GroupActions } from "../failover/group-actions.js";
import { type AgentLogger, logEvent } from "./log.js";
import { monitorFor, type LubdubCf } from "../config/lubdub-cf.js";

/** How often the monitor loop looks for checks that are due. */
const MONITOR_TICK_MS = 250;

interface MonitorState {
  nextAt: number;
  busy: boolean;
  /** Times of recent failures, within the monitor's window (bounded by restarts + 1). */
  failures: number[];
}

/** Fencing, as the agent is told to do it. Without STONITH configured it answers n_stnth at once. */
export interface FenceHook {
  (node: string): Promise<StonithResult>;
  /** Calls off fencing `node` (it is alive again): no further attempts. An attempt already on the device cannot be recalled. */
  abort?(node: string, reason: string): void;
}

export const NO_FENCING: FenceHook = async () => "n_stnth";

export interface ResourceShellOptions {
  config: FailoverConfig;
  actions: GroupActions;
  fence: FenceHook;
  log: AgentLogger;
  /** Sends a sequenced message through membership. */
  send: (body: Body) => void;
  /** Milliseconds on the agent's clock. */
  now: () => number;
  /** The agent re-arms its timer after every input. */
  reschedule: () => void;
  /** lubdub.cf: which groups are monitored, how often, how many local restarts. */
  lubdub?: LubdubCf;
}

export class ResourceShell {
  readonly core: Failover;
  /** Group actions run strictly one after another, in the order asked. */
  private chain: Promise<void> = Promise.resolve();
  private shutdownDone: (() => void) | null = null;
  private readonly startedWall = Date.now();
  private readonly monitors = new Map<string, MonitorState>();
  private monitorTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ResourceShellOptions) {
    this.core = new Failover(o.config);
  }

  /** Before joining the cluster: whatever of ours still runs from an earlier life is stopped, so no group can run twice. */
  async cleanSlate(): Promise<void> {
    for (const g of [...this.o.config.groups].reverse()) {
      let running = false;
      try {
        running = await this.o.actions.running(g.key);
      } catch {
        running = true; // cannot tell: stop it to be safe
      }
      if (!running) continue;
      logEvent(this.o.log, "warn", "rsc.stale-stop", `group ${g.key} was running before lubdubd started: stopping it before joining the cluster`, { key: g.key });
      const r = await this.o.actions.stop(g.key);
      if (!r.ok) logEvent(this.o.log, "error", "rsc.action-failed", `stopping stale group ${g.key} failed: ${r.detail}`, { key: g.key });
    }
  }

  localActive(peerAlive: boolean): void {
    this.apply(this.core.localActive(this.o.now(), peerAlive));
  }
  peerStatus(status: "init" | "up" | "active" | "dead"): void {
    this.apply(this.core.peerStatus(this.o.now(), status));
  }
  message(from: string, body: Body): void {
    this.apply(this.core.message(this.o.now(), from, body));
  }
  partitionHealed(): void {
    this.apply(this.core.partitionHealed(this.o.now()));
  }
  standby(set: "all" | "local" | "foreign"): void {
    this.apply(this.core.standbyCommand(this.o.now(), set));
  }
  takeover(set: "all" | "local" | "foreign" | "failback"): void {
    this.apply(this.core.takeoverCommand(this.o.now(), set));
  }
  tick(): void {
    this.apply(this.core.tick(this.o.now()));
  }
  nextWakeup(): number {
    return this.core.nextWakeup();
  }

  /** Starts the monitor loop (only when lubdub.cf asks for monitoring). */
  startMonitoring(): void {
    const cf = this.o.lubdub;
    if (!cf || cf.monitors.length === 0 || this.monitorTimer) return;
    const loop = () => {
      this.monitorTick();
      this.monitorTimer = setTimeout(loop, MONITOR_TICK_MS);
    };
    this.monitorTimer = setTimeout(loop, MONITOR_TICK_MS);
  }

  private monitorTick(): void {
    const cf = this.o.lubdub!;
    const now = this.o.now();
    const snap = this.core.snapshot();
    if (snap.phase !== "stable" || snap.standby) return;
    for (const g of snap.groups) {
      const spec = monitorFor(cf, g.key);
      if (!spec) continue;
      let st = this.monitors.get(g.key);
      if (g.holder !== this.o.config.node || g.transition) {
        // Not ours to watch right now; when it comes back, start with a clean record.
        this.monitors.delete(g.key);
        continue;
      }
      if (!st) {
        st = { nextAt: now + spec.intervalMs, busy: false, failures: [] };
        this.monitors.set(g.key, st);
      }
      if (st.busy || now < st.nextAt) continue;
      st.busy = true;
      const state = st;
      this.chain = this.chain.then(async () => {
        try {
          const healthy = await withTimeout(this.o.actions.healthy(g.key), spec.timeoutMs, false);
          const t = this.o.now();
          if (healthy || this.core.snapshot().groups.find((x) => x.key === g.key)?.holder !== this.o.config.node) return;
          state.failures = [...state.failures.filter((f) => t - f < spec.windowMs), t].slice(-(spec.restarts + 1));
          if (state.failures.length <= spec.restarts) {
            logEvent(this.o.log, "error", "rsc.monitor-failed", `group ${g.key} is not running: restarting it here (${state.failures.length} of ${spec.restarts} within ${spec.windowMs / 1000} s)`, { key: g.key, failures: state.failures.length });
            const stop = await this.o.actions.stop(g.key);
            const start = stop.ok ? await this.o.actions.start(g.key) : stop;
            if (!start.ok) logEvent(this.o.log, "error", "rsc.action-failed", `restarting ${g.key}: ${start.detail}`, { key: g.key });
            else logEvent(this.o.log, "info", "rsc.monitor-restarted", `group ${g.key} restarted here`, { key: g.key });
          } else {
            logEvent(this.o.log, "crit", "rsc.monitor-giving-up", `group ${g.key} failed ${state.failures.length} times within ${spec.windowMs / 1000} s: failing it over`, { key: g.key });
            this.apply(this.core.groupFailed(this.o.now(), g.key));
            state.failures = [];
          }
        } finally {
          state.busy = false;
          state.nextAt = this.o.now() + spec.intervalMs;
        }
      });
    }
  }

  /** Stops the monitor loop (agent shutdown). */
  close(): void {
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    this.monitorTimer = null;
  }

  /** Releases everything and sends shutdone; resolves when done (or after `limitMs`). */
  shutdown(limitMs: number): Promise<boolean> {
    this.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.shutdownDone = null;
        logEvent(this.o.log, "crit", "shutdown.timeout", `groups did not all stop within ${limitMs} ms; exiting anyway`);
        resolve(false);
      }, limitMs);
      this.shutdownDone = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.apply(this.core.shutdown(this.o.now()));
    });
  }

  snapshot(): FailoverSnapshot & { sinceWall: Record<string, string> } {
    const s = this.core.snapshot();
    const offset = this.startedWall - this.o.now();
    const sinceWall: Record<string, string> = {};
    for (const g of s.groups) sinceWall[g.key] = new Date(offset + g.since).toISOString();
    return { ...s, sinceWall };
  }

  private apply(effects: FailoverEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "send":
          this.o.send(e.body);
          break;
        case "event":
          logEvent(this.o.log, e.level, e.event, e.msg, e.fields);
          break;
        case "groups":
          this.runGroups(e.id, e.op, e.keys);
          break;
        case "fence":
          this.o
            .fence(e.node)
            .catch((err: unknown) => {
              logEvent(this.o.log, "error", "fence.failed", `fencing ${e.node}: ${(err as Error).message}`, { node: e.node });
              return "bad" as StonithResult;
            })
            .then((r) => this.apply(this.core.fenceDone(this.o.now(), e.id, r)));
          break;
        case "fence-abort":
          // The core already ignores this fence's answer; stop the retries too.
          this.o.fence.abort?.(e.node, e.reason);
          break;
        case "shutdown-complete":
          this.shutdownDone?.();
          this.shutdownDone = null;
          break;
      }
    }
    this.o.reschedule();
  }

  private runGroups(id: number, op: "start" | "stop", keys: string[]): void {
    this.chain = this.chain.then(async () => {
      const failed: string[] = [];
      // Groups start in haresources order and stop in reverse; each stands alone.
      const ordered = op === "start" ? keys : [...keys].reverse();
      for (const key of ordered) {
        const r = await this.o.actions[op](key).catch((err: unknown) => ({ ok: false, detail: (err as Error).message }));
        if (!r.ok) {
          failed.push(key);
          logEvent(this.o.log, "error", "rsc.action-failed", `${op} ${key} failed: ${r.detail}`, { key, op });
        }
      }
      this.apply(this.core.groupsDone(this.o.now(), id, failed));
    });
  }
}

/** `p`, or `fallback` once `ms` have passed (the work itself is bounded by the runner's own timeouts). */
function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}
