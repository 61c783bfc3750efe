// The device: the relay between host ports A and B, the per-host watchdogs,
// the outlets with their authenticated fence requests and arbitration, and
// the operator console — one deterministic object fed by its target's main
// (see hal.ts for the inputs) with all time taken from hal.now().
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import type { Hal } from "./hal.js";

export class Device {
  constructor(readonly hal: Hal) {}

  /** Loads settings and outlet states from storage, restores outlets, starts the hardware watchdog. */
  start(): void {}

  /** Called every TICK_MS: watchdogs, outlet cycles, console timeouts, the hardware watchdog kick. */
  tick(): void {}

  /** Bytes from host port `port` (PORT_A or PORT_B). */
  portData(port: number, bytes: string): void {}

  consoleOpen(session: number): void {}
  consoleData(session: number, bytes: string): void {}
  consoleClosed(session: number): void {}
}
