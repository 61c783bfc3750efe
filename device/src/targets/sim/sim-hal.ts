// The Node simulator's Hal: host ports A and B and the serial console on
// ttys, console sessions on TCP, outlets as state plus a log, storage in a
// state file, HMAC through node:crypto, the hardware watchdog on a worker
// thread, and the tick timer. It feeds the core its inputs (hal.ts) and never
// lets an exception from the core or from bad input end the process.

import { createHmac } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { type Hal, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, PORT_A, PORT_B, TICK_MS } from "../../core/hal.js";
import { StateFile } from "./state-file.js";
import { Tty } from "./tty.js";
import { HardwareWatchdog, type WatchdogMode } from "./watchdog.js";

/** What the simulator drives: the core's inputs (hal.ts), and status() when the core has it. */
export interface Core {
  start(): void;
  tick(): void;
  portData(port: number, bytes: string): void;
  consoleOpen(session: number): void;
  consoleData(session: number, bytes: string): void;
  consoleClosed(session: number): void;
  status?(): unknown;
}

export interface SimOptions {
  portA: string | null;
  portB: string | null;
  baudA: number;
  baudB: number;
  console: string | null;
  consoleBaud: number;
  consoleTcp: { host: string; port: number } | null;
  outlets: number;
  statusFile: string | null;
  watchdogMode: WatchdogMode;
  /** Most TCP console sessions at once. */
  maxSessions: number;
}

export const HMAC_METHODS = ["sha1", "md5"];

const PINO_LEVEL: { [level: number]: "debug" | "info" | "warn" | "error" } = {
  [LOG_DEBUG]: "debug",
  [LOG_INFO]: "info",
  [LOG_WARN]: "warn",
  [LOG_ERROR]: "error",
};

function pinoLevel(level: number): "debug" | "info" | "warn" | "error" {
  if (level >= LOG_ERROR) return "error";
  if (level >= LOG_WARN) return "warn";
  if (level >= LOG_INFO) return "info";
  return PINO_LEVEL[level] ?? "debug";
}

export class Simulator {
  readonly hal: Hal;
  core: Core | null = null;
  readonly outletState: boolean[];
  private readonly ports: (Tty | null)[] = [null, null];
  private consoleTty: Tty | null = null;
  private consoleTtyOpen = false;
  private server: Server | null = null;
  private readonly sessions = new Map<number, Socket>();
  private nextSession = 1;
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly watchdog: HardwareWatchdog;
  private lastStatus = "";
  /** The status file is first written when the device is ready (it tells tests so). */
  private ready = false;
  /** Where the TCP console listens, once it does. */
  consoleAddress: { host: string; port: number } | null = null;
  coreErrors = 0;

  constructor(
    readonly options: SimOptions,
    readonly store: StateFile,
    readonly log: Logger,
  ) {
    this.outletState = [];
    for (let n = 0; n < options.outlets; n++) this.outletState.push(false);
    this.watchdog = new HardwareWatchdog(options.watchdogMode);
    const self = this;
    this.hal = {
      now: () => Math.floor(performance.now()),
      writePort(port: number, bytes: string): void {
        const tty = self.ports[port];
        if (tty) tty.write(bytes);
      },
      writeConsole(session: number, text: string): void {
        self.writeConsole(session, text);
      },
      closeConsole(session: number): void {
        self.closeConsole(session);
      },
      outletCount: () => options.outlets,
      setOutlet(n: number, on: boolean): void {
        self.setOutlet(n, on);
      },
      enableWatchdog(seconds: number): void {
        self.watchdog.enable(seconds);
        self.log.info({ event: "hw-watchdog-enabled", seconds, mode: options.watchdogMode }, `hardware watchdog enabled: ${seconds} s`);
      },
      kickWatchdog(): void {
        self.watchdog.kick();
      },
      load: (key: string) => store.get(key),
      save(key: string, value: string): void {
        try {
          store.set(key, value);
        } catch (e) {
          self.log.error({ event: "storage-error", key, err: (e as Error).message }, `cannot save ${key}: ${(e as Error).message}`);
        }
      },
      hmac(method: string, key: string, data: string): string | null {
        if (!HMAC_METHODS.includes(method)) return null;
        return createHmac(method, Buffer.from(key, "latin1")).update(Buffer.from(data, "latin1")).digest("hex");
      },
      random: () => Math.random(),
      log(level: number, event: string, text: string): void {
        self.log[pinoLevel(level)]({ event }, text);
      },
    };
  }

  /** Calls into the core; an exception is logged and the device goes on. */
  private guard(what: string, fn: (core: Core) => void): void {
    const core = this.core;
    if (core === null) return;
    try {
      fn(core);
    } catch (e) {
      this.coreErrors++;
      const err = e as Error;
      this.log.error({ event: "core-exception", input: what, err: err?.stack ?? String(e) }, `core threw on ${what}: ${err?.message ?? String(e)}`);
    }
  }

  private setOutlet(n: number, on: boolean): void {
    if (!Number.isInteger(n) || n < 1 || n > this.outletState.length) {
      this.log.warn({ event: "outlet-invalid", outlet: n }, `no outlet ${n}`);
      return;
    }
    const was = this.outletState[n - 1];
    this.outletState[n - 1] = on;
    this.log.info({ event: on ? "outlet-on" : "outlet-off", outlet: n, changed: was !== on }, `outlet ${n} ${on ? "on" : "off"}`);
    this.writeStatus();
  }

  private writeConsole(session: number, text: string): void {
    if (session === 0) {
      if (this.consoleTty) this.consoleTty.write(text);
      return;
    }
    const sock = this.sessions.get(session);
    if (sock && !sock.destroyed && sock.writable) sock.write(Buffer.from(text, "latin1"));
  }

  private closeConsole(session: number): void {
    if (session === 0) {
      // A serial console cannot hang up: it starts over at the login banner.
      setImmediate(() => {
        if (!this.consoleTtyOpen) return;
        this.guard("consoleClosed(0)", (c) => c.consoleClosed(0));
        this.guard("consoleOpen(0)", (c) => c.consoleOpen(0));
      });
      return;
    }
    const sock = this.sessions.get(session);
    if (sock) {
      sock.end();
      setTimeout(() => sock.destroy(), 2000).unref();
    }
  }

  private openPort(port: number, path: string, baud: number): Promise<void> {
    const name = port === PORT_A ? "a" : "b";
    const tty = new Tty(path, baud, {
      data: (bytes) => this.guard(`portData(${name})`, (c) => c.portData(port, bytes)),
      opened: () => this.log.info({ event: "port-open", port: name, path, baud }, `port ${name} open: ${path} at ${baud} baud`),
      problem: (message) => this.log.warn({ event: "port-error", port: name, path, err: message }, `port ${name} (${path}): ${message}`),
    });
    this.ports[port] = tty;
    return tty.start();
  }

  private startConsoleTty(path: string, baud: number): Promise<void> {
    const tty = new Tty(path, baud, {
      data: (bytes) => this.guard("consoleData(0)", (c) => c.consoleData(0, bytes)),
      opened: () => {
        this.log.info({ event: "console-open", session: 0, path, baud }, `console tty open: ${path}`);
        if (this.consoleTtyOpen) this.guard("consoleClosed(0)", (c) => c.consoleClosed(0));
        this.consoleTtyOpen = true;
        this.guard("consoleOpen(0)", (c) => c.consoleOpen(0));
      },
      problem: (message) => this.log.warn({ event: "console-error", session: 0, path, err: message }, `console tty (${path}): ${message}`),
    });
    this.consoleTty = tty;
    return tty.start();
  }

  private startConsoleTcp(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, (sock) => this.acceptSession(sock));
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        server.on("error", (e) => this.log.error({ event: "console-tcp-error", err: e.message }, `console TCP: ${e.message}`));
        const addr = server.address();
        const actual = typeof addr === "object" && addr !== null ? addr.port : port;
        this.consoleAddress = { host, port: actual };
        this.log.info({ event: "console-listen", host, port: actual }, `console on TCP ${host}:${actual}`);
        resolve();
      });
      this.server = server;
    });
  }

  private acceptSession(sock: Socket): void {
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    if (this.sessions.size >= this.options.maxSessions) {
      this.log.warn({ event: "console-refused", peer, sessions: this.sessions.size }, `console: refused ${peer}, ${this.sessions.size} sessions open`);
      sock.end("Too many sessions.\r\n");
      sock.on("error", () => undefined);
      return;
    }
    const session = this.nextSession++;
    this.sessions.set(session, sock);
    sock.setNoDelay(true);
    this.log.info({ event: "console-open", session, peer }, `console session ${session} from ${peer}`);
    let closed = false;
    const done = (): void => {
      if (closed) return;
      closed = true;
      this.sessions.delete(session);
      this.log.info({ event: "console-close", session, peer }, `console session ${session} closed`);
      this.guard(`consoleClosed(${session})`, (c) => c.consoleClosed(session));
    };
    sock.on("data", (d: Buffer) => this.guard(`consoleData(${session})`, (c) => c.consoleData(session, d.toString("latin1"))));
    sock.on("error", (e) => this.log.debug({ event: "console-socket-error", session, err: e.message }, `console session ${session}: ${e.message}`));
    sock.on("end", () => sock.end());
    sock.on("close", done);
    this.guard(`consoleOpen(${session})`, (c) => c.consoleOpen(session));
  }

  /** The status the file holds and SIGUSR1 logs. */
  status(): { device: unknown; hal: unknown } {
    let device: unknown = null;
    const core = this.core;
    if (core && typeof core.status === "function") {
      try {
        device = core.status();
      } catch (e) {
        device = { error: (e as Error).message };
      }
    }
    const portView = (t: Tty | null) => (t === null ? null : { path: t.path, baud: t.baud, open: t.isOpen, ...t.stats });
    return {
      device,
      hal: {
        pid: process.pid,
        outlets: this.outletState.map((on, i) => ({ n: i + 1, on })),
        ports: { a: portView(this.ports[PORT_A] ?? null), b: portView(this.ports[PORT_B] ?? null), console: portView(this.consoleTty) },
        consoleTcp: this.consoleAddress,
        consoleSessions: this.sessions.size + (this.consoleTtyOpen ? 1 : 0),
        hwWatchdog: { seconds: this.watchdog.seconds, mode: this.options.watchdogMode },
        coreErrors: this.coreErrors,
      },
    };
  }

  /** Rewrites the status file (temporary file + rename) when the status changed, or always when `force`. */
  writeStatus(force = false): void {
    const path = this.options.statusFile;
    if (path === null || !this.ready) return;
    const text = JSON.stringify(this.status());
    if (!force && text === this.lastStatus) return;
    this.lastStatus = text;
    try {
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, text + "\n");
      renameSync(tmp, path);
    } catch (e) {
      this.log.error({ event: "status-file-error", err: (e as Error).message }, `cannot write the status file: ${(e as Error).message}`);
    }
  }

  async start(core: Core): Promise<void> {
    this.core = core;
    const o = this.options;
    this.guard("start", (c) => c.start());
    // Ready (status file written, sim-ready logged) once every tty had its first open.
    const opening: Promise<void>[] = [];
    if (o.portA) opening.push(this.openPort(PORT_A, o.portA, o.baudA));
    if (o.portB) opening.push(this.openPort(PORT_B, o.portB, o.baudB));
    if (o.console) opening.push(this.startConsoleTty(o.console, o.consoleBaud));
    if (o.consoleTcp) opening.push(this.startConsoleTcp(o.consoleTcp.host, o.consoleTcp.port));
    await Promise.all(opening);
    this.ready = true;
    this.tickTimer = setInterval(() => {
      this.guard("tick", (c) => c.tick());
      this.writeStatus();
    }, TICK_MS);
    this.writeStatus(true);
  }

  async stop(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    await this.watchdog.stop();
    for (const sock of this.sessions.values()) sock.destroy();
    if (this.server) this.server.close();
    const ttys = [...this.ports, this.consoleTty].filter((t): t is Tty => t !== null);
    await Promise.all(ttys.map((t) => t.close()));
    this.writeStatus(true);
  }
}
