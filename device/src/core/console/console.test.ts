// The operator console against a fake backend with a fake clock: the BayTech
// dialogue as cluster-glue's baytech plugin reads it (tokens, model
// detection, status table columns), pipelined input, line ends, telnet IAC,
// login refusal and lockout, idle timeout, bounded input, confirmation,
// reboot holding the queue, the configuration screen.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ConsoleBackend, OutletView } from "../console-backend.js";
import { defaultSettings, getString, setSetting, type Settings } from "../settings.js";
import { createConsole, MAX_LINE, MAX_QUEUE, MAX_SESSIONS, type Console } from "./console.js";

interface Switch {
  n: number;
  on: boolean | "reboot";
  who: string;
}

class FakeBackend implements ConsoleBackend {
  time = 5000;
  cfg: Settings = defaultSettings(3);
  on = [true, true, false];
  out: { [id: number]: string } = {};
  closedIds: number[] = [];
  switches: Switch[] = [];
  logs: string[] = [];
  pending: { n: number; done: () => void }[] = [];
  constructor() {
    setSetting(this.cfg, "console.password", "SECRET");
    setSetting(this.cfg, "outlet.1", "node1");
    setSetting(this.cfg, "outlet.2", "Node Two");
  }
  now(): number {
    return this.time;
  }
  settings(): Settings {
    return this.cfg;
  }
  changeSetting(key: string, value: string): string {
    return setSetting(this.cfg, key, value);
  }
  outlets(): OutletView[] {
    return this.on.map((on, i) => ({ n: i + 1, name: getString(this.cfg, `outlet.${i + 1}`), on, cycling: false }));
  }
  switchOutlet(n: number, on: boolean, who: string): void {
    this.on[n - 1] = on;
    this.switches.push({ n, on, who });
  }
  rebootOutlet(n: number, who: string, done: () => void): boolean {
    if (!this.on[n - 1]) return false;
    this.on[n - 1] = false;
    this.switches.push({ n, on: "reboot", who });
    this.pending.push({
      n,
      done: () => {
        this.on[n - 1] = true;
        done();
      },
    });
    return true;
  }
  write(session: number, text: string): void {
    this.out[session] = (this.out[session] ?? "") + text;
  }
  close(session: number): void {
    this.closedIds.push(session);
  }
  log(level: number, event: string, text: string): void {
    this.logs.push(`${event} ${text}`);
  }
  /** Output of a session since the last take. */
  take(session: number): string {
    const t = this.out[session] ?? "";
    this.out[session] = "";
    return t;
  }
}

function setup(): { b: FakeBackend; c: Console } {
  const b = new FakeBackend();
  return { b, c: createConsole(b) };
}

/** Opens a session and logs in; returns the output after login. */
function login(b: FakeBackend, c: Console, id: number): string {
  c.open(id);
  c.data(id, "admin\r");
  c.data(id, "SECRET\r");
  return b.take(id);
}

/**
 * The plugin's streaming matcher: from `pos`, finds the first of `tokens`;
 * returns [index of the token, position after it] or null.
 */
function expect(text: string, pos: number, tokens: string[]): [number, number] | null {
  let best: [number, number] | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const at = text.indexOf(tokens[i]!, pos);
    if (at >= 0 && (best === null || at < best[1] - tokens[best[0]]!.length)) best = [i, at + tokens[i]!.length];
  }
  return best;
}
function seq(text: string, tokens: string[]): number {
  let pos = 0;
  for (const t of tokens) {
    const m = expect(text, pos, [t]);
    assert.ok(m, `token ${JSON.stringify(t)} after ${pos} in ${JSON.stringify(text.slice(pos))}`);
    pos = m![1];
  }
  return pos;
}

/** The plugin's table reader (baytech.c RPCListHosts): from after the token's line, names by outlet number. */
function readTable(text: string, token: string, width: number): { [n: number]: string } {
  let pos = text.indexOf(token);
  assert.ok(pos >= 0, `table token ${token}`);
  pos = text.indexOf("\r\n", pos) + 2;
  const names: { [n: number]: string } = {};
  for (;;) {
    const end = text.indexOf("\r\n", pos);
    assert.ok(end >= 0, "table ends with an empty line");
    const line = text.slice(pos, end + 2);
    pos = end + 2;
    if (line.length < 3) break;
    const m = /^\s*(\d+)/.exec(line);
    if (!m || line.length < 14 + width) continue;
    names[Number(m[1])] = line.slice(14, 14 + width).replace(/ +$/, "");
  }
  return names;
}

test("banner: model word first and followed by a space, Bay Technical Associates, Unit ID, username prompt", () => {
  for (const model of ["RPC-3", "RPC-3A", "RPC-5"]) {
    const { b, c } = setup();
    setSetting(b.cfg, "model", model);
    c.open(1);
    const t = b.take(1);
    const bay = t.indexOf("Bay Technical Associates");
    const rpc = t.indexOf("RPC");
    assert.ok(rpc >= 0 && bay > rpc);
    // The plugin's model detection: text between RPC and Bay…, leading blanks skipped, cut at a space.
    const detected = "RPC" + t.slice(rpc + 3, bay).trimStart().split(" ")[0];
    assert.is(detected, model);
    assert.match(t, "\r\nUnit ID: lubdub-rpc\r\n");
    assert.ok(t.endsWith("Enter username>"));
    assert.ok(t.indexOf("Unit ID: ") < t.indexOf("username>"));
  }
});

test("login: password prompt, never echoed (even pipelined, with echo on), then the main menu", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "console.echo", "1");
  c.open(1);
  b.take(1);
  c.data(1, "admin\rSECRET\r1\r");
  const t = b.take(1);
  assert.not.match(t, "SECRET");
  assert.match(t, "admin");
  const pos = seq(t, ["password>", "RPC", "Menu:", "election>", "RPC", ">"]);
  assert.ok(pos > 0);
  assert.match(b.logs.join("\n"), "console_login console:admin");
});

test("main menu: header, items 1 and 6, no RPC or > in the items, empty line reprints it", () => {
  const { b, c } = setup();
  const t = login(b, c, 1);
  const i = t.indexOf("RPC-3 Menu:");
  assert.ok(i >= 0);
  const items = t.slice(i + "RPC-3 Menu:".length, t.indexOf("Enter Selection>"));
  assert.not.match(items, "RPC");
  assert.not.match(items, ">");
  assert.match(items, "1)...Outlet Control");
  assert.match(items, "6)...Logout");
  c.data(1, "\r");
  assert.match(b.take(1), "RPC-3 Menu:");
  c.data(1, "6\r");
  assert.equal(b.closedIds, [1]);
});

test("status block: both tokens, fixed columns for RPC-3 (10) and RPC-5 (18), names padded, empty line, then the prompt", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "outlet.3", "averyveryverylongname");
  login(b, c, 1);
  c.data(1, "1\r");
  const screen = b.take(1);
  // From the screen's first RPC (the prompt) nothing but ">" follows: no RPC or ">" in the block.
  assert.ok(screen.endsWith("\r\n\r\nRPC-3>"));
  assert.is(screen.indexOf("RPC"), screen.length - 6);
  assert.is(screen.indexOf(">"), screen.length - 1);
  c.data(1, "STATUS\r");
  const t = b.take(1);
  assert.equal(readTable(t, "Status", 10), { 1: "node1", 2: "Node Two", 3: "averyveryv" });
  assert.equal(readTable(t, "emperature: ", 18), { 1: "node1", 2: "Node Two", 3: "averyveryverylongn" });
  // No blank line right after the RPC-5 token line.
  const tl = t.indexOf("emperature: ");
  assert.is.not(t.slice(t.indexOf("\r\n", tl) + 2, t.indexOf("\r\n", tl) + 4), "\r\n");
  assert.match(t, /\n {6}1 {7}node1 {13}   On\r\n/);
  assert.match(t, /\n {6}3 {7}averyveryverylongn   Off\r\n/);
});

test("outlet commands: case-insensitive ON/OFF, already on./already off., switches logged with who", () => {
  const { b, c } = setup();
  login(b, c, 1);
  c.data(1, "1\roff 1\r");
  b.take(1);
  assert.equal(b.on, [false, true, false]);
  c.data(1, "OfF 1\r");
  assert.match(b.take(1), "already off.");
  c.data(1, "on 1\r");
  assert.equal(b.on, [true, true, false]);
  c.data(1, "ON 1\r");
  const t = b.take(1);
  assert.match(t, "already on.");
  assert.ok(t.endsWith("RPC-3>"));
  assert.equal(b.switches, [
    { n: 1, on: false, who: "console:admin" },
    { n: 1, on: true, who: "console:admin" },
  ]);
  c.data(1, "ON 9\rBOGUS\rON\r");
  assert.equal(b.switches.length, 2);
  assert.is(b.take(1).split("RPC-3>").length, 4);
});

test("reboot: 'Rebooting selected outlet' at once, queue held until power is back, then 'Power applied' and the rest in order", () => {
  const { b, c } = setup();
  login(b, c, 1);
  c.data(1, "1\rREBOOT 1\rSTATUS\rMENU\r");
  let t = b.take(1);
  assert.match(t, "Rebooting selected outlet(s)...");
  assert.not.match(t.slice(t.indexOf("Rebooting")), "Status");
  assert.is(b.pending.length, 1);
  // idle timeout never ends a session waiting for a reboot
  b.time += 600_000;
  c.tick();
  assert.equal(b.closedIds, []);
  b.pending[0]!.done();
  t = b.take(1);
  seq(t, ["ower applied to outlet 1", "RPC", ">", "Status", "RPC-3>", "RPC", "Menu:", "election>"]);
  assert.equal(b.switches, [{ n: 1, on: "reboot", who: "console:admin" }]);
  c.data(1, "1\rREBOOT 3\r");
  t = b.take(1);
  assert.match(t, "already off.");
  assert.not.match(t, "ebooting");
});

test("confirmation (Y/N)> when console.confirm is set; anything but Y cancels", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "console.confirm", "1");
  login(b, c, 1);
  c.data(1, "1\roff 2\r");
  assert.ok(b.take(1).endsWith("(Y/N)>"));
  assert.equal(b.on, [true, true, false]);
  c.data(1, "Y\r");
  assert.equal(b.on, [true, false, false]);
  c.data(1, "on 2\rn\r");
  assert.match(b.take(1), "Cancelled");
  assert.equal(b.on, [true, false, false]);
  c.data(1, "REBOOT 1\r");
  const t = b.take(1);
  assert.ok(t.endsWith("(Y/N)>"));
  assert.not.match(t, "ebooting");
  c.data(1, "y\r");
  assert.match(b.take(1), "Rebooting selected outlet");
});

test("line ends: CR, LF, CR LF and CR NUL are one line end each; IAC sequences are skipped", () => {
  for (const eol of ["\r", "\n", "\r\n", "\r\0"]) {
    const { b, c } = setup();
    c.open(1);
    c.data(1, `admin${eol}SECRET${eol}1${eol}STATUS${eol}`);
    const t = b.take(1);
    assert.is(t.split("RPC-3>").length, 3, JSON.stringify(eol));
    assert.not.match(t, "RPC-3 Menu:\r\n\r\n    1)...Outlet Control\r\n    3)...Configuration\r\n    6)...Logout\r\n\r\nEnter Selection>\r\n\r\nRPC-3 Menu:");
  }
  const { b, c } = setup();
  c.open(1);
  // IAC DO ECHO, IAC WILL SGA, IAC WONT NAWS, IAC IAC, IAC NOP in the middle of input (no SB: the console never asks for one)
  c.data(1, "\xff\xfd\x01ad\xff\xfb\x03min\xff\xfc\x1f\r");
  c.data(1, "SEC\xff\xffRET\xff\xf1\r");
  assert.match(b.take(1), "RPC-3 Menu:");
});

test("backspace edits the line; echo shows it but never the password", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "console.echo", "1");
  c.open(1);
  b.take(1);
  c.data(1, "adx\x7fmin\r");
  c.data(1, "S");
  c.data(1, "ECRET\r");
  const t = b.take(1);
  assert.match(t, "adx\b \bmin");
  assert.not.match(t, "S\r");
  assert.not.match(t, "ECRET");
  assert.match(t, "RPC-3 Menu:");
});

test("wrong password: Invalid password, closed, counted; fail_limit of them lock every session for lock_ms", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "console.fail_limit", "3");
  setSetting(b.cfg, "console.lock_ms", "60000");
  c.open(9);
  for (let i = 1; i <= 3; i++) {
    c.open(i);
    c.data(i, "admin\rwrong\r");
    assert.match(b.take(i), "Invalid password");
    assert.ok(b.closedIds.includes(i));
  }
  assert.is(c.refused, 3);
  assert.is(c.locks, 1);
  assert.match(b.logs.join("\n"), "console_locked");
  // locked: even the right password is refused, in a session opened before, and new sessions are turned away
  c.data(9, "admin\rSECRET\r");
  assert.match(b.take(9), "Invalid password");
  c.open(4);
  assert.match(b.take(4), "Console locked");
  assert.ok(b.closedIds.includes(4));
  b.time += 60_001;
  assert.match(login(b, c, 5), "RPC-3 Menu:");
  // a wrong user name is refused after the password prompt, like a wrong password
  c.open(6);
  c.data(6, "root\r");
  assert.match(b.take(6), "password>");
  c.data(6, "SECRET\r");
  assert.match(b.take(6), "Invalid password");
});

test("no console.password: every login refused with a clear message, no lockout", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "console.password", "");
  for (let i = 1; i <= 10; i++) {
    c.open(i);
    c.data(i, "admin\r\r");
    const t = b.take(i);
    assert.match(t, "Invalid password");
    assert.match(t, "logins disabled");
    assert.not.match(t, "Menu:");
  }
  assert.is(c.locks, 0);
});

test("several sessions share outlet state; at most MAX_SESSIONS at once", () => {
  const { b, c } = setup();
  login(b, c, 1);
  login(b, c, 2);
  c.data(1, "1\roff 1\r");
  c.data(2, "1\r");
  assert.match(b.take(2), /\n {6}1 {7}node1 {13}   Off\r\n/);
  for (let i = 3; i <= MAX_SESSIONS; i++) c.open(i);
  c.open(100);
  assert.match(b.take(100), "Too many sessions");
  assert.ok(b.closedIds.includes(100));
  c.closed(3);
  c.open(101);
  assert.match(b.take(101), "username>");
});

test("idle timeout closes a session after console.idle_ms", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "console.idle_ms", "10000");
  login(b, c, 1);
  c.open(2);
  b.time += 9_000;
  c.data(2, "a");
  b.time += 1_000;
  c.tick();
  assert.equal(b.closedIds, [1]);
  assert.match(b.take(1), "Idle timeout");
  b.time += 10_000;
  c.tick();
  assert.equal(b.closedIds, [1, 2]);
  c.data(1, "x\r");
  assert.is(b.take(1), "");
});

test("bounded input: long lines cut and counted, queue overflow dropped and counted, no crash", () => {
  const { b, c } = setup();
  login(b, c, 1);
  c.data(1, "1\r");
  b.take(1);
  c.data(1, "x".repeat(MAX_LINE + 50) + "\r");
  assert.is(c.drops, 50);
  // a reboot holds the queue; type-ahead beyond MAX_QUEUE is dropped
  c.data(1, "REBOOT 1\r" + "STATUS\r".repeat(MAX_QUEUE + 5));
  assert.is(c.drops, 55);
  b.pending[0]!.done();
  assert.is(b.take(1).split("Status\r\n").length - 1, MAX_QUEUE);
  // garbage of every byte value
  let all = "";
  for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  c.data(1, all.repeat(20));
  assert.ok(b.take(1).length > 0);
});

test("configuration screen: settings without secrets, SET changes through the backend, MENU returns", () => {
  const { b, c } = setup();
  setSetting(b.cfg, "key.secret", "topsecretkey");
  login(b, c, 1);
  c.data(1, "3\r");
  let t = b.take(1);
  assert.match(t, "outlet.1 = node1");
  assert.match(t, "console.password = (set)");
  assert.match(t, "key.secret = (set)");
  assert.not.match(t, "SECRET");
  assert.not.match(t, "topsecretkey");
  assert.ok(t.endsWith("Config>"));
  c.data(1, "set outlet.3 Node C\r");
  assert.match(b.take(1), "OK");
  assert.is(getString(b.cfg, "outlet.3"), "Node C");
  c.data(1, "SET console.idle_ms 5\r");
  assert.match(b.take(1), "console.idle_ms: expected a whole number");
  c.data(1, "SET nosuch 1\r");
  assert.match(b.take(1), "unknown setting");
  assert.match(b.logs.join("\n"), "console_set outlet.3 by console:admin");
  c.data(1, "menu\r1\r");
  t = b.take(1);
  seq(t, ["RPC", "Menu:", "RPC", ">"]);
  assert.match(t, "Node C");
});

test("a plugin-style -T off exchange: lookup on one session left open, switch on a second", () => {
  const { b, c } = setup();
  login(b, c, 1);
  c.data(1, "\r1\rSTATUS\rMENU\r");
  const a = b.take(1);
  const names = readTable(a.slice(a.lastIndexOf("RPC-3>") - 200), "Status", 10);
  assert.is(names[2], "Node Two");
  login(b, c, 2);
  c.data(2, "\r1\roff 2\r");
  seq(b.take(2), ["RPC", "Menu:", "RPC", ">", "RPC", ">"]);
  c.data(2, "MENU\r\r6\r");
  assert.equal(b.on, [true, false, false]);
  assert.equal(b.closedIds, [2]);
});

test.run();
