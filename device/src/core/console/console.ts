// The operator console: the BayTech RPC dialogue that cluster-glue's
// `stonith -t baytech` drives (banner, login, main menu, outlet control
// screen, status block), plus a configuration screen for operators.
//
// What the plugin relies on, and this file keeps:
// - it matches tokens in a stream ("RPC", "Menu:", ">", "Status",
//   "emperature: ", "ebooting selected outlet", "ower applied to outlet",
//   "already ", "(Y/N)>", "election>"), so no "RPC" or ">" is printed
//   between a screen's start and the prompt it waits for;
// - it types ahead, so every session's input is a FIFO of lines run strictly
//   in order, never flushed; a reboot holds the queue until power is back;
// - echo is optional, and a password is never echoed.
//
// Portable subset: compiled for Espruino and Lua 5.1 too. Kept small (the
// Espruino bundle has a size budget): short field names, one prompt helper,
// one status block for all three models.

import type { ConsoleBackend, ConsoleHandler } from "../console-backend.js";
import { LOG_INFO, LOG_WARN } from "../hal.js";
import { getInt, getString, isSecret, settingKeys } from "../settings.js";
import { parseDecimal } from "@lubdub/protocol/portable";

/** Longest input line kept; further bytes of that line are dropped and counted. */
export const MAX_LINE = 80;
/** Lines queued per session (type-ahead); more are dropped and counted. */
export const MAX_QUEUE = 16;
/** Sessions at once; one more is told so and closed. */
export const MAX_SESSIONS = 8;
/** Width of the outlet name column: RPC-5's 18 (RPC-3 reads the first 10). */
export const NAME_WIDTH = 18;

const CONFIG_HELP = "SET key value, MENU";

// Session states.
const USER = 0;
const PASS = 1;
const MENU = 2;
const OUTLETS = 3;
const CONFIG = 4;
const CONFIRM = 5;

interface Session {
  id: number;
  /** State: USER … CONFIRM. */
  st: number;
  /** Who, for logs: "console:" + the user name given at login. */
  u: string;
  /** Queued complete lines. */
  q: string[];
  /** The line being received. */
  l: string;
  // The flags below start unset (false) and pc/pn are set before they are read.
  /** Last byte was CR (a following LF belongs to it). */
  cr?: boolean;
  /** Telnet IAC state: 0 none, 1 after IAC, 2 option byte next. No SB: the console never asks for one. */
  t: number;
  /** Last activity (ms). */
  at: number;
  /** A reboot is running; the queue waits for it. */
  b?: boolean;
  /** Closed: nothing more runs or is written. */
  g?: boolean;
  /** The command waiting for (Y/N), and its outlet. */
  pc?: string;
  pn?: number;
}

/** The console with its counters (for status reports and tests). */
export interface Console extends ConsoleHandler {
  /** Input bytes and lines dropped (over-long lines, full queues). */
  drops: number;
  /** Refused logins. */
  refused: number;
  /** Times the console was locked after repeated bad passwords. */
  locks: number;
}

export function createConsole(backend: ConsoleBackend): Console {
  const sessions: Session[] = [];
  let lockedUntil = -1;
  let fails = 0;
  let failsSince = 0;

  function get(key: string): string {
    return getString(backend.settings(), key);
  }
  function num(key: string): number {
    return getInt(backend.settings(), key);
  }
  function find(id: number): Session | undefined {
    return sessions.find((s) => s.id === id);
  }
  function drop(s: Session | undefined): void {
    if (!s || s.g) return;
    s.g = true;
    sessions.splice(sessions.indexOf(s), 1);
  }
  function locked(): boolean {
    return backend.now() < lockedUntil;
  }
  /** Writes `text` then, depending on `then`: the outlet prompt, the main menu, the config prompt, "" nothing, or closes. */
  function say(s: Session, text: string, then: number): void {
    const m = get("model");
    backend.write(s.id, text + (then === OUTLETS ? "\r\n" + m + ">" : then === MENU ? "\r\n\r\n" + m +
      " Menu:\r\n\r\n    1)...Outlet Control\r\n    3)...Configuration\r\n    6)...Logout\r\n\r\nEnter Selection>" : then === CONFIG ? "\r\nConfig>" : ""));
    if (then === MENU) s.st = MENU;
    if (then === -1) {
      drop(s);
      backend.close(s.id);
    }
  }
  /** The status block: RPC-5's "emperature: " line, RPC-3's "Status" header, outlet lines, an empty line. */
  function block(): string {
    // the header's Name column is NAME_WIDTH + 1 wide
    let t = "\r\nInternal Temperature: n/a\r\nOutlet       Name               Status\r\n";
    for (const o of backend.outlets()) {
      t += ("" + o.n).padStart(7) + "       " + o.name.padEnd(NAME_WIDTH).substring(0, NAME_WIDTH) + (o.on ? "   On" : "   Off") + "\r\n";
    }
    return t;
  }
  function act(s: Session, cmd: string, n: number): void {
    const who = s.u;
    if (cmd !== "REBOOT") {
      backend.switchOutlet(n, cmd === "ON", who);
      say(s, block(), OUTLETS);
      return;
    }
    s.b = true;
    backend.write(s.id, "\r\nRebooting selected outlet(s)...\r\n");
    if (!backend.rebootOutlet(n, who, () => {
      s.b = false;
      s.at = backend.now();
      if (s.g) return;
      say(s, "Power applied to outlet " + n + "\r\n", OUTLETS);
      run(s);
    })) {
      s.b = false;
      say(s, "Outlet " + n + " already off.\r\n", OUTLETS);
    }
  }
  /** The configuration screen: every setting (secrets only as set / not set). */
  function settingsList(): string {
    const set = backend.settings();
    let t = "\r\n";
    for (const k of settingKeys(set)) {
      const v = getString(set, k);
      t += k + " = " + (isSecret(k) ? (v === "" ? "(not set)" : "(set)") : v) + "\r\n";
    }
    return t + CONFIG_HELP;
  }
  function login(s: Session, password: string): void {
    const pw = get("console.password");
    const now = backend.now();
    const ms = num("console.lock_ms");
    const open = pw !== "" && !locked();
    if (open && password === pw && s.u === "console:" + get("console.user")) {
      backend.log(LOG_INFO, "console_login", s.u);
      say(s, "", MENU);
      return;
    }
    self.refused++;
    backend.log(LOG_WARN, "console_refused", s.u);
    if (open) {
      if (now - failsSince > ms) {
        fails = 0;
        failsSince = now;
      }
      fails++;
      if (fails >= num("console.fail_limit")) {
        fails = 0;
        lockedUntil = now + ms;
        self.locks++;
        backend.log(LOG_WARN, "console_locked", "bad passwords");
      }
    }
    say(s, "\r\nInvalid password\r\n" + (pw === "" ? "No console.password: logins disabled\r\n" : ""), -1);
  }
  function exec(s: Session, line: string): void {
    const text = line.trim();
    const u = text.toUpperCase();
    const sp = u.indexOf(" ");
    const cmd = sp < 0 ? u : u.substring(0, sp);
    const st = s.st;
    if (st === USER) {
      s.u = "console:" + text;
      s.st = PASS;
      say(s, "\r\nEnter password>", -2);
    } else if (st === PASS) {
      login(s, line);
    } else if (st === MENU) {
      s.st = u === "1" ? OUTLETS : u === "3" ? CONFIG : MENU;
      say(s, u === "1" ? block() : u === "3" ? settingsList() : u === "6" ? "\r\nLogged out\r\n" : "", u === "6" ? -1 : s.st);
    } else if (st === CONFIRM) {
      s.st = OUTLETS;
      if (u === "Y") act(s, s.pc!, s.pn!);
      else say(s, "\r\nCancelled\r\n", OUTLETS);
    } else if (u === "MENU") {
      say(s, "", MENU);
    } else if (st === CONFIG) {
      let why = CONFIG_HELP;
      if (cmd === "SET") {
        const rest = text.substring(4).trim();
        const k = rest.split(" ")[0]!;
        why = backend.changeSetting(k, rest.substring(k.length).trim());
        if (why === "") {
          backend.log(LOG_INFO, "console_set", k + " by " + s.u);
          why = "OK";
        }
      }
      say(s, u === "" ? settingsList() : "\r\n" + why, CONFIG);
    } else {
      const n = parseDecimal(u.substring(sp + 1).trim());
      const o = sp > 0 ? backend.outlets().find((v) => v.n === n) : undefined;
      if (u === "STATUS") {
        say(s, block(), OUTLETS);
      } else if ((cmd !== "ON" && cmd !== "OFF" && cmd !== "REBOOT") || !o) {
        say(s, u === "" ? "" : "\r\nSTATUS, ON n, OFF n, REBOOT n, MENU\r\n", OUTLETS);
      } else if (cmd === "ON" ? o.on : !o.on) {
        say(s, "\r\nOutlet " + o.n + " already " + (o.on ? "on" : "off") + ".\r\n", OUTLETS);
      } else if (get("console.confirm") === "1") {
        s.st = CONFIRM;
        s.pc = cmd;
        s.pn = o.n;
        say(s, "\r\n" + cmd + " outlet " + o.n + " (" + o.name + ")? (Y/N)>", -2);
      } else {
        act(s, cmd, o.n);
      }
    }
  }
  /** Runs queued lines in order until the queue is empty, a reboot holds it, or the session ended. */
  function run(s: Session): void {
    while (!s.b && !s.g && s.q.length > 0) exec(s, s.q.shift()!);
  }
  const self: Console = {
    drops: 0,
    refused: 0,
    locks: 0,
    open(id: number): void {
      drop(find(id));
      const s: Session = { id: id, st: USER, u: "", q: [], l: "", t: 0, at: backend.now() };
      sessions.push(s);
      if (sessions.length > MAX_SESSIONS || locked()) {
        say(s, (locked() ? "Console locked" : "Too many sessions") + "\r\n", -1);
        return;
      }
      // The model word is the first "RPC" and is followed by a space (the plugin's model detection).
      say(s, "\r\n" + get("model") + " lubdub\r\nBay Technical Associates dialogue\r\n\r\nUnit ID: " + get("unit") +
        "\r\n\r\nEnter username>", -2);
    },
    data(id: number, bytes: string): void {
      const s = find(id);
      if (!s) return;
      s.at = backend.now();
      const echo = get("console.echo") === "1";
      for (let i = 0; i < bytes.length && !s.g; i++) {
        const c = bytes.charCodeAt(i);
        // Echo only what runs in the current state: never a password, never type-ahead.
        const show = echo && !s.b && s.q.length === 0 && s.st !== PASS;
        const ch = bytes.charAt(i);
        const cr = s.cr;
        s.cr = c === 13;
        if (s.t > 0) {
          s.t = s.t === 1 && c > 250 && c < 255 ? 2 : 0;
        } else if (c === 255) {
          s.t = 1;
        } else if (c === 13 || (c === 10 && !cr)) {
          if (echo) backend.write(id, "\r\n");
          if (s.q.length < MAX_QUEUE) s.q.push(s.l);
          else self.drops++;
          s.l = "";
          run(s);
        } else if (c === 8 || c === 127) {
          if (show && s.l !== "") backend.write(id, "\b \b");
          s.l = s.l.slice(0, -1);
        } else if (c > 31 && c < 127) {
          if (s.l.length < MAX_LINE) {
            s.l += ch;
            if (show) backend.write(id, ch);
          } else {
            self.drops++;
          }
        }
      }
    },
    closed(id: number): void {
      drop(find(id));
    },
    tick(): void {
      for (const s of sessions.slice(0)) {
        if (!s.b && backend.now() - s.at >= num("console.idle_ms")) say(s, "\r\nIdle timeout\r\n", -1);
      }
    },
  };
  return self;
}
