// npm run flash -- --port /dev/ttyACM0|tcp://HOST:PORT [--board NAME] [--set key=value]...
//
// Uploads device/dist/espruino.js to an Espruino board with the espruino CLI
// (npm package `espruino`): the bundle goes to Storage as `.bootcde`, so it
// runs at every boot, and the board is then restarted into it (`load()`).
// Never the CLI's own minifier (-m): it mis-compiles ES2015; the bundle is
// minified by esbuild already. `--no-ble` keeps the CLI off Bluetooth.
//
// Settings: each `--set key=value` (and `--board NAME`, which stores that
// board's outlet pins as `board.pins`) goes into a new Storage file
// `lubdub.cfg` of key=value lines. When any is given, the file is replaced
// whole: keys not given take their defaults (nothing armed). Without them the
// stored settings are left alone.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");
export const DEFAULT_BUNDLE = join(ROOT, "device", "dist", "espruino.js");
export const SETTINGS_FILE = "lubdub.cfg";

/** The outlet pins per board (device/src/targets/espruino/boards.ts), by the names --board accepts. */
export const BOARDS: { [name: string]: string } = {
  PICO: "B3,B4,B5,B13",
  ORIGINAL: "C6,C7,C8,C9",
  ESPRUINOBOARD: "C6,C7,C8,C9",
  WIFI: "B3,B4,B5,B13",
  ESPRUINOWIFI: "B3,B4,B5,B13",
  LINUX: "D1,D2,D3,D4",
};

export interface FlashOptions {
  port: string;
  baud: number | null;
  board: string | null;
  settings: [string, string][];
  bundle: string;
  /** Print the CLI command instead of running it. */
  dryRun: boolean;
}

export const USAGE = `usage: npm run flash -- --port /dev/ttyACM0|tcp://HOST:PORT [--board PICO|ORIGINAL|WIFI|LINUX]
                          [--set key=value]... [--baud N] [--bundle FILE] [--dry-run]

Uploads the Espruino bundle (device/dist/espruino.js; npm run build makes it)
to Storage as .bootcde with the espruino CLI and restarts the board into it.
--set and --board write lubdub.cfg (replacing the stored settings: keys not
given take their defaults); without them the stored settings are kept.`;

export function parseArgs(argv: string[]): FlashOptions {
  const o: FlashOptions = { port: "", baud: null, board: null, settings: [], bundle: DEFAULT_BUNDLE, dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--port" || a === "-p") o.port = next();
    else if (a === "--baud" || a === "-b") {
      const v = next();
      if (!/^\d+$/.test(v)) throw new Error(`--baud: not a number: ${v}`);
      o.baud = Number(v);
    } else if (a === "--board") {
      const b = next().toUpperCase();
      if (BOARDS[b] === undefined) throw new Error(`--board: unknown board ${b} (known: ${Object.keys(BOARDS).join(", ")})`);
      o.board = b;
    } else if (a === "--set") {
      const kv = next();
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new Error(`--set: expected key=value, got ${kv}`);
      const key = kv.substring(0, eq).trim();
      const value = kv.substring(eq + 1).trim();
      if (/[\r\n]/.test(kv)) throw new Error("--set: no line breaks in settings");
      o.settings.push([key, value]);
    } else if (a === "--bundle") o.bundle = resolve(next());
    else if (a === "--dry-run") o.dryRun = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.port === "") throw new Error("--port is required");
  return o;
}

/** The lubdub.cfg text for these options, or null when the stored settings are to be kept. */
export function settingsText(o: FlashOptions): string | null {
  const lines: string[] = [];
  if (o.board !== null) lines.push(`board.pins=${BOARDS[o.board]!}`);
  for (const [k, v] of o.settings) lines.push(`${k}=${v}`);
  return lines.length === 0 ? null : lines.join("\n") + "\n";
}

export function cliPath(): string {
  return createRequire(import.meta.url).resolve("espruino/bin/espruino-cli.js");
}

/** The espruino CLI arguments; `cfgFile` holds settingsText() when there is one. */
export function cliArgs(o: FlashOptions, cfgFile: string | null): string[] {
  const args = ["--no-ble", "-p", o.port];
  if (o.baud !== null) args.push("-b", String(o.baud));
  // Save on send 1: code written to Storage .bootcde, then load() (restart into it)
  args.push("--config", "SAVE_ON_SEND=1");
  if (cfgFile !== null) args.push("--storage", `${SETTINGS_FILE}:${cfgFile}`);
  args.push(o.bundle);
  return args;
}

/** Runs the upload; resolves with the CLI's exit code. */
export function flash(o: FlashOptions, log: (line: string) => void): Promise<number> {
  const text = settingsText(o);
  const dir = mkdtempSync(join(tmpdir(), "lubdub-flash-"));
  const cfg = text === null ? null : join(dir, SETTINGS_FILE);
  if (cfg !== null && text !== null) writeFileSync(cfg, text);
  const args = [cliPath()].concat(cliArgs(o, cfg));
  if (o.dryRun) {
    log(["node"].concat(args).join(" "));
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve(0);
  }
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const relay = (d: Buffer): void => {
      for (const line of d.toString().split("\n")) if (line.trim() !== "") log(line);
    };
    child.stdout.on("data", relay);
    child.stderr.on("data", relay);
    child.on("close", (code) => {
      rmSync(dir, { recursive: true, force: true });
      done(code === null ? 1 : code);
    });
  });
}
