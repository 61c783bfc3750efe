// The hardware the device core runs on, as small as the core needs. Every
// target (an Espruino board, NodeMCU on an ESP32, a Linux gateway in Lua 5.1,
// the Node simulator, the unit tests' fake) is one implementation of this
// interface plus a main that feeds the core its inputs:
//
//   core.start()                      once, after the HAL is ready
//   core.tick()                       every TICK_MS (timing is done on now())
//   core.portData(port, bytes)        bytes read from host port A (0) or B (1)
//   core.consoleOpen(session)         a console session began (a TCP client,
//   core.consoleData(session, bytes)    or the board's console port: session 0)
//   core.consoleClosed(session)
//
// Byte strings carry one byte per char (codes 0-255) on every target.
//
// Portable subset: this file is compiled for Espruino and Lua 5.1 too; host
// functions are declared `this: void` so Lua calls them with a dot.

/** Host port A: the serial line of the first host. */
export const PORT_A = 0;
/** Host port B: the serial line of the second host. */
export const PORT_B = 1;
/** Port letters, for logs and settings keys ("a.host"). */
export const PORT_NAMES: string[] = ["a", "b"];

/** How often a target calls core.tick(). Every timeout in the core is a multiple of it or larger. */
export const TICK_MS = 100;

export const LOG_DEBUG = 10;
export const LOG_INFO = 20;
export const LOG_WARN = 30;
export const LOG_ERROR = 40;

export interface Hal {
  /** Monotonic milliseconds (any origin; never goes backwards). */
  now(this: void): number;

  /** Writes bytes to host port PORT_A or PORT_B. Never blocks; a target may drop when its buffer is full. */
  writePort(this: void, port: number, bytes: string): void;

  /** Writes to a console session. */
  writeConsole(this: void, session: number, text: string): void;
  /** Ends a console session (TCP: closes the socket; a serial console resets to the login banner). */
  closeConsole(this: void, session: number): void;

  /** How many relay outlets the board has; the core numbers them 1..outletCount(). */
  outletCount(this: void): number;
  /** Switches outlet n (1-based) on or off. Active-high/low mapping lives in the target. */
  setOutlet(this: void, n: number, on: boolean): void;

  /** Starts the device's own hardware watchdog: the device restarts unless kicked within `seconds`. */
  enableWatchdog(this: void, seconds: number): void;
  kickWatchdog(this: void): void;

  /** Persistent storage of small text values (Espruino Storage, a file, flash). */
  load(this: void, key: string): string | null;
  save(this: void, key: string, value: string): void;

  /** HMAC of byte strings as lower-case hex ("sha1", "md5"), or null when this target lacks the method. */
  hmac(this: void, method: string, key: string, data: string): string | null;

  /** A random number in [0, 1); nonces mix it with the persisted boot count, so it need not be strong. */
  random(this: void): number;

  /** One log record: a level (LOG_*), a stable event name and a human text. */
  log(this: void, level: number, event: string, text: string): void;
}
