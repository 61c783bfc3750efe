// A real lubdub device for integration tests: the Node simulator
// (`lubdub-device-sim`, impl "sim") or the Lua gateway build
// (`lua5.1 device/dist/gateway.lua`, impl "lua"), which take the same
// options. Each of its ttys is one end of a socat pty pair; the test gets the
// other ends (hostA, hostB, console), as if holding the cables. Settings are
// written into a state file in a temporary directory before it starts; its
// status is read from the --status-file it keeps; its stdout JSON log lines
// are collected. stop() ends only what this launcher started, by PID.
//
//   const dev = await DeviceProc.start({ settings: { "a.host": "alpha" }, consoleTcp: true });
//   try { ...write dev.hostA, read dev.hostB, dev.status(), dev.consoleTcp.port... }
//   finally { await dev.stop(); }

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PtyPair } from "./pty.js";
import { fromRoot } from "./paths.js";
import { LUA, type Requirement, SOCAT } from "./require.js";

export type DeviceImpl = "sim" | "lua";

export const DEVICE_SIM_BIN = fromRoot("device/bin/lubdub-device-sim.js");
export const DEVICE_LUA_MAIN = fromRoot("device/dist/gateway.lua");
/** The storage key the settings live under (device/src/core/settings.ts SETTINGS_KEY). */
export const SETTINGS_KEY = "lubdub.cfg";
/** How long a device gets to become ready (status file written). */
export const DEVICE_READY_TIMEOUT_MS = 10000;

/** What each implementation needs on this machine (for testWhere). */
export function deviceRequirements(impl: DeviceImpl): Requirement[] {
  if (impl === "lua") {
    return [SOCAT, LUA, { path: DEVICE_LUA_MAIN, what: "the Lua gateway build (npm run build)" }];
  }
  return [SOCAT, { path: fromRoot("device/dist/node/targets/sim/main.js"), what: "the simulator build (npm run build)" }];
}

export interface DeviceLogRecord {
  level: number;
  event?: string;
  msg?: string;
  [k: string]: unknown;
}

/** Counters of one host port as the core reports them (Device.status().ports[i]). */
export interface DevicePortStatus {
  port: string;
  host: string;
  bytesIn: number;
  bytesOut: number;
  frames: number;
  relayed: number;
  dropped: number;
  droppedBytes: number;
  wd: string;
  [k: string]: unknown;
}

export interface DeviceOutletStatus {
  n: number;
  name?: string;
  on: boolean;
  cycling?: boolean;
  [k: string]: unknown;
}

/** The status file: {"device": Device.status(), "hal": what the target itself knows}. */
export interface DeviceStatusFile {
  device: { ports: DevicePortStatus[]; outlets: DeviceOutletStatus[]; [k: string]: unknown } | null;
  hal: { outlets: DeviceOutletStatus[]; [k: string]: unknown };
}

export interface DeviceProcOptions {
  impl?: DeviceImpl;
  /** Settings stored before the start (key=value of device/src/core/settings.ts). */
  settings?: Record<string, string>;
  /** Relay outlets (--outlets; default: the device's). */
  outlets?: number;
  /** Host port baud rate for both ports (stored as a.baud and b.baud). */
  baud?: number;
  /** Give the device a console tty (default true). */
  console?: boolean;
  /** Serve the console on TCP too: true for a free port on 127.0.0.1, or a port number. */
  consoleTcp?: boolean | number;
  /** --hw-watchdog (default "log", so a slow test machine never resets the device). */
  hwWatchdog?: "exit" | "log";
  /** More command-line arguments. */
  args?: string[];
  /** Directory for the ptys, state and status files (default: a new temporary one, removed by stop()). */
  dir?: string;
  /** Keep the directory after stop() (for a failure's post-mortem). */
  keepDir?: boolean;
  /** Echo the device's stdout and stderr lines to this process's stderr. */
  echo?: boolean;
}

/** Escapes a value for the state file (device/src/targets/sim/state-file.ts). */
export function escapeStateValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

/** State file text holding these settings. */
export function stateFileText(settings: Record<string, string>): string {
  let cfg = "";
  for (const [k, v] of Object.entries(settings)) cfg += `${k}=${v}\n`;
  return `${SETTINGS_KEY}=${escapeStateValue(cfg)}\n`;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set<DeviceProc>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const d of running) d.killNow();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class DeviceProc {
  readonly impl: DeviceImpl;
  readonly dir: string;
  readonly stateFile: string;
  readonly statusFile: string;
  /** Every stdout line, as printed. */
  readonly lines: string[] = [];
  /** The stdout lines that are JSON log records. */
  readonly records: DeviceLogRecord[] = [];
  readonly stderr: string[] = [];
  /** Host side of port A / port B / the console tty: what a host's serial port (or an operator) opens. */
  hostA = "";
  hostB = "";
  console: string | null = null;
  /** Device side of the same pty pairs: what the device was given as --port-a/--port-b/--console. */
  deviceA = "";
  deviceB = "";
  deviceConsole: string | null = null;
  /** The TCP console, when asked for. */
  consoleTcp: { host: string; port: number } | null = null;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private pairs: PtyPair[] = [];
  private readonly ownsDir: boolean;
  private argv: string[] = [];

  private constructor(private readonly o: DeviceProcOptions) {
    this.impl = o.impl ?? "sim";
    this.ownsDir = o.dir === undefined;
    this.dir = o.dir ?? mkdtempSync(join(tmpdir(), "lubdub-device-"));
    mkdirSync(this.dir, { recursive: true });
    this.stateFile = join(this.dir, "state");
    this.statusFile = join(this.dir, "status.json");
  }

  /** Makes the pty pairs and the state file, starts the device and waits until it is ready. */
  static async start(o: DeviceProcOptions = {}): Promise<DeviceProc> {
    const d = new DeviceProc(o);
    running.add(d);
    hookExit();
    try {
      await d.setUp();
      await d.launch();
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.exitCode === null && this.exitSignal === null;
  }

  private async setUp(): Promise<void> {
    const a = await PtyPair.open({ dir: this.dir, names: ["hostA", "devA"] });
    this.pairs.push(a);
    const b = await PtyPair.open({ dir: this.dir, names: ["hostB", "devB"] });
    this.pairs.push(b);
    [this.hostA, this.deviceA, this.hostB, this.deviceB] = [a.a, a.b, b.a, b.b];
    const args = ["--port-a", this.deviceA, "--port-b", this.deviceB];
    if (this.o.console ?? true) {
      const c = await PtyPair.open({ dir: this.dir, names: ["console", "devConsole"] });
      this.pairs.push(c);
      this.console = c.a;
      this.deviceConsole = c.b;
      args.push("--console", c.b);
    }
    if (this.o.consoleTcp !== undefined && this.o.consoleTcp !== false) {
      const port = this.o.consoleTcp === true ? await freeTcpPort() : this.o.consoleTcp;
      this.consoleTcp = { host: "127.0.0.1", port };
      args.push("--console-tcp", `127.0.0.1:${port}`);
    }
    const settings: Record<string, string> = { ...(this.o.settings ?? {}) };
    if (this.o.baud !== undefined) {
      settings["a.baud"] ??= String(this.o.baud);
      settings["b.baud"] ??= String(this.o.baud);
    }
    writeFileSync(this.stateFile, stateFileText(settings), { mode: 0o600 });
    args.push("--state", this.stateFile, "--status-file", this.statusFile, "--hw-watchdog", this.o.hwWatchdog ?? "log");
    if (this.o.outlets !== undefined) args.push("--outlets", String(this.o.outlets));
    args.push(...(this.o.args ?? []));
    this.argv = this.impl === "lua" ? ["lua5.1", DEVICE_LUA_MAIN, ...args] : [process.execPath, "--enable-source-maps", DEVICE_SIM_BIN, ...args];
  }

  /** The command line the device runs with. */
  get commandLine(): string[] {
    return [...this.argv];
  }

  private async launch(): Promise<void> {
    rmSync(this.statusFile, { force: true });
    this.exitCode = null;
    this.exitSignal = null;
    const child = spawn(this.argv[0]!, this.argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      child.once("error", (e) => {
        this.stderr.push(`spawn: ${e.message}`);
        this.exitCode = -1;
        resolve();
      });
    });
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      let nl: number;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        this.lines.push(line);
        if (this.o.echo) process.stderr.write(`[device ${this.impl}] ${line}\n`);
        try {
          const rec = JSON.parse(line) as unknown;
          if (typeof rec === "object" && rec !== null) this.records.push(rec as DeviceLogRecord);
        } catch {
          // not a log record
        }
      }
    });
    let err = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
      let nl: number;
      while ((nl = err.indexOf("\n")) >= 0) {
        const line = err.slice(0, nl);
        err = err.slice(nl + 1);
        this.stderr.push(line);
        if (this.o.echo) process.stderr.write(`[device ${this.impl} stderr] ${line}\n`);
      }
    });
    const until = Date.now() + DEVICE_READY_TIMEOUT_MS;
    while (!existsSync(this.statusFile)) {
      if (!this.running) throw new Error(`device (${this.impl}) exited before it was ready (${this.exitCode ?? this.exitSignal}): ${this.describe()}`);
      if (Date.now() > until) throw new Error(`device (${this.impl}) not ready in ${DEVICE_READY_TIMEOUT_MS} ms: ${this.describe()}`);
      await sleep(20);
    }
  }

  /** The last log and stderr lines, for failure messages. */
  describe(lines = 15): string {
    return [`$ ${this.argv.join(" ")}`, ...this.lines.slice(-lines), ...this.stderr.slice(-lines).map((l) => `stderr: ${l}`)].join("\n");
  }

  /** The status file as last written, or null when there is none (yet) or it does not parse. */
  status(): DeviceStatusFile | null {
    try {
      return JSON.parse(readFileSync(this.statusFile, "utf8")) as DeviceStatusFile;
    } catch {
      return null;
    }
  }

  /** Port A (0) or B (1) counters from the core's status. */
  portStatus(port: 0 | 1 | "a" | "b"): DevicePortStatus | null {
    const i = port === "a" ? 0 : port === "b" ? 1 : port;
    return this.status()?.device?.ports[i] ?? null;
  }

  /** Outlet states by number (index 0 is outlet 1), as the hardware (HAL) has them. */
  outlets(): boolean[] {
    const s = this.status();
    const list = s?.hal?.outlets ?? s?.device?.outlets ?? [];
    return list.map((o) => o.on);
  }

  /** Polls status() until `pred` holds; throws with the last status after `timeoutMs`. */
  async waitStatus(pred: (s: DeviceStatusFile) => boolean, timeoutMs = 5000, what = "status condition"): Promise<DeviceStatusFile> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = this.status();
      if (s && pred(s)) return s;
      if (Date.now() > until) throw new Error(`device: ${what} not met in ${timeoutMs} ms; status ${JSON.stringify(s)}\n${this.describe()}`);
      await sleep(25);
    }
  }

  /** Waits for a log record (from index `from` on) that satisfies `pred`. */
  async waitRecord(pred: (r: DeviceLogRecord) => boolean, timeoutMs = 5000, from = 0, what = "log record"): Promise<DeviceLogRecord> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.records.length; i++) if (pred(this.records[i]!)) return this.records[i]!;
      if (Date.now() > until) throw new Error(`device: no ${what} in ${timeoutMs} ms\n${this.describe()}`);
      await sleep(25);
    }
  }

  /** Records with this event name. */
  events(event: string): DeviceLogRecord[] {
    return this.records.filter((r) => r.event === event);
  }

  /** Sends a signal to the device process (not to the socat cables). */
  signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid !== undefined && this.running) process.kill(pid, sig);
  }

  /**
   * Ends the device process only (SIGTERM, then SIGKILL after `graceMs`); the
   * cables (pty pairs) stay, so hosts see a silent device. Resolves on exit.
   */
  async stopDevice(graceMs = 2000): Promise<void> {
    if (this.running) {
      this.signal("SIGTERM");
      const t = setTimeout(() => this.signal("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(t);
    }
  }

  /** Starts the device again after stopDevice() (same ptys, state file kept). */
  async restart(): Promise<void> {
    await this.stopDevice();
    await this.launch();
  }

  /** Ends the device and the socat cables it started (by PID) and removes the directory it made. */
  async stop(): Promise<void> {
    await this.stopDevice();
    for (const p of this.pairs.splice(0)) await p.close(false);
    running.delete(this);
    if (this.ownsDir && !this.o.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** SIGKILL by PID without waiting (exit handlers). */
  killNow(): void {
    const pid = this.child?.pid;
    if (pid !== undefined && this.running) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const p of this.pairs) p.kill();
  }
}

/**
 * The host end of a cable to the device, raw: what is written goes to the
 * device's port as it is, what the device sends collects in `received`
 * (latin1, one char per byte). The pty is read by polling a non-blocking
 * descriptor every few milliseconds (plain read(2), nothing that changes the
 * line's settings). For the protocol itself use device-client.ts.
 */
export class HostLine {
  received = "";
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly buf = Buffer.allocUnsafe(65536);

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    this.timer = setInterval(() => this.drain(), 3);
  }

  static open(path: string): HostLine {
    return new HostLine(path, openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK));
  }

  private drain(): void {
    for (;;) {
      let n = 0;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch {
        return; // EAGAIN: nothing now (EIO: the cable is gone)
      }
      if (n <= 0) return;
      this.received += this.buf.toString("latin1", 0, n);
    }
  }

  /** Writes all of `bytes`, waiting while the pty is full. */
  async write(bytes: string): Promise<void> {
    let buf = Buffer.from(bytes, "latin1");
    while (buf.length > 0) {
      let n = 0;
      try {
        n = writeSync(this.fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      }
      buf = buf.subarray(n);
      if (buf.length > 0) await sleep(2);
    }
  }

  /** Waits until `received` satisfies `pred`. */
  async waitFor(pred: (received: string) => boolean, timeoutMs = 5000, what = "bytes"): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (!pred(this.received)) {
      if (Date.now() > until) throw new Error(`${this.path}: ${what} not received in ${timeoutMs} ms (have ${this.received.length} bytes)`);
      await sleep(10);
    }
    return this.received;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.drain();
    closeSync(this.fd);
  }
}
