// A fake HAL for the device core's unit tests: a clock that only moves when
// told to, ports and consoles that record what was written, outlets as state
// plus a history, in-memory storage that survives a simulated device restart,
// HMAC through node:crypto and a seeded random source. Node only.

import { createHmac } from "node:crypto";
import type { Hal } from "../core/hal.js";
import { TICK_MS } from "../core/hal.js";
import { Device } from "../core/device.js";

export interface LogRecord {
  at: number;
  level: number;
  event: string;
  text: string;
}

export interface OutletChange {
  at: number;
  n: number;
  on: boolean;
}

export class FakeHal implements Hal {
  time = 1000;
  /** Bytes written to host ports A and B since the last take(). */
  written: string[] = ["", ""];
  consoles: { [session: number]: string } = {};
  closed: number[] = [];
  /** Outlet power by number (1-based); undefined until the core switches it. */
  outlet: boolean[] = [];
  outletHistory: OutletChange[] = [];
  storage: { [key: string]: string } = {};
  logs: LogRecord[] = [];
  watchdogSeconds = 0;
  kicks = 0;
  private seed: number;

  constructor(readonly outlets = 4, seed = 1) {
    this.seed = seed;
    // Hal methods are called detached (`this: void` on Lua), so bind them here.
    for (const k of ["now", "writePort", "writeConsole", "closeConsole", "outletCount", "setOutlet", "enableWatchdog", "kickWatchdog", "load", "save", "hmac", "random", "log"] as const) {
      (this as unknown as Record<string, unknown>)[k] = (this[k] as (...a: unknown[]) => unknown).bind(this);
    }
  }

  now(): number {
    return this.time;
  }
  writePort(port: number, bytes: string): void {
    this.written[port] += bytes;
  }
  writeConsole(session: number, text: string): void {
    this.consoles[session] = (this.consoles[session] ?? "") + text;
  }
  closeConsole(session: number): void {
    this.closed.push(session);
  }
  outletCount(): number {
    return this.outlets;
  }
  setOutlet(n: number, on: boolean): void {
    this.outlet[n] = on;
    this.outletHistory.push({ at: this.time, n, on });
  }
  enableWatchdog(seconds: number): void {
    this.watchdogSeconds = seconds;
  }
  kickWatchdog(): void {
    this.kicks++;
  }
  load(key: string): string | null {
    return Object.prototype.hasOwnProperty.call(this.storage, key) ? this.storage[key]! : null;
  }
  save(key: string, value: string): void {
    this.storage[key] = value;
  }
  hmac(method: string, key: string, data: string): string | null {
    if (method !== "sha1" && method !== "md5") return null;
    return createHmac(method, Buffer.from(key, "latin1")).update(Buffer.from(data, "latin1")).digest("hex");
  }
  random(): number {
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648;
  }
  log(level: number, event: string, text: string): void {
    this.logs.push({ at: this.time, level, event, text });
    if (process.env.LUBDUB_DEVICE_LOG) console.log(`  [${this.time}] ${level} ${event}: ${text}`);
  }

  /** What was written to a port since the last take, and forgets it. */
  take(port: number): string {
    const s = this.written[port]!;
    this.written[port] = "";
    return s;
  }

  /** Log records whose event is `event`. */
  logged(event: string): LogRecord[] {
    return this.logs.filter((l) => l.event === event);
  }
}

/** A device on a fake HAL, with the clock advanced tick by tick. */
export class Bench {
  readonly hal: FakeHal;
  dev: Device;

  constructor(settings: string | null = null, outlets = 4, hal?: FakeHal) {
    this.hal = hal ?? new FakeHal(outlets);
    if (settings !== null) this.hal.storage["lubdub.cfg"] = settings;
    this.dev = new Device(this.hal);
    this.dev.start();
  }

  /** Advances the clock by `ms` in TICK_MS steps, ticking the device each step. */
  advance(ms: number): void {
    for (let t = 0; t < ms; t += TICK_MS) {
      this.hal.time += TICK_MS;
      this.dev.tick();
    }
  }

  /** A device restart: a new Device on the same storage (outlet hardware keeps its state). */
  restart(): void {
    this.dev = new Device(this.hal);
    this.dev.start();
  }
}
