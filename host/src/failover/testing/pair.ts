// Two Failover cores wired together in virtual time: messages in order with a
// delay, group actions that take time, crashes and restarts. Every step
// checks the rule the resource manager exists for: no group runs (or is
// starting or stopping) on both nodes at once while both machines are up.

import type { Body, StonithResult } from "@lubdub/protocol";
import { Failover, type AutoFailback, type FailoverEffect, type GroupInfo } from "../failover.js";

export interface PairOptions {
  mode: AutoFailback;
  groups: GroupInfo[];
  /** Message delivery delay, ms. */
  latencyMs?: number;
  /** Group start/stop duration, ms. */
  actionMs?: number;
  /** What fencing answers. */
  fenceResult?: StonithResult;
  /** Fails these group starts on this node. */
  failStart?: { node: string; key: string };
  random?: () => number;
}

interface Timed {
  at: number;
  order: number;
  run: () => void;
}

export class FailoverPair {
  now = 0;
  readonly cores = new Map<string, Failover>();
  readonly up = new Map<string, boolean>();
  /** Groups actually running on each machine (what start/stop scripts did). */
  readonly running = new Map<string, Set<string>>();
  readonly log: string[] = [];
  readonly sent: Array<{ at: number; from: string; body: Body }> = [];
  readonly effects = new Map<string, FailoverEffect[]>();
  private queue: Timed[] = [];
  private order = 0;
  private readonly generation = new Map<string, number>();
  violations: string[] = [];

  constructor(private readonly o: PairOptions) {
    for (const n of ["alpha", "bravo"]) {
      this.up.set(n, false);
      this.running.set(n, new Set());
      this.effects.set(n, []);
      this.generation.set(n, 0);
    }
  }

  peerOf(n: string): string {
    return n === "alpha" ? "bravo" : "alpha";
  }

  private at(delay: number, run: () => void): void {
    this.queue.push({ at: this.now + delay, order: this.order++, run });
  }

  /** Boots a node's agent; `peerAlive` is what membership would say at comm-up. */
  boot(n: string): void {
    this.log.push(`${this.now} ${n} SIM: boot`);
    const core = new Failover({ node: n, peer: this.peerOf(n), groups: this.o.groups, mode: this.o.mode });
    this.cores.set(n, core);
    this.up.set(n, true);
    const gen = this.generation.get(n)! + 1;
    this.generation.set(n, gen);
    const peer = this.peerOf(n);
    const peerUp = this.up.get(peer)!;
    if (peerUp) {
      // The peer's membership sees us appear.
      // The peer's membership sees our first status (init), as a real one does after a restart.
      this.at(this.latency(), () => this.gen(peer, () => this.apply(peer, this.cores.get(peer)!.peerStatus(this.now, "init"))));
    }
    this.at(this.latency() * 2, () => this.ifGen(n, gen, () => this.apply(n, core.localActive(this.now, this.up.get(peer)!))));
  }

  /** Power cut: the machine and everything on it stops; the peer notices after deadtime. */
  crash(n: string, deadtimeMs = 2000): void {
    this.log.push(`${this.now} ${n} SIM: crash (peer notices after ${deadtimeMs} ms)`);
    this.up.set(n, false);
    this.running.get(n)!.clear();
    this.generation.set(n, this.generation.get(n)! + 1);
    const peer = this.peerOf(n);
    this.at(deadtimeMs, () => {
      if (this.up.get(n)) return; // came back already
      this.gen(peer, () => this.apply(peer, this.cores.get(peer)!.peerStatus(this.now, "dead")));
    });
  }

  /** SIGTERM: graceful shutdown; the process exits when it is complete. */
  shutdown(n: string): void {
    this.log.push(`${this.now} ${n} SIM: SIGTERM`);
    this.apply(n, this.cores.get(n)!.shutdown(this.now));
  }

  /** Monitoring on `n` gave up on `key`. */
  groupFailed(n: string, key: string): void {
    this.log.push(`${this.now} ${n} SIM: monitor gives up on ${key}`);
    this.apply(n, this.cores.get(n)!.groupFailed(this.now, key));
  }

  standby(n: string, set: "all" | "local" | "foreign"): void {
    this.apply(n, this.cores.get(n)!.standbyCommand(this.now, set));
  }

  takeover(n: string, set: "all" | "local" | "foreign"): void {
    this.apply(n, this.cores.get(n)!.takeoverCommand(this.now, set));
  }

  private latency(): number {
    return this.o.latencyMs ?? 5;
  }

  private gen(n: string, f: () => void): void {
    if (this.up.get(n)) f();
  }

  private ifGen(n: string, gen: number, f: () => void): void {
    if (this.up.get(n) && this.generation.get(n) === gen) f();
  }

  private apply(n: string, effects: FailoverEffect[]): void {
    const gen = this.generation.get(n)!;
    const core = this.cores.get(n)!;
    this.effects.get(n)!.push(...effects);
    for (const e of effects) {
      switch (e.kind) {
        case "send": {
          this.sent.push({ at: this.now, from: n, body: e.body });
          const peer = this.peerOf(n);
          this.at(this.latency(), () => this.gen(peer, () => this.apply(peer, this.cores.get(peer)!.message(this.now, n, e.body))));
          break;
        }
        case "groups": {
          const run = this.running.get(n)!;
          if (e.op === "start") for (const k of e.keys) run.add(k);
          this.check(`${n} ${e.op} ${e.keys.join(",")}`);
          this.at(this.o.actionMs ?? 50, () =>
            this.ifGen(n, gen, () => {
              const failed: string[] = [];
              if (e.op === "stop") for (const k of e.keys) run.delete(k);
              if (e.op === "start" && this.o.failStart && this.o.failStart.node === n && e.keys.includes(this.o.failStart.key)) {
                failed.push(this.o.failStart.key);
                run.delete(this.o.failStart.key);
              }
              this.apply(n, core.groupsDone(this.now, e.id, failed));
            }),
          );
          break;
        }
        case "fence": {
          const victim = e.node;
          this.at(10, () =>
            this.ifGen(n, gen, () => {
              const result = this.o.fenceResult ?? "n_stnth";
              if (result === "OK") {
                // A real fence powers the victim off.
                this.up.set(victim, false);
                this.running.get(victim)!.clear();
              }
              this.apply(n, core.fenceDone(this.now, e.id, result));
            }),
          );
          break;
        }
        case "event":
          this.log.push(`${this.now} ${n} ${e.event}: ${e.msg}`);
          break;
        case "shutdown-complete":
          this.at(1, () => {
            this.up.set(n, false);
            this.generation.set(n, this.generation.get(n)! + 1);
          });
          break;
      }
    }
  }

  /** The invariant: no group on both machines while both are up. */
  private check(when: string): void {
    if (!this.up.get("alpha") || !this.up.get("bravo")) return;
    for (const k of this.running.get("alpha")!) {
      if (this.running.get("bravo")!.has(k)) this.violations.push(`${this.now} ms: ${k} on both nodes (after ${when})`);
    }
  }

  /** Runs queued deliveries, actions and every core's timers in time order up to now + ms. */
  runFor(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.order - b.order);
      let wake = Infinity;
      let who: string | null = null;
      for (const [n, core] of this.cores) {
        if (!this.up.get(n)) continue;
        const w = core.nextWakeup();
        if (w < wake) [wake, who] = [w, n];
      }
      const next = this.queue[0];
      const at = Math.min(next?.at ?? Infinity, wake);
      if (at > until) break;
      this.now = Math.max(this.now, at);
      if (next && next.at <= wake) {
        this.queue.shift();
        next.run();
      } else if (who) {
        this.apply(who, this.cores.get(who)!.tick(this.now));
      }
      this.check("step");
    }
    this.now = until;
  }

  holdings(): Record<string, string[]> {
    return { alpha: [...this.running.get("alpha")!].sort(), bravo: [...this.running.get("bravo")!].sort() };
  }
}
