// Cluster membership as a deterministic state machine: who is alive, over
// which links, and reliable in-order delivery of sequenced messages, the way
// Heartbeat 3.0.6 does it (so a lubdub node and a stock node agree).
//
// Inputs: start, receive (raw bytes from a link), tick, send. Every input
// takes `now` (monotonic ms); randomness and wall clock come from `env`. The
// outputs are effects (see effects.ts). Nothing here touches I/O, so a seeded
// simulator can drive thousands of nodes' worth of failures quickly.

import {
  Authkeys, Body, buildMessage, decodeDatagram, encodeClassic, Header, isNonSequenced, readHeader, readMessage,
  signDatagram, TypedMessage, verifyDecoded, withAuthField, PROTOCOL_VERSION, NAK_SEQ_NOT_FOUND, NAK_SEQ_TOO_LOW,
} from "@lubdub/protocol";
import { Effect, EV, EventName, Level, PeerStatus } from "./effects.js";
import { History } from "./history.js";
import {
  ACK_MODULUS, BAD_INPUT_LOG_INTERVAL_MS, MAX_HELD_MESSAGES, MAX_REXMIT_BATCH, MIN_REXMIT_DELAY_MS, REQNODES_RETRY_MS,
  REXMIT_REPEAT_SLACK_MS, STARTUP_DT_BONUS_MS, STARTUP_DT_PERIOD_MS,
} from "./limits.js";
import { Peer } from "./peer.js";

export interface MembershipConfig {
  /** This node's name (as in ha.cf's node lines). */
  node: string;
  /** This node's 16-byte UUID (raw bytes). */
  uuid: string;
  /** Every configured node, this one included, in ha.cf order. */
  nodes: readonly string[];
  /** The links (media) this node has, by link name. */
  links: readonly string[];
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadMs: number;
  maxRexmitDelayMs: number;
  /** This process's generation (persisted and incremented by the shell on each start). */
  generation: number;
  keys: Authkeys;
  /** ttl field: hopfudge (1) + node count. */
  ttl: number;
}

export interface MembershipEnv {
  /** Uniform in [0, 1). */
  random(): number;
  /** Wall clock, Unix seconds (the ts field). */
  wallSeconds(): number;
  /** First line of /proc/loadavg (the ld field). */
  loadavg(): string;
}

export type OwnStatus = "init" | "up" | "active";

export interface LinkSnapshot {
  link: string;
  up: boolean;
  lastAt: number | null;
}

export interface PeerSnapshot {
  name: string;
  status: PeerStatus;
  heard: boolean;
  generation: number | null;
  lastStatusAt: number | null;
  dt: number;
  links: LinkSnapshot[];
  missing: number;
  /** Sequenced messages of its current process handed on in order: first seq, count, count given up as lost. */
  delivery: { first: number | null; delivered: number; skipped: number; next: number | null };
}

export interface MembershipSnapshot {
  node: string;
  status: OwnStatus;
  generation: number;
  seq: number;
  commUp: boolean;
  peers: PeerSnapshot[];
  counters: Record<string, number>;
}

export class Membership {
  private readonly peers = new Map<string, Peer>();
  private readonly history = new History();
  private status: OwnStatus = "init";
  private seq = 0;
  private startedAt = 0;
  private started = false;
  private commUp = false;
  private nextStatusAt = 0;
  private advertisedDt: number;
  private reqnodesDueAt: number | null = null;
  private readonly badLogAt = new Map<string, number>();
  private readonly counters: Record<string, number> = {};
  private out: Effect[] = [];

  constructor(
    readonly config: MembershipConfig,
    private readonly env: MembershipEnv,
  ) {
    this.advertisedDt = config.deadtimeMs + STARTUP_DT_BONUS_MS;
    for (const n of config.nodes) {
      if (n === config.node) continue;
      this.peers.set(n, new Peer(n, config.deadtimeMs, Math.floor(env.random() * ACK_MODULUS), config.links));
    }
  }

  // ---- inputs -------------------------------------------------------------

  /** Starts the node: status init, then up, as a stock node does. */
  start(now: number): Effect[] {
    this.begin();
    this.startedAt = now;
    this.started = true;
    this.event("info", EV.started, `starting as ${this.config.node}, generation ${this.config.generation}`, { generation: this.config.generation });
    this.sendStatus(now);
    this.status = "up";
    this.sendStatus(now);
    this.checkCommUp(now);
    return this.end();
  }

  /** One datagram or serial frame arrived on `link`. */
  receive(now: number, link: string, bytes: string, from = link): Effect[] {
    this.begin();
    if (this.started) this.handle(now, link, bytes, from);
    return this.end();
  }

  /** Timers: heartbeats, deaths, retransmission requests. Call at nextWakeup() or earlier. */
  tick(now: number): Effect[] {
    this.begin();
    if (this.started) {
      this.checkDeaths(now);
      this.checkCommUp(now);
      if (this.advertisedDt !== this.config.deadtimeMs && now - this.startedAt >= STARTUP_DT_PERIOD_MS) {
        this.advertisedDt = this.config.deadtimeMs;
        this.sendStatus(now); // the lowered deadtime goes out at once
      }
      if (now >= this.nextStatusAt) {
        const due = this.nextStatusAt;
        this.sendStatus(now);
        // Keep the beat: the next status is due a keepalive after this one was
        // due, not after the timer happened to fire, so a timer that fires a
        // little late does not stretch every interval.
        if (now - due < this.config.keepaliveMs) this.nextStatusAt = due + this.config.keepaliveMs;
      }
      this.fireRexmitRequests(now);
      if (this.reqnodesDueAt !== null && now >= this.reqnodesDueAt) this.sendReqnodes(now);
    }
    return this.end();
  }

  /** Sends a sequenced application message (resource hand-off, standby, shutdown…). */
  send(now: number, body: Body): Effect[] {
    this.begin();
    this.sendSequenced(now, body);
    return this.end();
  }

  /** When tick() next has something to do (ms). */
  nextWakeup(): number {
    let t = this.nextStatusAt;
    const consider = (x: number | null) => {
      if (x !== null && x < t) t = x;
    };
    if (this.advertisedDt !== this.config.deadtimeMs) consider(this.startedAt + STARTUP_DT_PERIOD_MS);
    consider(this.reqnodesDueAt);
    for (const p of this.peers.values()) {
      if (p.status !== "dead") consider(p.heard && p.lastStatusAt !== null ? p.lastStatusAt + p.dt + 1 : this.startedAt + this.config.initdeadMs + 1);
      for (const l of p.links.values()) if (l.up && l.lastAt !== null) consider(l.lastAt + p.dt + 1);
      for (const due of p.rexmitDue.values()) consider(due);
    }
    return t;
  }

  snapshot(): MembershipSnapshot {
    return {
      node: this.config.node,
      status: this.status,
      generation: this.config.generation,
      seq: this.seq,
      commUp: this.commUp,
      peers: [...this.peers.values()].map((p) => ({
        name: p.name, status: p.status, heard: p.heard, generation: p.generation, lastStatusAt: p.lastStatusAt, dt: p.dt,
        links: [...p.links.entries()].map(([link, l]) => ({ link, up: l.up, lastAt: l.lastAt })),
        missing: p.window.missingCount(),
        delivery: { ...p.delivery, next: p.nextDeliver },
      })),
      counters: { ...this.counters },
    };
  }

  // ---- sending ------------------------------------------------------------

  private header(seq: number | null, dest: string | null): Header {
    const destPeer = dest === null ? undefined : this.peers.get(dest);
    return {
      src: this.config.node, srcuuid: this.config.uuid, seq, hg: this.config.generation, ts: this.env.wallSeconds(),
      ld: seq === null ? null : this.env.loadavg(), ttl: this.config.ttl, destuuid: destPeer?.uuid ?? null,
    };
  }

  private emitSend(body: Body, seq: number | null): { datagram: string; classic: string } {
    const dest = "dest" in body ? body.dest : null;
    // The auth field is the same in both renderings: computed once, then the
    // datagram adds its trailer and the classic frame is the message as is.
    const signed = withAuthField(buildMessage(body, this.header(seq, dest)), this.config.keys);
    const datagram = signDatagram(signed, this.config.keys, { authField: false });
    const classic = encodeClassic(signed);
    this.out.push({ kind: "send", datagram, classic, type: body.t, seq });
    this.count(`sent.${body.t}`);
    return { datagram, classic };
  }

  private sendSequenced(_now: number, body: Body): void {
    const seq = ++this.seq;
    const wire = this.emitSend(body, seq);
    this.history.add(seq, wire.datagram, wire.classic);
  }

  private sendStatus(now: number): void {
    this.sendSequenced(now, { t: "status", st: this.status, dt: this.advertisedDt, protocol: PROTOCOL_VERSION });
    this.nextStatusAt = now + this.config.keepaliveMs;
  }

  private sendReqnodes(now: number): void {
    const peer = [...this.peers.values()].find((p) => p.isAlive());
    if (!peer) {
      this.reqnodesDueAt = null;
      this.becomeActive(now);
      return;
    }
    this.sendSequenced(now, { t: "reqnodes", dest: peer.name });
    this.reqnodesDueAt = now + REQNODES_RETRY_MS;
  }

  private becomeActive(now: number): void {
    if (this.status === "active") return;
    this.status = "active";
    this.sendStatus(now);
    this.out.push({ kind: "local-active" });
  }

  // ---- receiving ----------------------------------------------------------

  private handle(now: number, link: string, bytes: string, from: string): void {
    const d = decodeDatagram(bytes);
    if (!d.ok) {
      this.bad(now, EV.malformed, `${link}:${d.error.code}`, `malformed message on ${link} from ${from}: ${d.error.detail} (byte ${d.error.offset})`, { link, from, code: d.error.code });
      return;
    }
    const v = verifyDecoded(d.decoded, this.config.keys);
    if (!v.ok) {
      this.bad(now, EV.badAuth, `${link}:${v.reason}`, `message on ${link} from ${from} failed authentication: ${v.detail}`, { link, from, reason: v.reason });
      return;
    }
    const h = readHeader(d.decoded.message);
    if (!h.ok) {
      this.bad(now, EV.badHeader, `${link}:${h.error.field}`, `message on ${link} from ${from} dropped: ${h.error.detail}`, { link, from, field: h.error.field });
      return;
    }
    const src = h.header.src;
    if (src === this.config.node) {
      this.count("received.own");
      return;
    }
    const peer = this.peers.get(src);
    if (!peer) {
      this.bad(now, EV.unknownNode, `node:${src}`, `message from node '${src}', which is not in ha.cf (on ${link} from ${from})`, { link, from, node: src });
      return;
    }
    const typed = readMessage(d.decoded.message);
    this.count("received");
    if (h.header.srcuuid !== null) peer.uuid = h.header.srcuuid;
    const message: TypedMessage | null = typed.ok ? typed.message : null;
    if (!typed.ok) {
      this.bad(now, typed.error.code === "unknown-type" ? EV.unknownType : EV.badHeader, `${src}:${typed.error.field}`, `message from ${src} on ${link}: ${typed.error.detail}`, { link, node: src });
    }

    if (isNonSequenced(h.type)) {
      this.touchLink(now, peer, link);
      if (message) this.dispatchNonSequenced(now, peer, message);
      return;
    }
    this.receiveSequenced(now, peer, link, h.header, h.type, message);
  }

  private receiveSequenced(now: number, peer: Peer, link: string, header: Header, type: string, message: TypedMessage | null): void {
    const seq = header.seq!;
    const isStatus = type === "status";
    if (peer.generation !== null && header.hg < peer.generation) {
      this.bad(now, EV.replay, `replay:${peer.name}`, `dropped a message from ${peer.name} with old generation ${header.hg} (current ${peer.generation}): replay?`, { node: peer.name, gen: header.hg, curgen: peer.generation });
      return;
    }
    if (isStatus && (peer.generation === null || header.hg > peer.generation)) {
      if (peer.generation !== null) {
        this.event("info", EV.nodeRestart, `heartbeat restart on node ${peer.name}`, { node: peer.name, generation: header.hg });
      }
      peer.resetTracking();
      peer.generation = header.hg;
      peer.lastStatusSeq = null;
    } else if (isStatus && peer.status === "dead" && peer.heard) {
      // Same generation from a node we declared dead: it never stopped (a partition healed).
      if (peer.lastStatusSeq !== null && seq <= peer.lastStatusSeq) return;
      this.event("crit", EV.partitionReturn, `cluster node ${peer.name} returning after partition`, { node: peer.name });
      peer.resetTracking();
    }

    const verdict = peer.window.accept(seq);
    this.touchLink(now, peer, link);
    switch (verdict.kind) {
      case "duplicate":
      case "old":
        this.count("received.duplicate");
        return;
      case "reset":
        this.event("warn", EV.trackingReset, `lost a lot of packets from ${peer.name} (${verdict.lost}); tracking restarted`, { node: peer.name, lost: verdict.lost });
        peer.rexmitDue.clear();
        peer.held.clear();
        peer.nextDeliver = seq;
        break;
      case "gap":
        this.event("warn", EV.packetsLost, `${verdict.missing.length} lost packet(s) for [${peer.name}] [${verdict.missing[0]! - 1}:${seq}]`, { node: peer.name, first: verdict.missing[0]!, count: verdict.missing.length });
        for (const k of verdict.missing) peer.rexmitDue.set(k, now + this.rexmitDelay());
        break;
      case "recovered":
        peer.rexmitDue.delete(seq);
        if (verdict.complete) this.event("info", EV.packetsRecovered, `no packets missing from ${peer.name}`, { node: peer.name });
        break;
      case "first":
        peer.nextDeliver = seq;
        break;
      case "in-order":
        break;
    }

    if (isStatus && message && message.body.t === "status") this.onStatus(now, peer, message, seq);
    if (message) this.hold(peer, seq, message);
    this.flushDeliveries(peer);
    this.maybeAck(peer, seq, verdict.kind);
    if (message && this.addressedToUs(message)) this.dispatchSequenced(now, peer, message);
  }

  private addressedToUs(m: TypedMessage): boolean {
    return !("dest" in m.body) || m.body.dest === this.config.node;
  }

  private onStatus(now: number, peer: Peer, m: TypedMessage, seq: number): void {
    if (m.body.t !== "status") return;
    if (peer.lastStatusAt !== null && peer.status !== "dead") {
      const interval = now - peer.lastStatusAt;
      if (interval > this.config.warntimeMs) {
        const level: Level = interval > peer.dt ? "crit" : "warn";
        this.event(level, EV.lateHeartbeat, `late heartbeat: node ${peer.name}: interval ${interval} ms`, { node: peer.name, interval });
      }
    }
    peer.lastStatusAt = now;
    peer.lastStatusSeq = seq;
    peer.dt = m.body.dt;
    if (m.body.protocol === null && peer.flowControl) {
      peer.flowControl = false;
      this.event("warn", EV.flowControlOff, `flow control disabled: ${peer.name} runs a Heartbeat without protocol=1`, { node: peer.name });
    }
    const wasHeard = peer.heard;
    peer.heard = true;
    const st = m.body.st === "init" || m.body.st === "up" || m.body.st === "active" ? m.body.st : peer.status;
    if (st !== peer.status || !wasHeard) this.setPeerStatus(peer, st);
  }

  private setPeerStatus(peer: Peer, status: PeerStatus): void {
    const previous = peer.status;
    peer.status = status;
    this.out.push({ kind: "peer-status", node: peer.name, status, previous });
    const level: Level = status === "dead" ? "warn" : "info";
    this.event(level, status === "dead" ? EV.nodeDead : EV.nodeStatus, status === "dead" ? `node ${peer.name}: is dead` : `status update for node ${peer.name}: status ${status}`, { node: peer.name, status, previous });
  }

  private touchLink(now: number, peer: Peer, link: string): void {
    let l = peer.links.get(link);
    if (!l) {
      l = { up: false, lastAt: null };
      peer.links.set(link, l);
    }
    l.lastAt = now;
    if (!l.up) {
      l.up = true;
      this.out.push({ kind: "link-status", node: peer.name, link, up: true });
      this.event("info", EV.linkUp, `link ${peer.name}:${link} up`, { node: peer.name, link });
    }
  }

  /** Holds a sequenced message for in-order delivery (bounded). */
  private hold(peer: Peer, seq: number, m: TypedMessage): void {
    if (peer.nextDeliver === null) peer.nextDeliver = seq;
    if (seq < peer.nextDeliver) return;
    if (peer.held.size >= MAX_HELD_MESSAGES) {
      // Give up on the oldest gap rather than grow without bound.
      const lowest = peer.window.lowestMissing();
      if (lowest !== null) peer.window.forget(lowest);
    }
    peer.held.set(seq, m);
  }

  private flushDeliveries(peer: Peer): void {
    while (peer.nextDeliver !== null) {
      const next = peer.nextDeliver;
      const m = peer.held.get(next);
      if (m) {
        peer.held.delete(next);
        this.out.push({ kind: "deliver", from: peer.name, message: m });
        if (peer.delivery.first === null) peer.delivery.first = next;
        peer.delivery.delivered++;
        peer.nextDeliver = next + 1;
      } else if (peer.window.last !== null && next <= peer.window.last && !peer.window.isMissing(next)) {
        peer.nextDeliver = next + 1; // given up on (NAK'd or skipped): do not wait for it
        peer.delivery.skipped++;
      } else {
        return;
      }
    }
  }

  private maybeAck(peer: Peer, seq: number, verdict: string): void {
    if (!peer.flowControl) return;
    const lowestMissing = peer.window.lowestMissing();
    if (verdict === "recovered") {
      if (lowestMissing !== null || peer.window.last === null) return;
      const last = peer.window.last;
      const ack = last - ((last - peer.ackTrigger + ACK_MODULUS * 1000) % ACK_MODULUS);
      if (ack >= 1) this.emitSend({ t: "NS_ackmsg", dest: peer.name, ackseq: ack }, null);
      return;
    }
    if (verdict !== "in-order" && verdict !== "first" && verdict !== "reset") return;
    if (lowestMissing !== null && lowestMissing < seq) return;
    if (seq % ACK_MODULUS === peer.ackTrigger) this.emitSend({ t: "NS_ackmsg", dest: peer.name, ackseq: seq }, null);
  }

  private dispatchSequenced(now: number, peer: Peer, m: TypedMessage): void {
    const b = m.body;
    if (b.t === "reqnodes") {
      this.sendSequenced(now, { t: "repnodes", dest: peer.name, nodes: [...this.config.nodes], deleted: [] });
    } else if (b.t === "repnodes") {
      if (this.reqnodesDueAt !== null) {
        this.reqnodesDueAt = null;
        this.becomeActive(now);
      }
    } else if (b.t === "shutdone") {
      this.event("info", EV.shutdownNotice, `received shutdown notice from '${peer.name}'`, { node: peer.name });
    }
  }

  private dispatchNonSequenced(now: number, peer: Peer, m: TypedMessage): void {
    const b = m.body;
    if (!this.addressedToUs(m)) return;
    if (b.t === "NS_ackmsg") {
      if (b.ackseq > peer.ackedByPeer && b.ackseq <= this.seq) peer.ackedByPeer = b.ackseq;
    } else if (b.t === "NS_rexmit") {
      this.answerRexmit(now, peer, b.firstseq, b.lastseq);
    } else if (b.t === "NS_nak_rexmit") {
      this.event("error", EV.irretrievable, `irretrievably lost packet: node ${peer.name} seq ${b.firstseq} (${b.info})`, { node: peer.name, seq: b.firstseq });
      peer.window.forget(b.firstseq);
      peer.rexmitDue.delete(b.firstseq);
      this.flushDeliveries(peer);
    }
  }

  // ---- retransmission -----------------------------------------------------

  private rexmitDelay(): number {
    const max = this.config.maxRexmitDelayMs;
    const min = max < 100 ? 0 : MIN_REXMIT_DELAY_MS;
    return Math.round(min + this.env.random() * (max - min));
  }

  private fireRexmitRequests(now: number): void {
    for (const peer of this.peers.values()) {
      for (const [k, due] of [...peer.rexmitDue.entries()]) {
        if (due > now) continue;
        if (!peer.isAlive() || !peer.window.isMissing(k)) {
          peer.rexmitDue.delete(k);
          continue;
        }
        this.emitSend({ t: "NS_rexmit", dest: peer.name, firstseq: k, lastseq: k }, null);
        this.count("rexmit.requested");
        this.event("debug", EV.rexmitRequest, `asked ${peer.name} to retransmit seq ${k}`, { node: peer.name, seq: k });
        peer.rexmitDue.set(k, now + this.config.maxRexmitDelayMs);
      }
    }
  }

  private answerRexmit(now: number, peer: Peer, first: number, last: number): void {
    if (first <= 0 || last < first) {
      this.bad(now, EV.rexmitInvalid, `rexmit:${peer.name}`, `invalid rexmit seqnos from ${peer.name}: ${first}-${last}`, { node: peer.name, first, last });
      return;
    }
    const upTo = Math.min(last, first + MAX_REXMIT_BATCH - 1);
    for (let k = first; k <= upTo; k++) {
      if (k <= peer.ackedByPeer) continue;
      if (k > this.history.highestSeq()) {
        this.bad(now, EV.rexmitBeyond, `beyond:${peer.name}`, `rexmit of seq ${k} requested by ${peer.name}; ${this.history.highestSeq()} is max`, { node: peer.name, seq: k, max: this.history.highestSeq() });
        return;
      }
      if (k < this.history.lowestSeq()) {
        this.emitSend({ t: "NS_nak_rexmit", dest: peer.name, firstseq: k, info: NAK_SEQ_TOO_LOW }, null);
        continue;
      }
      const entry = this.history.get(k);
      if (!entry) {
        this.emitSend({ t: "NS_nak_rexmit", dest: peer.name, firstseq: k, info: NAK_SEQ_NOT_FOUND }, null);
        continue;
      }
      if (now - entry.lastRexmitAt < this.config.maxRexmitDelayMs - REXMIT_REPEAT_SLACK_MS) continue;
      entry.lastRexmitAt = now;
      this.out.push({ kind: "send", datagram: entry.datagram, classic: entry.classic, type: "rexmit", seq: k });
      this.count("rexmit.sent");
      this.event("debug", EV.rexmitSent, `retransmitted seq ${k} to ${peer.name}`, { node: peer.name, seq: k });
    }
  }

  // ---- liveness -----------------------------------------------------------

  private checkDeaths(now: number): void {
    for (const peer of this.peers.values()) {
      if (peer.status === "dead" && !peer.heard) continue;
      const silentSince = peer.heard && peer.lastStatusAt !== null ? peer.lastStatusAt : this.startedAt;
      const limit = peer.heard ? peer.dt : this.config.initdeadMs;
      if (peer.status !== "dead" && now - silentSince > limit) {
        peer.resetTracking();
        this.setPeerStatus(peer, "dead");
      }
      for (const [link, l] of peer.links) {
        if (l.up && l.lastAt !== null && now - l.lastAt > peer.dt) {
          l.up = false;
          this.out.push({ kind: "link-status", node: peer.name, link, up: false });
          this.event("info", EV.linkDead, `link ${peer.name}:${link} dead`, { node: peer.name, link });
        }
      }
    }
  }

  private checkCommUp(now: number): void {
    if (this.commUp) return;
    for (const p of this.peers.values()) if (!p.heard && p.status !== "dead") return;
    this.commUp = true;
    this.event("info", EV.commUp, "communications up", {});
    const anyAlive = [...this.peers.values()].some((p) => p.isAlive() && p.flowControl);
    if (anyAlive) this.sendReqnodes(now);
    else this.becomeActive(now);
  }

  // ---- bookkeeping --------------------------------------------------------

  private begin(): void {
    this.out = [];
  }

  private end(): Effect[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private count(name: string): void {
    this.counters[name] = (this.counters[name] ?? 0) + 1;
  }

  private event(level: Level, event: EventName, msg: string, fields: Record<string, string | number | boolean | null>): void {
    this.out.push({ kind: "event", level, event, msg, fields });
  }

  /** Bad input is always counted; logged at most once per key and interval so a flood cannot flood the log. */
  private bad(now: number, event: EventName, key: string, msg: string, fields: Record<string, string | number | boolean | null>): void {
    this.count(event);
    const last = this.badLogAt.get(key);
    if (last !== undefined && now - last < BAD_INPUT_LOG_INTERVAL_MS) return;
    this.badLogAt.set(key, now);
    if (this.badLogAt.size > 1000) this.badLogAt.clear();
    this.event(event === EV.replay || event === EV.badAuth ? "error" : "warn", event, msg, { ...fields, total: this.counters[event] ?? 0 });
  }
}
