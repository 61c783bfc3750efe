// The lubdub device on a Linux gateway, in Lua 5.1 with luaposix and
// LuaBitOp (Debian: lua5.1 lua-posix lua-bitop; OpenWrt: lua luaposix
// luabitop):
//
//   lua5.1 device/dist/gateway.lua --port-a TTY --port-b TTY --console TTY
//          [--console-tcp HOST:PORT] [--state FILE] [--set key=value ...]
//
// The options, the state file, the status file and the log records are the
// Node simulator's (device/src/targets/sim/main.ts); see --help. Only the
// --outlet-* options, which say what moves the relays, are the gateway's own.

import { parseDecimal } from "@lubdub/protocol/portable";
import { Device } from "../../core/device.js";
import { getInt, parseSettings, serializeSettings, setSetting, SETTINGS_KEY } from "../../core/settings.js";
import { guarded, luaIo, luaOs, seedRandom } from "../lua/lua.js";
import { checkBit, Core, Gateway, StateFile } from "./gateway.js";
import { levelByName, Logger } from "./log.js";
import { loadPosix, Posix } from "./posix.js";

declare const arg: { [i: number]: string | undefined };

/** sysexits EX_USAGE: bad command line; EX_SOFTWARE: cannot start. */
export const EXIT_USAGE = 64;
export const EXIT_CANNOT_START = 70;
export const DEFAULT_OUTLETS = 8;
const PROG = "gateway.lua";

const HELP =
  "Usage: lua5.1 gateway.lua [options]\n" +
  "\n" +
  "The lubdub device (serial heartbeat relay, host watchdogs, STONITH outlets,\n" +
  "BayTech RPC console) on a Linux gateway, in Lua 5.1 with luaposix.\n" +
  "\n" +
  "Options:\n" +
  "  --port-a <tty>            host port A: the serial line of the first host\n" +
  "  --port-b <tty>            host port B: the serial line of the second host\n" +
  "  --console <tty>           operator console on a tty (one session)\n" +
  "  --console-tcp <host:port> operator console on TCP, one session per connection\n" +
  "  --state <file>            state file: settings and every other stored value (default: memory only)\n" +
  "  --set <key=value>         change a setting and store it (repeatable)\n" +
  "  --outlets <n>             number of relay outlets (1-16, default: 8)\n" +
  "  --baud-a <baud>           port A baud rate (default: setting a.baud)\n" +
  "  --baud-b <baud>           port B baud rate (default: setting b.baud)\n" +
  "  --console-baud <baud>     console tty baud rate (default: setting console.baud)\n" +
  "  --status-file <file>      keep the device status here as JSON (see below)\n" +
  '  --hw-watchdog <mode>      when the hardware watchdog is not kicked: exit (reset) or log (default: "exit")\n' +
  "  --max-sessions <n>        most TCP console sessions at once (1-64, default: 8)\n" +
  '  --log-level <level>       lowest level logged: debug, info, warn, error (default: "info")\n' +
  "  --outlet-gpio <list>      sysfs GPIO numbers of outlets 1, 2, ... (comma-separated)\n" +
  "  --outlet-active-low       write 0 to a GPIO to switch its outlet on\n" +
  "  --outlet-cmd <command>    run `command <n> on|off` through the shell for every switch\n" +
  "  -h, --help                display help\n" +
  "\n" +
  'Settings (outlet.N, a.host, b.host, key.secret, console.password, ...) are\n' +
  'stored in the state file under "' + SETTINGS_KEY + '"; --set changes one and stores it.\n' +
  "Baud rates come from the settings a.baud, b.baud and console.baud unless\n" +
  "--baud-a, --baud-b or --console-baud is given (ttys: 1200 to 115200).\n" +
  "\n" +
  "State file: text, one stored key a line, key=value, values escaped (\\n, \\r,\n" +
  "\\\\, \\xHH); rewritten whole through a temporary file and rename.\n" +
  "\n" +
  "Status file: one JSON object {\"device\": <the core's status()>, \"hal\": {pid,\n" +
  "outlets:[{n,on}], ports:{a,b,console}, consoleTcp, consoleSessions,\n" +
  "hwWatchdog, coreErrors}}, rewritten (temporary file + rename) when it\n" +
  "changes, first when the device is ready. SIGUSR1 rewrites it and logs it\n" +
  '(event "status"). Logs: pino-shaped JSON lines on stdout with a stable "event".\n' +
  "Outlets are state plus a log line (outlet-on, outlet-off); --outlet-gpio or\n" +
  "--outlet-cmd also move real relays. The hardware watchdog is alarm(2).\n" +
  "SIGTERM or SIGINT stops the device cleanly.\n" +
  "\n" +
  "Exit codes: 0 after SIGTERM/SIGINT, 64 for a bad command line, 70 when it\n" +
  'cannot start; a hardware watchdog reset in mode "exit" ends it with SIGKILL.\n';

interface Opts {
  portA: string | null;
  portB: string | null;
  console: string | null;
  consoleTcp: { host: string; port: number } | null;
  state: string | null;
  set: string[][];
  outlets: number;
  baudA: number | null;
  baudB: number | null;
  consoleBaud: number | null;
  statusFile: string | null;
  hwWatchdog: string;
  maxSessions: number;
  logLevel: string;
  outletGpio: number[];
  outletActiveLow: boolean;
  outletCmd: string | null;
}

function usageError(message: string): never {
  luaIo.stderr.write(PROG + ": " + message + "\n");
  luaOs.exit(EXIT_USAGE);
  throw new Error(message);
}

function wholeNumber(name: string, v: string, min: number, max: number): number {
  const n = parseDecimal(v);
  if (n === null || n < min || n > max) usageError("option '" + name + " " + v + "' argument invalid. " + name + " must be a whole number from " + min + " to " + max + ".");
  return n as number;
}

function hostPort(v: string): { host: string; port: number } {
  let colon = -1;
  for (let k = v.indexOf(":"); k >= 0; k = v.indexOf(":", k + 1)) colon = k;
  const port = colon > 0 ? parseDecimal(v.substring(colon + 1)) : null;
  if (colon <= 0 || port === null || port > 65535) {
    usageError("option '--console-tcp " + v + "' argument invalid. expected HOST:PORT (PORT 0 picks a free one, logged as console-listen).");
  }
  let host = v.substring(0, colon);
  if (host.length > 2 && host.charAt(0) === "[" && host.charAt(host.length - 1) === "]") host = host.substring(1, host.length - 1);
  return { host: host, port: port as number };
}

function gpioList(v: string): number[] {
  const out: number[] = [];
  for (const part of v.split(",")) {
    const n = parseDecimal(part.trim());
    if (n === null || n > 100000) usageError("option '--outlet-gpio " + v + "' argument invalid. expected GPIO numbers separated by commas.");
    out.push(n as number);
  }
  return out;
}

/** The command line (Lua's global `arg`), as the simulator reads it: `--opt value` or `--opt=value`. */
export function parseArgs(): Opts {
  const o: Opts = {
    portA: null, portB: null, console: null, consoleTcp: null, state: null, set: [], outlets: DEFAULT_OUTLETS,
    baudA: null, baudB: null, consoleBaud: null, statusFile: null, hwWatchdog: "exit", maxSessions: 8, logLevel: "info",
    outletGpio: [], outletActiveLow: false, outletCmd: null,
  };
  const argv: string[] = [];
  for (let i = 1; arg[i] !== undefined && arg[i] !== null; i++) argv.push(arg[i]!);
  let i = 0;
  while (i < argv.length) {
    let name = argv[i]!;
    let value: string | null = null;
    i++;
    const eq = name.indexOf("=");
    if (name.substring(0, 2) === "--" && eq > 2) {
      value = name.substring(eq + 1);
      name = name.substring(0, eq);
    }
    if (name === "-h" || name === "--help") {
      luaIo.stdout.write(HELP);
      luaOs.exit(0);
    }
    if (name === "--outlet-active-low") {
      o.outletActiveLow = true;
      continue;
    }
    const known = [
      "--port-a", "--port-b", "--console", "--console-tcp", "--state", "--set", "--outlets", "--baud-a", "--baud-b", "--console-baud",
      "--status-file", "--hw-watchdog", "--max-sessions", "--log-level", "--outlet-gpio", "--outlet-cmd",
    ];
    if (known.indexOf(name) < 0) {
      if (name.charAt(0) === "-") usageError("unknown option '" + name + "'");
      usageError("unexpected argument '" + name + "' (options only; see --help)");
    }
    if (value === null) {
      if (i >= argv.length) usageError("option '" + name + "' argument missing");
      value = argv[i]!;
      i++;
    }
    const v = value as string;
    if (name === "--port-a") o.portA = v;
    else if (name === "--port-b") o.portB = v;
    else if (name === "--console") o.console = v;
    else if (name === "--console-tcp") o.consoleTcp = hostPort(v);
    else if (name === "--state") o.state = v;
    else if (name === "--status-file") o.statusFile = v;
    else if (name === "--set") {
      const e = v.indexOf("=");
      if (e <= 0) usageError("option '--set " + v + "' argument invalid. expected key=value.");
      o.set.push([v.substring(0, e).trim(), v.substring(e + 1).trim()]);
    } else if (name === "--outlets") o.outlets = wholeNumber(name, v, 1, 16);
    else if (name === "--baud-a") o.baudA = wholeNumber(name, v, 1200, 921600);
    else if (name === "--baud-b") o.baudB = wholeNumber(name, v, 1200, 921600);
    else if (name === "--console-baud") o.consoleBaud = wholeNumber(name, v, 1200, 921600);
    else if (name === "--max-sessions") o.maxSessions = wholeNumber(name, v, 1, 64);
    else if (name === "--hw-watchdog") {
      if (v !== "exit" && v !== "log") usageError("option '--hw-watchdog <mode>' argument '" + v + "' is invalid. Allowed choices are exit, log.");
      o.hwWatchdog = v;
    } else if (name === "--log-level") {
      if (levelByName(v) < 0) usageError("option '--log-level <level>' argument '" + v + "' is invalid. Allowed choices are debug, info, warn, error.");
      o.logLevel = v;
    } else if (name === "--outlet-gpio") o.outletGpio = gpioList(v);
    else if (name === "--outlet-cmd") o.outletCmd = v;
  }
  return o;
}

function main(): void {
  const o = parseArgs();
  if (o.portA === null && o.portB === null && o.console === null && o.consoleTcp === null) {
    usageError("nothing to serve: give --port-a, --port-b, --console or --console-tcp");
  }
  let px: Posix | null = null;
  const missing = guarded(() => {
    px = loadPosix();
  });
  if (missing !== null || px === null) {
    luaIo.stderr.write(PROG + ": cannot load luaposix (Debian lua-posix, OpenWrt luaposix): " + missing + "\n");
    luaOs.exit(EXIT_CANNOT_START);
    return;
  }
  const posix = px as Posix;
  const noBit = checkBit();
  if (noBit !== "") {
    luaIo.stderr.write(PROG + ": cannot load LuaBitOp (Debian lua-bitop, OpenWrt luabitop): " + noBit + "\n");
    luaOs.exit(EXIT_CANNOT_START);
    return;
  }
  // a TCP console client that goes away must not end the device with SIGPIPE
  posix.signal.signal(posix.signal.SIGPIPE, posix.signal.SIG_IGN);

  const t = posix.time.clock_gettime(posix.time.CLOCK_REALTIME);
  seedRandom(t.tv_nsec + t.tv_sec * 7 + posix.unistd.getpid() * 1000003);

  const log = new Logger(posix);
  log.minLevel = levelByName(o.logLevel);

  const stateName = o.state === null ? "(memory)" : o.state;
  const state = new StateFile(o.state, (line: number, why: string) =>
    log.warn("state-bad-line", { file: stateName, line: line }, stateName + ":" + line + ": " + why + "; ignored"),
  );
  const stored = state.get(SETTINGS_KEY);
  const settings = parseSettings(stored === null ? "" : stored, o.outlets, (line: number, problem: string) =>
    log.warn("settings-bad-line", { line: line }, "stored settings line " + line + ": " + problem + "; default kept"),
  );
  for (const kv of o.set) {
    const problem = setSetting(settings, kv[0]!, kv[1]!);
    if (problem !== "") usageError("option '--set " + kv[0] + "=" + kv[1] + "': " + problem);
  }
  if (o.set.length > 0) {
    const why = state.set(SETTINGS_KEY, serializeSettings(settings));
    if (why !== "") usageError("option '--state " + stateName + "': cannot write it: " + why);
  }

  const gw = new Gateway(
    {
      portA: o.portA,
      portB: o.portB,
      baudA: o.baudA !== null ? o.baudA : getInt(settings, "a.baud"),
      baudB: o.baudB !== null ? o.baudB : getInt(settings, "b.baud"),
      console: o.console,
      consoleBaud: o.consoleBaud !== null ? o.consoleBaud : getInt(settings, "console.baud"),
      consoleTcp: o.consoleTcp,
      outlets: o.outlets,
      statusFile: o.statusFile,
      watchdogMode: o.hwWatchdog,
      maxSessions: o.maxSessions,
      outletDriver: { gpio: o.outletGpio, activeLow: o.outletActiveLow, cmd: o.outletCmd },
    },
    posix,
    state,
    log,
  );
  let device: Core | null = null;
  const failed = guarded(() => {
    device = new Device(gw.hal) as unknown as Core;
  });
  if (failed !== null || device === null) {
    log.error("sim-start-failed", { err: failed }, "cannot start: " + failed);
    luaIo.stderr.write(PROG + ": cannot start: " + failed + "\n");
    luaOs.exit(EXIT_CANNOT_START);
    return;
  }
  log.info("sim-start", { state: o.state, outlets: o.outlets, impl: "lua" }, "lubdub device (Lua gateway) starting");
  const why = gw.start(device as Core);
  if (why !== "") {
    log.error("sim-start-failed", { err: why }, "cannot start: " + why);
    luaIo.stderr.write(PROG + ": " + (o.consoleTcp !== null ? "option '--console-tcp': " : "") + why + "\n");
    gw.stop();
    luaOs.exit(EXIT_CANNOT_START);
    return;
  }
  log.info("sim-ready", { consoleTcp: gw.tcp === null ? null : { host: gw.tcp.host, port: gw.tcp.port } }, "lubdub device (Lua gateway) ready");

  const sig = posix.signal;
  sig.signal(sig.SIGUSR1, () => {
    gw.statusRequested = true;
  });
  sig.signal(sig.SIGTERM, () => {
    if (gw.stopping === "") gw.stopping = "SIGTERM";
  });
  sig.signal(sig.SIGINT, () => {
    if (gw.stopping === "") gw.stopping = "SIGINT";
  });
  gw.run();
  log.info("sim-stop", { signal: gw.stopping }, "stopping on " + gw.stopping);
  gw.stop();
  luaOs.exit(0);
}

main();
