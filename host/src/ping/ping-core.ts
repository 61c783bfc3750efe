// Ping nodes as a deterministic state machine, the way Heartbeat 3.0.6 keeps
// them: each `ping ADDR` is a pseudo-node named by its address, each
// `ping_group NAME ADDR...` one pseudo-node that any of its addresses keeps
// alive. A pseudo-node starts "init", is "ping" while it answers and "dead"
// once nothing it stands for has answered for deadping (counted from start
// while it never answered).
//
// Inputs: start, reply (an echo reply from an address), tick. Every input
// takes `now` (monotonic ms). Outputs are effects; the shell (pinger.ts)
// does the probing and carries out the effects.

import type { Level } from "../membership/effects.js";

/** What cl_status nodestatus says of a ping node (Heartbeat's words). */
export type PingStatus = "init" | "ping" | "dead";

/** Stable event names an operator can grep for. */
export const PEV = {
  up: "ping.up",
  dead: "ping.dead",
  unknownReply: "ping.unknown-reply",
} as const;

export type PingEventName = (typeof PEV)[keyof typeof PEV];

export interface PingNodeSpec {
  name: string;
  addresses: readonly string[];
}

export interface PingCoreConfig {
  nodes: readonly PingNodeSpec[];
  /** ha.cf deadping: silence after which a ping node is dead. */
  deadpingMs: number;
}

export type PingEffect =
  | { kind: "event"; level: Level; event: PingEventName; msg: string; fields: Record<string, string | number | boolean | null> }
  /** A ping node's status changed. */
  | { kind: "ping-status"; node: string; status: PingStatus; previous: PingStatus };

export interface PingNodeSnapshot {
  name: string;
  status: PingStatus;
  addresses: { address: string; lastReplyAt: number | null }[];
  /** Last reply from any of its addresses. */
  lastReplyAt: number | null;
  /** When the status last changed (start time for "init"). */
  since: number;
}

export interface PingSnapshot {
  nodes: PingNodeSnapshot[];
  /** Ping nodes with status "ping". */
  reachable: number;
  total: number;
  /** Every ping node has left "init": `reachable` is a verdict, not a guess. */
  settled: boolean;
}

interface NodeState {
  name: string;
  addresses: readonly string[];
  status: PingStatus;
  lastReplyAt: number | null;
  since: number;
}

/** A reply from an address no ping node has is logged at most this often. */
const UNKNOWN_REPLY_LOG_INTERVAL_MS = 60_000;

export class PingCore {
  private readonly nodes: NodeState[];
  /** address → the ping nodes it keeps alive (an address may be in a ping line and a group). */
  private readonly byAddress = new Map<string, NodeState[]>();
  private readonly lastReply = new Map<string, number>();
  private started = false;
  private startedAt = 0;
  private unknownLoggedAt = -Infinity;
  private out: PingEffect[] = [];

  constructor(private readonly c: PingCoreConfig) {
    if (!(c.deadpingMs > 0)) throw new Error("deadpingMs must be positive");
    this.nodes = c.nodes.map((n) => ({ name: n.name, addresses: [...n.addresses], status: "init", lastReplyAt: null, since: 0 }));
    for (const n of this.nodes) {
      for (const a of n.addresses) {
        const list = this.byAddress.get(a) ?? [];
        list.push(n);
        this.byAddress.set(a, list);
      }
    }
  }

  /** Every distinct address to probe, in configuration order. */
  addresses(): string[] {
    return [...this.byAddress.keys()];
  }

  start(now: number): PingEffect[] {
    this.out = [];
    if (!this.started) {
      this.started = true;
      this.startedAt = now;
      for (const n of this.nodes) n.since = now;
    }
    return this.flush();
  }

  /** An echo reply from `address` arrived at `now`. */
  reply(now: number, address: string): PingEffect[] {
    this.out = [];
    if (!this.started) return this.flush();
    const owners = this.byAddress.get(address);
    if (!owners) {
      if (now - this.unknownLoggedAt >= UNKNOWN_REPLY_LOG_INTERVAL_MS) {
        this.unknownLoggedAt = now;
        this.event("debug", PEV.unknownReply, `reply from ${address}, which is no ping node's address; ignored`, { address });
      }
      return this.flush();
    }
    this.lastReply.set(address, Math.max(now, this.lastReply.get(address) ?? now));
    for (const n of owners) {
      n.lastReplyAt = Math.max(now, n.lastReplyAt ?? now);
      if (n.status !== "ping") this.set(n, "ping", now, `ping node ${n.name} is up (${address} answers)`, { address });
    }
    return this.flush();
  }

  /** Deaths by silence. Call at nextWakeup() or earlier. */
  tick(now: number): PingEffect[] {
    this.out = [];
    if (this.started) {
      for (const n of this.nodes) {
        if (n.status === "dead") continue;
        const heard = n.lastReplyAt ?? this.startedAt;
        if (now - heard >= this.c.deadpingMs) {
          const what = n.lastReplyAt === null ? `never answered in ${this.c.deadpingMs} ms` : `silent for ${now - n.lastReplyAt} ms (deadping ${this.c.deadpingMs} ms)`;
          this.set(n, "dead", now, `ping node ${n.name} is dead: ${what}`, { silentMs: now - heard, deadpingMs: this.c.deadpingMs });
        }
      }
    }
    return this.flush();
  }

  /** When tick() next has something to do (ms); Infinity when nothing can change without a reply. */
  nextWakeup(): number {
    if (!this.started) return Infinity;
    let t = Infinity;
    for (const n of this.nodes) if (n.status !== "dead") t = Math.min(t, (n.lastReplyAt ?? this.startedAt) + this.c.deadpingMs);
    return t;
  }

  status(name: string): PingStatus | null {
    return this.nodes.find((n) => n.name === name)?.status ?? null;
  }

  /** Ping nodes that answer now. */
  reachable(): number {
    return this.nodes.filter((n) => n.status === "ping").length;
  }

  settled(): boolean {
    return this.nodes.every((n) => n.status !== "init");
  }

  snapshot(): PingSnapshot {
    return {
      nodes: this.nodes.map((n) => ({
        name: n.name, status: n.status, lastReplyAt: n.lastReplyAt, since: n.since,
        addresses: n.addresses.map((a) => ({ address: a, lastReplyAt: this.lastReply.get(a) ?? null })),
      })),
      reachable: this.reachable(),
      total: this.nodes.length,
      settled: this.settled(),
    };
  }

  private set(n: NodeState, status: PingStatus, now: number, msg: string, fields: Record<string, string | number | boolean | null>): void {
    const previous = n.status;
    n.status = status;
    n.since = now;
    const up = status === "ping";
    this.event(up ? "info" : "warn", up ? PEV.up : PEV.dead, msg, { node: n.name, previous, ...fields, reachable: this.reachable(), total: this.nodes.length });
    this.out.push({ kind: "ping-status", node: n.name, status, previous });
  }

  private event(level: Level, event: PingEventName, msg: string, fields: Record<string, string | number | boolean | null>): void {
    this.out.push({ kind: "event", level, event, msg, fields });
  }

  private flush(): PingEffect[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}
