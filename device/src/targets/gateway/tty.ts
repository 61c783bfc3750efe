// One tty of the Linux gateway (a host port or the serial console), as the
// simulator's device/src/targets/sim/tty.ts does it, with luaposix: opened
// O_RDWR|O_NOCTTY|O_NONBLOCK, raw 8N1 at the configured baud through termios
// (CLOCAL, no flow control, VMIN=1 VTIME=0), read and written by the poll
// loop. A tty outlives its cable: an error or a hang-up (the far end of a
// pty pair gone, a USB adapter pulled) is reported once and the path is
// reopened with a bounded backoff. What the tty does not take at once waits
// here; past WRITE_BACKLOG_LIMIT bytes new writes are dropped and counted.

import { lastError, Posix, Termios } from "./posix.js";

export const WRITE_BACKLOG_LIMIT = 16 * 1024;
export const REOPEN_MIN_MS = 100;
export const REOPEN_MAX_MS = 2000;
const READ_CHUNK = 4096;

/** Baud rates luaposix's termio names (B<n>); others fall back to 19200 with a warning. */
export const TTY_BAUDS: number[] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

export interface TtyStats {
  bytesIn: number;
  bytesOut: number;
  bytesDropped: number;
  opens: number;
  errors: number;
}

export interface TtyEvents {
  data: (this: void, bytes: string) => void;
  opened: (this: void) => void;
  problem: (this: void, message: string) => void;
}

export class Tty {
  readonly stats: TtyStats = { bytesIn: 0, bytesOut: 0, bytesDropped: 0, opens: 0, errors: 0 };
  fd = -1;
  private pending = "";
  private reopenAt = 0;
  private reopenDelay = REOPEN_MIN_MS;
  private lastProblem = "";
  private closed = false;

  constructor(
    readonly px: Posix,
    readonly path: string,
    readonly baud: number,
    readonly on: TtyEvents,
    readonly now: (this: void) => number,
  ) {}

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Bytes waiting for the tty to take them (poll for OUT while > 0). */
  get backlog(): number {
    return this.pending.length;
  }

  private report(message: string): void {
    this.stats.errors++;
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.on.problem(message);
  }

  /** Opens the port now; a failure is reported and retried from service(). */
  start(): void {
    this.open();
  }

  private open(): void {
    const px = this.px;
    const fd = px.fcntl.open(this.path, px.fcntl.O_RDWR + px.fcntl.O_NOCTTY + px.fcntl.O_NONBLOCK);
    if (fd === undefined || fd === null) {
      this.report("cannot open: " + lastError(px));
      this.scheduleReopen();
      return;
    }
    const why = this.configure(fd);
    if (why !== "") {
      px.unistd.close(fd);
      this.report(why);
      this.scheduleReopen();
      return;
    }
    this.fd = fd;
    this.stats.opens++;
    this.reopenDelay = REOPEN_MIN_MS;
    this.lastProblem = "";
    this.on.opened();
  }

  private configure(fd: number): string {
    const tio = this.px.termio;
    const t = tio.tcgetattr(fd);
    if (t === undefined || t === null) return "not a tty: " + lastError(this.px);
    const speedName = "B" + this.baud;
    const speed = tio[speedName];
    if (typeof speed !== "number") this.on.problem("baud " + this.baud + " is not one luaposix termio names; running at 19200");
    const raw: Termios = {
      iflag: 0,
      oflag: 0,
      lflag: 0,
      cflag: tio.CS8 + tio.CREAD + tio.CLOCAL,
      ispeed: typeof speed === "number" ? speed : (tio["B19200"] as number),
      ospeed: typeof speed === "number" ? speed : (tio["B19200"] as number),
      cc: t.cc,
    };
    raw.cc[tio.VMIN] = 1;
    raw.cc[tio.VTIME] = 0;
    if (tio.tcsetattr(fd, tio.TCSANOW, raw) === undefined) return "cannot set raw mode: " + lastError(this.px);
    return "";
  }

  private scheduleReopen(): void {
    if (this.closed) return;
    this.reopenAt = this.now() + this.reopenDelay;
    this.reopenDelay = Math.min(this.reopenDelay * 2, REOPEN_MAX_MS);
  }

  /** Called by the loop every turn: reopens a lost port when its backoff is over. */
  service(): void {
    if (this.fd < 0 && !this.closed && this.reopenAt > 0 && this.now() >= this.reopenAt) {
      this.reopenAt = 0;
      this.open();
    }
  }

  private failed(message: string): void {
    if (this.fd < 0) return;
    this.px.unistd.close(this.fd);
    this.fd = -1;
    this.stats.bytesDropped += this.pending.length;
    this.pending = "";
    this.report(message + "; reopening");
    this.scheduleReopen();
  }

  /** The fd is readable (or hung up): reads what is there and hands it on. */
  readable(): void {
    if (this.fd < 0) return;
    const got = this.px.unistd.read(this.fd, READ_CHUNK);
    if (got === undefined || got === null) {
      const err = lastError(this.px);
      if (err !== "") this.failed(err);
      return;
    }
    if (got.length === 0) {
      this.failed("hang-up (end of file)");
      return;
    }
    this.stats.bytesIn += got.length;
    this.on.data(got);
  }

  /** The fd hung up or errored without data (poll HUP/ERR/NVAL). */
  hungUp(): void {
    this.failed("hang-up");
  }

  /** Queues bytes for the tty and writes what it takes now; never blocks. */
  write(bytes: string): void {
    if (this.fd < 0 || this.closed) {
      this.stats.bytesDropped += bytes.length;
      return;
    }
    if (this.pending.length + bytes.length > WRITE_BACKLOG_LIMIT) {
      this.stats.bytesDropped += bytes.length;
      this.report("write backlog over " + WRITE_BACKLOG_LIMIT + " bytes; dropping");
      return;
    }
    this.pending += bytes;
    this.flush();
  }

  /** Writes as much of the backlog as the tty takes. */
  flush(): void {
    while (this.fd >= 0 && this.pending.length > 0) {
      const n = this.px.unistd.write(this.fd, this.pending);
      if (n === undefined || n === null) {
        const err = lastError(this.px);
        if (err !== "") this.failed(err);
        return;
      }
      if (n <= 0) return;
      this.stats.bytesOut += n;
      this.pending = n >= this.pending.length ? "" : this.pending.substring(n);
    }
  }

  close(): void {
    this.closed = true;
    if (this.fd >= 0) this.px.unistd.close(this.fd);
    this.fd = -1;
  }
}
