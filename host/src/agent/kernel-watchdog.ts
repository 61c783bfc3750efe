// ha.cf `watchdog /dev/watchdog`: the kernel watchdog (softdog, or a
// hardware one) as Heartbeat drives it. Opened at start; written as the
// agent sends heartbeats (at most every half keepalive), so a hung agent
// stops feeding it and the kernel reboots the machine; on a clean stop the
// magic character 'V' is written before closing, so the driver disarms
// instead of rebooting (drivers built with nowayout ignore it, as they do for
// Heartbeat).
//
// Opened non-blocking, so a path that is a FIFO with nobody reading (a test
// stand-in) fails at once rather than hanging the start.

import { closeSync, constants, openSync, writeSync } from "node:fs";

export class KernelWatchdog {
  /** Writes so far (status, tests). */
  writes = 0;
  private lastAt = -Infinity;
  private failed = false;

  private constructor(
    readonly path: string,
    private fd: number | null,
    private readonly minGapMs: number,
    private readonly onError: (e: Error) => void,
  ) {}

  /**
   * Opens the watchdog; throws an error that says what to do when it cannot
   * (no such device: the softdog module is not loaded).
   */
  static open(path: string, keepaliveMs: number, onError: (e: Error) => void): KernelWatchdog {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      const hint =
        code === "ENOENT" ? " (no such device: load a watchdog driver, e.g. modprobe softdog)"
        : code === "EBUSY" ? " (another process holds it open; only one may)"
        : code === "EACCES" || code === "EPERM" ? " (permission denied; lubdubd runs as root)"
        : code === "ENXIO" ? " (a FIFO nobody reads)"
        : "";
      throw new Error(`watchdog ${path}: cannot open: ${code || (e as Error).message}${hint}`);
    }
    const w = new KernelWatchdog(path, fd, Math.max(1, Math.floor(keepaliveMs / 2)), onError);
    w.feed(performance.now());
    return w;
  }

  get open(): boolean {
    return this.fd !== null;
  }

  /** Called as heartbeats go out; writes when half a keepalive has passed since the last write. */
  feed(now: number): void {
    if (this.fd === null || now - this.lastAt < this.minGapMs) return;
    this.lastAt = now;
    try {
      writeSync(this.fd, "\0");
      this.writes++;
      this.failed = false;
    } catch (e) {
      if (!this.failed) this.onError(new Error(`watchdog ${this.path}: write failed: ${(e as Error).message}`));
      this.failed = true;
    }
  }

  /** Clean stop: the magic close ('V', then close), so the machine is not rebooted. */
  closeClean(): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, "V");
    } catch (e) {
      this.onError(new Error(`watchdog ${this.path}: magic close failed: ${(e as Error).message}`));
    }
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    this.fd = null;
  }
}
