// The ipfail decision as a deterministic state machine: when this node
// reaches fewer ping nodes than its peer does, it hands all its groups to
// the peer (Heartbeat's ipfail does hb_standby all). Unlike ipfail, which
// reacts at the first ping node death after a fixed 2 × keepalive, the
// decision here needs the imbalance to last, so a flapping ping node moves
// nothing:
//
//   give up (standby all) only when, continuously for HYSTERESIS,
//     - the peer is active (alive and negotiating resources),
//     - both counts are known (this node's ping nodes all have a verdict; the
//       peer reported its count: a stock Heartbeat peer never does, so no
//       decision is ever made against one),
//     - both nodes count the same number of ping nodes (same ha.cf),
//     - this node's count < the peer's count (equal counts never move anything);
//   and this node holds groups, and the last give-up is MIN_INTERVAL ago.
//
// The peer learns this node's count from a sequenced lubdub message
// { t: "lubdub-ping", count, total }, sent when the count changes, when the
// peer (re)appears, and every REPORT_REFRESH_MS. Both nodes run the same
// rule, so the decision is symmetric: only the node that reaches fewer gives.
//
// Inputs take `now` (monotonic ms) and return effects; nothing here does I/O.

import type { Level } from "../membership/effects.js";

/** The sequenced message that carries a node's ping count (not yet in @lubdub/protocol's Body union). */
export const PING_COUNT_TYPE = "lubdub-ping";
export interface PingCountBody {
  t: typeof PING_COUNT_TYPE;
  /** Ping nodes the sender reaches (status "ping"). */
  count: number;
  /** Ping nodes the sender has configured. */
  total: number;
}

/** Hysteresis is 2 × deadping, never less than this. */
export const MIN_HYSTERESIS_MS = 10_000;
/** Two give-ups are at least this far apart (or 2 × hysteresis if larger). */
export const MIN_GIVEUP_INTERVAL_MS = 60_000;
/** This node's count is sent again this often even when unchanged. */
export const REPORT_REFRESH_MS = 60_000;
/** Counts above this in a peer report are nonsense (ha.cf allows 32 ping addresses). */
export const MAX_REPORTED_PING_NODES = 1000;

export function hysteresisFor(deadpingMs: number): number {
  return Math.max(2 * deadpingMs, MIN_HYSTERESIS_MS);
}
export function minIntervalFor(deadpingMs: number): number {
  return Math.max(2 * hysteresisFor(deadpingMs), MIN_GIVEUP_INTERVAL_MS);
}

/** Stable event names an operator can grep for. */
export const AEV = {
  worse: "ipfail.worse",
  cleared: "ipfail.cleared",
  giveUp: "ipfail.giveup",
  deferred: "ipfail.giveup-deferred",
  mismatch: "ipfail.total-mismatch",
  badReport: "ipfail.bad-report",
} as const;
export type ArbiterEventName = (typeof AEV)[keyof typeof AEV];

export type PeerWord = "init" | "up" | "active" | "dead";

export interface ArbiterConfig {
  node: string;
  peer: string;
  deadpingMs: number;
  /** Overrides hysteresisFor(deadpingMs). */
  hysteresisMs?: number;
  /** Overrides minIntervalFor(deadpingMs). */
  minIntervalMs?: number;
}

export type ArbiterEffect =
  /** Send this sequenced message to the peer. */
  | { kind: "send"; body: PingCountBody }
  /** Hand every group this node holds to the peer: failover standbyCommand(now, "all"). */
  | { kind: "give-up"; set: "all"; local: number; peer: number; total: number }
  | { kind: "event"; level: Level; event: ArbiterEventName; msg: string; fields: Record<string, string | number | boolean | null> };

export interface ArbiterSnapshot {
  local: number | null;
  localTotal: number;
  peer: number | null;
  peerTotal: number | null;
  peerStatus: PeerWord;
  holding: boolean;
  /** Since when this node has been worse off (null: it is not). */
  worseSince: number | null;
  lastGiveUpAt: number | null;
  hysteresisMs: number;
  minIntervalMs: number;
}

export class PingArbiter {
  readonly hysteresisMs: number;
  readonly minIntervalMs: number;
  private local: number | null = null;
  private localTotal = 0;
  private peerCount: number | null = null;
  private peerTotal: number | null = null;
  private peerState: PeerWord = "dead";
  private holds = true;
  private worseSince: number | null = null;
  private lastGiveUpAt: number | null = null;
  private deferredLogged = false;
  private lastSent: { count: number; total: number; at: number } | null = null;
  private mismatchLogged: string | null = null;
  private out: ArbiterEffect[] = [];

  constructor(private readonly c: ArbiterConfig) {
    this.hysteresisMs = c.hysteresisMs ?? hysteresisFor(c.deadpingMs);
    this.minIntervalMs = c.minIntervalMs ?? minIntervalFor(c.deadpingMs);
  }

  // ---- inputs -------------------------------------------------------------

  /** This node's count (PingCore.reachable()), or null until every ping node has a verdict. */
  localCount(now: number, count: number | null, total: number): ArbiterEffect[] {
    return this.run(now, () => {
      this.local = count;
      this.localTotal = total;
      this.maybeSend(now, false);
    });
  }

  /** The peer's lubdub-ping message. */
  peerReport(now: number, body: { count: unknown; total: unknown }): ArbiterEffect[] {
    return this.run(now, () => {
      const { count, total } = body;
      const ok = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= MAX_REPORTED_PING_NODES;
      if (!ok(count) || !ok(total) || count > total) {
        this.event("warn", AEV.badReport, `ignored a ping count from ${this.c.peer} that makes no sense (${String(count)} of ${String(total)})`, {});
        return;
      }
      this.peerCount = count;
      this.peerTotal = total;
    });
  }

  /** The peer's status as membership sees it. "init" is a new process: its old count no longer holds. */
  peerStatus(now: number, status: PeerWord): ArbiterEffect[] {
    return this.run(now, () => {
      const before = this.peerState;
      this.peerState = status;
      if (status === "dead" || status === "init") {
        this.peerCount = null;
        this.peerTotal = null;
      }
      // A peer that appears or restarts learns our count at once.
      if (status !== "dead" && (before === "dead" || status === "init")) this.maybeSend(now, true);
    });
  }

  /** Whether this node holds any group (failover snapshot iHold !== "none"); nothing to give otherwise. */
  holding(now: number, holds: boolean): ArbiterEffect[] {
    return this.run(now, () => {
      this.holds = holds;
    });
  }

  tick(now: number): ArbiterEffect[] {
    return this.run(now, () => {
      if (this.lastSent && now - this.lastSent.at >= REPORT_REFRESH_MS) this.maybeSend(now, true);
    });
  }

  /** When tick() next has something to do (ms). */
  nextWakeup(): number {
    let t = Infinity;
    if (this.lastSent && this.peerState !== "dead") t = this.lastSent.at + REPORT_REFRESH_MS;
    if (this.worseSince !== null && this.holds) {
      let due = this.worseSince + this.hysteresisMs;
      if (this.lastGiveUpAt !== null) due = Math.max(due, this.lastGiveUpAt + this.minIntervalMs);
      t = Math.min(t, due);
    }
    return t;
  }

  snapshot(): ArbiterSnapshot {
    return {
      local: this.local, localTotal: this.localTotal, peer: this.peerCount, peerTotal: this.peerTotal, peerStatus: this.peerState,
      holding: this.holds, worseSince: this.worseSince, lastGiveUpAt: this.lastGiveUpAt, hysteresisMs: this.hysteresisMs, minIntervalMs: this.minIntervalMs,
    };
  }

  // ---- the rule -----------------------------------------------------------

  private run(now: number, f: () => void): ArbiterEffect[] {
    this.out = [];
    f();
    this.evaluate(now);
    const o = this.out;
    this.out = [];
    return o;
  }

  /** Is this node worse off right now? */
  private worse(): boolean {
    if (this.peerState !== "active" || this.local === null || this.peerCount === null || this.peerTotal === null) return false;
    if (this.peerTotal !== this.localTotal) {
      const key = `${this.localTotal}/${this.peerTotal}`;
      if (this.mismatchLogged !== key) {
        this.mismatchLogged = key;
        this.event("warn", AEV.mismatch, `${this.c.peer} has ${this.peerTotal} ping nodes configured, this node ${this.localTotal}: counts are not comparable, ping loss moves nothing (make the ping lines of both ha.cf the same)`, { local: this.localTotal, peer: this.peerTotal });
      }
      return false;
    }
    this.mismatchLogged = null;
    return this.local < this.peerCount;
  }

  private evaluate(now: number): void {
    const fields = () => ({ local: this.local, peer: this.peerCount, total: this.localTotal });
    if (!this.worse()) {
      if (this.worseSince !== null) {
        this.worseSince = null;
        this.event("info", AEV.cleared, `ping nodes no longer favour ${this.c.peer} (${this.describe()}): nothing moves`, fields());
      }
      return;
    }
    if (this.worseSince === null) {
      this.worseSince = now;
      this.deferredLogged = false;
      this.event("info", AEV.worse, `this node reaches fewer ping nodes than ${this.c.peer} (${this.describe()}): giving its groups to ${this.c.peer} if that lasts ${this.hysteresisMs} ms`, fields());
    }
    if (!this.holds || now - this.worseSince < this.hysteresisMs) return;
    if (this.lastGiveUpAt !== null && now - this.lastGiveUpAt < this.minIntervalMs) {
      if (!this.deferredLogged) {
        this.deferredLogged = true;
        this.event("info", AEV.deferred, `still fewer ping nodes than ${this.c.peer}, but the last give-up was ${now - this.lastGiveUpAt} ms ago (minimum ${this.minIntervalMs} ms)`, fields());
      }
      return;
    }
    this.lastGiveUpAt = now;
    // Another full hysteresis period before any further give-up.
    this.worseSince = now;
    this.deferredLogged = false;
    this.event("warn", AEV.giveUp, `giving all groups to ${this.c.peer}: it reaches more ping nodes (${this.describe()})`, fields());
    this.out.push({ kind: "give-up", set: "all", local: this.local!, peer: this.peerCount!, total: this.localTotal });
  }

  private maybeSend(now: number, force: boolean): void {
    if (this.local === null || this.peerState === "dead") return;
    const s = this.lastSent;
    if (!force && s && s.count === this.local && s.total === this.localTotal) return;
    this.lastSent = { count: this.local, total: this.localTotal, at: now };
    this.out.push({ kind: "send", body: { t: PING_COUNT_TYPE, count: this.local, total: this.localTotal } });
  }

  private describe(): string {
    const p = this.peerCount === null ? "?" : String(this.peerCount);
    const l = this.local === null ? "?" : String(this.local);
    return `${l} of ${this.localTotal} here, ${p} of ${this.peerTotal ?? "?"} on ${this.c.peer}`;
  }

  private event(level: Level, event: ArbiterEventName, msg: string, fields: Record<string, string | number | boolean | null>): void {
    this.out.push({ kind: "event", level, event, msg, fields });
  }
}
