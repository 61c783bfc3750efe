// The receive side of Heartbeat's sequencing, per peer and generation:
// in-order, duplicate, old, gap (with the missing numbers) or a recovered
// retransmission. Pure; no clocks. Bounded: at most MAX_MISSING numbers.

import { MAX_GAP, MAX_MISSING } from "./limits.js";

export type SeqVerdict =
  | { kind: "first" }
  | { kind: "in-order" }
  | { kind: "duplicate" }
  | { kind: "old" }
  | { kind: "gap"; missing: number[] }
  | { kind: "recovered"; /** true when this closed the last gap */ complete: boolean }
  | { kind: "reset"; /** how many were skipped */ lost: number };

export class SeqWindow {
  /** Highest sequence number accepted, or null before the first. */
  last: number | null = null;
  /** Numbers below `last` still missing, ascending. */
  private missing: number[] = [];

  /** Classifies `seq` and updates the window (every verdict but duplicate/old accepts the message). */
  accept(seq: number): SeqVerdict {
    if (this.last === null) {
      this.last = seq;
      return { kind: "first" };
    }
    if (seq === this.last + 1) {
      this.last = seq;
      return { kind: "in-order" };
    }
    if (seq === this.last) return { kind: "duplicate" };
    if (seq > this.last + 1) {
      const gap = seq - this.last - 1;
      if (gap > MAX_GAP) {
        // Too many to ask for: start over from here, as Heartbeat does.
        this.missing = [];
        this.last = seq;
        return { kind: "reset", lost: gap };
      }
      const added: number[] = [];
      for (let s = this.last + 1; s < seq; s++) added.push(s);
      this.missing = this.missing.concat(added);
      if (this.missing.length > MAX_MISSING) this.missing = this.missing.slice(this.missing.length - MAX_MISSING);
      this.last = seq;
      return { kind: "gap", missing: added };
    }
    const i = this.missing.indexOf(seq);
    if (i < 0) return { kind: "old" };
    this.missing.splice(i, 1);
    return { kind: "recovered", complete: this.missing.length === 0 };
  }

  /** Gives up on `seq` (the peer said it cannot retransmit it). */
  forget(seq: number): void {
    const i = this.missing.indexOf(seq);
    if (i >= 0) this.missing.splice(i, 1);
  }

  isMissing(seq: number): boolean {
    return this.missing.includes(seq);
  }

  /** The lowest missing number, or null when there is no gap. */
  lowestMissing(): number | null {
    return this.missing.length ? this.missing[0]! : null;
  }

  missingCount(): number {
    return this.missing.length;
  }

  reset(): void {
    this.last = null;
    this.missing = [];
  }
}
