// The device: the relay between host ports A and B, the per-host watchdogs,
// the outlets with their authenticated fence requests and arbitration, and
// the operator console — one deterministic object fed by its target's main
// (see hal.ts for the inputs) with all time taken from hal.now().
//
// Relay: one Deframer per host port. Every whole frame from one port goes out
// on the other unchanged; frames whose `t` starts with "ldev-" are the
// device's own (device.ts of the protocol) and are consumed, never relayed;
// noise and broken frames are dropped and counted. Nothing that is not a
// well-formed frame does anything on a host port.
//
// The Device is also the console's ConsoleBackend (outlets, settings, output).
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import {
  ACTION_OFF, ACTION_ON, ACTION_REBOOT, ACTION_STATUS, DEV_FENCE, DEV_EVENT, DEV_HELLO, DEV_RESULT, DEV_STATUS, DEV_WD_ARM,
  DEV_WD_DISARM, DEVICE_NODE, DEVICE_TYPE_PREFIX, FT_STRING, newMessage, DF_ACTION, DF_BOOT, DF_BY, DF_ERROR, DF_EVENT, DF_HOST, DF_LAST_FENCE, DF_NONCE, DF_OK, DF_OUTLETS, DF_REASON,
  DF_REQID, DF_SRC, DF_STATE, DF_TARGET, DF_TIMEOUT, DF_WATCHDOGS, Deframer, DeviceKey, ERR_BAD_REQUEST, ERR_LOST_ARBITRATION,
  ERR_NOT_CONFIGURED, ERR_STALE_NONCE, ERR_UNKNOWN_TARGET, ERR_UNSUPPORTED_METHOD, EVENT_FENCED, EVENT_WD_CYCLE, EVENT_WD_GIVEUP,
  MAX_DEVICE_TEXT, Message, deviceMessage, encodeClassic, formatDecimal, getDecimalField, getField,
  isDeviceMessage, joinDeviceList, parseDecimal, setString, signDeviceMessage, verifyDeviceMessage,
} from "@lubdub/protocol/portable";
import { type Hal, LOG_ERROR, LOG_INFO, LOG_WARN, PORT_NAMES } from "./hal.js";
import { type Settings, SETTINGS_KEY, defaultSettings, outletKey, getInt, getString, parseSettings, serializeSettings, setSetting } from "./settings.js";
import type { ConsoleBackend, ConsoleHandler, OutletView } from "./console-backend.js";
import { createConsole } from "./console/console.js";

/** Largest frame relayed; Heartbeat's serial messages are well under 3 KB (bounds each port's buffer). */
export const MAX_RELAY_FRAME = 4096;
/** At most this many drop/refusal log records per port per DROP_LOG_WINDOW_MS; the rest are counted. */
export const DROP_LOG_LIMIT = 5;
export const DROP_LOG_WINDOW_MS = 60000;
/** Storage keys of the boot count and the outlet states ("1" on / "0" off per outlet). */
export const BOOT_KEY = "lubdub.boot";
export const OUTLETS_KEY = "lubdub.out";
const HOUR_MS = 3600000;

/** Per host port counters (status()). */
export interface PortStatus {
  /** "a" or "b". */
  port: string;
  /** The host behind the port (a.host / b.host), "" when not configured. */
  host: string;
  bytesIn: number;
  bytesOut: number;
  /** Well-formed frames received (relayed, consumed or refused). */
  frames: number;
  /** Frames passed on to the other port. */
  relayed: number;
  /** Frames dropped (truncated, oversize, malformed, incomplete, undecodable device frames). */
  dropped: number;
  /** Bytes dropped: those frames plus noise (interpreter commands, line garbage). */
  droppedBytes: number;
  /** ldev-* frames consumed by the device. */
  device: number;
  /** Device requests refused (authentication, nonce, arbitration, bad request). */
  refused: number;
  /** Watchdog: "off" | "armed" | "grace" | "gaveup". */
  wd: string;
  wdTimeout: number;
  /** Watchdog power cycles in the last hour. */
  wdCycles: number;
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

export interface DeviceStatus {
  boot: number;
  ports: PortStatus[];
  outlets: OutletView[];
  lastFence: FenceRecord | null;
}

interface Port {
  d: Deframer;
  out: number;
  relayed: number;
  dropped: number;
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
  // drop log rate limit: window start, records in it, records suppressed
  logAt: number;
  logN: number;
  logSkip: number;
}

interface Cycle {
  /** 0-based outlet index. */
  i: number;
  at: number;
  done: ((this: void) => void) | null;
}

/**
 * A classic frame (">>>\n" lines "<<<\n", as the deframer passes them on)
 * whose lines are all untyped `name=value` strings, as device messages are;
 * null for anything else. Values are kept as on the wire, so the auth digest
 * over them is the protocol's (renderClassicLines), without its full decoder.
 */
function plainMessage(frame: string): Message | null {
  const lines = frame.split("\n");
  if (lines[0] !== ">>>") return null;
  const msg = newMessage();
  for (let i = 1; i < lines.length - 2; i++) {
    const l = lines[i]!;
    const eq = l.indexOf("=");
    if (eq <= 0 || l.charCodeAt(0) === 40) return null;
    msg.fields.push({ name: l.substring(0, eq), type: FT_STRING, value: l.substring(eq + 1) });
  }
  return msg;
}

function lower(s: string): string {
  return s.toLowerCase();
}

export class Device implements ConsoleBackend {
  cfg: Settings;
  boot = 0;
  /** Outlet power as switched (0-based; false during a cycle). */
  on: boolean[] = [];
  cyc: Cycle[] = [];
  ports: Port[] = [];
  lastFence: FenceRecord | null = null;
  con: ConsoleHandler;
  private seq = 0;

  constructor(readonly hal: Hal) {
    const n = hal.outletCount();
    this.cfg = defaultSettings(n);
    for (let i = 0; i < n; i++) this.on.push(true);
    for (let p = 0; p < 2; p++) {
      this.ports.push({
        d: new Deframer(MAX_RELAY_FRAME), out: 0, relayed: 0, dropped: 0, dev: 0, refused: 0, nonce: "",
        armed: false, gaveUp: false, timeout: 0, last: 0, cycles: [], hold: 0, logAt: 0, logN: 0, logSkip: 0,
      });
    }
    this.con = createConsole(this);
  }

  /** Loads settings and outlet states from storage, restores outlets, starts the hardware watchdog. */
  start(): void {
    const hal = this.hal;
    this.boot = (parseDecimal(hal.load(BOOT_KEY) || "") || 0) + 1;
    hal.save(BOOT_KEY, formatDecimal(this.boot));
    const text = hal.load(SETTINGS_KEY);
    if (text !== null) {
      this.cfg = parseSettings(text, this.on.length, function (this: void, line: number, problem: string): void {
        hal.log(LOG_WARN, "settings", SETTINGS_KEY + ":" + line + ": " + problem + " (default kept)");
      });
    }
    const saved = hal.load(OUTLETS_KEY) || "";
    for (let i = 0; i < this.on.length; i++) {
      this.on[i] = saved.charAt(i) !== "0";
      hal.setOutlet(i + 1, this.on[i]!);
    }
    for (const p of this.ports) p.nonce = this.nextNonce();
    hal.enableWatchdog(this.int("hw_wd_s"));
    hal.log(LOG_INFO, "boot", "boot " + this.boot + ", " + this.on.length + " outlets");
  }

  /** Called every TICK_MS: watchdogs, outlet cycles, console timeouts, the hardware watchdog kick. */
  tick(): void {
    this.hal.kickWatchdog();
    try {
      this.tickCycles();
      for (let p = 0; p < 2; p++) this.tickWatchdog(p);
      this.con.tick();
    } catch (e) {
      this.log(LOG_ERROR, "internal", "tick: " + (e as string));
    }
  }

  /** Bytes from host port `port` (PORT_A or PORT_B). */
  portData(port: number, bytes: string): void {
    const p = this.ports[port];
    if (p === undefined) return;
    try {
      for (const ev of p.d.push(bytes)) {
        if (ev.frame === null) this.note(port, "drop", ev.reason + " " + ev.bytes + " bytes: " + ev.detail);
        else this.frame(port, ev.frame);
      }
    } catch (e) {
      this.log(LOG_ERROR, "internal", "port " + PORT_NAMES[port] + ": " + (e as string));
    }
  }

  consoleOpen(session: number): void {
    this.con.open(session);
  }
  consoleData(session: number, bytes: string): void {
    this.con.data(session, bytes);
  }
  consoleClosed(session: number): void {
    this.con.closed(session);
  }

  /** A snapshot of counters, outlets, watchdogs and the last fence (for the simulator and tests). */
  status(): DeviceStatus {
    const now = this.now();
    const ports: PortStatus[] = [];
    for (let i = 0; i < 2; i++) {
      const p = this.ports[i]!;
      const s = p.d.stats;
      ports.push({
        port: PORT_NAMES[i]!, host: this.host(i), bytesIn: s.bytesIn, bytesOut: p.out, frames: s.frames, relayed: p.relayed,
        dropped: s.droppedFrames + p.dropped, droppedBytes: s.droppedBytes, device: p.dev, refused: p.refused,
        wd: this.wdState(i, now), wdTimeout: p.timeout, wdCycles: this.recentCycles(p, now),
      });
    }
    return { boot: this.boot, ports: ports, outlets: this.outlets(), lastFence: this.lastFence };
  }

  // ---- ConsoleBackend ----------------------------------------------------------

  now(): number {
    return this.hal.now();
  }
  settings(): Settings {
    return this.cfg;
  }
  changeSetting(key: string, value: string): string {
    const problem = setSetting(this.cfg, key, value);
    if (problem === "") this.hal.save(SETTINGS_KEY, serializeSettings(this.cfg));
    return problem;
  }
  outlets(): OutletView[] {
    const out: OutletView[] = [];
    for (let i = 0; i < this.on.length; i++) {
      out.push({ n: i + 1, name: this.str(outletKey(i + 1)), on: this.on[i]!, cycling: this.cycling(i) });
    }
    return out;
  }
  switchOutlet(n: number, on: boolean, who: string): void {
    if (n < 1 || n > this.on.length) return;
    const due: Cycle[] = [];
    const rest: Cycle[] = [];
    for (const c of this.cyc) (c.i === n - 1 ? due : rest).push(c);
    this.cyc = rest;
    this.power(n - 1, on, who);
    for (const c of due) if (c.done !== null) c.done();
  }
  rebootOutlet(n: number, who: string, done: (this: void) => void): boolean {
    const i = n - 1;
    if (i < 0 || i >= this.on.length || (!this.on[i] && !this.cycling(i))) return false;
    this.cycle(i, who, done);
    return true;
  }
  write(session: number, text: string): void {
    this.hal.writeConsole(session, text);
  }
  close(session: number): void {
    this.hal.closeConsole(session);
  }
  log(level: number, event: string, text: string): void {
    this.hal.log(level, event, text);
  }

  // ---- outlets -----------------------------------------------------------------

  private cycling(i: number): boolean {
    for (const c of this.cyc) if (c.i === i) return true;
    return false;
  }

  /** Switches outlet i (0-based), persists the intended states and logs who did it. */
  private power(i: number, on: boolean, who: string): void {
    this.on[i] = on;
    // a host powered on gets wd.grace_ms to boot before its watchdog counts silence
    const until = this.now() + this.int("wd.grace_ms");
    for (let p = 0; p < 2; p++) if (on && this.owns(p, i) && this.ports[p]!.last < until) this.ports[p]!.last = until;
    this.hal.setOutlet(i + 1, on);
    this.saveOutlets();
    this.log(LOG_INFO, "outlet", "outlet " + (i + 1) + " " + (on ? "on" : "off") + " by " + who);
  }

  private saveOutlets(): void {
    let s = "";
    for (let i = 0; i < this.on.length; i++) s += this.on[i] || this.cycling(i) ? "1" : "0";
    this.hal.save(OUTLETS_KEY, s);
  }

  /** Power-cycles outlet i: off now, on after outlet.off_ms (a cycle in progress is extended). */
  private cycle(i: number, who: string, done: ((this: void) => void) | null): void {
    const at = this.now() + this.int("outlet.off_ms");
    for (const c of this.cyc) if (c.i === i) c.at = at;
    this.cyc.push({ i: i, at: at, done: done });
    this.power(i, false, who + " (cycle)");
  }

  private tickCycles(): void {
    const now = this.now();
    const due: Cycle[] = [];
    const rest: Cycle[] = [];
    for (const c of this.cyc) (c.at <= now ? due : rest).push(c);
    if (due.length === 0) return;
    this.cyc = rest;
    for (const c of due) {
      if (!this.on[c.i]) this.power(c.i, true, "cycle end");
      if (c.done !== null) c.done();
    }
  }

  /** 0-based indexes of the outlets a target names: an outlet number, or every outlet named so (any case). */
  private resolve(target: string): number[] {
    const out: number[] = [];
    const n = parseDecimal(target);
    if (n !== null) {
      if (n >= 1 && n <= this.on.length) out.push(n - 1);
      return out;
    }
    for (let i = 0; i < this.on.length; i++) if (this.named(i, target)) out.push(i);
    return out;
  }

  /** Is outlet i (0-based) named `name` (any case)? */
  private named(i: number, name: string): boolean {
    return name !== "" && lower(this.str(outletKey(i + 1))) === lower(name);
  }

  /** Does outlet i power the host behind `port`? */
  private owns(port: number, i: number): boolean {
    return this.named(i, this.host(port));
  }

  // ---- relay and device messages -----------------------------------------------

  private int(key: string): number {
    return getInt(this.cfg, key);
  }

  private str(key: string): string {
    return getString(this.cfg, key);
  }

  private host(port: number): string {
    return this.str(PORT_NAMES[port] + ".host");
  }

  /** Whom a reply goes to: the request's src (bounded), else the port's host. */
  private peer(port: number, msg: Message): string {
    return (getField(msg, DF_SRC) || this.host(port)).substring(0, MAX_DEVICE_TEXT);
  }

  private who(port: number): string {
    return "port " + PORT_NAMES[port] + " (" + this.host(port) + ")";
  }

  /** Logs a drop or refusal, at most DROP_LOG_LIMIT per window per port. */
  private note(port: number, event: string, text: string): void {
    const p = this.ports[port]!;
    const now = this.now();
    if (now - p.logAt >= DROP_LOG_WINDOW_MS) {
      if (p.logSkip > 0) this.log(LOG_WARN, event, "port " + PORT_NAMES[port] + ": " + p.logSkip + " more not logged");
      p.logAt = now;
      p.logN = 0;
      p.logSkip = 0;
    }
    if (p.logN < DROP_LOG_LIMIT) {
      p.logN++;
      this.log(LOG_WARN, event, "port " + PORT_NAMES[port] + ": " + text);
    } else {
      p.logSkip++;
    }
  }

  private frame(port: number, frame: string): void {
    const p = this.ports[port]!;
    const now = this.now();
    if (p.last < now) p.last = now; // feeds the watchdog (not during grace)
    // A frame with a "t=ldev-" field is decoded (the rest go on undecoded):
    // device messages are consumed, never relayed, and so is anything that
    // looks like one but is not a plain classic message (a netstring, typed
    // fields).
    if (frame.indexOf("\nt=" + DEVICE_TYPE_PREFIX) >= 0 || frame.indexOf(")t=" + DEVICE_TYPE_PREFIX) >= 0) {
      const msg = plainMessage(frame);
      if (msg === null) {
        p.dropped++;
        this.note(port, "drop", "bad device frame");
        return;
      }
      if (isDeviceMessage(msg)) {
        p.dev++;
        this.request(port, msg);
        return;
      }
    }
    p.relayed++;
    this.send(1 - port, frame);
  }

  private send(port: number, bytes: string): void {
    this.ports[port]!.out += bytes.length;
    this.hal.writePort(port, bytes);
  }

  /** Sends a device message to a host port, signed when a key is configured. */
  private sendMsg(port: number, msg: Message): void {
    const k = this.key();
    if (k !== null) signDeviceMessage(msg, k, this.hal.hmac);
    this.send(port, encodeClassic(msg));
  }

  private key(): DeviceKey | null {
    const secret = this.str("key.secret");
    if (secret === "") return null;
    return { index: this.int("key.index"), method: this.str("key.method"), secret: secret };
  }

  private nextNonce(): string {
    this.seq++;
    return this.boot + "-" + this.seq + "-" + Math.floor(this.hal.random() * 1000000);
  }

  private event(port: number, event: string, host: string, by: string, reason: string): void {
    const msg = deviceMessage(DEV_EVENT, DEVICE_NODE, this.host(port));
    setString(msg, DF_EVENT, event);
    setString(msg, DF_HOST, host);
    if (by !== "") setString(msg, DF_BY, by);
    if (reason !== "") setString(msg, DF_REASON, reason);
    this.sendMsg(port, msg);
  }

  /** "" when the request is signed with the device's key and carries this port's nonce (then rotated). */
  private auth(port: number, msg: Message): string {
    const k = this.key();
    if (k === null) return ERR_NOT_CONFIGURED;
    if (k.method !== "sha1" && k.method !== "md5") return ERR_UNSUPPORTED_METHOD;
    const err = verifyDeviceMessage(msg, k, this.hal.hmac);
    if (err !== "") return err;
    const p = this.ports[port]!;
    if (getField(msg, DF_NONCE) !== p.nonce) return ERR_STALE_NONCE;
    p.nonce = this.nextNonce();
    return "";
  }

  private request(port: number, msg: Message): void {
    const t = getField(msg, "t");
    const p = this.ports[port]!;
    if (t === DEV_HELLO) {
      this.sendStatus(port, msg);
      return;
    }
    if (t !== DEV_WD_ARM && t !== DEV_WD_DISARM && t !== DEV_FENCE) {
      // a device's own message types (status, result, event) or unknown ones: never answered
      p.refused++;
      this.note(port, "refused", "unexpected " + t);
      return;
    }
    const reply = deviceMessage(DEV_RESULT, DEVICE_NODE, this.peer(port, msg));
    const reqid = getField(msg, DF_REQID);
    if (reqid !== null) setString(reply, DF_REQID, reqid.substring(0, MAX_DEVICE_TEXT));
    let err = this.auth(port, msg);
    if (err === "") {
      if (t === DEV_FENCE) err = this.fence(port, msg, reply);
      else err = this.arm(port, t === DEV_WD_ARM ? getDecimalField(msg, DF_TIMEOUT) : -1);
    }
    setString(reply, DF_OK, err === "" ? "1" : "0");
    if (err !== "") {
      setString(reply, DF_ERROR, err);
      p.refused++;
      this.note(port, "refused", t + " from " + this.who(port) + ": " + err);
    }
    setString(reply, DF_NONCE, p.nonce);
    this.sendMsg(port, reply);
  }

  // ---- host watchdogs ------------------------------------------------------------

  /** Arms this port's watchdog with `timeout` ms, or disarms it (timeout -1). */
  private arm(port: number, timeout: number | null): string {
    const p = this.ports[port]!;
    if (timeout === -1) {
      p.armed = false;
      this.log(LOG_INFO, "wd", "disarmed by " + this.who(port));
      return "";
    }
    if (timeout === null || timeout < this.int("wd.min_timeout_ms") || timeout > this.int("wd.max_timeout_ms")) return ERR_BAD_REQUEST;
    const now = this.now();
    p.armed = true;
    p.gaveUp = false;
    p.timeout = timeout;
    if (p.last < now) p.last = now;
    this.log(LOG_INFO, "wd", "armed " + timeout + " ms by " + this.who(port));
    return "";
  }

  private recentCycles(p: Port, now: number): number {
    while (p.cycles.length > 0 && now - p.cycles[0]! >= HOUR_MS) p.cycles.shift();
    return p.cycles.length;
  }

  private wdState(port: number, now: number): string {
    const p = this.ports[port]!;
    return !p.armed ? "off" : p.gaveUp ? "gaveup" : p.last > now ? "grace" : "armed";
  }

  private tickWatchdog(port: number): void {
    const p = this.ports[port]!;
    const now = this.now();
    if (!p.armed || p.gaveUp || now - p.last < p.timeout) return;
    const host = this.host(port);
    const outlets = this.resolve(host);
    // A host switched off (fenced, by the console) or being cycled is not silent:
    // it is off. Its watchdog waits; power-on gives it its grace.
    let powered = outlets.length === 0;
    for (const i of outlets) if (this.on[i]) powered = true;
    if (!powered) {
      p.last = now;
      return;
    }
    if (this.recentCycles(p, now) >= this.int("wd.max_per_hour")) {
      p.gaveUp = true;
      this.log(LOG_ERROR, "wd", this.who(port) + " silent; " + p.cycles.length + " cycles this hour, giving up");
      this.event(1 - port, EVENT_WD_GIVEUP, host, "", "");
      return;
    }
    p.cycles.push(now);
    this.log(LOG_ERROR, "wd", this.who(port) + " silent " + p.timeout + " ms: power cycle");
    for (const i of outlets) this.cycle(i, "watchdog " + PORT_NAMES[port], null);
    this.event(1 - port, EVENT_WD_CYCLE, host, "", "");
  }

  // ---- fencing -------------------------------------------------------------------

  /** Does any of these outlets power the host behind `port`? */
  private hits(outlets: number[], port: number): boolean {
    for (const i of outlets) if (this.owns(port, i)) return true;
    return false;
  }

  private fence(port: number, msg: Message, reply: Message): string {
    const target = getField(msg, DF_TARGET);
    const action = getField(msg, DF_ACTION);
    const reason = getField(msg, DF_REASON) || "";
    if (target === null || action === null || target.length > MAX_DEVICE_TEXT || reason.length > MAX_DEVICE_TEXT) return ERR_BAD_REQUEST;
    if (action !== ACTION_ON && action !== ACTION_OFF && action !== ACTION_REBOOT && action !== ACTION_STATUS) return ERR_BAD_REQUEST;
    const outlets = this.resolve(target);
    if (outlets.length === 0) return ERR_UNKNOWN_TARGET;
    const now = this.now();
    const other = 1 - port;
    if (action !== ACTION_STATUS) {
      // A requester that is itself off or being cycled, or that was fenced by its
      // peer less than fence.hold_ms ago, may not switch its peer's power.
      const mine = this.resolve(this.host(port));
      for (const i of mine) if (!this.on[i]) return ERR_LOST_ARBITRATION;
      if (now < this.ports[port]!.hold && this.hits(outlets, other)) return ERR_LOST_ARBITRATION;
      const by = this.who(port);
      for (const i of outlets) {
        if (action === ACTION_REBOOT) this.cycle(i, by, null);
        else this.power(i, action === ACTION_ON, by);
      }
      if (action !== ACTION_ON) {
        if (this.hits(outlets, other)) this.ports[other]!.hold = now + this.int("fence.hold_ms");
        this.lastFence = { at: now, port: PORT_NAMES[port]!, by: this.host(port), target: target, action: action, reason: reason };
        this.log(LOG_WARN, "fence", target + " " + action + " by " + by + ": " + reason);
        this.event(other, EVENT_FENCED, target, this.host(port), reason);
      }
    }
    let state = ACTION_OFF;
    for (const i of outlets) if (this.on[i]) state = ACTION_ON;
    for (const i of outlets) if (this.cycling(i)) state = "cycling";
    setString(reply, DF_STATE, state);
    return "";
  }

  /** ldev-status: outlets, watchdogs, last fence, boot count and this port's nonce; ok=0 when no key is set. */
  private sendStatus(port: number, hello: Message): void {
    const now = this.now();
    const msg = deviceMessage(DEV_STATUS, DEVICE_NODE, this.peer(port, hello));
    const k = this.key();
    setString(msg, DF_OK, k === null ? "0" : "1");
    if (k === null) setString(msg, DF_ERROR, ERR_NOT_CONFIGURED);
    const outlets: string[] = [];
    for (const o of this.outlets()) outlets.push(o.n + " " + o.name + " " + (o.cycling ? "cycling" : o.on ? "on" : "off"));
    setString(msg, DF_OUTLETS, joinDeviceList(outlets));
    const wds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const p = this.ports[i]!;
      wds.push(PORT_NAMES[i] + " " + (this.host(i) || "-") + " " + this.wdState(i, now) + " " + p.timeout + " " + this.recentCycles(p, now));
    }
    setString(msg, DF_WATCHDOGS, joinDeviceList(wds));
    const f = this.lastFence;
    setString(msg, DF_LAST_FENCE, f === null ? "" : f.target + " " + f.action + " " + (f.by || "-") + " " + (now - f.at) + " " + f.reason);
    setString(msg, DF_BOOT, formatDecimal(this.boot));
    setString(msg, DF_NONCE, this.ports[port]!.nonce);
    this.sendMsg(port, msg);
  }
}
