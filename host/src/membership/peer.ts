// What one node knows about one peer.

import type { TypedMessage } from "@lubdub/protocol";
import type { PeerStatus } from "./effects.js";
import { SeqWindow } from "./seq-window.js";

export interface LinkState {
  up: boolean;
  /** Last time anything from this peer arrived on the link (ms), or null. */
  lastAt: number | null;
}

export class Peer {
  status: PeerStatus = "init";
  /** Heard at least once since start (or since its last death). */
  heard = false;
  uuid: string | null = null;
  /** Generation of the peer's process; null before the first status. */
  generation: number | null = null;
  /** Arrival time (ms) of the last accepted status message. */
  lastStatusAt: number | null = null;
  lastStatusSeq: number | null = null;
  /** The deadtime the peer advertises (ms); it governs when it is declared dead. */
  dt: number;
  /** Receive window for the current generation. */
  readonly window = new SeqWindow();
  /** ACK one in ACK_MODULUS messages: those with seq % ACK_MODULUS === ackTrigger. */
  readonly ackTrigger: number;
  /** Highest of our sequence numbers this peer acknowledged. */
  ackedByPeer = 0;
  /** Cleared for good by a status without `protocol` (an older Heartbeat). */
  flowControl = true;
  /** Pending retransmission requests: seq → when the next request is due. */
  readonly rexmitDue = new Map<number, number>();
  /** Sequenced messages held until the gap before them closes. */
  readonly held = new Map<number, TypedMessage>();
  /** Next sequence number to deliver in order, or null before the first. */
  nextDeliver: number | null = null;
  /** In-order delivery accounting for the peer's current process: first seq delivered, how many delivered, how many given up. */
  delivery = { first: null as number | null, delivered: 0, skipped: 0 };
  readonly links = new Map<string, LinkState>();

  constructor(
    readonly name: string,
    defaultDt: number,
    ackTrigger: number,
    linkNames: readonly string[],
  ) {
    this.dt = defaultDt;
    this.ackTrigger = ackTrigger;
    for (const l of linkNames) this.links.set(l, { up: false, lastAt: null });
  }

  /** Forget everything tied to the peer's current process (restart, death). */
  resetTracking(): void {
    this.window.reset();
    this.rexmitDue.clear();
    this.held.clear();
    this.nextDeliver = null;
    this.delivery = { first: null, delivered: 0, skipped: 0 };
    this.ackedByPeer = 0;
  }

  isAlive(): boolean {
    return this.heard && this.status !== "dead";
  }
}
