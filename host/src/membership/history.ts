// The sender's history of sequenced messages, kept so a peer that missed one
// can ask for it again. Retransmissions resend the stored bytes, so they are
// byte-identical to the original. A ring of HISTORY_SIZE entries.

import { HISTORY_SIZE } from "./limits.js";

export interface SentMessage {
  seq: number;
  /** Netstring datagram as first sent. */
  datagram: string;
  /** Classic rendering for serial media. */
  classic: string;
  /** When it was last retransmitted (ms), or -Infinity. */
  lastRexmitAt: number;
}

export class History {
  private ring: (SentMessage | undefined)[] = new Array(HISTORY_SIZE);
  private highest = 0;
  private lowest = 1;

  constructor(readonly capacity: number = HISTORY_SIZE) {
    this.ring = new Array(capacity);
  }

  add(seq: number, datagram: string, classic: string): void {
    this.ring[seq % this.capacity] = { seq, datagram, classic, lastRexmitAt: -Infinity };
    if (seq > this.highest) this.highest = seq;
    if (this.highest - this.capacity + 1 > this.lowest) this.lowest = this.highest - this.capacity + 1;
  }

  /** Highest sequence number sent (0 before any). */
  highestSeq(): number {
    return this.highest;
  }

  /** Lowest sequence number still retained. */
  lowestSeq(): number {
    return this.lowest;
  }

  get(seq: number): SentMessage | null {
    const e = this.ring[seq % this.capacity];
    return e !== undefined && e.seq === seq ? e : null;
  }
}
