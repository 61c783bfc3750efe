// One tty of the simulator (a host port or the serial console), byte-level:
// opened, configured (baud, 8N1, raw) and locked by serialport's native
// binding (@serialport/bindings-cpp), read and written on the event loop
// (the binding's poller says when the fd is readable or writable; one
// read(2) takes what is there). Bytes are latin1 strings, one char per byte,
// as the core wants them.
//
// A tty must outlive its cable: when it errors or hangs up (the far end of a
// pty pair gone, a USB adapter pulled) it is reported once, and reopened on
// the same path with a bounded backoff until close(). What the tty does not
// take at once waits here; past WRITE_BACKLOG_LIMIT bytes new writes are
// dropped and counted, never blocking the device.

import { readSync, writeSync } from "node:fs";
import { LinuxBinding, type LinuxPortBinding } from "@serialport/bindings-cpp";

export const WRITE_BACKLOG_LIMIT = 4 * 1024 * 1024;
export const REOPEN_MIN_MS = 100;
export const REOPEN_MAX_MS = 2000;

const UV_READABLE = 1;
const UV_WRITABLE = 2;
const READ_CHUNK = 4096;

function codeOf(e: unknown): string {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "";
}

function wouldBlock(e: unknown): boolean {
  const c = codeOf(e);
  return c === "EAGAIN" || c === "EWOULDBLOCK" || c === "EINTR";
}

export interface TtyStats {
  bytesIn: number;
  bytesOut: number;
  /** Bytes given to write() that were dropped (port closed or backlog full). */
  bytesDropped: number;
  opens: number;
  errors: number;
}

export interface TtyEvents {
  data(bytes: string): void;
  /** The port is open (first time or again). */
  opened(): void;
  /** Something went wrong; the tty reopens by itself. Reported once per distinct reason. */
  problem(message: string): void;
}

export class Tty {
  readonly stats: TtyStats = { bytesIn: 0, bytesOut: 0, bytesDropped: 0, opens: 0, errors: 0 };
  private port: LinuxPortBinding | null = null;
  private fd = -1;
  private closed = false;
  private reopenTimer: NodeJS.Timeout | null = null;
  private reopenDelay = REOPEN_MIN_MS;
  private lastProblem = "";
  /** Chunks the tty has not taken yet, oldest first; the first may be partly written. */
  private pending: string[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  private writeArmed = false;
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK);

  constructor(
    readonly path: string,
    readonly baud: number,
    private readonly on: TtyEvents,
  ) {}

  get isOpen(): boolean {
    return this.port !== null;
  }

  /**
   * Opens the port; resolves after the first attempt, open or not (a failure
   * is reported and retried in the background).
   */
  start(): Promise<void> {
    return this.openPort();
  }

  private openPort(): Promise<void> {
    return LinuxBinding.open({ path: this.path, baudRate: this.baud, rtscts: false, lock: false })
      .then((port) => {
        if (this.closed || port.fd === null) {
          port.close().catch(() => undefined);
          return;
        }
        this.port = port;
        this.fd = port.fd;
        this.stats.opens++;
        this.reopenDelay = REOPEN_MIN_MS;
        this.lastProblem = "";
        port.poller.on("readable", (err: Error | null) => (err ? this.failed(port, err) : this.readable(port)));
        port.poller.on("writable", (err: Error | null) => {
          if (err) return this.failed(port, err);
          this.flush(port);
          if (port === this.port) this.poll(port);
        });
        this.poll(port);
        this.on.opened();
      })
      .catch((e: Error) => {
        this.report(`cannot open: ${e.message}`);
        this.scheduleReopen();
      });
  }

  private report(message: string): void {
    this.stats.errors++;
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.on.problem(message);
  }

  private poll(port: LinuxPortBinding): void {
    port.poller.poll(this.writeArmed ? UV_READABLE | UV_WRITABLE : UV_READABLE);
  }

  private readable(port: LinuxPortBinding): void {
    if (port !== this.port) return;
    let n: number;
    try {
      n = readSync(this.fd, this.buf, 0, READ_CHUNK, null);
    } catch (e) {
      if (wouldBlock(e)) {
        this.poll(port);
        return;
      }
      this.failed(port, e as Error);
      return;
    }
    if (n === 0) {
      this.failed(port, new Error("hang-up (end of file)"));
      return;
    }
    this.poll(port);
    this.stats.bytesIn += n;
    this.on.data(this.buf.toString("latin1", 0, n));
  }

  private failed(port: LinuxPortBinding, e: Error): void {
    if (port !== this.port) return;
    this.port = null;
    this.fd = -1;
    this.writeArmed = false;
    this.stats.bytesDropped += this.pendingBytes;
    this.pending = [];
    this.pendingHead = 0;
    this.pendingBytes = 0;
    port.poller.removeAllListeners();
    if (port.isOpen) port.close().catch(() => undefined);
    if (this.closed) return;
    this.report(`${e.message}; reopening`);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed || this.reopenTimer) return;
    const delay = this.reopenDelay;
    this.reopenDelay = Math.min(this.reopenDelay * 2, REOPEN_MAX_MS);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      if (!this.closed) this.openPort();
    }, delay);
  }

  /** Queues bytes for the tty; never blocks. */
  write(bytes: string): void {
    const port = this.port;
    if (port === null || this.closed) {
      this.stats.bytesDropped += bytes.length;
      return;
    }
    if (this.pendingBytes + bytes.length > WRITE_BACKLOG_LIMIT) {
      this.stats.bytesDropped += bytes.length;
      this.report(`write backlog over ${WRITE_BACKLOG_LIMIT} bytes; dropping`);
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (!this.writeArmed) {
      this.flush(port);
      if (this.writeArmed && port === this.port) this.poll(port);
    }
  }

  private flush(port: LinuxPortBinding): void {
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
        this.failed(port, e as Error);
        return;
      }
      this.stats.bytesOut += n;
      this.pendingBytes -= n;
      if (n < rest.length) {
        this.pendingHead += n;
        break;
      }
      this.pending.shift();
      this.pendingHead = 0;
    }
    this.writeArmed = this.pending.length > 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    const port = this.port;
    this.port = null;
    if (port === null) return;
    port.poller.removeAllListeners();
    await Promise.race([port.close().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
