// The lubdub device on NodeMCU firmware for the ESP32 (dev-esp32 branch),
// built by typescript-to-lua into device/dist/nodemcu.lua (put it in LFS or
// node.compile() it; run it from init.lua).
//
//   host port A   UART1 (PINS.a)          uart.setup/start, uart.on("data", 0)
//   host port B   UART2 (PINS.b)
//   console       UART0 through the console module in NONINTERACTIVE mode:
//                 the BayTech dialogue instead of the Lua prompt (or, on
//                 firmware without it, uart.on(0, "data", 0, fn, 0): run_input
//                 0 keeps the bytes away from the interpreter)
//   outlets       gpio.config / gpio.write on PINS.outlets (relay board)
//   clock         node.uptime() (microseconds) or tmr.now(); tick: tmr.create():alarm(TICK_MS)
//   storage       file.getcontents / file.putcontents, one SPIFFS file per key,
//                 written to <key>.tmp then renamed over the old file
//   HMAC          crypto.new_hmac("SHA1"|"MD5", key):update(s):finalize(),
//                 or plain Lua over `bit` (../lua/hash.ts) when crypto is missing
//   watchdog      tmr.softwd(s) where the firmware has it; else a tmr alarm
//                 re-armed by every kick that calls node.restart() (a hung Lua
//                 task is left to the ESP-IDF task watchdog)
//   log           a RAM ring of the last LOG_RING records (global lubdub_log),
//                 never printed: the console UART belongs to the operator
//
// The host ports never reach the interpreter: UART1 and UART2 have no Lua
// prompt, and everything read from them goes to the core, which drops and
// counts whatever is not a well-formed message.
//
// ESP8266: NOT SUPPORTED for the relay. The ESP8266 has only one receiving
// UART (UART1 is transmit-only), so it cannot listen to two hosts at once and
// cannot relay between them; SoftUART is too unreliable for a fencing device.
// Use an ESP32 (three UARTs), an Espruino board with two UARTs, or a Linux
// gateway.

import { Hal, TICK_MS } from "../../core/hal.js";
import { Device } from "../../core/device.js";
import { getInt } from "../../core/settings.js";
import { hmacHex, toHex } from "../lua/hash.js";
import { guarded, luaGlobal, luaToString, seedRandom } from "../lua/lua.js";

/** Board wiring: UART pins of the host ports, GPIOs of the outlet relays (active high). */
export const PINS = {
  a: { uart: 1, tx: 4, rx: 5 },
  b: { uart: 2, tx: 17, rx: 16 },
  outlets: [25, 26, 27, 32],
};
export const CONSOLE_UART = 0;
export const LOG_RING = 32;

interface Uart {
  setup(this: void, id: number, baud: number, databits: number, parity: number, stopbits: number, pinsOrEcho: unknown): unknown;
  start?(this: void, id: number): unknown;
  on(this: void, id: number, method: string, n: number, fn: (this: void, data: string) => void, runInput?: number): void;
  write(this: void, id: number, s: string): void;
  PARITY_NONE: number;
  STOPBITS_1: number;
}

interface Timer {
  alarm(this: Timer, ms: number, mode: number, fn: (this: void, t: Timer) => void): boolean;
  stop(this: Timer): void;
  start(this: Timer): void;
  unregister?(this: Timer): void;
}

interface Tmr {
  create(this: void): Timer;
  now?(this: void): number;
  softwd?(this: void, seconds: number): void;
  ALARM_AUTO: number;
  ALARM_SINGLE: number;
}

interface Gpio {
  config(this: void, cfg: { gpio: number[]; dir: number }): void;
  write(this: void, pin: number, level: number): void;
  OUT: number;
}

interface FileLib {
  getcontents(this: void, name: string): string | undefined;
  putcontents(this: void, name: string, s: string): boolean | undefined;
  rename(this: void, from: string, to: string): boolean | undefined;
  remove(this: void, name: string): void;
  exists(this: void, name: string): boolean;
}

interface HmacObject {
  update(this: HmacObject, s: string): void;
  finalize(this: HmacObject): string;
}

interface CryptoLib {
  new_hmac?(this: void, algo: string, key: string): HmacObject;
}

interface NodeLib {
  restart(this: void): void;
  uptime?(this: void): number;
}

interface ConsoleLib {
  mode(this: void, mode: number): void;
  on(this: void, method: string, n: number, fn: (this: void, data: string) => void): void;
  write(this: void, s: string): void;
  NONINTERACTIVE: number;
}

function need<T>(name: string): T {
  const m = luaGlobal(name);
  if (m === undefined || m === null) throw new Error("NodeMCU module '" + name + "' is missing from this firmware");
  return m as T;
}

function optional<T>(name: string): T | null {
  const m = luaGlobal(name);
  return m === undefined || m === null ? null : (m as T);
}

/** The running device, for a look from the Lua prompt of a development build (global lubdub_device). */
export interface NodeMcuDevice {
  device: Device | null;
  hal: Hal | null;
  log: string[];
  errors: number;
}

export function startNodeMcu(): NodeMcuDevice {
  const uart = need<Uart>("uart");
  const tmr = need<Tmr>("tmr");
  const gpio = need<Gpio>("gpio");
  const file = need<FileLib>("file");
  const node = need<NodeLib>("node");
  const crypto = optional<CryptoLib>("crypto");
  const con = optional<ConsoleLib>("console");

  // Every local below is declared before any closure that uses it runs or
  // is created (Lua closures only see locals declared before them).
  const ring: string[] = [];
  const out: NodeMcuDevice = { device: null, hal: null, log: ring, errors: 0 };
  let device: Device | null = null;
  let ticks = 0;
  let lastUs = -1;
  let wrapMs = 0;
  let wdTimer: Timer | null = null;
  let wdSeconds = 0;
  const outletPins = PINS.outlets;

  function record(line: string): void {
    ring.push(line);
    if (ring.length > LOG_RING) ring.splice(0, ring.length - LOG_RING);
  }

  function guard(what: string, fn: (this: void, d: Device) => void): void {
    const d = device;
    if (d === null) return;
    const err = guarded(() => fn(d));
    if (err !== null) {
      out.errors++;
      record("core-exception " + what + ": " + err);
    }
  }

  // clock: milliseconds from node.uptime() (µs), else tmr.now() (µs, wraps at 2^31), else tick counting
  function now(): number {
    if (node.uptime !== undefined) return Math.floor(node.uptime() / 1000);
    if (tmr.now !== undefined) {
      const us = tmr.now();
      if (lastUs >= 0 && us < lastUs) wrapMs += 2147483.648;
      lastUs = us;
      return Math.floor(wrapMs + us / 1000);
    }
    return ticks * TICK_MS;
  }

  function kick(): void {
    if (wdSeconds <= 0) return;
    if (tmr.softwd !== undefined) {
      tmr.softwd(wdSeconds);
      return;
    }
    if (wdTimer !== null) {
      wdTimer.stop();
      wdTimer.alarm(wdSeconds * 1000, tmr.ALARM_SINGLE, () => node.restart());
    }
  }

  gpio.config({ gpio: outletPins, dir: gpio.OUT });
  // ESP32 NodeMCU has node.random() from the hardware RNG; else the uptime in µs varies per boot a little
  const hwRandom = (node as unknown as { random?: (this: void, lo: number, hi: number) => number }).random;
  seedRandom(hwRandom !== undefined ? hwRandom(1, 2147483646) : now() * 1000 + 1);

  const hal: Hal = {
    now: now,
    writePort(port: number, bytes: string): void {
      uart.write(port === 0 ? PINS.a.uart : PINS.b.uart, bytes);
    },
    writeConsole(session: number, text: string): void {
      if (session !== 0) return;
      if (con !== null) con.write(text);
      else uart.write(CONSOLE_UART, text);
    },
    closeConsole(session: number): void {
      // a serial console cannot hang up: it starts over at the login banner
      if (session !== 0) return;
      guard("consoleClosed", (d: Device) => d.consoleClosed(0));
      guard("consoleOpen", (d: Device) => d.consoleOpen(0));
    },
    outletCount: () => outletPins.length,
    setOutlet(n: number, on: boolean): void {
      if (n < 1 || n > outletPins.length) return;
      gpio.write(outletPins[n - 1]!, on ? 1 : 0);
    },
    enableWatchdog(seconds: number): void {
      wdSeconds = seconds;
      if (tmr.softwd === undefined && wdTimer === null) wdTimer = tmr.create();
      kick();
    },
    kickWatchdog: kick,
    load(key: string): string | null {
      let v = file.getcontents(key);
      if (v === undefined || v === null) v = file.getcontents(key + ".tmp"); // a save cut short after the remove
      return v === undefined || v === null ? null : v;
    },
    save(key: string, value: string): void {
      if (file.putcontents(key + ".tmp", value) !== true) {
        record("storage-error cannot write " + key + ".tmp");
        return;
      }
      file.remove(key);
      file.rename(key + ".tmp", key);
    },
    hmac(method: string, key: string, data: string): string | null {
      if (method !== "sha1" && method !== "md5") return null;
      if (crypto !== null && crypto.new_hmac !== undefined) {
        const h = crypto.new_hmac(method === "sha1" ? "SHA1" : "MD5", key);
        h.update(data);
        return toHex(h.finalize());
      }
      return hmacHex(method, key, data);
    },
    random: () => Math.random(),
    log(level: number, event: string, text: string): void {
      record(luaToString(now()) + " " + level + " " + event + " " + text);
    },
  };

  const dev = new Device(hal);
  device = dev;
  out.device = dev;
  out.hal = hal;
  guard("start", (d: Device) => d.start());

  const portSpecs = [
    { port: 0, pins: PINS.a, baud: getInt(dev.cfg, "a.baud") },
    { port: 1, pins: PINS.b, baud: getInt(dev.cfg, "b.baud") },
  ];
  for (const spec of portSpecs) {
    const p = spec.port;
    uart.setup(spec.pins.uart, spec.baud, 8, uart.PARITY_NONE, uart.STOPBITS_1, { tx: spec.pins.tx, rx: spec.pins.rx });
    if (uart.start !== undefined) uart.start(spec.pins.uart);
    uart.on(spec.pins.uart, "data", 0, (data: string) => guard("portData", (d: Device) => d.portData(p, data)));
  }

  const onConsole = (data: string): void => guard("consoleData", (d: Device) => d.consoleData(0, data));
  if (con !== null) {
    con.mode(con.NONINTERACTIVE);
    con.on("data", 0, onConsole);
  } else {
    uart.setup(CONSOLE_UART, getInt(dev.cfg, "console.baud"), 8, uart.PARITY_NONE, uart.STOPBITS_1, false);
    uart.on(CONSOLE_UART, "data", 0, onConsole, 0);
  }
  guard("consoleOpen", (d: Device) => d.consoleOpen(0));

  const tick = tmr.create();
  tick.alarm(TICK_MS, tmr.ALARM_AUTO, () => {
    ticks++;
    guard("tick", (d: Device) => d.tick());
  });
  return out;
}

declare let lubdub_device: NodeMcuDevice | undefined;
declare let lubdub_log: string[] | undefined;

const started = startNodeMcu();
lubdub_device = started;
lubdub_log = started.log;
