// The simulator's hardware watchdog. It runs on a worker thread, so it still
// fires when the device's own event loop is hung (an endless loop in the core),
// as a board's watchdog does. Kicks are one Atomics.store of the time into
// shared memory. When no kick came within the timeout the worker writes one
// pino-shaped JSON line (event "hw-watchdog-expired") to stdout and, in mode
// "exit", ends the process with SIGKILL: the simulated device reset. In mode
// "log" it only logs, once per expiry.

import { Worker } from "node:worker_threads";

export type WatchdogMode = "exit" | "log";

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const shared = new BigInt64Array(workerData.buffer);
let reported = false;
setInterval(() => {
  const seconds = Number(Atomics.load(shared, 1));
  if (seconds <= 0) return;
  const last = Number(Atomics.load(shared, 0));
  const late = Date.now() - last;
  if (late <= seconds * 1000) { reported = false; return; }
  if (reported) return;
  reported = true;
  const rec = { level: 50, time: new Date().toISOString(), pid: process.pid, event: "hw-watchdog-expired",
    seconds, lateMs: late, action: workerData.mode === "exit" ? "reset" : "logged",
    msg: "hardware watchdog not kicked for " + late + " ms (timeout " + seconds + " s)" + (workerData.mode === "exit" ? ": resetting" : "") };
  try { writeSync(1, JSON.stringify(rec) + "\\n"); } catch (e) {}
  if (workerData.mode === "exit") process.kill(process.pid, "SIGKILL");
}, 100);
`;

export class HardwareWatchdog {
  private readonly shared = new BigInt64Array(new SharedArrayBuffer(16));
  private worker: Worker | null = null;
  kicks = 0;

  constructor(readonly mode: WatchdogMode) {}

  get seconds(): number {
    return Number(Atomics.load(this.shared, 1));
  }

  enable(seconds: number): void {
    this.kick();
    Atomics.store(this.shared, 1, BigInt(Math.max(1, Math.floor(seconds))));
    if (this.worker !== null) return;
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffer: this.shared.buffer, mode: this.mode } });
    this.worker.unref();
    this.worker.on("error", () => undefined);
  }

  kick(): void {
    this.kicks++;
    Atomics.store(this.shared, 0, BigInt(Date.now()));
  }

  async stop(): Promise<void> {
    Atomics.store(this.shared, 1, 0n);
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
