// The Lua builds of the device without ttys: the plain-Lua HMAC-SHA1 and
// HMAC-MD5 of the gateway bundle against Node's crypto, and the NodeMCU
// bundle (device/dist/nodemcu.lua) run under lua5.1 inside a fake NodeMCU
// firmware (test/lua/nodemcu_fake.lua: uart, console, tmr, gpio, file,
// crypto, node), relaying both ways, answering a hello, fencing an outlet on
// a signed request, refusing its replay and dropping interpreter commands.

import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  DEV_FENCE, DEV_HELLO, DEVICE_NODE, DF_ACTION, DF_NONCE, DF_REASON, DF_REQID, DF_TARGET, Deframer, type DeviceKey, decodeClassicMessage,
  deviceMessage, encodeClassic, getField, setString, signDeviceMessage,
} from "@lubdub/protocol";
import { fromRoot } from "./support/paths.js";
import { LUA, type Requirement, testWhere } from "./support/require.js";
import { Rng, seedFromEnv } from "./support/rng.js";

const t = test;
const GATEWAY = fromRoot("device", "dist", "gateway.lua");
const NODEMCU = fromRoot("device", "dist", "nodemcu.lua");
const FAKE = fromRoot("test", "lua", "nodemcu_fake.lua");
const BITOP: Requirement = {
  check: () => (spawnSync("lua5.1", ["-e", "require('bit')"]).status === 0 ? null : "needs LuaBitOp (Debian package lua-bitop)"),
  what: "LuaBitOp",
};
const GATEWAY_BUILD: Requirement = { path: GATEWAY, what: "the Lua gateway build (npm run build)" };
const NODEMCU_BUILD: Requirement = { path: NODEMCU, what: "the NodeMCU build (npm run build)" };

const hex = (s: string): string => Buffer.from(s, "latin1").toString("hex");
const unhex = (h: string): string => Buffer.from(h, "hex").toString("latin1");

/** The gateway bundle with its entry replaced by a driver that hashes stdin lines "METHOD KEYHEX DATAHEX". */
function hashDriver(dir: string): string {
  const text = readFileSync(GATEWAY, "latin1");
  const entry = text.lastIndexOf('local ____entry = require("device.src.targets.gateway.main"');
  assert.ok(entry > 0, "the gateway bundle ends with its entry require");
  const driver = `
local hash = require("device.src.targets.lua.hash")
local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
for line in io.lines() do
  local m, k, d = line:match("^(%S+) (%x*) (%x*)$")
  local mac = hash.hmacHex(m, unhex(k), unhex(d))
  local dig = hash.digest(m, unhex(d))
  io.write(mac or "nil", " ", dig and hash.toHex(dig) or "nil", "\\n")
end
`;
  const path = join(dir, "hash-driver.lua");
  writeFileSync(path, text.slice(0, entry) + driver, "latin1");
  return path;
}

testWhere(t, "gateway HMAC-SHA1 and HMAC-MD5 (plain Lua over bit) match Node's crypto; other methods are refused", [LUA, BITOP, GATEWAY_BUILD], () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-lua-hash-"));
  try {
    const rng = new Rng(seedFromEnv("device-lua hash"));
    const cases: Array<[string, string, string]> = [];
    // every padding boundary, keys shorter and longer than a block, all byte values
    const lengths = [0, 1, 3, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300, 1000];
    for (const method of ["sha1", "md5"]) {
      for (const n of lengths) cases.push([method, rng.bytes(1 + rng.int(20)), rng.bytes(n)]);
      for (const kl of [0, 1, 20, 63, 64, 65, 100, 200]) cases.push([method, rng.bytes(kl), rng.bytes(rng.int(200))]);
      for (let i = 0; i < 20; i++) cases.push([method, rng.bytes(rng.int(100)), rng.bytes(rng.int(700))]);
      cases.push([method, "key", "The quick brown fox jumps over the lazy dog"]);
    }
    cases.push(["crc", "k", "x"], ["sha256", "k", "x"]);
    const input = cases.map(([m, k, d]) => `${m} ${hex(k)} ${hex(d)}\n`).join("");
    const r = spawnSync("lua5.1", [hashDriver(dir)], { input, encoding: "latin1", maxBuffer: 1 << 24 });
    assert.is(r.status, 0, `lua5.1 exited ${r.status}: ${r.stderr}`);
    const lines = r.stdout.trimEnd().split("\n");
    assert.is(lines.length, cases.length);
    cases.forEach(([m, k, d], i) => {
      const [mac, dig] = lines[i]!.split(" ");
      if (m !== "sha1" && m !== "md5") {
        assert.is(mac, "nil", `${m} is refused`);
        return;
      }
      const kb = Buffer.from(k, "latin1");
      const db = Buffer.from(d, "latin1");
      assert.is(mac, createHmac(m, kb).update(db).digest("hex"), `HMAC-${m} case ${i} (key ${k.length} bytes, data ${d.length} bytes)`);
      assert.is(dig, createHash(m).update(db).digest("hex"), `${m} case ${i} (${d.length} bytes)`);
    });
    console.log(`  ${cases.length} HMAC and digest cases match node:crypto`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- NodeMCU --------------------------------------------------------------------------------

/** nodemcu_fake.lua as a child: one command at a time, answering its HMAC questions with node:crypto. */
class FakeNodeMcu {
  private buf = "";
  private lines: string[] = [];
  private waiting: (() => void) | null = null;
  readonly stderr: string[] = [];
  hmacAsked = 0;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on("data", (d: Buffer) => {
      this.buf += d.toString("latin1");
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.startsWith("hmac? ")) {
          const [, algo, key, data] = line.split(" ");
          this.hmacAsked++;
          const method = algo === "SHA1" ? "sha1" : algo === "MD5" ? "md5" : "";
          const mac = method === "" ? "" : createHmac(method, Buffer.from(key ?? "", "hex")).update(Buffer.from(data ?? "", "hex")).digest("hex");
          child.stdin.write(mac + "\n");
          continue;
        }
        this.lines.push(line);
        const w = this.waiting;
        this.waiting = null;
        if (w) w();
      }
    });
    child.stderr.on("data", (d: Buffer) => this.stderr.push(d.toString()));
  }

  static start(): FakeNodeMcu {
    return new FakeNodeMcu(spawn("lua5.1", [FAKE, NODEMCU], { stdio: ["pipe", "pipe", "pipe"] }));
  }

  /** Sends one command; resolves with its answer lines (without the final "ok"). */
  async cmd(line: string): Promise<string[]> {
    this.child.stdin.write(line + "\n");
    const until = Date.now() + 10000;
    for (;;) {
      const ok = this.lines.indexOf("ok");
      if (ok >= 0) {
        const out = this.lines.slice(0, ok);
        this.lines = this.lines.slice(ok + 1);
        const err = out.find((l) => l.startsWith("error"));
        if (err) throw new Error(`fake NodeMCU: ${err} (after '${line.slice(0, 60)}')\n${this.stderr.join("")}`);
        return out;
      }
      if (this.child.exitCode !== null || Date.now() > until) throw new Error(`fake NodeMCU: no answer to '${line.slice(0, 60)}': ${this.stderr.join("")}`);
      await new Promise<void>((r) => {
        this.waiting = r;
        setTimeout(r, 50);
      });
    }
  }

  async rx(uart: number, bytes: string): Promise<void> {
    await this.cmd(`rx ${uart} ${hex(bytes)}`);
  }

  async tx(uart: number): Promise<string> {
    const out = await this.cmd(`tx ${uart}`);
    return unhex(out[0]!.slice(3));
  }

  async gpio(): Promise<Record<string, number>> {
    const out = await this.cmd("gpio");
    const levels: Record<string, number> = {};
    for (const kv of out[0]!.slice(5).split(" ")) {
      const [k, v] = kv.split("=");
      levels[k!] = Number(v);
    }
    return levels;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.pid !== undefined && process.kill(this.child.pid, "SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }
}

const KEY: DeviceKey = { index: 1, method: "sha1", secret: "s3cret" };
const SETTINGS =
  "a.host=alpha\nb.host=bravo\noutlet.1=alpha\noutlet.2=bravo\nkey.index=1\nkey.method=sha1\nkey.secret=s3cret\nconsole.password=pw\n";

/** Every device message in `bytes`, decoded. */
function deviceFrames(bytes: string): Array<{ frame: string; t: string; field: (n: string) => string | null }> {
  const out: Array<{ frame: string; t: string; field: (n: string) => string | null }> = [];
  for (const ev of new Deframer().push(bytes)) {
    if (ev.frame === null) continue;
    const d = decodeClassicMessage(ev.frame, 0, 0);
    if (!d.ok) continue;
    const msg = d.message;
    out.push({ frame: ev.frame, t: getField(msg, "t") ?? "", field: (n) => getField(msg, n) });
  }
  return out;
}

function fenceFrame(nonce: string, reqid: string, target: string, action: string, key: DeviceKey): string {
  const msg = deviceMessage(DEV_FENCE, "alpha", DEVICE_NODE);
  setString(msg, DF_REQID, reqid);
  setString(msg, DF_NONCE, nonce);
  setString(msg, DF_TARGET, target);
  setString(msg, DF_ACTION, action);
  setString(msg, DF_REASON, "test");
  const hmac = (m: string, k: string, d: string): string | null =>
    m === "sha1" || m === "md5" ? createHmac(m, Buffer.from(k, "latin1")).update(Buffer.from(d, "latin1")).digest("hex") : null;
  assert.ok(signDeviceMessage(msg, key, hmac), "signed");
  return encodeClassic(msg);
}

const HEARTBEAT = ">>>\nt=status\nst=active\ndt=3e8\nprotocol=1\nsrc=alpha\nseq=1\nhg=1\nts=5f000000\nld=0\nttl=3\nauth=1 0123456789abcdef\n<<<\n";

testWhere(t, "NodeMCU build in a fake ESP32 firmware: relays both ways, hello, signed fence switches the GPIO, replay refused, interpreter text dropped", [LUA, BITOP, NODEMCU_BUILD], async () => {
  const mcu = FakeNodeMcu.start();
  try {
    await mcu.cmd(`put lubdub.cfg ${hex(SETTINGS)}`);
    const boot = await mcu.cmd("boot");
    assert.equal(boot, [], "boots without an error");
    await mcu.cmd("adv 300");
    const status0 = await mcu.cmd("status");
    assert.ok(status0.includes("console_mode 1"), "the Lua prompt is off the console (console.NONINTERACTIVE)");
    assert.ok((await mcu.tx(0)).includes("Enter username>"), "the console shows the BayTech login");

    // relay: UART1 (port A) → UART2 (port B) and back, byte-exact, noise dropped
    await mcu.rx(1, "noise\x01\x02\n" + HEARTBEAT);
    assert.is(await mcu.tx(2), HEARTBEAT, "A → B");
    const back = HEARTBEAT.replace("src=alpha", "src=bravo");
    await mcu.rx(2, back.slice(0, 20));
    await mcu.rx(2, back.slice(20));
    assert.is(await mcu.tx(1), back, "B → A, in two chunks");

    // hello → status with a nonce; a signed fence switches outlet 2 (bravo) off
    await mcu.rx(1, encodeClassic(deviceMessage(DEV_HELLO, "alpha", DEVICE_NODE)));
    const st = deviceFrames(await mcu.tx(1)).find((f) => f.t === "ldev-status");
    assert.ok(st, "ldev-status answers the hello");
    const nonce = st!.field(DF_NONCE)!;
    assert.ok(nonce.length > 0, "with a nonce");
    const levels0 = await mcu.gpio();
    assert.is(levels0["26"], 1, "outlet 2 is on at boot");
    const fence = fenceFrame(nonce, "r1", "bravo", "off", KEY);
    await mcu.rx(1, fence);
    const res = deviceFrames(await mcu.tx(1)).find((f) => f.t === "ldev-result");
    assert.ok(res, "ldev-result");
    assert.is(res!.field("ok"), "1", `fence accepted: ${res!.frame}`);
    const levels1 = await mcu.gpio();
    assert.is(levels1["26"], 0, "outlet 2's GPIO is low");
    assert.is(levels1["25"], 1, "outlet 1 untouched");
    assert.ok(mcu.hmacAsked > 0, "the HMAC came from the firmware's crypto module");
    const ev = deviceFrames(await mcu.tx(2)).find((f) => f.t === "ldev-event");
    assert.is(ev?.field("event"), "fenced", "bravo is told it was fenced");

    // the same frame again: refused, nothing switched
    await mcu.rx(1, fence);
    const again = deviceFrames(await mcu.tx(1)).find((f) => f.t === "ldev-result");
    assert.is(again?.field("ok"), "0");
    assert.is(again?.field("error"), "stale-nonce", "a replay is refused");
    // a forged one (wrong secret) with the fresh nonce: refused
    const forged = fenceFrame(again!.field(DF_NONCE)!, "r2", "alpha", "off", { ...KEY, secret: "guess" });
    await mcu.rx(2, forged);
    const refused = deviceFrames(await mcu.tx(2)).find((f) => f.t === "ldev-result");
    assert.is(refused?.field("ok"), "0", "a forged request is refused");
    assert.is((await mcu.gpio())["25"], 1, "outlet 1 still on");

    // interpreter commands on a host port: dropped and counted, nothing relayed
    const before = await mcu.cmd("status");
    const junk = 'print(1)\nos.execute("reboot")\nnode.restart()\ndigitalWrite(D1,1)\ngpio.write(25, 0)\n';
    await mcu.rx(1, junk);
    await mcu.cmd("adv 500");
    assert.is(await mcu.tx(2), "", "nothing relayed to B");
    // the next heartbeat ends the noise (the deframer holds a few bytes that could start a marker)
    await mcu.rx(1, HEARTBEAT);
    assert.is(await mcu.tx(2), HEARTBEAT, "the next heartbeat is relayed intact");
    assert.is(await mcu.tx(1), "", "nothing echoed to A");
    const after = await mcu.cmd("status");
    const dropped = (lines: string[]): number => Number(lines.find((l) => l.startsWith("port a"))!.split(" ")[3]);
    assert.is(dropped(after) - dropped(before), junk.length, "every byte counted as dropped");
    assert.is((await mcu.gpio())["25"], 1, "no GPIO moved");
    assert.equal(await mcu.cmd("restarts"), ["restarts 0"], "no restart");
    assert.ok(after.includes("coreErrors 0"), "no Lua error in a handler");

    // settings and outlet states persist through the file module
    const stored = (await mcu.cmd("file lubdub.out"))[0]!;
    assert.ok(stored.startsWith("file ") && stored !== "file -", "outlet states stored");
    const log = await mcu.cmd("log");
    assert.ok(log.some((l) => l.includes("fence")), `the fence is logged:\n${log.join("\n")}`);
  } finally {
    await mcu.stop();
  }
});

t.run();
