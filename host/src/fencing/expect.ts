// A small expect: reads a byte stream (a telnet-like console over TCP or a
// tty) into a buffer and waits, one step at a time, for a token or a
// pattern, each wait bounded by its own timeout. What precedes a match is
// returned and dropped from the buffer, as cluster-glue's expect helper
// does; unlike it, a timeout or a closed stream always ends the step with an
// error (never a silent success), and an AbortSignal ends every wait at once.

import type { Readable, Writable } from "node:stream";

export class ExpectError extends Error {
  constructor(
    readonly kind: "timeout" | "closed" | "aborted",
    message: string,
    /** What had arrived and was not matched (for the message and for tests). */
    readonly pending: string,
  ) {
    super(message);
  }
}

export interface ExpectMatch {
  /** Which of the alternatives matched. */
  index: number;
  /** The matched text. */
  match: string;
  /** The text before the match. */
  before: string;
}

type Pattern = string | RegExp;

/** Longest buffer kept while nothing matches (a device that talks forever). */
const MAX_BUFFER = 64 * 1024;

interface Waiter {
  patterns: Pattern[];
  resolve(m: ExpectMatch): void;
  reject(e: ExpectError): void;
}

export class Expect {
  private buf = "";
  private closed = false;
  private waiter: Waiter | null = null;
  /** Everything received, for a transcript (bounded). */
  transcript = "";

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly signal?: AbortSignal,
  ) {
    input.on("data", (d: Buffer | string) => this.onData(typeof d === "string" ? d : d.toString("latin1")));
    const end = () => this.onClose();
    input.on("end", end);
    input.on("close", end);
    input.on("error", end);
    output.on("error", end);
    signal?.addEventListener("abort", () => this.fail("aborted", "aborted"), { once: true });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes text (latin1); rejects when the stream is gone. */
  send(text: string): Promise<void> {
    if (this.closed) return Promise.reject(new ExpectError("closed", "connection closed", this.buf));
    return new Promise((resolve, reject) => {
      this.output.write(Buffer.from(text, "latin1"), (e) => (e ? reject(new ExpectError("closed", `write failed: ${e.message}`, this.buf)) : resolve()));
    });
  }

  /**
   * Waits up to `timeoutMs` for any of `patterns` (strings match as
   * substrings, case-sensitive; RegExps as they are). The earliest match in
   * the buffer wins.
   */
  expect(patterns: Pattern | Pattern[], timeoutMs: number): Promise<ExpectMatch> {
    const list = Array.isArray(patterns) ? patterns : [patterns];
    const what = list.map((p) => (typeof p === "string" ? JSON.stringify(p) : String(p))).join(" or ");
    if (this.waiter) return Promise.reject(new Error("expect: one wait at a time"));
    const now = this.find(list);
    if (now) return Promise.resolve(now);
    if (this.signal?.aborted) return Promise.reject(new ExpectError("aborted", `aborted waiting for ${what}`, this.buf));
    if (this.closed) return Promise.reject(new ExpectError("closed", `connection closed while waiting for ${what}`, this.buf));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new ExpectError("timeout", `no ${what} within ${timeoutMs} ms`, this.buf));
      }, timeoutMs);
      this.waiter = {
        patterns: list,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(new ExpectError(e.kind, `${e.message} while waiting for ${what}`, e.pending));
        },
      };
    });
  }

  /** Closes both directions. */
  close(): void {
    this.closed = true;
    this.input.destroy();
    if (this.output !== (this.input as unknown)) this.output.destroy();
  }

  private find(patterns: Pattern[]): ExpectMatch | null {
    let best: ExpectMatch | null = null;
    let bestAt = Infinity;
    patterns.forEach((p, index) => {
      let at = -1;
      let match = "";
      if (typeof p === "string") {
        at = this.buf.indexOf(p);
        match = p;
      } else {
        const m = p.exec(this.buf);
        if (m) {
          at = m.index;
          match = m[0];
        }
      }
      if (at >= 0 && at < bestAt) {
        bestAt = at;
        best = { index, match, before: this.buf.slice(0, at) };
      }
    });
    if (best) this.buf = this.buf.slice(bestAt + (best as ExpectMatch).match.length);
    return best;
  }

  private onData(text: string): void {
    this.buf += text;
    if (this.transcript.length < MAX_BUFFER) this.transcript += text;
    if (this.buf.length > MAX_BUFFER) this.buf = this.buf.slice(-MAX_BUFFER / 2);
    const w = this.waiter;
    if (!w) return;
    const m = this.find(w.patterns);
    if (m) {
      this.waiter = null;
      w.resolve(m);
    }
  }

  private onClose(): void {
    if (this.closed && !this.waiter) return;
    this.closed = true;
    this.fail("closed", "connection closed");
  }

  private fail(kind: "closed" | "aborted", message: string): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = null;
    w.reject(new ExpectError(kind, message, this.buf));
  }
}
