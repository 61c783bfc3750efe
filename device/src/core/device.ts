// The device as most targets drive it (the simulator, the Lua gateway and
// NodeMCU, the unit tests): the core (core.ts) with a deframer for both wire
// formats on each host port, plus status(), the snapshot of counters that the
// simulator and the gateway write to their status files. The Espruino build
// uses the core directly, classic frames only and without status(): it has
// no status file, and both would cost it bytes of its budget.
//
// Portable subset: compiled for Lua 5.1 too.

import { Deframer, type DeframerCore } from "@lubdub/protocol/portable";
import type { Hal } from "./hal.js";
import { PORT_NAMES } from "./hal.js";
import type { Settings } from "./settings.js";
import { getString } from "./settings.js";
import type { ConsoleBackend, OutletView } from "./console-backend.js";
import { type Core, type FenceRecord, createCore } from "./core.js";

export { BOOT_KEY, DROP_LOG_LIMIT, DROP_LOG_WINDOW_MS, MAX_RELAY_FRAME, OUTLETS_KEY, type FenceRecord } from "./core.js";

/** Per host port counters (status()). */
export interface PortStatus {
  /** "a" or "b". */
  port: string;
  /** The host behind the port (a.host / b.host), "" when not configured. */
  host: string;
  bytesIn: number;
  bytesOut: number;
  /** Well-formed frames received (relayed, consumed or refused). */
  frames: number;
  /** Frames passed on to the other port. */
  relayed: number;
  /** Frames dropped (truncated, oversize, malformed, incomplete, undecodable device frames). */
  dropped: number;
  /** Bytes dropped: those frames plus noise (interpreter commands, line garbage). */
  droppedBytes: number;
  /** ldev-* frames consumed by the device. */
  device: number;
  /** Device requests refused (authentication, nonce, arbitration, bad request). */
  refused: number;
  /** Watchdog: "off" | "armed" | "grace" | "gaveup". */
  wd: string;
  wdTimeout: number;
  /** Watchdog power cycles in the last hour. */
  wdCycles: number;
}

export interface DeviceStatus {
  boot: number;
  ports: PortStatus[];
  outlets: OutletView[];
  lastFence: FenceRecord | null;
}

function bothFormats(this: void, maxFrame: number): DeframerCore {
  return new Deframer(maxFrame);
}

export class Device implements ConsoleBackend {
  readonly core: Core;

  constructor(hal: Hal) {
    this.core = createCore(hal, bothFormats);
  }

  get cfg(): Settings {
    return this.core.cfg;
  }
  get boot(): number {
    return this.core.boot;
  }

  start(): void {
    this.core.start();
  }
  tick(): void {
    this.core.tick();
  }
  portData(port: number, bytes: string): void {
    this.core.portData(port, bytes);
  }
  consoleOpen(session: number): void {
    this.core.consoleOpen(session);
  }
  consoleData(session: number, bytes: string): void {
    this.core.consoleData(session, bytes);
  }
  consoleClosed(session: number): void {
    this.core.consoleClosed(session);
  }

  /** A snapshot of counters, outlets, watchdogs and the last fence (for the simulator and tests). */
  status(): DeviceStatus {
    const core = this.core;
    const now = core.now();
    const ports: PortStatus[] = [];
    for (let i = 0; i < 2; i++) {
      const p = core.ports[i]!;
      const s = p.d.stats;
      ports.push({
        port: PORT_NAMES[i]!, host: getString(core.cfg, PORT_NAMES[i] + ".host"), bytesIn: s.bytesIn, bytesOut: p.out, frames: s.frames,
        relayed: p.relayed, dropped: s.droppedFrames + p.dropped, droppedBytes: s.droppedBytes, device: p.dev, refused: p.refused,
        wd: core.wdState(i, now), wdTimeout: p.timeout, wdCycles: core.recentCycles(i, now),
      });
    }
    return { boot: core.boot, ports: ports, outlets: core.outlets(), lastFence: core.lastFence };
  }

  // ---- ConsoleBackend (the unit tests drive the console's side through these) ----

  now(): number {
    return this.core.now();
  }
  settings(): Settings {
    return this.core.settings();
  }
  changeSetting(key: string, value: string): string {
    return this.core.changeSetting(key, value);
  }
  outlets(): OutletView[] {
    return this.core.outlets();
  }
  switchOutlet(n: number, on: boolean, who: string): void {
    this.core.switchOutlet(n, on, who);
  }
  rebootOutlet(n: number, who: string, done: (this: void) => void): boolean {
    return this.core.rebootOutlet(n, who, done);
  }
  write(session: number, text: string): void {
    this.core.write(session, text);
  }
  close(session: number): void {
    this.core.close(session);
  }
  log(level: number, event: string, text: string): void {
    this.core.log(level, event, text);
  }
}
