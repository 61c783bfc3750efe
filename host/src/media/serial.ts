// ha.cf `serial DEVICE`: heartbeats over a tty (a null-modem cable), in the
// classic text format as Heartbeat writes it (`>>>` ... `<<<`). What arrives
// goes through the protocol's streaming deframer, so noise on the line costs
// bytes, never a whole stream, and every dropped byte and frame is counted.
//
// The port is opened, configured (baud, 8N1, raw, RTS/CTS, HUPCL), locked
// (flock) and closed by serialport's native binding (@serialport/bindings-cpp),
// which opens it non-blocking. Reading and writing are done here, on the event
// loop: the binding's poller (one uv_poll on the fd) says when the tty is
// readable, and one read(2) takes what is there; a frame out is one write(2),
// which a tty with room takes whole. serialport's own stream would read and
// write through libuv's thread pool (an fs.read or fs.write on a pool thread,
// a wake-up back, and a read returning EAGAIN for every frame), which cost
// more CPU than the rest of the medium at keepalive 100 ms.
//
// A serial link must outlive its cable: when the port errors or closes (a USB
// adapter pulled, the tty gone, a hang-up), the medium reports it through
// onError and reopens the same path with a bounded backoff until close() is
// called.
//
// Writes never block the agent and never pile up: what the tty does not take
// at once waits here and goes out when the poller says the tty is writable;
// when it does not drain (no flow control partner, a stuck line), messages
// past WRITE_BACKLOG_LIMIT bytes of backlog are dropped and counted, and a
// backlog that has not drained for WRITE_STALL_MS is flushed (what waits here
// and what the kernel holds), as Heartbeat flushes a tty whose write timed
// out.
//
// The lubdub device on the line: when the tty is a host port of the device
// (which relays heartbeats to the other host), the device's own messages
// share it. Every frame whose `t` starts with "ldev-" goes to the medium's
// DeviceLink subscribers (the fencing client, the device watchdog) and never
// to membership; the link's frames go out through the same write path and
// backlog as heartbeats. A frame is only decoded when its bytes show a
// `t=ldev-` line, so heartbeats cost no more than before.
//
// Not done as Heartbeat does: UUCP lock files (the binding takes an flock
// instead), ISTRIP/IGNCR input flags (the deframer drops CRs itself) and the
// BREAK sent on open.

import { readSync, writeSync } from "node:fs";
import { LinuxBinding, type LinuxPortBinding } from "@serialport/bindings-cpp";
import { Deframer } from "@lubdub/protocol/portable";
import { decodeClassicMessage, isDeviceMessage, type Message } from "@lubdub/protocol";
import type { DeviceLink } from "../fencing/device/link.js";
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

/** What marks a device message in a classic frame (a field line `t=ldev-…`). */
const DEVICE_MARK = "\nt=ldev-";

/** The binding's poller flags (uv_poll events). */
const UV_READABLE = 1;
const UV_WRITABLE = 2;
/** Bytes one read(2) may take; a status frame is about 200. */
const READ_CHUNK = 4096;

/** An error's errno name (EAGAIN, EIO...), or "". */
function codeOf(e: unknown): string {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "";
}

/** Nothing to read or no room to write now: wait for the poller. */
function wouldBlock(e: unknown): boolean {
  const c = codeOf(e);
  return c === "EAGAIN" || c === "EWOULDBLOCK" || c === "EINTR";
}

export class SerialMedium implements Medium {
  readonly kind = "serial";
  readonly stats: MediumStats = newMediumStats();
  readonly baud: number;
  private readonly rtscts: boolean;
  private readonly deframer: Deframer;
  private readonly readBuf = Buffer.allocUnsafe(READ_CHUNK);
  private port: LinuxPortBinding | null = null;
  /** The open port's descriptor (non-blocking), or -1. */
  private fd = -1;
  private onArrival: (a: Arrival) => void = () => {};
  private onError: (e: Error) => void = () => {};
  private closed = true;
  private reopenTimer: NodeJS.Timeout | null = null;
  private reopenDelay = SERIAL_REOPEN_MIN_MS;
  private lastReopenError = "";
  /** Messages (latin1) the tty has not taken yet, oldest first; the first may be partly written. */
  private pending: string[] = [];
  /** Bytes of pending[0] already written. */
  private pendingHead = 0;
  private pendingBytes = 0;
  /** Waiting for the poller's writable event. */
  private writeArmed = false;
  /** When the write backlog was last seen empty (or last flushed). */
  private drainedAt = 0;
  private dropBurst = 0;
  /** Times the port was (re)opened, for tests and status. */
  opens = 0;
  /** Device messages received (handed to the device link, not to membership). */
  deviceFrames = 0;
  private readonly deviceListeners = new Set<(msg: Message, raw: string) => void>();
  private readonly deviceDownListeners = new Set<(why: Error) => void>();
  private link: DeviceLink | null = null;

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
    return this.pendingBytes;
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

  private async openPort(): Promise<void> {
    // 8N1, raw, VMIN 1, HUPCL and an flock are the binding's defaults.
    const port = await LinuxBinding.open({ path: this.linkName, baudRate: this.baud, rtscts: this.rtscts });
    if (this.closed || port.fd === null) {
      await port.close().catch(() => undefined);
      throw new Error("closed while opening");
    }
    this.port = port;
    this.fd = port.fd;
    this.opens++;
    this.drainedAt = Date.now();
    this.reopenDelay = SERIAL_REOPEN_MIN_MS;
    this.lastReopenError = "";
    // The poller's callbacks are on the event loop; an error (EBADF...) comes as the event's argument.
    port.poller.on("readable", (err: Error | null) => (err ? this.portFailed(port, err) : this.readable(port)));
    port.poller.on("writable", (err: Error | null) => {
      if (err) return this.portFailed(port, err);
      this.writable(port);
      if (port === this.port) this.poll(port);
    });
    this.poll(port);
  }

  /**
   * Asks the poller for what is wanted now: readable always, writable while
   * messages wait. The binding's poller runs one uv_poll with exactly the
   * events of the last request, and after an event fires it keeps polling
   * for the other events it was ever asked for (writable, once there was a
   * backlog); so every event handler asks again, for exactly this.
   */
  private poll(port: LinuxPortBinding): void {
    port.poller.poll(this.writeArmed ? UV_READABLE | UV_WRITABLE : UV_READABLE);
  }

  /** The tty has bytes (or hung up): one read takes what is there. */
  private readable(port: LinuxPortBinding): void {
    if (port !== this.port) return;
    let n: number;
    try {
      n = readSync(this.fd, this.readBuf, 0, READ_CHUNK, null);
    } catch (e) {
      if (wouldBlock(e)) {
        this.poll(port);
        return;
      }
      // EIO once the other end of a pty is gone; ENXIO, EBADF for a device that went away.
      this.portFailed(port, e as Error);
      return;
    }
    // A non-blocking tty read returns 0 only at a hang-up.
    if (n === 0) {
      this.portFailed(port, new Error("hang-up (end of file)"));
      return;
    }
    // Asked again first: a frame handler that closes the medium stops the poller after this.
    this.poll(port);
    this.handle(this.deframer.push(this.readBuf.toString("latin1", 0, n)));
  }

  private handle(events: ReturnType<Deframer["push"]>): void {
    for (const e of events) {
      if (e.frame === null) continue;
      if (e.frame.includes(DEVICE_MARK)) {
        const d = decodeClassicMessage(e.frame, 0, 0);
        if (d.ok && isDeviceMessage(d.message)) {
          this.deviceFrames++;
          for (const l of [...this.deviceListeners]) l(d.message, e.frame);
          continue;
        }
      }
      this.stats.received++;
      this.onArrival({ bytes: e.frame, from: this.linkName });
    }
    this.stats.droppedBytes = this.deframer.stats.droppedBytes;
    this.stats.droppedFrames = this.deframer.stats.droppedFrames;
  }

  /** The port failed or went away: report once, drop it and try again later. */
  private portFailed(port: LinuxPortBinding, e: Error): void {
    if (port !== this.port) return; // a port already given up on
    this.releasePort();
    if (port.isOpen) port.close().catch(() => undefined);
    // A frame cut by the failure is dropped as incomplete.
    this.handle(this.deframer.end());
    for (const l of [...this.deviceDownListeners]) l(e);
    if (this.closed) return;
    this.onError(new Error(`serial ${this.linkName}: ${e.message}; reopening`));
    this.scheduleReopen();
  }

  /** Forgets the current port and closes it in the background; what waited to be written is dropped. */
  private releasePort(): LinuxPortBinding | null {
    const port = this.port;
    this.port = null;
    this.fd = -1;
    this.writeArmed = false;
    this.stats.sendErrors += this.pending.length;
    this.pending = [];
    this.pendingHead = 0;
    this.pendingBytes = 0;
    if (!port) return null;
    // Stopping the poller emits "canceled" on every event; nobody listens any more.
    port.poller.removeAllListeners();
    return port;
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

  /**
   * The link to a lubdub device on this tty: device messages in, raw frames
   * out between the heartbeats. One per medium; up while the port is open.
   */
  deviceLink(): DeviceLink {
    if (this.link) return this.link;
    const self = this;
    this.link = {
      name: this.linkName,
      get up() {
        return !self.closed && self.isOpen;
      },
      send(frame: string): Promise<void> {
        if (self.closed || !self.port) return Promise.reject(new Error(`serial ${self.linkName}: port not open`));
        return self.write(frame) ? Promise.resolve() : Promise.reject(new Error(`serial ${self.linkName}: write backlog full`));
      },
      subscribe(listener) {
        self.deviceListeners.add(listener);
        return () => self.deviceListeners.delete(listener);
      },
      onDown(listener) {
        self.deviceDownListeners.add(listener);
        return () => self.deviceDownListeners.delete(listener);
      },
    };
    return this.link;
  }

  send(msg: OutgoingMessage): void {
    this.write(msg.classic);
  }

  /** Queues one classic frame for the tty; false when it was dropped (port down, backlog full). */
  private write(classic: string): boolean {
    const port = this.port;
    if (!port || this.closed) {
      this.stats.sendErrors++;
      return false;
    }
    const now = Date.now();
    const backlog = this.pendingBytes;
    if (backlog === 0) this.drainedAt = now;
    if (backlog + classic.length > WRITE_BACKLOG_LIMIT) {
      this.stats.sendErrors++;
      this.dropBurst++;
      if (this.dropBurst === 1) this.onError(new Error(`serial ${this.linkName}: ${backlog} bytes waiting to be written; dropping messages until the tty drains`));
      if (now - this.drainedAt >= WRITE_STALL_MS) {
        // TTY write timeout: discard what waits and what the kernel holds so the writer can move on.
        this.drainedAt = now;
        this.onError(new Error(`serial ${this.linkName}: TTY write timeout; flushing`));
        this.stats.sendErrors += this.pending.length;
        this.pending = [];
        this.pendingHead = 0;
        this.pendingBytes = 0;
        port.flush().catch(() => undefined);
      }
      return false;
    }
    this.dropBurst = 0;
    this.pending.push(classic);
    this.pendingBytes += classic.length;
    // Anything already waiting goes first, when the poller says so.
    if (!this.writeArmed) {
      this.writable(port);
      if (this.writeArmed && port === this.port) this.poll(port);
    }
    return true;
  }

  /** Writes what waits, oldest first, until the tty takes no more; writeArmed says whether some is left. */
  private writable(port: LinuxPortBinding): void {
    if (port !== this.port) return;
    this.writeArmed = false;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const rest = this.pendingHead === 0 ? head : head.slice(this.pendingHead);
      let n: number;
      try {
        n = writeSync(this.fd, rest, null, "latin1");
      } catch (e) {
        if (wouldBlock(e)) break;
        this.stats.sendErrors++;
        this.pending.shift();
        this.pendingBytes -= rest.length;
        this.pendingHead = 0;
        this.portFailed(port, e as Error);
        return;
      }
      this.pendingBytes -= n;
      if (n < rest.length) {
        this.pendingHead += n;
        break;
      }
      this.pending.shift();
      this.pendingHead = 0;
      this.stats.sent++;
    }
    this.writeArmed = this.pending.length > 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    if (this.port) for (const l of [...this.deviceDownListeners]) l(new Error("medium closed"));
    const port = this.releasePort();
    if (!port) return;
    await Promise.race([
      port.isOpen ? port.close().catch(() => undefined) : Promise.resolve(),
      new Promise((r) => setTimeout(r, SERIAL_CLOSE_TIMEOUT_MS).unref()),
    ]);
  }
}
