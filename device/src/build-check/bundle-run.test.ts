// Runs device/dist/espruino.js (as built, names shortened) in a sandbox whose
// globals stand in for Espruino's: the REPL is moved to LoopbackA and locked
// before any port opens, ports and console are set up from the stored
// settings, a heartbeat frame into port A comes out of port B unchanged,
// noise is not relayed, and the hardware watchdog is enabled and kicked.
// (V8, not Espruino: what Espruino parses is build-check's job.)

import { spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createContext, runInContext } from "node:vm";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  DEV_FENCE, DEV_HELLO, DEVICE_NODE, Deframer, type Message, decodeClassicMessage, deviceMessage, encodeClassic, getField, setString,
  signDeviceMessage, verifyDeviceMessage,
} from "@lubdub/protocol";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const BUNDLE = join(ROOT, "device", "dist", "espruino.js");
if (!existsSync(BUNDLE)) spawnSync(process.execPath, [join(ROOT, "device", "scripts", "build-espruino.mjs")], { cwd: ROOT, stdio: "inherit" });

interface FakeSerial {
  name: string;
  baud: number;
  options: unknown;
  out: string;
  handler: ((d: string) => void) | null;
  setup(baud: number, options?: unknown): void;
  on(event: string, fn: (d: string) => void): void;
  write(d: string): void;
  setConsole(force: boolean): void;
}

function boot(storage: { [k: string]: string }) {
  const calls: string[] = [];
  const serial = (name: string): FakeSerial => ({
    name: name,
    baud: 0,
    options: undefined,
    out: "",
    handler: null,
    setup(baud, options) {
      calls.push(`${name}.setup`);
      this.baud = baud;
      this.options = options;
    },
    on(event, fn) {
      if (event === "data") this.handler = fn;
    },
    write(d) {
      this.out += d;
    },
    setConsole(force) {
      calls.push(`${name}.setConsole(${force})`);
    },
  });
  const ports = { Serial1: serial("Serial1"), Serial2: serial("Serial2"), Serial3: serial("Serial3"), USB: serial("USB"), LoopbackA: serial("LoopbackA") };
  let clock = 1000;
  const timers: (() => void)[] = [];
  const sandbox = {
    ...ports,
    E: {
      on: (ev: string) => calls.push(`E.on(${ev})`),
      enableWatchdog: (s: number, auto: boolean) => calls.push(`E.enableWatchdog(${s},${auto})`),
      kickWatchdog: () => calls.push("E.kickWatchdog"),
      setPassword: (p: string) => calls.push(p.length > 8 ? "E.setPassword" : "E.setPassword(short)"),
      lockConsole: () => calls.push("E.lockConsole"),
      toString: (b: Buffer) => b.toString("latin1"),
    },
    process: { env: { BOARD: "PICO_R1_3" } },
    require: (name: string) => {
      if (name === "Storage") return { read: (k: string) => storage[k], write: (k: string, v: string) => ((storage[k] = v), true) };
      if (name === "crypto") return { SHA1: (s: string) => createHash("sha1").update(Buffer.from(s, "latin1")).digest() };
      throw new Error(`no module ${name}`);
    },
    digitalWrite: (pin: string, v: boolean) => calls.push(`digitalWrite(${pin},${v})`),
    getTime: () => clock / 1000,
    setInterval: (fn: () => void) => timers.push(fn),
    setTimeout: (fn: () => void) => timers.push(fn),
    print: () => {},
    Math: Math,
  };
  runInContext(readFileSync(BUNDLE, "latin1"), createContext(sandbox));
  const tick = (ms: number): void => {
    clock += ms;
    for (const t of timers.slice()) t();
  };
  return { ports: ports, calls: calls, tick: tick };
}

const FRAME = ">>>\nt=status\nst=active\ndt=2710\nprotocol=1\nsrc=alpha\n(1)srcuuid=AAAAAAAAAAAAAAAAAAAAAA==\nseq=1\nhg=1\nts=6650a1b2\nld=0.00 0.00 0.00 1/100 1\nttl=3\nauth=1 0123456789abcdef0123456789abcdef01234567\n<<<\n";

test("the REPL leaves the host ports before they open, forced and locked", () => {
  const b = boot({});
  const first = b.calls.indexOf("LoopbackA.setConsole(true)");
  assert.ok(first >= 0, b.calls.join(" "));
  assert.ok(b.calls.indexOf("E.setPassword") > first && b.calls.indexOf("E.lockConsole") > first);
  assert.ok(b.calls.indexOf("Serial1.setup") > b.calls.indexOf("E.lockConsole"));
  assert.ok(b.calls.includes("E.on(init)"));
});

test("ports from settings: baud and tty path; console on USB by default", () => {
  const b = boot({ "lubdub.cfg": "a.baud=115200\na.path=/dev/pts/7\nb.baud=9600\n" });
  assert.is(b.ports.Serial1.baud, 115200);
  assert.is(JSON.stringify(b.ports.Serial1.options), JSON.stringify({ path: "/dev/pts/7" }));
  assert.is(b.ports.Serial2.baud, 9600);
  assert.is(b.ports.Serial2.options, undefined);
  assert.ok(b.ports.USB.handler !== null);
  assert.is(b.ports.Serial3.handler, null);
});

test("console on Serial3 when console.path is set", () => {
  const b = boot({ "lubdub.cfg": "console.path=/dev/pts/9\nconsole.baud=38400\n" });
  assert.is(b.ports.Serial3.baud, 38400);
  assert.is(JSON.stringify(b.ports.Serial3.options), JSON.stringify({ path: "/dev/pts/9" }));
  assert.ok(b.ports.Serial3.handler !== null);
});

test("a heartbeat frame from port A leaves on port B unchanged, both ways; noise does not", () => {
  const b = boot({});
  b.ports.Serial1.handler!("garbage" + FRAME.substring(0, 20));
  b.ports.Serial1.handler!(FRAME.substring(20) + "print(1)\n");
  assert.is(b.ports.Serial2.out, FRAME);
  b.ports.Serial2.handler!(FRAME.split("alpha").join("beta"));
  assert.is(b.ports.Serial1.out, FRAME.split("alpha").join("beta"));
});

test("the hardware watchdog is enabled and kicked by the tick", () => {
  const b = boot({});
  b.tick(100);
  b.tick(100);
  assert.ok(b.calls.some((c) => c.startsWith("E.enableWatchdog(")), b.calls.join(" "));
  assert.ok(b.calls.includes("E.kickWatchdog"), b.calls.join(" "));
});

const KEY = { index: 1, method: "sha1", secret: "s3cret" };
const CFG = "a.host=alpha\nb.host=bravo\noutlet.1=alpha\noutlet.2=bravo\nkey.index=1\nkey.secret=s3cret\nconsole.password=pw\n";
const hmac = (method: string, key: string, data: string): string | null =>
  method === "sha1" ? createHmac("sha1", Buffer.from(key, "latin1")).update(Buffer.from(data, "latin1")).digest("hex") : null;

/** The device messages written to a port since last time, checked for the device's signature. */
function replies(port: FakeSerial): Message[] {
  const out: Message[] = [];
  for (const ev of new Deframer().push(port.out)) {
    const r = decodeClassicMessage(ev.frame!, 0, 0);
    assert.ok(r.ok, ev.frame!);
    if (r.ok) {
      assert.is(verifyDeviceMessage(r.message, KEY, hmac), "", ev.frame!);
      out.push(r.message);
    }
  }
  port.out = "";
  return out;
}

function request(t: string, fields: [string, string][], nonce: string | null): string {
  const msg = deviceMessage(t, "alpha", DEVICE_NODE);
  setString(msg, "reqid", "r1");
  if (nonce !== null) setString(msg, "nonce", nonce);
  for (const f of fields) setString(msg, f[0], f[1]);
  signDeviceMessage(msg, KEY, hmac);
  return encodeClassic(msg);
}

test("device protocol through the bundle (names shortened): hello, a signed fence, the event to the other host, a replay refused", () => {
  const b = boot({ "lubdub.cfg": CFG });
  b.ports.Serial1.handler!(request(DEV_HELLO, [], null));
  const st = replies(b.ports.Serial1)[0]!;
  assert.is(getField(st, "t"), "ldev-status");
  assert.is(getField(st, "ok"), "1");
  assert.is(getField(st, "outlets"), "1 alpha on;2 bravo on;3 Outlet 3 on;4 Outlet 4 on");
  assert.is(getField(st, "watchdogs"), "a alpha off 0 0;b bravo off 0 0");
  const fence = request(DEV_FENCE, [["target", "bravo"], ["action", "off"], ["reason", "peer dead"]], getField(st, "nonce"));
  b.ports.Serial1.handler!(fence);
  const r = replies(b.ports.Serial1)[0]!;
  assert.is(getField(r, "ok"), "1", getField(r, "error") ?? "");
  assert.is(getField(r, "state"), "off");
  assert.is(getField(r, "reqid"), "r1");
  assert.ok(b.calls.includes("digitalWrite(B4,false)"), b.calls.join(" "));
  const ev = replies(b.ports.Serial2)[0]!;
  assert.is(getField(ev, "event"), "fenced");
  assert.is(getField(ev, "by"), "alpha");
  b.ports.Serial1.handler!(fence);
  const again = replies(b.ports.Serial1)[0]!;
  assert.is(getField(again, "ok"), "0");
  assert.is(getField(again, "error"), "stale-nonce");
});

test("the BayTech console through the bundle: login, outlet status, off with the outlet switched, settings screen", () => {
  const b = boot({ "lubdub.cfg": CFG });
  const con = b.ports.USB;
  assert.match(con.out, "Enter username>");
  con.handler!("admin\r");
  con.handler!("pw\r");
  assert.match(con.out, "RPC-3 Menu:");
  con.handler!("1\r");
  assert.match(con.out, "Internal Temperature");
  assert.match(con.out, "bravo");
  con.handler!("OFF 2\r");
  assert.ok(b.calls.includes("digitalWrite(B4,false)"), b.calls.join(" "));
  assert.match(con.out, /2 +bravo +Off/);
  con.out = "";
  con.handler!("MENU\r3\r");
  assert.match(con.out, "console.password = (set)");
  assert.match(con.out, "outlet.4 = Outlet 4");
});

test.run();
