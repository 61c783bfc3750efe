// The imperative shell around the failover core: runs the group actions it
// asks for (one at a time, in order), answers fencing requests, feeds it the
// membership's facts and the peer's messages, and reports holdings.

import type { Body, StonithResult } from "@lubdub/protocol";
import { Failover, type FailoverConfig, type FailoverEffect, type FailoverSnapshot } from "../failover/failover.js";
import type { GroupActions } from "../failover/group-actions.js";
import { type AgentLogger, logEvent } from "./log.js";

/** Fencing, as the agent is told to do it. Without STONITH configured it answers n_stnth at once. */
export type FenceHook = (node: string) => Promise<StonithResult>;

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
}

export class ResourceShell {
  readonly core: Failover;
  /** Group actions run strictly one after another, in the order asked. */
  private chain: Promise<void> = Promise.resolve();
  private shutdownDone: (() => void) | null = null;
  private readonly startedWall = Date.now();

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

  /** Releases everything and sends shutdone; resolves when done (or after `limitMs`). */
  shutdown(limitMs: number): Promise<boolean> {
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
