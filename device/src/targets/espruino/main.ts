// The Espruino target: the HAL over the interpreter's globals and the main
// that feeds the device core. Built by device/scripts/build-espruino.mjs into
// one IIFE (device/dist/espruino.js) that `npm run flash` stores in the board's
// Storage as `.bootcde`, so it runs at every boot.
//
//   host port A   Serial1 (default pins), or the tty `a.path` (Linux build)
//   host port B   Serial2 (default pins), or the tty `b.path`
//   console       USB; Serial3 when `console.path` is set (its tty on the
//                 Linux build, its default pins on a board when the path is
//                 "Serial3")
//   outlets       digitalWrite on the board's pins (boards.ts, `board.pins`)
//   settings      Storage "lubdub.cfg" (key=value lines), read before the
//                 ports open
//
// The interpreter's own console (the REPL) is moved to LoopbackA, forced
// there so plugging USB in or out does not move it back, and locked with a
// password nobody knows: no byte from a host port or the BayTech console ever
// reaches the interpreter. Reprogramming needs the board's button held at
// reset (Espruino then skips .bootcde).

import { classicDeframer } from "@lubdub/protocol/portable";
import { type Core, createCore } from "../../core/core.js";
import { PORT_NAMES, TICK_MS } from "../../core/hal.js";
import { getInt, getString, parseSettings, SETTINGS_KEY } from "../../core/settings.js";
import { boardPins } from "./boards.js";
import { hmacSha1 } from "./hmac.js";

// The Espruino globals this file uses (Espruino 2v29).
interface EspSerial {
  setup(baud: number, options?: { path: string }): void;
  on(event: string, fn: (this: void, data: string) => void): void;
  write(data: string): void;
  setConsole(force: boolean): void;
}
declare const Serial1: EspSerial;
declare const Serial2: EspSerial;
declare const Serial3: EspSerial;
declare const USB: EspSerial;
declare const LoopbackA: EspSerial;
declare const E: {
  on(event: string, fn: (this: void) => void): void;
  enableWatchdog(seconds: number, isAuto: boolean): void;
  kickWatchdog(): void;
  setPassword(password: string): void;
  lockConsole(): void;
  toString(buffer: unknown): string;
};
declare const process: { env: { BOARD: string } };
// Espruino's `require`, under a name esbuild leaves alone (it would wrap a
// bare `require` in a shim that needs Proxy); the build renames it back.
declare function espruinoRequire(name: "Storage"): { read(name: string): string | undefined; write(name: string, data: string): boolean };
declare function espruinoRequire(name: "crypto"): { SHA1(data: string): unknown };
declare function digitalWrite(pin: string, value: boolean): void;
declare function getTime(): number;
declare function setInterval(fn: (this: void) => void, ms: number): unknown;
declare function setTimeout(fn: (this: void) => void, ms: number): unknown;
declare function print(text: string): void;

let started = false;

function boot(): void {
  if (started) return;
  started = true;
  // First of all: the REPL off every real port, forced and locked.
  LoopbackA.setConsole(true);
  E.setPassword("" + Math.random() + getTime());
  E.lockConsole();

  const storage = espruinoRequire("Storage");
  const text = storage.read(SETTINGS_KEY) || "";
  // board.pins may replace the board's outlet pins
  let pinList = boardPins(process.env.BOARD);
  for (const line of text.split("\n")) {
    if (line.startsWith("board.pins=")) pinList = line.substring(11).trim();
  }
  const pins = pinList.split(",");
  const settings = parseSettings(text, pins.length, () => {});

  const t0 = getTime();
  let last = 0;
  const ports = [Serial1, Serial2];
  const consolePath = getString(settings, "console.path");
  const con = consolePath === "" ? USB : Serial3;

  // Heartbeat writes only classic frames on a serial line: no netstring half here
  const dev: Core = createCore({
    now: () => {
      const t = Math.floor((getTime() - t0) * 1000);
      if (t > last) last = t;
      return last;
    },
    writePort: (port, bytes) => ports[port]!.write(bytes),
    writeConsole: (_session, text) => con.write(text),
    closeConsole: () => {
      // a serial console has one session: it starts over at the login
      setTimeout(() => {
        dev.consoleClosed(0);
        dev.consoleOpen(0);
      }, 0);
    },
    outletCount: () => pins.length,
    // "!B4": active-low
    setOutlet: (n, on) => digitalWrite(pins[n - 1]!.replace("!", ""), on !== pins[n - 1]!.startsWith("!")),
    enableWatchdog: (seconds) => E.enableWatchdog(seconds, false),
    kickWatchdog: () => E.kickWatchdog(),
    // a value stored empty reads as none, which the core takes for the same
    load: (key) => storage.read(key) || null,
    save: (key, value) => storage.write(key, value),
    hmac: (method, key, data) => (method === "sha1" ? hmacSha1((s) => E.toString(espruinoRequire("crypto").SHA1(s)), key, data) : null),
    random: () => Math.random(),
    log: (_level, event, text) => print(event + ": " + text),
  }, classicDeframer);

  /** Opens a port with the settings `<name>.baud` and `<name>.path`. */
  function open(serial: EspSerial, name: string): void {
    const path = getString(settings, name + ".path");
    serial.setup(getInt(settings, name + ".baud"), path === "" || path === "Serial3" ? undefined : { path: path });
  }
  ports.forEach((serial, port) => open(serial, PORT_NAMES[port]!));
  if (con === Serial3) open(Serial3, "console");

  dev.start();
  ports.forEach((serial, port) => serial.on("data", (d) => dev.portData(port, d)));
  con.on("data", (d) => dev.consoleData(0, d));
  dev.consoleOpen(0);
  setInterval(() => dev.tick(), TICK_MS);
}

// At boot Espruino runs .bootcde and then the 'init' handlers; at upload
// time only the code runs. Either way the device starts once.
E.on("init", boot);
boot();
