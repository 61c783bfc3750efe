// ha.cf `serial DEVICE`: heartbeats over a tty (a null-modem cable), in the
// classic text format as Heartbeat writes it (`>>>` ... `<<<`). What arrives
// goes through the protocol's streaming deframer, so noise on the line costs
// bytes, never a whole stream, and every dropped byte and frame is counted.
//
// A serial link must outlive its cable: when the port errors or closes (a USB
// adapter pulled, the tty gone), the medium reports it through onError and
// reopens the same path with a bounded backoff until close() is called.
//
// Writes never block the agent and never pile up: when the tty does not drain
// (no flow control partner, a stuck line), messages past WRITE_BACKLOG_LIMIT
// bytes of backlog are dropped and counted, and a backlog that has not moved
// for WRITE_STALL_MS is flushed, as Heartbeat flushes a tty whose write timed
// out.
//
// Not done as Heartbeat does: UUCP lock files (serialport takes an flock
// instead), ISTRIP/IGNCR input flags (the deframer drops CRs itself) and the
// BREAK sent on open.

import { SerialPort } from "serialport";
import { Deframer } from "@lubdub/protocol/portable";
import { type Arrival, type Medium, type MediumStats, type OutgoingMessage, newMediumStats } from "./medium.js";

/** ha.cf `baud` when it is not given. */
export const DEFAULT_BAUD = 19200;
/** The rates Heartbeat's `baud` directive accepts. */
export const SERIAL_BAUD_RATES: readonly number[] = [9600, 19200, 38400, 57600, 115200, 230400, 460800];
/** Bytes that may wait to be written before further messages are dropped. */
export const WRITE_BACKLOG_LIMIT = 16 * 1024;
/** A backlog that has not drained for this long is flushed (Heartbeat's tty write timeout). */
export const WRITE_STALL_MS = 500;
/** First wait before reopening a port that failed, doubled up to SERIAL_REOPEN_MAX_MS. */
export const SERIAL_REOPEN_MIN_MS = 100;
export const SERIAL_REOPEN_MAX_MS = 5000;
/** close() resolves within this time, whatever the port does. */
export const SERIAL_CLOSE_TIMEOUT_MS = 1000;

export interface SerialMediumOptions {
  /** ha.cf baud (default 19200). */
  baud?: number;
  /** RTS/CTS hardware flow control, which Heartbeat turns on (default true). */
  rtscts?: boolean;
  /** Largest frame the deframer accepts (default: the protocol maximum). */
  maxFrameBytes?: number;
}

export function parseBaud(s: string | number): number {
  const n = typeof s === "number" ? s : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!SERIAL_BAUD_RATES.includes(n)) throw new Error(`baud '${s}' is not one of ${SERIAL_BAUD_RATES.join(", ")}`);
  return n;
}

export class SerialMedium implements Medium {
  readonly kind = "serial";
  readonly stats: MediumStats = newMediumStats();
  readonly baud: number;
  private readonly rtscts: boolean;
  private readonly deframer: Deframer;
  private port: SerialPort | null = null;
  private onArrival: (a: Arrival) => void = () => {};
  private onError: (e: Error) => void = () => {};
  private closed = true;
  private reopenTimer: NodeJS.Timeout | null = null;
  private reopenDelay = SERIAL_REOPEN_MIN_MS;
  private lastReopenError = "";
  /** When the write backlog was last seen empty (or last flushed). */
  private drainedAt = 0;
  private dropBurst = 0;
  /** Times the port was (re)opened, for tests and status. */
  opens = 0;

  constructor(readonly linkName: string, options: SerialMediumOptions = {}) {
    this.baud = parseBaud(options.baud ?? DEFAULT_BAUD);
    this.rtscts = options.rtscts ?? true;
    this.deframer = new Deframer(options.maxFrameBytes);
  }

  get isOpen(): boolean {
    return this.port !== null && this.port.isOpen;
  }

  /** Bytes accepted but not yet handed to the tty. */
  writeBacklog(): number {
    return this.port ? this.port.writableLength : 0;
  }

  async open(onArrival: (a: Arrival) => void, onError: (e: Error) => void): Promise<void> {
    if (!this.closed) throw new Error(`serial ${this.linkName}: already open`);
    this.onArrival = onArrival;
    this.onError = onError;
    this.closed = false;
    try {
      await this.openPort();
    } catch (e) {
      this.closed = true;
      throw new Error(`serial ${this.linkName}: ${(e as Error).message}`);
    }
  }

  private openPort(): Promise<void> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path: this.linkName, baudRate: this.baud, rtscts: this.rtscts, autoOpen: false });
      // Every error goes through here: a serialport without an 'error' listener would throw.
      port.on("error", (e) => this.portFailed(port, e));
      port.on("close", (e: Error | null) => this.portFailed(port, e ?? new Error("port closed")));
      port.on("data", (chunk: Buffer) => this.received(chunk));
      port.open((err) => {
        if (err) {
          port.removeAllListeners();
          port.on("error", () => {});
          reject(err);
          return;
        }
        if (this.closed) {
          port.close(() => {});
          reject(new Error("closed while opening"));
          return;
        }
        this.port = port;
        this.opens++;
        this.drainedAt = Date.now();
        this.reopenDelay = SERIAL_REOPEN_MIN_MS;
        this.lastReopenError = "";
        resolve();
      });
    });
  }

  private received(chunk: Buffer): void {
    this.handle(this.deframer.push(chunk.toString("latin1")));
  }

  private handle(events: ReturnType<Deframer["push"]>): void {
    for (const e of events) {
      if (e.frame !== null) {
        this.stats.received++;
        this.onArrival({ bytes: e.frame, from: this.linkName });
      }
    }
    this.stats.droppedBytes = this.deframer.stats.droppedBytes;
    this.stats.droppedFrames = this.deframer.stats.droppedFrames;
  }

  /** The port failed or went away: report once, drop it and try again later. */
  private portFailed(port: SerialPort, e: Error): void {
    if (port !== this.port) return; // a port already given up on
    this.port = null;
    port.removeAllListeners();
    port.on("error", () => {});
    if (port.isOpen) port.close(() => {});
    // A frame cut by the failure is dropped as incomplete.
    this.handle(this.deframer.end());
    if (this.closed) return;
    this.onError(new Error(`serial ${this.linkName}: ${e.message}; reopening`));
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed || this.reopenTimer) return;
    const delay = this.reopenDelay;
    this.reopenDelay = Math.min(this.reopenDelay * 2, SERIAL_REOPEN_MAX_MS);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      if (this.closed) return;
      this.openPort().catch((err: Error) => {
        // Report each new reason once, not every attempt.
        if (err.message !== this.lastReopenError) {
          this.lastReopenError = err.message;
          this.onError(new Error(`serial ${this.linkName}: reopen failed: ${err.message}; retrying every ${SERIAL_REOPEN_MAX_MS} ms at most`));
        }
        this.scheduleReopen();
      });
    }, delay);
  }

  send(msg: OutgoingMessage): void {
    const port = this.port;
    if (!port || !port.isOpen || this.closed) {
      this.stats.sendErrors++;
      return;
    }
    const now = Date.now();
    const backlog = port.writableLength;
    if (backlog === 0) this.drainedAt = now;
    if (backlog + msg.classic.length > WRITE_BACKLOG_LIMIT) {
      this.stats.sendErrors++;
      this.dropBurst++;
      if (this.dropBurst === 1) this.onError(new Error(`serial ${this.linkName}: ${backlog} bytes waiting to be written; dropping messages until the tty drains`));
      if (now - this.drainedAt >= WRITE_STALL_MS) {
        // TTY write timeout: discard what the kernel holds so the writer can move on.
        this.drainedAt = now;
        this.onError(new Error(`serial ${this.linkName}: TTY write timeout; flushing`));
        port.flush(() => {});
      }
      return;
    }
    this.dropBurst = 0;
    try {
      port.write(Buffer.from(msg.classic, "latin1"), (err) => {
        if (err) this.stats.sendErrors++;
        else this.stats.sent++;
      });
    } catch {
      this.stats.sendErrors++;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    const port = this.port;
    this.port = null;
    if (!port) return;
    port.removeAllListeners();
    port.on("error", () => {});
    await Promise.race([
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
      new Promise((r) => setTimeout(r, SERIAL_CLOSE_TIMEOUT_MS).unref()),
    ]);
  }
}
