// The Lua gateway build (lua5.1 device/dist/gateway.lua, Debian lua5.1 +
// lua-posix + lua-bitop) through real ttys, socat pty pairs on every port:
// heartbeat fixture frames relayed both ways byte-exact through noise,
// interpreter commands on a host port running nothing and counted as
// dropped, an outlet fenced on an authenticated request, the replay and a
// forgery refused, a host watchdog tripping (short timeouts from settings),
// garbage and Lua errors never ending it, and the TCP console serving
// several sessions with pipelined input.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Socket } from "node:net";
import { DeviceProc, HostLine, deviceRequirements } from "./support/device-proc.js";
import { DeviceClient } from "./support/device-client.js";
import { allClassicFrames, HEARTBEAT_FIXTURES, noise } from "./support/fixture-frames.js";
import { Rng, seedFromEnv } from "./support/rng.js";
import { type Requirement, testWhere } from "./support/require.js";
import { spawnSync } from "node:child_process";

const t = test;
/** lua5.1 alone is not enough: the gateway needs luaposix and LuaBitOp too. */
const LUA_MODULES: Requirement = {
  check: () =>
    spawnSync("lua5.1", ["-e", "require('posix.poll'); require('bit')"]).status === 0 ? null : "needs luaposix and LuaBitOp (Debian packages lua-posix, lua-bitop)",
  what: "lua-posix and lua-bitop",
};
const REQS = [...deviceRequirements("lua"), LUA_MODULES];

const KEY = { index: 1, method: "sha1", secret: "s3cret" };
const FENCING = {
  "a.host": "alpha",
  "b.host": "bravo",
  "outlet.1": "alpha",
  "outlet.2": "bravo",
  "key.index": "1",
  "key.method": "sha1",
  "key.secret": "s3cret",
  "console.password": "pw",
  "outlet.off_ms": "500",
  "wd.min_timeout_ms": "200",
  "wd.grace_ms": "3000",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

testWhere(t, "lua: every fixture frame crosses A→B and B→A byte-exact through noise; the noise is dropped and counted", [...REQS, HEARTBEAT_FIXTURES], async () => {
  const rng = new Rng(seedFromEnv("device-lua relay"));
  const frames = allClassicFrames();
  const dev = await DeviceProc.start({ impl: "lua", console: false });
  const a = HostLine.open(dev.hostA);
  const b = HostLine.open(dev.hostB);
  try {
    const sendA = [...frames];
    const sendB = [...frames].reverse();
    let noiseA = 0;
    let noiseB = 0;
    const stream = (list: string[], count: (n: number) => void): string[] =>
      list.map((f) => {
        const n = rng.int(3) === 0 ? "" : noise(rng, 80) + "\n";
        count(n.length);
        return n + f;
      });
    const chunksA = stream(sendA, (n) => (noiseA += n));
    const chunksB = stream(sendB, (n) => (noiseB += n));
    const expectB = sendA.join("");
    const expectA = sendB.join("");
    const pump = async (line: HostLine, chunks: string[]): Promise<void> => {
      for (let i = 0; i < chunks.length; i += 8) await line.write(chunks.slice(i, i + 8).join(""));
    };
    const started = Date.now();
    await Promise.all([pump(a, chunksA), pump(b, chunksB)]);
    await b.waitFor((r) => r.length >= expectB.length, 30000, `${sendA.length} frames at B`);
    await a.waitFor((r) => r.length >= expectA.length, 30000, `${sendB.length} frames at A`);
    assert.ok(b.received === expectB, "B received exactly A's frames, in order");
    assert.ok(a.received === expectA, "A received exactly B's frames, in order");
    const st = await dev.waitStatus(
      (s) => (s.device?.ports[0]?.relayed ?? 0) >= sendA.length && (s.device?.ports[1]?.relayed ?? 0) >= sendB.length,
      5000,
      "relay counters",
    );
    const [pa, pb] = [st.device!.ports[0]!, st.device!.ports[1]!];
    console.log(`  relayed ${frames.length} frames (${expectB.length} bytes) each way in ${Date.now() - started} ms; noise ${noiseA}/${noiseB} bytes`);
    assert.is(pa.relayed, sendA.length);
    assert.is(pb.relayed, sendB.length);
    assert.is(pa.droppedBytes, noiseA, "port A noise counted as dropped bytes");
    assert.is(pb.droppedBytes, noiseB, "port B noise counted as dropped bytes");
    assert.is(pa.bytesIn, noiseA + expectB.length);
    assert.is(pb.bytesIn, noiseB + expectA.length);
    assert.is(dev.events("core-exception").length, 0, "no Lua error");
  } finally {
    a.close();
    b.close();
    await dev.stop();
  }
});

testWhere(t, "lua: interpreter commands on a host port run nothing; the bytes are dropped and counted, nothing is relayed", REQS, async () => {
  const marker = `/tmp/lubdub-device-lua-pwned-${process.pid}`;
  rmSync(marker, { force: true });
  const dev = await DeviceProc.start({ impl: "lua", outlets: 4 });
  const a = HostLine.open(dev.hostA);
  const b = HostLine.open(dev.hostB);
  try {
    const before = await dev.waitStatus((s) => s.hal.outlets.length === 4, 5000, "outlets");
    const commands = [
      "print(1)\n",
      `os.execute("touch ${marker}")\n`,
      `io.open("${marker}", "w"):write("x")\n`,
      "digitalWrite(D1,1)\n",
      "digitalWrite(LED1, 0);\r\n",
      "\x10reset();\n",
      "require('Storage').eraseAll()\n",
      "gpio.write(1, gpio.LOW)\n",
      "node.restart()\n",
      'load("os.exit()")()\n',
      `dofile("${marker}")\n`,
    ];
    const text = commands.join("");
    await a.write(text);
    await b.write(text);
    await sleep(500);
    assert.is(a.received + b.received, "", "nothing relayed or echoed");
    // a heartbeat after the commands ends them (the deframer holds back a
    // few bytes that could begin a start marker) and shows the relay intact
    const hb = ">>>\nt=status\nsrc=alpha\nseq=1\nauth=1 00\n<<<\n";
    await a.write(hb);
    await b.waitFor((r) => r === hb, 3000, "the heartbeat after the commands");
    const after = await dev.waitStatus(
      (s) => (s.device?.ports[0]?.bytesIn ?? 0) >= text.length + hb.length && (s.device?.ports[1]?.bytesIn ?? 0) >= text.length,
      5000,
      "input seen",
    );
    const pa = after.device!.ports[0]!;
    assert.is(pa.bytesIn, text.length + hb.length);
    assert.is(pa.droppedBytes, text.length, "port a: every command byte dropped");
    assert.is(pa.relayed, 1, "port a: only the heartbeat relayed");
    const pb = after.device!.ports[1]!;
    assert.is(pb.bytesIn, text.length);
    assert.ok(pb.droppedBytes >= text.length - 8, `port b: the command bytes dropped (${pb.droppedBytes} of ${text.length}; the last few wait for more input)`);
    assert.is(pb.relayed, 0);
    assert.is(pb.frames, 0);
    assert.equal(after.hal.outlets, before.hal.outlets, "outlets unchanged");
    assert.is(dev.events("outlet-off").length, 0, "no outlet switched off");
    assert.is(existsSync(marker), false, "no command ran");
    assert.is(a.received, "", "nothing echoed to A");
    assert.ok(dev.running, "the device is still running");
  } finally {
    a.close();
    b.close();
    await dev.stop();
    rmSync(marker, { force: true });
  }
});

testWhere(t, "lua: a signed fence request switches the outlet off (and runs --outlet-cmd); its replay and a forgery are refused and logged", REQS, async () => {
  const relays = join(tmpdir(), `lubdub-lua-relays-${process.pid}`);
  rmSync(relays, { force: true });
  const dev = await DeviceProc.start({ impl: "lua", outlets: 4, settings: FENCING, args: ["--outlet-cmd", `printf '%s %s\\n' >> ${relays}`] });
  const alpha = await DeviceClient.open(dev.hostA, KEY, { name: "alpha" });
  const bravo = await DeviceClient.open(dev.hostB, KEY, { name: "bravo" });
  try {
    await dev.waitStatus((s) => s.hal.outlets.length === 4 && s.hal.outlets.every((o) => o.on), 5000, "outlets on after boot");
    const st = await alpha.hello();
    assert.is(st.auth, "", "the status is signed with the cluster key");
    assert.ok(st.nonce, "with a nonce");
    const r = await alpha.fence("bravo", "off", "split brain test");
    assert.ok(r.ok, `fence accepted: ${r.raw}`);
    assert.is(r.auth, "", "the result is signed");
    await dev.waitStatus((s) => s.hal.outlets[1]?.on === false, 3000, "outlet 2 off");
    assert.is(dev.outlets()[0], true, "outlet 1 untouched");
    const off = dev.events("outlet-off");
    assert.is(off.length, 1);
    assert.is(off[0]!.outlet, 2);
    const ev = await bravo.waitEvent("fenced");
    assert.is(ev.auth, "", "bravo is told, signed");
    await dev.waitRecord((rec) => rec.event === "fence" && String(rec.msg).includes("alpha"), 3000, 0, "fence log with who asked");

    // the recorded request again: refused, nothing switched
    await alpha.write(r.sent);
    const again = await alpha.waitResult(r.reqid!);
    assert.is(again.ok, false);
    assert.is(again.error, "stale-nonce", "a replay is refused");
    // a forgery: the right nonce, the wrong key
    const forged = await alpha.fence("alpha", "off", "forged", { key: { ...KEY, secret: "guess" } });
    assert.is(forged.ok, false);
    assert.is(forged.error, "bad-signature");
    await sleep(200);
    assert.equal(dev.outlets().slice(0, 2), [true, false], "only the accepted fence switched anything");
    const moved = readFileSync(relays, "utf8").trim().split("\n");
    assert.equal(moved.slice(-1), ["2 off"], `the outlet command ran for the fence: ${moved.join(", ")}`);
    assert.is(moved.filter((l) => l.endsWith(" off")).length, 1, "and for nothing else");
    const st2 = dev.portStatus("a")!;
    assert.ok((st2.refused as number) >= 2, `refusals counted: ${JSON.stringify(st2)}`);
    assert.is(dev.events("core-exception").length, 0, "no Lua error");
  } finally {
    await alpha.close();
    await bravo.close();
    await dev.stop();
    rmSync(relays, { force: true });
  }
});

testWhere(t, "lua: a host that goes silent after arming its watchdog is power-cycled, and the other host is told", REQS, async () => {
  const dev = await DeviceProc.start({ impl: "lua", outlets: 2, settings: { ...FENCING, "wd.grace_ms": "0" } });
  const alpha = await DeviceClient.open(dev.hostA, KEY, { name: "alpha" });
  const bravo = await DeviceClient.open(dev.hostB, KEY, { name: "bravo" });
  try {
    await bravo.hello();
    const armed = await bravo.armWatchdog(800);
    assert.ok(armed.ok, `armed: ${armed.raw}`);
    const armedAt = Date.now();
    await dev.waitStatus((s) => s.device?.ports[1]?.wd === "armed", 2000, "port b armed");
    // bravo says nothing more: within its timeout plus a tick or two the device cycles outlet 2
    const off = await dev.waitRecord((r) => r.event === "outlet-off" && r.outlet === 2, 5000, 0, "outlet 2 off");
    const tookMs = Date.now() - armedAt;
    assert.ok(tookMs >= 700, `not before the timeout (${tookMs} ms)`);
    const offAt = Date.now();
    await dev.waitRecord((r) => r.event === "outlet-on" && r.outlet === 2, 5000, dev.records.indexOf(off), "outlet 2 back on");
    const offMs = Date.now() - offAt;
    assert.ok(offMs >= 350, `off for outlet.off_ms (${offMs} ms)`);
    const ev = await alpha.waitEvent("wd-cycle", 5000);
    assert.is(ev.auth, "", "alpha is told, signed");
    assert.is(dev.outlets()[0], true, "alpha's outlet never moved");
    console.log(`  watchdog 800 ms: outlet off after ${tookMs} ms, back on after ${offMs} ms`);
  } finally {
    await alpha.close();
    await bravo.close();
    await dev.stop();
  }
});

testWhere(t, "lua: garbage on every port and a flood of console sessions never stop it; it still relays afterwards", REQS, async () => {
  const rng = new Rng(seedFromEnv("device-lua garbage"));
  const dev = await DeviceProc.start({ impl: "lua", consoleTcp: true, args: ["--max-sessions", "3"] });
  const a = HostLine.open(dev.hostA);
  const b = HostLine.open(dev.hostB);
  const socks: Socket[] = [];
  try {
    for (let i = 0; i < 20; i++) await a.write(rng.bytes(rng.int(3000)));
    await a.write(">>>\n" + "x=".repeat(6000) + "\n<<<\n"); // oversize frame
    await a.write(">>>\nt=a\n>>>\nt=b\n###\n\xff\xfe\n<<<\n"); // nested and broken markers
    for (let i = 0; i < 6; i++) {
      const s = connect(dev.consoleTcp!.port, "127.0.0.1");
      s.on("error", () => {});
      s.on("data", () => {});
      socks.push(s);
      s.write(rng.bytes(500) + "\r\n");
    }
    await sleep(500);
    for (const s of socks) s.destroy();
    assert.ok(dev.running, "still running");
    const hb = ">>>\nt=status\nsrc=alpha\nseq=9\nauth=1 00\n<<<\n";
    b.received = "";
    await a.write(hb);
    await b.waitFor((r) => r.includes(hb), 3000, "heartbeat after the garbage");
    assert.ok(dev.events("console-refused").length >= 3, "sessions past --max-sessions refused");
    assert.is(dev.events("core-exception").length, 0, `no Lua error: ${JSON.stringify(dev.events("core-exception"))}`);
  } finally {
    for (const s of socks) s.destroy();
    a.close();
    b.close();
    await dev.stop();
  }
});

testWhere(t, "lua: Lua errors in the core and in the loop are caught, logged and counted; the device keeps relaying", REQS, async () => {
  // LUA_INIT runs before the bundle and injects two faults, as bugs would:
  // string.find (what the core's indexOf compiles to) raises once on a marked
  // chunk, inside the core; posix.poll.poll raises once on its 30th call,
  // inside the gateway's own loop.
  const init =
    'local find = string.find; local fired = false; string.find = function(s, p, ...) ' +
    'if not fired and type(s) == "string" and find(s, "BOOM-LUBDUB", 1, true) then fired = true; error("injected core fault") end ' +
    "return find(s, p, ...) end; " +
    'local P = require("posix.poll"); local poll = P.poll; local calls = 0; P.poll = function(...) ' +
    'calls = calls + 1; if calls == 30 then error("injected loop fault") end return poll(...) end';
  const saved = process.env.LUA_INIT;
  process.env.LUA_INIT = init;
  let dev: DeviceProc;
  try {
    dev = await DeviceProc.start({ impl: "lua", console: false });
  } finally {
    if (saved === undefined) delete process.env.LUA_INIT;
    else process.env.LUA_INIT = saved;
  }
  const a = HostLine.open(dev.hostA);
  const b = HostLine.open(dev.hostB);
  try {
    const loop = await dev.waitRecord((r) => r.event === "core-exception" && String(r.err).includes("injected loop fault"), 5000, 0, "loop fault logged");
    assert.is(loop.level, 50);
    await dev.waitStatus((s) => (s.hal.coreErrors as number) >= 1, 3000, "loop fault counted");
    await a.write("BOOM-LUBDUB\n");
    // the core guards its own inputs (event "internal"); the gateway's guard (core-exception) is behind it
    const core = await dev.waitRecord((r) => r.level >= 50 && JSON.stringify(r).includes("injected core fault"), 3000, 0, "core fault logged");
    console.log(`  caught: ${loop.event} (${loop.input}), ${core.event}`);
    const hb = ">>>\nt=status\nsrc=alpha\nseq=2\nauth=1 00\n<<<\n";
    await a.write(hb);
    await b.waitFor((r) => r.includes(hb), 3000, "a heartbeat after the faults");
    assert.ok(dev.running, "still running");
  } finally {
    a.close();
    b.close();
    await dev.stop();
  }
});

testWhere(t, "lua: a hung loop is reset by the hardware watchdog (alarm), which logs hw-watchdog-expired first", REQS, async () => {
  // the 40th poll never returns: an endless Lua loop, as a hung core would be
  const init = 'local P = require("posix.poll"); local poll = P.poll; local calls = 0; P.poll = function(...) ' +
    "calls = calls + 1; if calls == 40 then while true do end end return poll(...) end";
  const saved = process.env.LUA_INIT;
  process.env.LUA_INIT = init;
  let dev: DeviceProc;
  try {
    dev = await DeviceProc.start({ impl: "lua", console: false, hwWatchdog: "exit", settings: { hw_wd_s: "1" } });
  } finally {
    if (saved === undefined) delete process.env.LUA_INIT;
    else process.env.LUA_INIT = saved;
  }
  try {
    const rec = await dev.waitRecord((r) => r.event === "hw-watchdog-expired", 8000, 0, "hw-watchdog-expired");
    assert.is(rec.action, "reset");
    const until = Date.now() + 3000;
    while (dev.running && Date.now() < until) await sleep(20);
    assert.is(dev.running, false, "the process ended");
    assert.is(dev.exitSignal, "SIGKILL", "by SIGKILL, as the simulator's reset");
  } finally {
    await dev.stop();
  }
});

testWhere(t, "lua: the serial console tty: BayTech login, logout starts over at the banner, log in again", REQS, async () => {
  const dev = await DeviceProc.start({ impl: "lua", outlets: 2, settings: { "console.password": "pw", "outlet.1": "alpha" } });
  const con = HostLine.open(dev.console!);
  try {
    // the banner was written when the tty opened; the pty kept it
    await con.waitFor((r) => r.includes("Enter username>"), 3000, "login banner");
    await con.write("admin\rpw\r");
    await con.waitFor((r) => r.includes("Enter Selection>"), 3000, "main menu");
    con.received = "";
    await con.write("6\r");
    await con.waitFor((r) => r.includes("Logged out") && r.includes("Enter username>"), 3000, "logout, then the banner again");
    con.received = "";
    await con.write("admin\rpw\r1\r");
    await con.waitFor((r) => r.includes("alpha"), 3000, "the outlet list after logging in again");
    assert.ok(dev.running);
    assert.is(dev.events("core-exception").length, 0);
  } finally {
    con.close();
    await dev.stop();
  }
});

t.run();
