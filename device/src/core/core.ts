// The device core: the relay between host ports A and B, the per-host
// watchdogs, the outlets with their authenticated fence requests and
// arbitration, and the operator console — one deterministic object fed by its
// target's main (see hal.ts for the inputs) with all time taken from
// hal.now(). device.ts wraps it in the `Device` class most targets use; the
// Espruino build uses it directly with a classic-only deframer.
//
// Relay: one deframer per host port. Every whole frame from one port goes out
// on the other unchanged; frames whose `t` starts with "ldev-" are the
// device's own (device.ts of the protocol) and are consumed, never relayed;
// noise and broken frames are dropped and counted. Nothing that is not a
// well-formed frame does anything on a host port.
//
// Written as a closure (state in local variables, the methods in one object
// literal) rather than a class: the Espruino bundle has a size budget, and
// locals minify to one letter where `this.field` does not.
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

// One namespace for the protocol's names: Lua 5.1 allows a function at most 60
// upvalues, and each named import would be one of createCore's.
import * as proto from "@lubdub/protocol/portable";
import { type Hal, LOG_ERROR, LOG_INFO, LOG_WARN, PORT_NAMES } from "./hal.js";
import { type Settings, SETTINGS_KEY, defaultSettings, outletKey, getInt, getString, parseSettings, serializeSettings, setSetting } from "./settings.js";
import type { ConsoleBackend, OutletView } from "./console-backend.js";
import { createConsole } from "./console/console.js";
import { add, checkAuth, draft, type Draft, field, frameOf, plainLines } from "./plain.js";

/** Largest frame relayed; Heartbeat's serial messages are well under 3 KB (bounds each port's buffer). */
export const MAX_RELAY_FRAME = 4096;
/** At most this many drop/refusal log records per port per DROP_LOG_WINDOW_MS; the rest are counted. */
export const DROP_LOG_LIMIT = 5;
export const DROP_LOG_WINDOW_MS = 60000;
/** Storage keys of the boot count and the outlet states ("1" on / "0" off per outlet). */
export const BOOT_KEY = "lubdub.boot";
export const OUTLETS_KEY = "lubdub.out";
const HOUR_MS = 3600000;

/** One host port: its deframer, counters, nonce and watchdog. */
export interface Port {
  d: proto.StreamDeframer;
  /** Bytes written to the port. */
  out: number;
  relayed: number;
  /** Device-looking frames dropped (not a plain classic message); the deframer counts the rest. */
  dropped: number;
  /** ldev-* frames consumed. */
  dev: number;
  refused: number;
  nonce: string;
  // watchdog: armed, given up, timeout, time silence is measured from (in the future during grace), cycle times
  armed: boolean;
  gaveUp: boolean;
  timeout: number;
  last: number;
  cycles: number[];
  /** Until when this port's host may not fence the other port's host (it lost arbitration). */
  hold: number;
  // drop log rate limit: window start, records in it (those past DROP_LOG_LIMIT not logged)
  logAt: number;
  logN: number;
}

export interface FenceRecord {
  /** hal.now() when it happened. */
  at: number;
  /** Requesting port ("a"/"b") and its host name. */
  port: string;
  by: string;
  target: string;
  action: string;
  reason: string;
}

interface Cycle {
  /** 0-based outlet index. */
  i: number;
  at: number;
  done: ((this: void) => void) | null;
}

/** The core: its inputs (hal.ts), the console's backend, and its state for status reports. */
export interface Core extends ConsoleBackend {
  /** Loads settings and outlet states from storage, restores outlets, starts the hardware watchdog. */
  start(): void;
  /** Called every TICK_MS: watchdogs, outlet cycles, console timeouts, the hardware watchdog kick. */
  tick(): void;
  /** Bytes from host port `port` (PORT_A or PORT_B). */
  portData(port: number, bytes: string): void;
  consoleOpen(session: number): void;
  consoleData(session: number, bytes: string): void;
  consoleClosed(session: number): void;
  cfg: Settings;
  boot: number;
  ports: Port[];
  lastFence: FenceRecord | null;
  /** "off" | "armed" | "grace" | "gaveup". */
  wdState(port: number, now: number): string;
  /** Watchdog power cycles of this port in the last hour. */
  recentCycles(port: number, now: number): number;
}

/** `deframer` makes each host port's deframer (both formats, or classic only). */
export function createCore(hal: Hal, deframer: (this: void, maxFrame: number) => proto.StreamDeframer): Core {
  const n = hal.outletCount();
  /** Outlet power as switched (0-based; false during a cycle). */
  const on: boolean[] = [];
  let cyc: Cycle[] = [];
  const ports: Port[] = [];
  let seq = 0;
  for (let i = 0; i < n; i++) on.push(true);
  for (let p = 0; p < 2; p++) {
    ports.push({
      d: deframer(MAX_RELAY_FRAME), out: 0, relayed: 0, dropped: 0, dev: 0, refused: 0, nonce: "",
      armed: false, gaveUp: false, timeout: 0, last: 0, cycles: [], hold: 0, logAt: 0, logN: 0,
    });
  }

  // HAL functions take no `this` (hal.ts), so they can be held apart from it
  const now = hal.now;
  const log = hal.log;
  function int(key: string): number {
    return getInt(self.cfg, key);
  }
  function str(key: string): string {
    return getString(self.cfg, key);
  }
  function host(port: number): string {
    return str(PORT_NAMES[port] + ".host");
  }
  /** "port a (alpha)", for logs. */
  function who(port: number): string {
    return "port " + PORT_NAMES[port] + " (" + host(port) + ")";
  }

  // ---- outlets -----------------------------------------------------------------

  function cycling(i: number): boolean {
    return cyc.some((c) => c.i === i);
  }
  /** "cycling" when any of these outlets is in a power cycle, else "on" when any is on, else "off". */
  function stateOf(outlets: number[]): string {
    return outlets.some((i) => cycling(i)) ? "cycling" : outlets.some((i) => on[i]!) ? proto.ACTION_ON : proto.ACTION_OFF;
  }
  /** Silence is measured from now (a later time set by a grace period stays). */
  function feed(p: Port): void {
    const t = now();
    if (p.last < t) p.last = t;
  }
  /** Is outlet i (0-based) named `name` (any case)? */
  function named(i: number, name: string): boolean {
    return name !== "" && str(outletKey(i + 1)).toLowerCase() === name.toLowerCase();
  }
  /** Does outlet i power the host behind `port`? */
  function owns(port: number, i: number): boolean {
    return named(i, host(port));
  }
  /** Does any of these outlets power the host behind `port`? */
  function hits(outlets: number[], port: number): boolean {
    return outlets.some((i) => owns(port, i));
  }
  /** 0-based indexes of the outlets a target names: an outlet number, or every outlet named so (any case). */
  function resolve(target: string): number[] {
    const out: number[] = [];
    const num = proto.parseDecimal(target);
    for (let i = 0; i < n; i++) if (num === null ? named(i, target) : num === i + 1) out.push(i);
    return out;
  }
  /** Switches outlet i (0-based), persists the intended states and logs who did it. */
  function power(i: number, state: boolean, by: string): void {
    on[i] = state;
    // a host powered on gets wd.grace_ms to boot before its watchdog counts silence
    const until = now() + int("wd.grace_ms");
    for (let p = 0; p < 2; p++) if (state && owns(p, i) && ports[p]!.last < until) ports[p]!.last = until;
    hal.setOutlet(i + 1, state);
    hal.save(OUTLETS_KEY, on.map((v, k) => (v || cycling(k) ? "1" : "0")).join(""));
    log(LOG_INFO, "outlet", "outlet " + (i + 1) + (state ? " on by " : " off by ") + by);
  }
  /** Power-cycles outlet i: off now, on after outlet.off_ms (a cycle in progress is extended). */
  function cycle(i: number, by: string, done: ((this: void) => void) | null): void {
    const at = now() + int("outlet.off_ms");
    for (const c of cyc) if (c.i === i) c.at = at;
    cyc.push({ i: i, at: at, done: done });
    power(i, false, by + " (cycle)");
  }
  /** Ends the cycles of outlet `i` (every outlet when -1) that are due by `until`; `state` null: power back on. */
  function endCycles(i: number, until: number, state: boolean | null, by: string): void {
    const due: Cycle[] = [];
    const rest: Cycle[] = [];
    for (const c of cyc) ((i < 0 || c.i === i) && c.at <= until ? due : rest).push(c);
    if (due.length === 0 && state === null) return;
    cyc = rest;
    if (state !== null) power(i, state, by);
    for (const c of due) {
      if (state === null && !on[c.i]) power(c.i, true, by);
      if (c.done) c.done();
    }
  }

  // ---- relay and device messages -----------------------------------------------

  /** Logs a drop or refusal, at most DROP_LOG_LIMIT per window per port. */
  function note(port: number, event: string, text: string): void {
    const p = ports[port]!;
    const t = now();
    const name = "port " + PORT_NAMES[port] + ": ";
    if (t - p.logAt >= DROP_LOG_WINDOW_MS) {
      if (p.logN > DROP_LOG_LIMIT) log(LOG_WARN, event, name + (p.logN - DROP_LOG_LIMIT) + " more not logged");
      p.logAt = t;
      p.logN = 0;
    }
    p.logN++;
    if (p.logN <= DROP_LOG_LIMIT) log(LOG_WARN, event, name + text);
  }
  function send(port: number, bytes: string): void {
    ports[port]!.out += bytes.length;
    hal.writePort(port, bytes);
  }
  function key(): proto.DeviceKey | null {
    const secret = str("key.secret");
    return secret === "" ? null : { index: int("key.index"), method: str("key.method"), secret: secret };
  }
  /** Sends a device message to a host port, signed when a key is configured. */
  function sendMsg(port: number, msg: Draft): void {
    send(port, frameOf(msg, key(), hal.hmac));
  }
  function nextNonce(): string {
    seq++;
    return self.boot + "-" + seq + "-" + Math.floor(hal.random() * 1000000);
  }
  /** Tells the host behind `port` what happened to `target` (a watchdog cycle, a fence). */
  function event(port: number, name: string, target: string, by: string, reason: string): void {
    let msg = add(add(draft(proto.DEV_EVENT, host(port)), proto.DF_EVENT, name), proto.DF_HOST, target);
    if (by !== "") msg = add(msg, proto.DF_BY, by);
    if (reason !== "") msg = add(msg, proto.DF_REASON, reason);
    sendMsg(port, msg);
  }
  /** Whom a reply goes to: the request's src (bounded), else the port's host. */
  function peer(port: number, req: string[]): string {
    return (field(req, proto.DF_SRC) || host(port)).substring(0, proto.MAX_DEVICE_TEXT);
  }

  function frame(port: number, bytes: string): void {
    const p = ports[port]!;
    feed(p); // any frame feeds the watchdog (a grace period runs on)
    // A frame with a "t=ldev-" field is read (the rest go on untouched):
    // device messages are consumed, never relayed, and so is anything that
    // looks like one but is not a plain classic message (a netstring, typed
    // fields).
    if (bytes.includes("\nt=" + proto.DEVICE_TYPE_PREFIX) || bytes.includes(")t=" + proto.DEVICE_TYPE_PREFIX)) {
      const lines = plainLines(bytes);
      if (!lines) {
        p.dropped++;
        note(port, "drop", "bad device frame");
        return;
      }
      const type = field(lines, "t");
      if (type !== null && type.startsWith(proto.DEVICE_TYPE_PREFIX)) {
        p.dev++;
        request(port, lines, type);
        return;
      }
    }
    p.relayed++;
    send(1 - port, bytes);
  }

  /** "" when the request is signed with the device's key and carries this port's nonce (then rotated). */
  function auth(port: number, req: string[]): string {
    const k = key();
    if (!k) return proto.ERR_NOT_CONFIGURED;
    if (k.method !== "sha1" && k.method !== "md5") return proto.ERR_UNSUPPORTED_METHOD;
    const err = checkAuth(req, k, hal.hmac);
    if (err !== "") return err;
    const p = ports[port]!;
    if (field(req, proto.DF_NONCE) !== p.nonce) return proto.ERR_STALE_NONCE;
    p.nonce = nextNonce();
    return "";
  }

  function request(port: number, req: string[], t: string): void {
    const p = ports[port]!;
    if (t === proto.DEV_HELLO) {
      sendStatus(port, req);
      return;
    }
    if (t !== proto.DEV_WD_ARM && t !== proto.DEV_WD_DISARM && t !== proto.DEV_FENCE) {
      // a device's own message types (status, result, event) or unknown ones: never answered
      p.refused++;
      note(port, "refused", "unexpected " + t);
      return;
    }
    let reply = draft(proto.DEV_RESULT, peer(port, req));
    const reqid = field(req, proto.DF_REQID);
    if (reqid !== null) reply = add(reply, proto.DF_REQID, reqid.substring(0, proto.MAX_DEVICE_TEXT));
    let err = auth(port, req);
    if (err === "" && t === proto.DEV_FENCE) {
      const state = fence(port, req);
      // fence() answers a state ("on", "off", "cycling") or an ERR_ code, and every ERR_ code has a "-"
      if (state.indexOf("-") > 0) err = state;
      else reply = add(reply, proto.DF_STATE, state);
    } else if (err === "") {
      err = arm(port, t === proto.DEV_WD_ARM ? proto.parseDecimal(field(req, proto.DF_TIMEOUT) || "") : -1);
    }
    reply = add(reply, proto.DF_OK, err === "" ? "1" : "0");
    if (err !== "") {
      reply = add(reply, proto.DF_ERROR, err);
      p.refused++;
      note(port, "refused", t + " from " + who(port) + ": " + err);
    }
    sendMsg(port, add(reply, proto.DF_NONCE, p.nonce));
  }

  // ---- host watchdogs ------------------------------------------------------------

  /** Arms this port's watchdog with `timeout` ms, or disarms it (timeout -1). */
  function arm(port: number, timeout: number | null): string {
    const p = ports[port]!;
    if (timeout === -1) {
      p.armed = false;
      log(LOG_INFO, "wd", "disarmed by " + who(port));
      return "";
    }
    if (timeout === null || timeout < int("wd.min_timeout_ms") || timeout > int("wd.max_timeout_ms")) return proto.ERR_BAD_REQUEST;
    p.armed = true;
    p.gaveUp = false;
    p.timeout = timeout;
    feed(p);
    log(LOG_INFO, "wd", "armed " + timeout + " ms by " + who(port));
    return "";
  }

  function tickWatchdog(port: number): void {
    const p = ports[port]!;
    const t = now();
    if (!p.armed || p.gaveUp || t - p.last < p.timeout) return;
    const h = host(port);
    const outlets = resolve(h);
    // A host switched off (fenced, by the console) or being cycled is not silent:
    // it is off. Its watchdog waits; power-on gives it its grace.
    if (outlets.length > 0 && !outlets.some((i) => on[i]!)) {
      p.last = t;
      return;
    }
    const giveUp = self.recentCycles(port, t) >= int("wd.max_per_hour");
    if (giveUp) {
      p.gaveUp = true;
      log(LOG_ERROR, "wd", who(port) + " silent; " + p.cycles.length + " cycles this hour, giving up");
    } else {
      p.cycles.push(t);
      log(LOG_ERROR, "wd", who(port) + " silent " + p.timeout + " ms: power cycle");
      for (const i of outlets) cycle(i, "watchdog " + PORT_NAMES[port], null);
    }
    event(1 - port, giveUp ? proto.EVENT_WD_GIVEUP : proto.EVENT_WD_CYCLE, h, "", "");
  }

  // ---- fencing -------------------------------------------------------------------

  /** Carries out a fence request: the outlets' state ("on", "off", "cycling"), or an ERR_ code. */
  function fence(port: number, req: string[]): string {
    const target = field(req, proto.DF_TARGET);
    const action = field(req, proto.DF_ACTION);
    const reason = field(req, proto.DF_REASON) || "";
    if (target === null || target.length > proto.MAX_DEVICE_TEXT || reason.length > proto.MAX_DEVICE_TEXT) return proto.ERR_BAD_REQUEST;
    if (action !== proto.ACTION_ON && action !== proto.ACTION_OFF && action !== proto.ACTION_REBOOT && action !== proto.ACTION_STATUS) return proto.ERR_BAD_REQUEST;
    const outlets = resolve(target);
    if (outlets.length === 0) return proto.ERR_UNKNOWN_TARGET;
    const t = now();
    const other = 1 - port;
    const me = host(port);
    if (action !== proto.ACTION_STATUS) {
      // A requester that is itself off or being cycled, or that was fenced by its
      // peer less than fence.hold_ms ago, may not switch its peer's power.
      for (const i of resolve(me)) if (!on[i]) return proto.ERR_LOST_ARBITRATION;
      if (t < ports[port]!.hold && hits(outlets, other)) return proto.ERR_LOST_ARBITRATION;
      const by = who(port);
      for (const i of outlets) {
        if (action === proto.ACTION_REBOOT) cycle(i, by, null);
        else power(i, action === proto.ACTION_ON, by);
      }
      if (action !== proto.ACTION_ON) {
        if (hits(outlets, other)) ports[other]!.hold = t + int("fence.hold_ms");
        self.lastFence = { at: t, port: PORT_NAMES[port]!, by: me, target: target, action: action, reason: reason };
        log(LOG_WARN, "fence", target + " " + action + " by " + by + ": " + reason);
        event(other, proto.EVENT_FENCED, target, me, reason);
      }
    }
    return stateOf(outlets);
  }

  /** ldev-status: outlets, watchdogs, last fence, boot count and this port's nonce; ok=0 when no key is set. */
  function sendStatus(port: number, hello: string[]): void {
    const t = now();
    let msg = draft(proto.DEV_STATUS, peer(port, hello));
    msg = !key() ? add(add(msg, proto.DF_OK, "0"), proto.DF_ERROR, proto.ERR_NOT_CONFIGURED) : add(msg, proto.DF_OK, "1");
    const outlets = self.outlets().map((o) => o.n + " " + o.name + " " + stateOf([o.n - 1]));
    const wds = PORT_NAMES.map((name, i) => name + " " + (host(i) || "-") + " " + self.wdState(i, t) + " " + ports[i]!.timeout + " " + self.recentCycles(i, t));
    const f = self.lastFence;
    msg = add(add(msg, proto.DF_OUTLETS, outlets.join(proto.DEVICE_LIST_SEP)), proto.DF_WATCHDOGS, wds.join(proto.DEVICE_LIST_SEP));
    msg = add(msg, proto.DF_LAST_FENCE, !f ? "" : f.target + " " + f.action + " " + (f.by || "-") + " " + (t - f.at) + " " + f.reason);
    sendMsg(port, add(add(msg, proto.DF_BOOT, "" + self.boot), proto.DF_NONCE, ports[port]!.nonce));
  }

  const self: Core = {
    cfg: defaultSettings(n),
    boot: 0,
    ports: ports,
    lastFence: null,

    start(): void {
      self.boot = (proto.parseDecimal(hal.load(BOOT_KEY) || "") || 0) + 1;
      hal.save(BOOT_KEY, "" + self.boot);
      const text = hal.load(SETTINGS_KEY);
      // (nothing stored, or stored empty: the defaults stand)
      if (text) {
        self.cfg = parseSettings(text, n, (line, problem) => log(LOG_WARN, "settings", SETTINGS_KEY + ":" + line + ": " + problem + " (default kept)"));
      }
      const saved = hal.load(OUTLETS_KEY) || "";
      for (let i = 0; i < n; i++) {
        on[i] = saved.charAt(i) !== "0";
        hal.setOutlet(i + 1, on[i]!);
      }
      for (const p of ports) p.nonce = nextNonce();
      hal.enableWatchdog(int("hw_wd_s"));
      log(LOG_INFO, "boot", "boot " + self.boot + ", " + n + " outlets");
    },
    tick(): void {
      hal.kickWatchdog();
      try {
        endCycles(-1, now(), null, "cycle end");
        for (let p = 0; p < 2; p++) tickWatchdog(p);
        con.tick();
      } catch (e) {
        log(LOG_ERROR, "internal", "tick: " + (e as string));
      }
    },
    portData(port: number, bytes: string): void {
      const p = ports[port];
      if (!p) return;
      try {
        for (const ev of p.d.push(bytes)) {
          if (ev.frame === null) note(port, "drop", ev.reason + " " + ev.bytes + " bytes: " + ev.detail);
          else frame(port, ev.frame);
        }
      } catch (e) {
        log(LOG_ERROR, "internal", "port " + PORT_NAMES[port] + ": " + (e as string));
      }
    },
    consoleOpen(session: number): void {
      con.open(session);
    },
    consoleData(session: number, bytes: string): void {
      con.data(session, bytes);
    },
    consoleClosed(session: number): void {
      con.closed(session);
    },
    wdState(port: number, t: number): string {
      const p = ports[port]!;
      return !p.armed ? "off" : p.gaveUp ? "gaveup" : p.last > t ? "grace" : "armed";
    },
    recentCycles(port: number, t: number): number {
      const c = ports[port]!.cycles;
      while (c.length > 0 && t - c[0]! >= HOUR_MS) c.shift();
      return c.length;
    },

    // ConsoleBackend
    now(): number {
      return now();
    },
    settings(): Settings {
      return self.cfg;
    },
    changeSetting(k: string, value: string): string {
      const problem = setSetting(self.cfg, k, value);
      if (problem === "") hal.save(SETTINGS_KEY, serializeSettings(self.cfg));
      return problem;
    },
    outlets(): OutletView[] {
      return on.map((v, i): OutletView => ({ n: i + 1, name: str(outletKey(i + 1)), on: v, cycling: cycling(i) }));
    },
    switchOutlet(num: number, state: boolean, by: string): void {
      // ends any cycle of that outlet at once (its `done` runs), then switches it as asked
      if (num >= 1 && num <= n) endCycles(num - 1, Infinity, state, by);
    },
    rebootOutlet(num: number, by: string, done: (this: void) => void): boolean {
      const i = num - 1;
      // an outlet that is off, or not there (on[i] unset), has nothing to reboot
      if (!on[i] && !cycling(i)) return false;
      cycle(i, by, done);
      return true;
    },
    write(session: number, text: string): void {
      hal.writeConsole(session, text);
    },
    close(session: number): void {
      hal.closeConsole(session);
    },
    log(level: number, event: string, text: string): void {
      log(level, event, text);
    },
  };
  const con = createConsole(self);
  return self;
}
