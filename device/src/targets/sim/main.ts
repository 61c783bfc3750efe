// lubdub-device-sim: the device firmware's core on Node, over real ttys. See
// `lubdub-device-sim --help` (the text below) for the options; the Lua gateway
// build (`lua5.1 device/dist/gateway.lua`) takes the same ones.

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { pino } from "pino";
import { Device } from "../../core/device.js";
import { getInt, parseSettings, serializeSettings, setSetting, SETTINGS_KEY } from "../../core/settings.js";
import { Simulator, type Core } from "./sim-hal.js";
import { StateFile } from "./state-file.js";

/** sysexits EX_USAGE: bad command line. */
export const EXIT_USAGE = 64;
export const DEFAULT_OUTLETS = 8;

const HELP_AFTER = `
Settings (outlet.N, a.host, b.host, key.secret, console.password, ...) are
stored in the state file under "${SETTINGS_KEY}"; --set changes one and
stores it (needs no --state to take effect for this run). Baud rates come
from the settings a.baud, b.baud and console.baud unless --baud-a,
--baud-b or --console-baud is given.

State file: text, one stored key a line, key=value, values escaped (\\n, \\r,
\\\\, \\xHH); rewritten whole through a temporary file and rename.

Reading the device's state: with --status-file FILE the simulator rewrites
FILE (temporary file + rename) whenever the status changes, at most every
100 ms, as one JSON object {"device": <the core's status()>, "hal": {pid,
outlets:[{n,on}], ports:{a,b,console: {path,baud,open,bytesIn,bytesOut,
bytesDropped,opens,errors}}, consoleTcp:{host,port}, consoleSessions,
hwWatchdog, coreErrors}}. It is first written when the device is
ready (every tty had its first open, the TCP console listens). SIGUSR1 rewrites it at once and also logs it
(event "status"). Logs: pino JSON lines on stdout, each with a stable
"event" (outlet-on, outlet-off, port-open, console-listen, ... and the
core's own events). SIGTERM or SIGINT stops the simulator cleanly.

Exit codes: 0 after SIGTERM/SIGINT, 64 for a bad command line, 70 when
it cannot start; a hardware watchdog reset in mode "exit" ends it with
SIGKILL.
`;

function parsePositive(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return Number(v);
  };
}

function parseHostPort(v: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(v);
  if (!m || m[1]!.length === 0 || Number(m[2]) > 65535) throw new InvalidArgumentError("expected HOST:PORT (PORT 0 picks a free one, logged as console-listen).");
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port: Number(m[2]) };
}

function collectSet(v: string, prev: Array<[string, string]>): Array<[string, string]> {
  const eq = v.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError("expected key=value.");
  return [...prev, [v.slice(0, eq).trim(), v.slice(eq + 1).trim()]];
}

export function program(): Command {
  return new Command("lubdub-device-sim")
    .description("The lubdub device (serial heartbeat relay, host watchdogs, STONITH outlets, BayTech RPC console) simulated on Node over real ttys.")
    .addOption(new Option("--port-a <tty>", "host port A: the serial line of the first host"))
    .addOption(new Option("--port-b <tty>", "host port B: the serial line of the second host"))
    .addOption(new Option("--console <tty>", "operator console on a tty (one session)"))
    .addOption(new Option("--console-tcp <host:port>", "operator console on TCP, one session per connection").argParser(parseHostPort))
    .addOption(new Option("--state <file>", "state file: settings and every other stored value (default: memory only)"))
    .addOption(new Option("--set <key=value>", "change a setting and store it (repeatable)").argParser(collectSet).default([]))
    .addOption(new Option("--outlets <n>", "number of relay outlets").argParser(parsePositive("--outlets", 1, 16)).default(DEFAULT_OUTLETS))
    .addOption(new Option("--baud-a <baud>", "port A baud rate (default: setting a.baud)").argParser(parsePositive("--baud-a", 1200, 921600)))
    .addOption(new Option("--baud-b <baud>", "port B baud rate (default: setting b.baud)").argParser(parsePositive("--baud-b", 1200, 921600)))
    .addOption(new Option("--console-baud <baud>", "console tty baud rate (default: setting console.baud)").argParser(parsePositive("--console-baud", 1200, 921600)))
    .addOption(new Option("--status-file <file>", "keep the device status here as JSON (see below)"))
    .addOption(new Option("--hw-watchdog <mode>", "when the hardware watchdog is not kicked: exit (reset) or log").choices(["exit", "log"]).default("exit"))
    .addOption(new Option("--max-sessions <n>", "most TCP console sessions at once").argParser(parsePositive("--max-sessions", 1, 64)).default(8))
    .addOption(new Option("--log-level <level>", "lowest level logged").choices(["debug", "info", "warn", "error"]).default("info"))
    .addHelpText("after", HELP_AFTER)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
}

interface Opts {
  portA?: string;
  portB?: string;
  console?: string;
  consoleTcp?: { host: string; port: number };
  state?: string;
  set: Array<[string, string]>;
  outlets: number;
  baudA?: number;
  baudB?: number;
  consoleBaud?: number;
  statusFile?: string;
  hwWatchdog: "exit" | "log";
  maxSessions: number;
  logLevel: string;
}

function usageError(message: string): never {
  process.stderr.write(`lubdub-device-sim: ${message}\n`);
  process.exit(EXIT_USAGE);
}

export async function main(argv: string[]): Promise<void> {
  const cmd = program();
  try {
    cmd.parse(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT_USAGE);
    throw e;
  }
  if (cmd.args.length > 0) usageError(`unexpected argument '${cmd.args[0]}' (options only; see --help)`);
  const o = cmd.opts<Opts>();
  if (!o.portA && !o.portB && !o.console && !o.consoleTcp) usageError("nothing to serve: give --port-a, --port-b, --console or --console-tcp");

  const log = pino({ base: { pid: process.pid }, level: o.logLevel, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));

  let store: StateFile;
  try {
    store = new StateFile(o.state ?? null, (line, why) => log.warn({ event: "state-bad-line", file: o.state, line }, `${o.state}:${line}: ${why}; ignored`));
  } catch (e) {
    usageError(`option '--state ${o.state}': cannot read it: ${(e as Error).message}`);
  }
  // Settings as stored, with --set applied (and stored) before the core loads them.
  const settings = parseSettings(store.get(SETTINGS_KEY) ?? "", o.outlets, (line, problem) =>
    log.warn({ event: "settings-bad-line", line }, `stored settings line ${line}: ${problem}; default kept`),
  );
  for (const [k, v] of o.set) {
    const problem = setSetting(settings, k, v);
    if (problem !== "") usageError(`option '--set ${k}=${v}': ${problem}`);
  }
  if (o.set.length > 0) {
    try {
      store.set(SETTINGS_KEY, serializeSettings(settings));
    } catch (e) {
      usageError(`option '--state ${o.state}': cannot write it: ${(e as Error).message}`);
    }
  }

  const sim = new Simulator(
    {
      portA: o.portA ?? null,
      portB: o.portB ?? null,
      baudA: o.baudA ?? getInt(settings, "a.baud"),
      baudB: o.baudB ?? getInt(settings, "b.baud"),
      console: o.console ?? null,
      consoleBaud: o.consoleBaud ?? getInt(settings, "console.baud"),
      consoleTcp: o.consoleTcp ?? null,
      outlets: o.outlets,
      statusFile: o.statusFile ?? null,
      watchdogMode: o.hwWatchdog,
      maxSessions: o.maxSessions,
    },
    store,
    log,
  );
  const device = new Device(sim.hal) as unknown as Core;
  log.info({ event: "sim-start", state: o.state ?? null, outlets: o.outlets }, "lubdub device simulator starting");
  try {
    await sim.start(device);
  } catch (e) {
    const err = e as Error;
    log.error({ event: "sim-start-failed", err: err.message }, `cannot start: ${err.message}`);
    process.stderr.write(`lubdub-device-sim: ${o.consoleTcp ? `option '--console-tcp': ` : ""}${err.message}\n`);
    await sim.stop().catch(() => undefined);
    process.exit(70);
  }
  log.info({ event: "sim-ready", consoleTcp: sim.consoleAddress }, "lubdub device simulator ready");

  process.on("uncaughtException", (e) => log.error({ event: "sim-exception", err: e.stack ?? String(e) }, `unexpected: ${e.message}`));
  process.on("unhandledRejection", (e) => log.error({ event: "sim-exception", err: String(e) }, `unexpected rejection: ${String(e)}`));
  process.on("SIGUSR1", () => {
    sim.writeStatus(true);
    log.info({ event: "status", status: sim.status() }, "status");
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ event: "sim-stop", signal }, `stopping on ${signal}`);
    sim
      .stop()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await main(process.argv);
