// A deterministic little world for membership cores: virtual time, links with
// seeded loss and delay, nodes that can be killed, hung and restarted. Used by
// unit tests; everything that happens follows from the seed.

import { singleKey, type Authkeys } from "@lubdub/protocol";
import type { Effect } from "../effects.js";
import { Membership, type MembershipConfig } from "../membership.js";

export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    let x = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
}

export interface LinkModel {
  /** Probability a datagram is lost, 0..1. */
  loss: number;
  /** Delivery delay range, ms. */
  minDelayMs: number;
  maxDelayMs: number;
  up: boolean;
}

interface InFlight {
  at: number;
  to: string;
  link: string;
  bytes: string;
  order: number;
}

export interface SimNode {
  name: string;
  core: Membership;
  alive: boolean;
  /** Hung: receives nothing and does nothing, but is not restarted. */
  hung: boolean;
  generation: number;
  effects: { at: number; effect: Effect }[];
}

export interface SimOptions {
  seed: number;
  nodes: string[];
  links: string[];
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs?: number;
  initdeadMs?: number;
  keys?: Authkeys;
}

export class SimCluster {
  now = 0;
  readonly rng: SeededRandom;
  readonly nodes = new Map<string, SimNode>();
  readonly links = new Map<string, LinkModel>();
  private queue: InFlight[] = [];
  private order = 0;
  readonly keys: Authkeys;

  constructor(readonly opts: SimOptions) {
    this.rng = new SeededRandom(opts.seed);
    this.keys = opts.keys ?? singleKey("sha1", "sim-key", 1);
    for (const l of opts.links) this.links.set(l, { loss: 0, minDelayMs: 1, maxDelayMs: 2, up: true });
    for (const n of opts.nodes) this.startNode(n, 1000);
  }

  config(name: string, generation: number): MembershipConfig {
    const o = this.opts;
    return {
      node: name, uuid: name.padEnd(16, "-").slice(0, 16), nodes: o.nodes, links: o.links,
      keepaliveMs: o.keepaliveMs, deadtimeMs: o.deadtimeMs, warntimeMs: o.warntimeMs ?? Math.floor(o.deadtimeMs / 2),
      initdeadMs: o.initdeadMs ?? o.deadtimeMs * 2, maxRexmitDelayMs: 250, generation, keys: this.keys, ttl: 1 + o.nodes.length,
    };
  }

  startNode(name: string, generation: number): SimNode {
    const rng = this.rng;
    const core = new Membership(this.config(name, generation), {
      random: () => rng.next(), wallSeconds: () => 1_800_000_000 + Math.floor(this.now / 1000), loadavg: () => "0.00 0.00 0.00 1/1 1",
    });
    const node: SimNode = { name, core, alive: true, hung: false, generation, effects: [] };
    this.nodes.set(name, node);
    this.apply(node, core.start(this.now));
    return node;
  }

  kill(name: string): void {
    this.nodes.get(name)!.alive = false;
  }

  restart(name: string): SimNode {
    const old = this.nodes.get(name)!;
    return this.startNode(name, old.generation + 1);
  }

  /** Sends an application message from a node. */
  send(name: string, body: Parameters<Membership["send"]>[1]): void {
    const n = this.nodes.get(name)!;
    this.apply(n, n.core.send(this.now, body));
  }

  private apply(node: SimNode, effects: Effect[]): void {
    for (const e of effects) {
      node.effects.push({ at: this.now, effect: e });
      if (e.kind !== "send") continue;
      for (const [linkName, link] of this.links) {
        for (const other of this.nodes.values()) {
          if (other.name === node.name || !link.up) continue;
          if (this.rng.next() < link.loss) continue;
          const delay = link.minDelayMs + this.rng.next() * (link.maxDelayMs - link.minDelayMs);
          this.queue.push({ at: this.now + delay, to: other.name, link: linkName, bytes: e.datagram, order: this.order++ });
        }
      }
    }
  }

  /** Advances virtual time to `until`, delivering datagrams and firing timers in order. */
  runUntil(until: number): void {
    for (;;) {
      let next = until;
      for (const n of this.nodes.values()) if (n.alive && !n.hung) next = Math.min(next, n.core.nextWakeup());
      for (const m of this.queue) next = Math.min(next, m.at);
      if (next > until) break;
      this.now = Math.max(this.now, next);
      const due = this.queue.filter((m) => m.at <= this.now).sort((a, b) => a.at - b.at || a.order - b.order);
      this.queue = this.queue.filter((m) => m.at > this.now);
      for (const m of due) {
        const n = this.nodes.get(m.to);
        if (n && n.alive && !n.hung) this.apply(n, n.core.receive(this.now, m.link, m.bytes));
      }
      for (const n of this.nodes.values()) if (n.alive && !n.hung && n.core.nextWakeup() <= this.now) this.apply(n, n.core.tick(this.now));
      if (next === until && this.queue.every((m) => m.at > until)) {
        let pending = false;
        for (const n of this.nodes.values()) if (n.alive && !n.hung && n.core.nextWakeup() <= until) pending = true;
        if (!pending) break;
      }
    }
    this.now = until;
  }

  /** Effects of one kind a node produced (optionally since a time). */
  effectsOf<K extends Effect["kind"]>(name: string, kind: K, since = 0): (Extract<Effect, { kind: K }> & { at: number })[] {
    return this.nodes
      .get(name)!
      .effects.filter((e) => e.at >= since && e.effect.kind === kind)
      .map((e) => ({ ...(e.effect as Extract<Effect, { kind: K }>), at: e.at }));
  }
}
