// Ping nodes in the agent: the system ping probes, the ping core decides
// which pseudo-nodes are up, and the arbiter (ipfail) decides when this node
// should give its groups to a peer that reaches more of them.

import type { Body } from "@lubdub/protocol";
import { PingArbiter, type ArbiterEffect, type PeerWord } from "../ping/ping-arbiter.js";
import { PingCore, type PingEffect, type PingNodeSpec, type PingSnapshot } from "../ping/ping-core.js";
import { Pinger } from "../ping/pinger.js";
import { type AgentLogger, logEvent } from "./log.js";

export interface PingShellOptions {
  node: string;
  peer: string;
  nodes: PingNodeSpec[];
  deadpingMs: number;
  intervalMs: number;
  log: AgentLogger;
  now: () => number;
  send: (body: Body) => void;
  /** ipfail says: hand every group to the peer. */
  giveUp: () => void;
  reschedule: () => void;
}

export class PingShell {
  private readonly core: PingCore;
  private readonly arbiter: PingArbiter;
  private readonly pinger: Pinger;

  constructor(private readonly o: PingShellOptions) {
    this.core = new PingCore({ nodes: o.nodes, deadpingMs: o.deadpingMs });
    this.arbiter = new PingArbiter({ node: o.node, peer: o.peer, deadpingMs: o.deadpingMs });
    this.pinger = new Pinger({
      addresses: this.core.addresses(), intervalMs: o.intervalMs, now: o.now,
      onReply: (address, at) => this.applyCore(this.core.reply(at, address)),
      onProblem: (address, detail) => logEvent(o.log, "warn", "ping.probe-problem", `probing ${address}: ${detail}`, { address }),
    });
  }

  start(): void {
    this.applyCore(this.core.start(this.o.now()));
    this.pinger.start();
  }

  peerStatus(word: PeerWord): void {
    this.applyArbiter(this.arbiter.peerStatus(this.o.now(), word));
  }

  peerReport(body: { count: unknown; total: unknown }): void {
    this.applyArbiter(this.arbiter.peerReport(this.o.now(), body));
  }

  holding(holds: boolean): void {
    this.applyArbiter(this.arbiter.holding(this.o.now(), holds));
  }

  tick(): void {
    this.applyCore(this.core.tick(this.o.now()));
    this.applyArbiter(this.arbiter.tick(this.o.now()));
  }

  nextWakeup(): number {
    return Math.min(this.core.nextWakeup(), this.arbiter.nextWakeup());
  }

  snapshot(): PingSnapshot {
    return this.core.snapshot();
  }

  stop(): Promise<void> {
    return this.pinger.stop();
  }

  private applyCore(effects: PingEffect[]): void {
    for (const e of effects) if (e.kind === "event") logEvent(this.o.log, e.level, e.event, e.msg, e.fields);
    const total = this.o.nodes.length;
    this.applyArbiter(this.arbiter.localCount(this.o.now(), this.core.settled() ? this.core.reachable() : null, total));
  }

  private applyArbiter(effects: ArbiterEffect[]): void {
    for (const e of effects) {
      if (e.kind === "event") logEvent(this.o.log, e.level, e.event, e.msg, e.fields);
      else if (e.kind === "send") this.o.send({ t: "lubdub-ping", count: e.body.count, total: e.body.total });
      else if (e.kind === "give-up") this.o.giveUp();
    }
    this.o.reschedule();
  }
}
