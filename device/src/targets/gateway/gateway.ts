// The Linux gateway's Hal and main loop, in Lua 5.1 with luaposix, doing
// what the Node simulator's sim-hal.ts does: host ports A and B and the
// serial console on ttys, console sessions on TCP, outlets as state plus a
// log (and GPIO or a command, outlets.ts), storage in the simulator's state
// file format, HMAC in plain Lua (../lua/hash.ts), the hardware watchdog on
// SIGALRM, and the tick. One poll(2) loop serves everything and calls the
// core every TICK_MS. A Lua error in the core or in a handler is caught,
// logged (core-exception) and counted; it never ends the loop.

import { Hal, PORT_A, PORT_B, TICK_MS } from "../../core/hal.js";
import { hmacHex } from "../lua/hash.js";
import { toJson } from "../lua/json.js";
import { guarded, luaIo, luaOs, luaRequire } from "../lua/lua.js";
import { getStateValue, parseStateText, serializeStateText, setStateValue, StateStore } from "../lua/state.js";
import { Logger, pinoLevel } from "./log.js";
import { OutletDriver, OutletDriverOptions } from "./outlets.js";
import { lastError, PollEntry, Posix } from "./posix.js";
import { TcpConsole, TcpSession } from "./tcp.js";
import { Tty, TtyStats } from "./tty.js";

/** What the gateway drives: the core's inputs (hal.ts), and status() when the core has it. */
export interface Core {
  start(): void;
  tick(): void;
  portData(port: number, bytes: string): void;
  consoleOpen(session: number): void;
  consoleData(session: number, bytes: string): void;
  consoleClosed(session: number): void;
  status?(): unknown;
}

export interface GatewayOptions {
  portA: string | null;
  portB: string | null;
  baudA: number;
  baudB: number;
  console: string | null;
  consoleBaud: number;
  consoleTcp: { host: string; port: number } | null;
  outlets: number;
  statusFile: string | null;
  watchdogMode: string;
  maxSessions: number;
  outletDriver: OutletDriverOptions;
}

export const HMAC_METHODS: string[] = ["sha1", "md5"];

/**
 * A host port is not read while the other port (where its frames go) or the
 * port itself (replies) has more than this waiting to be written: the
 * kernel's tty buffer then fills and the sender is held back, instead of the
 * relay dropping bytes. On a real line both ports run at the same baud and
 * this never triggers; on ptys (no baud) it is the only flow control.
 */
export const READ_PAUSE_BACKLOG = 4096;

/** The state file: every stored key, rewritten whole through a temporary file and rename(2). */
export class StateFile {
  store: StateStore;

  constructor(
    readonly path: string | null,
    bad: (this: void, line: number, why: string) => void,
  ) {
    this.store = { keys: [], values: {} };
    if (path === null) return;
    const f = luaIo.open(path, "rb");
    if (f === undefined || f === null) return; // a missing file is an empty store
    const text = f.read("*a");
    f.close();
    this.store = parseStateText(text === undefined || text === null ? "" : text, bad);
  }

  get(key: string): string | null {
    return getStateValue(this.store, key);
  }

  /** Stores and writes; "" or why the file could not be written. */
  set(key: string, value: string): string {
    setStateValue(this.store, key, value);
    return this.write();
  }

  write(): string {
    if (this.path === null) return "";
    return writeAtomically(this.path, serializeStateText(this.store));
  }
}

/** Writes `text` to `path` through `path.tmp-<pid>` and rename(2); "" or why not. */
export function writeAtomically(path: string, text: string, pid?: number): string {
  const tmp = path + ".tmp-" + (pid === undefined ? "lua" : "" + pid);
  const f = luaIo.open(tmp, "wb");
  if (f === undefined || f === null) return "cannot create " + tmp;
  const ok = f.write(text);
  f.close();
  if (ok === undefined || ok === null) {
    luaOs.remove(tmp);
    return "cannot write " + tmp;
  }
  if (luaOs.rename(tmp, path) === undefined) {
    luaOs.remove(tmp);
    return "cannot rename " + tmp + " to " + path;
  }
  return "";
}

function portView(t: Tty | null): unknown {
  if (t === null) return null;
  const s: TtyStats = t.stats;
  return {
    path: t.path, baud: t.baud, open: t.isOpen, bytesIn: s.bytesIn, bytesOut: s.bytesOut,
    bytesDropped: s.bytesDropped, opens: s.opens, errors: s.errors,
  };
}

export class Gateway {
  readonly hal: Hal;
  core: Core | null = null;
  readonly outletState: boolean[] = [];
  readonly ports: Tty[] = [];
  private portA: Tty | null = null;
  private portB: Tty | null = null;
  consoleTty: Tty | null = null;
  private consoleTtyOpen = false;
  /** The serial console asked to start over (closeConsole(0)): done at the next loop turn. */
  private consoleRestart = false;
  tcp: TcpConsole | null = null;
  coreErrors = 0;
  private lastStatus = "";
  private readonly outletDriver: OutletDriver;
  private hwSeconds = 0;
  private hwAlarmSet = false;
  hwKicks = 0;
  private readonly clockOrigin: number;
  stopping = "";
  statusRequested = false;

  constructor(
    readonly options: GatewayOptions,
    readonly px: Posix,
    readonly state: StateFile,
    readonly log: Logger,
  ) {
    for (let n = 0; n < options.outlets; n++) this.outletState.push(false);
    this.outletDriver = new OutletDriver(options.outletDriver);
    const t0 = px.time.clock_gettime(px.time.CLOCK_MONOTONIC);
    this.clockOrigin = t0.tv_sec;
    const self = this;
    this.hal = {
      now: () => self.now(),
      writePort(port: number, bytes: string): void {
        const tty = port === PORT_A ? self.portA : port === PORT_B ? self.portB : null;
        if (tty !== null) tty.write(bytes);
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
        self.enableWatchdog(seconds);
      },
      kickWatchdog(): void {
        self.kickWatchdog();
      },
      load: (key: string) => state.get(key),
      save(key: string, value: string): void {
        const why = state.set(key, value);
        if (why !== "") self.log.error("storage-error", { key: key, err: why }, "cannot save " + key + ": " + why);
      },
      hmac(method: string, key: string, data: string): string | null {
        if (HMAC_METHODS.indexOf(method) < 0) return null;
        return hmacHex(method, key, data);
      },
      random: () => Math.random(),
      log(level: number, event: string, text: string): void {
        self.log.write(pinoLevel(level), event, null, text);
      },
    };
  }

  /** Monotonic milliseconds since the gateway started (small numbers, exact in a double). */
  now(): number {
    const t = this.px.time.clock_gettime(this.px.time.CLOCK_MONOTONIC);
    return (t.tv_sec - this.clockOrigin) * 1000 + Math.floor(t.tv_nsec / 1000000);
  }

  /** Calls into the core; a Lua error is logged and counted and the device goes on. */
  guard(what: string, fn: (this: void, core: Core) => void): void {
    const core = this.core;
    if (core === null) return;
    const err = guarded(() => fn(core));
    if (err !== null) {
      this.coreErrors++;
      this.log.error("core-exception", { input: what, err: err }, "core threw on " + what + ": " + err);
    }
  }

  private setOutlet(n: number, on: boolean): void {
    if (Math.floor(n) !== n || n < 1 || n > this.outletState.length) {
      this.log.warn("outlet-invalid", { outlet: n }, "no outlet " + n);
      return;
    }
    const was = this.outletState[n - 1];
    this.outletState[n - 1] = on;
    this.log.info(on ? "outlet-on" : "outlet-off", { outlet: n, changed: was !== on }, "outlet " + n + " " + (on ? "on" : "off"));
    const why = this.outletDriver.set(n, on);
    if (why !== "") this.log.error("outlet-error", { outlet: n, err: why }, "outlet " + n + ": " + why);
    this.writeStatus(false);
  }

  // ---- hardware watchdog -----------------------------------------------------
  //
  // alarm(2) is the gateway's hardware watchdog: every kick re-arms it. When it
  // fires (the loop did not kick within the timeout: a hung core, an endless
  // loop), luaposix runs the handler at the next Lua instruction, even inside
  // a runaway loop; in mode "exit" it logs hw-watchdog-expired and the process
  // ends with SIGKILL (the device reset: a supervisor such as procd or
  // systemd restarts it), in mode "log" it only logs, once per expiry.

  private enableWatchdog(seconds: number): void {
    const s = seconds < 1 ? 1 : Math.floor(seconds);
    this.hwSeconds = s;
    if (!this.hwAlarmSet) {
      this.hwAlarmSet = true;
      const self = this;
      this.px.signal.signal(this.px.signal.SIGALRM, () => {
        self.watchdogExpired();
      });
    }
    this.kickWatchdog();
    this.log.info("hw-watchdog-enabled", { seconds: s, mode: this.options.watchdogMode }, "hardware watchdog enabled: " + s + " s");
  }

  private kickWatchdog(): void {
    this.hwKicks++;
    if (this.hwSeconds > 0) this.px.unistd.alarm(this.hwSeconds);
  }

  private watchdogExpired(): void {
    const reset = this.options.watchdogMode === "exit";
    this.log.error(
      "hw-watchdog-expired",
      { seconds: this.hwSeconds, action: reset ? "reset" : "logged" },
      "hardware watchdog not kicked for " + this.hwSeconds + " s" + (reset ? ": resetting" : ""),
    );
    if (reset) this.px.signal.kill(this.px.unistd.getpid(), this.px.signal.SIGKILL);
  }

  // ---- console ---------------------------------------------------------------

  private writeConsole(session: number, text: string): void {
    if (session === 0) {
      if (this.consoleTty !== null) this.consoleTty.write(text);
      return;
    }
    const s = this.tcp === null ? null : this.tcp.find(session);
    if (s !== null && !s.closing) this.tcp!.write(s, text);
  }

  private closeConsole(session: number): void {
    if (session === 0) {
      // a serial console cannot hang up: it starts over at the login banner
      this.consoleRestart = true;
      return;
    }
    const s = this.tcp === null ? null : this.tcp.find(session);
    if (s !== null) this.tcp!.close(s);
  }

  private openPort(port: number, path: string, baud: number): Tty {
    const name = port === PORT_A ? "a" : "b";
    const self = this;
    const tty = new Tty(
      this.px,
      path,
      baud,
      {
        data: (bytes: string) => self.guard("portData(" + name + ")", (c: Core) => c.portData(port, bytes)),
        opened: () => self.log.info("port-open", { port: name, path: path, baud: baud }, "port " + name + " open: " + path + " at " + baud + " baud"),
        problem: (message: string) =>
          self.log.warn("port-error", { port: name, path: path, err: message }, "port " + name + " (" + path + "): " + message),
      },
      () => self.now(),
    );
    this.ports.push(tty);
    if (port === PORT_A) this.portA = tty;
    else this.portB = tty;
    tty.start();
    return tty;
  }

  private startConsoleTty(path: string, baud: number): void {
    const self = this;
    const tty = new Tty(
      this.px,
      path,
      baud,
      {
        data: (bytes: string) => self.guard("consoleData(0)", (c: Core) => c.consoleData(0, bytes)),
        opened: () => {
          self.log.info("console-open", { session: 0, path: path, baud: baud }, "console tty open: " + path);
          if (self.consoleTtyOpen) self.guard("consoleClosed(0)", (c: Core) => c.consoleClosed(0));
          self.consoleTtyOpen = true;
          self.guard("consoleOpen(0)", (c: Core) => c.consoleOpen(0));
        },
        problem: (message: string) =>
          self.log.warn("console-error", { session: 0, path: path, err: message }, "console tty (" + path + "): " + message),
      },
      () => self.now(),
    );
    this.consoleTty = tty;
    tty.start();
  }

  /** "" or why the TCP console cannot listen. */
  private startConsoleTcp(host: string, port: number): string {
    const self = this;
    const tcp = new TcpConsole(
      this.px,
      this.options.maxSessions,
      {
        opened: (s: TcpSession) => {
          self.log.info("console-open", { session: s.id, peer: s.peer }, "console session " + s.id + " from " + s.peer);
          self.guard("consoleOpen(" + s.id + ")", (c: Core) => c.consoleOpen(s.id));
        },
        data: (s: TcpSession, bytes: string) => self.guard("consoleData(" + s.id + ")", (c: Core) => c.consoleData(s.id, bytes)),
        closed: (s: TcpSession) => {
          self.log.info("console-close", { session: s.id, peer: s.peer }, "console session " + s.id + " closed");
          self.guard("consoleClosed(" + s.id + ")", (c: Core) => c.consoleClosed(s.id));
        },
        refused: (peer: string, open: number) =>
          self.log.warn("console-refused", { peer: peer, sessions: open }, "console: refused " + peer + ", " + open + " sessions open"),
        problem: (message: string) => self.log.error("console-tcp-error", { err: message }, "console TCP: " + message),
      },
      () => self.now(),
    );
    const why = tcp.listen(host, port);
    if (why !== "") return why;
    this.tcp = tcp;
    this.log.info("console-listen", { host: host, port: tcp.port }, "console on TCP " + host + ":" + tcp.port);
    return "";
  }

  // ---- status ----------------------------------------------------------------

  status(): unknown {
    let device: unknown = null;
    const core = this.core;
    if (core !== null && core.status !== undefined) {
      const err = guarded(() => {
        device = core.status!();
      });
      if (err !== null) device = { error: err };
    }
    const outlets: unknown[] = [];
    for (let i = 0; i < this.outletState.length; i++) outlets.push({ n: i + 1, on: this.outletState[i] });
    const consoleTcp = this.tcp === null ? null : { host: this.tcp.host, port: this.tcp.port };
    return {
      device: device,
      hal: {
        pid: this.log.pid,
        impl: "lua",
        outlets: outlets,
        outletDriver: this.outletDriver.describe(),
        ports: { a: portView(this.portA), b: portView(this.portB), console: portView(this.consoleTty) },
        consoleTcp: consoleTcp,
        consoleSessions: (this.tcp === null ? 0 : this.tcp.sessions.length) + (this.consoleTtyOpen ? 1 : 0),
        hwWatchdog: { seconds: this.hwSeconds, mode: this.options.watchdogMode, kicks: this.hwKicks },
        coreErrors: this.coreErrors,
      },
    };
  }

  /** Rewrites the status file (temporary file + rename) when the status changed, or always when `force`. */
  writeStatus(force: boolean): void {
    const path = this.options.statusFile;
    if (path === null) return;
    const text = toJson(this.status());
    if (!force && text === this.lastStatus) return;
    this.lastStatus = text;
    const why = writeAtomically(path, text + "\n", this.log.pid);
    if (why !== "") this.log.error("status-file-error", { err: why }, "cannot write the status file: " + why);
  }

  // ---- start and loop --------------------------------------------------------

  /** Starts the core and opens everything; "" or why the gateway cannot start. */
  start(core: Core): string {
    this.core = core;
    const o = this.options;
    this.guard("start", (c: Core) => c.start());
    if (o.portA !== null) this.openPort(PORT_A, o.portA, o.baudA);
    if (o.portB !== null) this.openPort(PORT_B, o.portB, o.baudB);
    if (o.console !== null) this.startConsoleTty(o.console, o.consoleBaud);
    if (o.consoleTcp !== null) {
      const why = this.startConsoleTcp(o.consoleTcp.host, o.consoleTcp.port);
      if (why !== "") return why;
    }
    this.writeStatus(true);
    return "";
  }

  private ttys(): Tty[] {
    const all = this.ports.slice();
    if (this.consoleTty !== null) all.push(this.consoleTty);
    return all;
  }

  /** One turn of the loop: poll until the next tick is due, serve what is ready. */
  turn(nextTick: number): void {
    const fds: { [fd: number]: PollEntry } = {};
    const ttys = this.ttys();
    for (const t of ttys) {
      t.service();
      if (t.fd < 0) continue;
      let read = true;
      if (t === this.portA || t === this.portB) {
        const other = t === this.portA ? this.portB : this.portA;
        read = t.backlog <= READ_PAUSE_BACKLOG && (other === null || other.backlog <= READ_PAUSE_BACKLOG);
      }
      fds[t.fd] = { events: { IN: read, OUT: t.backlog > 0 } };
    }
    const tcp = this.tcp;
    if (tcp !== null) {
      tcp.service();
      if (tcp.fd >= 0) fds[tcp.fd] = { events: { IN: true } };
      for (const s of tcp.sessions) fds[s.fd] = { events: { IN: true, OUT: s.pending.length > 0 } };
    }
    let wait = nextTick - this.now();
    if (wait < 0) wait = 0;
    if (wait > TICK_MS) wait = TICK_MS;
    const n = this.px.poll.poll(fds, wait);
    if (n === undefined || n === null) {
      const why = lastError(this.px);
      if (why !== "") {
        this.log.error("poll-error", { err: why }, "poll: " + why);
        this.px.poll.poll({}, 10);
      }
      return;
    }
    if (n === 0) return;
    for (const t of ttys) {
      if (t.fd < 0) continue;
      const e = fds[t.fd];
      if (e === undefined || e.revents === undefined) continue;
      const r = e.revents;
      if (r.OUT === true) t.flush();
      if (r.IN === true) t.readable();
      else if (r.HUP === true || r.ERR === true || r.NVAL === true) t.hungUp();
    }
    if (tcp !== null) {
      const sessions = tcp.sessions.slice();
      for (const s of sessions) {
        if (s.fd < 0) continue;
        const e = fds[s.fd];
        if (e === undefined || e.revents === undefined) continue;
        const r = e.revents;
        if (r.OUT === true) tcp.flush(s);
        if (s.fd >= 0 && r.IN === true) tcp.readable(s);
        else if (s.fd >= 0 && (r.HUP === true || r.ERR === true || r.NVAL === true)) tcp.drop(s);
      }
      if (tcp.fd >= 0) {
        const e = fds[tcp.fd];
        if (e !== undefined && e.revents !== undefined && e.revents.IN === true) tcp.acceptAll();
      }
    }
  }

  /** Runs until stop(): ticks every TICK_MS, serves ports and sessions in between. */
  run(): void {
    let nextTick = this.now() + TICK_MS;
    while (this.stopping === "") {
      const err = guarded(() => this.turn(nextTick));
      if (err !== null) {
        this.coreErrors++;
        this.log.error("core-exception", { input: "loop", err: err }, "loop error: " + err);
      }
      if (this.consoleRestart) {
        this.consoleRestart = false;
        if (this.consoleTtyOpen) {
          this.guard("consoleClosed(0)", (c: Core) => c.consoleClosed(0));
          this.guard("consoleOpen(0)", (c: Core) => c.consoleOpen(0));
        }
      }
      const t = this.now();
      if (t >= nextTick) {
        this.guard("tick", (c: Core) => c.tick());
        this.writeStatus(false);
        nextTick += TICK_MS;
        // after a stall, tick once and realign instead of replaying every missed tick
        if (nextTick <= t) nextTick = t + TICK_MS;
      }
      if (this.statusRequested) {
        this.statusRequested = false;
        this.writeStatus(true);
        this.log.info("status", { status: this.status() }, "status");
      }
    }
  }

  stop(): void {
    if (this.hwSeconds > 0) this.px.unistd.alarm(0);
    if (this.tcp !== null) this.tcp.closeAll();
    for (const t of this.ttys()) t.close();
    this.writeStatus(true);
  }
}

/** Loads LuaBitOp for the hashes, or says why it cannot. */
export function checkBit(): string {
  let why = "";
  const err = guarded(() => {
    luaRequire("bit");
  });
  if (err !== null) why = err;
  return why;
}
