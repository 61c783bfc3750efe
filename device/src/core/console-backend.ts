// What the operator console (the BayTech RPC dialogue, device/src/core/console/)
// needs from the rest of the device, so the console is one self-contained
// part: outlets to list and switch, the settings it logs in with and may
// change, and its sessions' output.
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import type { Settings } from "./settings.js";

export interface OutletView {
  /** 1-based outlet number. */
  n: number;
  name: string;
  on: boolean;
  /** A reboot or watchdog cycle is in progress (the outlet is off and will come back on). */
  cycling: boolean;
}

export interface ConsoleBackend {
  now(): number;
  settings(): Settings;
  /** Changes one setting and persists it; "" or why it was refused. */
  changeSetting(key: string, value: string): string;
  outlets(): OutletView[];
  /** Switches outlet n; `who` says who asked, for the log ("console:admin"). */
  switchOutlet(n: number, on: boolean, who: string): void;
  /**
   * Power-cycles outlet n (off, outlet.off_ms, on); `done` runs when power is
   * applied again. False when the outlet is off (BayTech: "already off.").
   */
  rebootOutlet(n: number, who: string, done: (this: void) => void): boolean;
  write(session: number, text: string): void;
  close(session: number): void;
  log(level: number, event: string, text: string): void;
}

/** The console as the device drives it (device/src/core/console/console.ts makes one). */
export interface ConsoleHandler {
  open(session: number): void;
  data(session: number, bytes: string): void;
  closed(session: number): void;
  /** Every TICK_MS: idle timeouts, lockout expiry, pending screens. */
  tick(): void;
}
