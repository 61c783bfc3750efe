// The device simulator (lubdub-device-sim) through real ttys: heartbeat
// frames relayed both ways byte-exact through line noise, interpreter
// commands on a host port doing nothing but being dropped and counted, and
// the authenticated device protocol (fence, replay, forgery, watchdog).

import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { DEVICE_SIM_BIN, DeviceProc, HostLine, deviceRequirements } from "./support/device-proc.js";
import { allClassicFrames, HEARTBEAT_FIXTURES, noise } from "./support/fixture-frames.js";
import { Rng, seedFromEnv } from "./support/rng.js";
import { testWhere } from "./support/require.js";
import { DeviceClient } from "./support/device-client.js";

const t = test;
const REQS = deviceRequirements("sim");

testWhere(t, "relay: every fixture frame crosses A→B and B→A byte-exact through noise; the noise is dropped and counted", [...REQS, HEARTBEAT_FIXTURES], async () => {
  const rng = new Rng(seedFromEnv("device-sim relay"));
  const frames = allClassicFrames();
  const dev = await DeviceProc.start({ console: false });
  const a = HostLine.open(dev.hostA);
  const b = HostLine.open(dev.hostB);
  try {
    // Each side sends its own order of frames, with noise (never a start marker) before each.
    const sendA = [...frames];
    const sendB = [...frames].reverse();
    let noiseA = 0;
    let noiseB = 0;
    const stream = (list: string[], count: (n: number) => void): string[] => {
      const chunks: string[] = [];
      for (const f of list) {
        const n = rng.int(3) === 0 ? "" : noise(rng, 80) + "\n";
        count(n.length);
        chunks.push(n + f);
      }
      return chunks;
    };
    const chunksA = stream(sendA, (n) => (noiseA += n));
    const chunksB = stream(sendB, (n) => (noiseB += n));
    const expectB = sendA.join("");
    const expectA = sendB.join("");
    // Both directions at once, in batches so neither pty buffer overflows.
    const pump = async (line: HostLine, chunks: string[]): Promise<void> => {
      for (let i = 0; i < chunks.length; i += 8) await line.write(chunks.slice(i, i + 8).join(""));
    };
    await Promise.all([pump(a, chunksA), pump(b, chunksB)]);
    try {
      await b.waitFor((r) => r.length >= expectB.length, 20000, `${sendA.length} frames (${expectB.length} bytes) at B`);
      await a.waitFor((r) => r.length >= expectA.length, 20000, `${sendB.length} frames (${expectA.length} bytes) at A`);
    } catch (e) {
      console.log(`  status: ${JSON.stringify(dev.status())}`);
      throw e;
    }
    assert.ok(b.received === expectB, "B received exactly A's frames, in order");
    assert.ok(a.received === expectA, "A received exactly B's frames, in order");
    const st = await dev.waitStatus((s) => (s.device?.ports[0]?.relayed ?? 0) >= sendA.length && (s.device?.ports[1]?.relayed ?? 0) >= sendB.length, 5000, "relay counters");
    const [pa, pb] = [st.device!.ports[0]!, st.device!.ports[1]!];
    console.log(`  relayed ${frames.length} frames each way; noise ${noiseA}/${noiseB} bytes; port a ${JSON.stringify(pa)}`);
    assert.is(pa.relayed, sendA.length);
    assert.is(pb.relayed, sendB.length);
    assert.is(pa.droppedBytes, noiseA, "port A noise counted as dropped bytes");
    assert.is(pb.droppedBytes, noiseB, "port B noise counted as dropped bytes");
    assert.is(pa.bytesIn, noiseA + expectB.length);
    assert.is(pb.bytesIn, noiseB + expectA.length);
  } finally {
    a.close();
    b.close();
    await dev.stop();
  }
});

testWhere(t, "host port: interpreter commands run nothing; the bytes are dropped and counted, nothing is relayed", REQS, async () => {
  const marker = `/tmp/lubdub-device-sim-pwned-${process.pid}`;
  rmSync(marker, { force: true });
  const dev = await DeviceProc.start({ outlets: 4 });
  const a = HostLine.open(dev.hostA);
  const b = HostLine.open(dev.hostB);
  try {
    const before = await dev.waitStatus((s) => s.hal.outlets.length === 4, 5000, "outlets");
    const commands = [
      "print(1)\n",
      "digitalWrite(D1,1)\n",
      "digitalWrite(LED1, 0);\r\n",
      "\x10reset();\n",
      "E.setConsole(Serial1)\n",
      "require('Storage').eraseAll()\n",
      `os.execute("touch ${marker}")\n`,
      `io.open("${marker}", "w"):write("x")\n`,
      "gpio.write(1, gpio.LOW)\n",
      "node.restart()\n",
      "load(\"os.exit()\")()\n",
    ];
    const text = commands.join("");
    // A well-formed heartbeat frame after the commands ends them (the deframer
    // holds a few bytes back while they could start a frame) and shows the relay
    // still works: it is the only thing that crosses.
    const frame = ">>>\nt=status\nst=active\nsrc=probe\n<<<\n";
    await a.write(text + frame);
    await b.write(text + frame);
    await dev.waitStatus((s) => (s.device?.ports[0]?.relayed ?? 0) >= 1 && (s.device?.ports[1]?.relayed ?? 0) >= 1, 5000, "the closing frame relayed");
    await new Promise((r) => setTimeout(r, 300));
    const after = dev.status()!;
    for (const i of [0, 1]) {
      const p = after.device!.ports[i]!;
      assert.is(p.bytesIn, text.length + frame.length);
      assert.is(p.droppedBytes, text.length, `port ${p.port}: every command byte dropped`);
      assert.is(p.relayed, 1);
      assert.is(p.frames, 1);
    }
    assert.equal(after.hal.outlets, before.hal.outlets, "outlets unchanged");
    assert.equal(dev.events("outlet-on").length + dev.events("outlet-off").length, before.hal.outlets.length, "no outlet switched after boot");
    assert.is(existsSync(marker), false, "no command ran");
    assert.is(a.received, frame, "A got only B's frame");
    assert.is(b.received, frame, "B got only A's frame");
    assert.ok(dev.running, "the device is still running");
  } finally {
    a.close();
    b.close();
    await dev.stop();
    rmSync(marker, { force: true });
  }
});

// ---------------------------------------------------------------- command line, robustness

testWhere(t, "command line: bad arguments exit 64 with a message naming the option", REQS, () => {
  const cases: Array<[string[], RegExp]> = [
    [["--port-a", "/dev/null", "--console-tcp", "nowhere"], /--console-tcp/],
    [["--port-a", "/dev/null", "--outlets", "zero"], /--outlets/],
    [["--port-a", "/dev/null", "--baud-a", "12"], /--baud-a/],
    [["--port-a", "/dev/null", "--set", "a.baud=fast"], /--set a\.baud=fast.*a\.baud/],
    [["--port-a", "/dev/null", "--set", "no.such=1"], /--set no\.such=1.*unknown setting/],
    [["--port-a", "/dev/null", "--set", "novalue"], /--set/],
    [["--port-a", "/dev/null", "--hw-watchdog", "maybe"], /--hw-watchdog/],
    [["--port-a", "/dev/null", "--bogus"], /--bogus/],
    [[], /--port-a.*--console-tcp/],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(process.execPath, [DEVICE_SIM_BIN, ...args], { encoding: "utf8", timeout: 10000 });
    assert.is(r.status, 64, `${args.join(" ")}: exit ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, re, `${args.join(" ")}: ${r.stderr}`);
  }
  const help = spawnSync(process.execPath, [DEVICE_SIM_BIN, "--help"], { encoding: "utf8", timeout: 10000 });
  assert.is(help.status, 0);
  assert.match(help.stdout, /--status-file/);
  assert.match(help.stdout, /SIGUSR1/);
});

testWhere(t, "garbage on every input (ports, console tty, pipelined TCP sessions) never stops the device; --set settings persist across a restart", REQS, async () => {
  const rng = new Rng(seedFromEnv("device-sim garbage"));
  const dev = await DeviceProc.start({ consoleTcp: true, outlets: 2, args: ["--set", "outlet.1=alpha", "--set", "unit=garbage-test"] });
  const lines = [HostLine.open(dev.hostA), HostLine.open(dev.hostB), HostLine.open(dev.console!)];
  try {
    const sockets = [0, 1, 2].map(() => connect(dev.consoleTcp!.port, dev.consoleTcp!.host));
    for (const s of sockets) s.on("error", () => undefined);
    await Promise.all(sockets.map((s) => new Promise((r) => s.once("connect", r))));
    for (let round = 0; round < 20; round++) {
      for (const l of lines) await l.write(rng.bytes(1 + rng.int(600)));
      for (const s of sockets) if (!s.destroyed) s.write(Buffer.from(rng.bytes(1 + rng.int(600)) + "\r\n\n\r\x03\x04\x1a", "latin1"));
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const s of sockets) s.destroy();
    const st = await dev.waitStatus((s) => (s.hal.consoleSessions as number) <= 1, 3000, "TCP sessions closed");
    assert.ok(dev.running, "still running");
    assert.is(st.hal.coreErrors, 0, "the core never threw");
    assert.equal(dev.events("sim-exception"), []);
    assert.equal(dev.outlets(), [true, true], "nothing switched");

    // Settings given with --set were stored, and a restart reads them back.
    const state = readFileSync(dev.stateFile, "latin1");
    assert.match(state, /^lubdub\.cfg=.*outlet\.1=alpha\\n/m);
    assert.match(state, /unit=garbage-test\\n/);
    await dev.restart();
    const again = await dev.waitStatus((s) => s.device !== null, 3000, "status after restart");
    assert.is(again.device!.outlets[0]!.name, "alpha");
    assert.match(readFileSync(dev.stateFile, "latin1"), /lubdub\.boot=2/);
  } finally {
    for (const l of lines) l.close();
    await dev.stop();
  }
});

// ---------------------------------------------------------------- device protocol

const KEY = { index: 1, method: "sha1", secret: "s3cret" };
const CLUSTER = {
  "a.host": "alpha",
  "b.host": "bravo",
  "outlet.1": "alpha",
  "outlet.2": "bravo",
  "key.index": "1",
  "key.method": "sha1",
  "key.secret": "s3cret",
  "outlet.off_ms": "1000",
  "wd.min_timeout_ms": "1000",
  "wd.grace_ms": "0",
};

testWhere(t, "fence: an authenticated request switches the peer's outlet; a replay and a forgery are refused and change nothing", REQS, async () => {
  const dev = await DeviceProc.start({ settings: CLUSTER, outlets: 2 });
  const alpha = await DeviceClient.open(dev.hostA, KEY, { name: "alpha" });
  try {
    await dev.waitStatus((s) => s.hal.outlets.every((o) => o.on), 5000, "outlets on after boot");
    const st = await alpha.hello();
    assert.ok(st.ok, st.error ?? "");
    assert.is(st.auth, "", "status signed with the cluster key");

    const mark = dev.records.length;
    const off = await alpha.fence("bravo", "off", "test: bravo unresponsive");
    assert.ok(off.ok, off.error ?? "");
    assert.is(off.fields.state, "off");
    await dev.waitStatus((s) => s.hal.outlets[1]?.on === false, 3000, "outlet 2 off");
    await dev.waitRecord((r) => r.event === "outlet-off" && r.outlet === 2, 3000, mark, "outlet-off 2");
    assert.equal(dev.outlets(), [true, false]);

    const on = await alpha.fence("bravo", "on", "test: back on");
    assert.ok(on.ok, on.error ?? "");
    await dev.waitStatus((s) => s.hal.outlets[1]?.on === true, 3000, "outlet 2 on");

    // The recorded "off" sent again: its nonce was used, so it is refused.
    const refusedBefore = dev.portStatus("a")!.refused as number;
    const replay = alpha.waitResult(off.reqid!);
    await alpha.write(off.sent);
    const r = await replay;
    assert.not.ok(r.ok, "replay refused");
    assert.is(r.error, "stale-nonce");

    // Signed with a key the device does not have.
    const forged = await alpha.fence("bravo", "off", "forged", { key: { ...KEY, secret: "not-the-key" } });
    assert.not.ok(forged.ok, "forgery refused");
    assert.is(forged.error, "bad-signature");
    const unsigned = await alpha.fence("bravo", "off", "unsigned", { sign: false });
    assert.not.ok(unsigned.ok, "unsigned request refused");

    await new Promise((res) => setTimeout(res, 300));
    assert.equal(dev.outlets(), [true, true], "neither switched anything");
    const st2 = await dev.waitStatus((s) => (s.device?.ports[0]?.refused as number) >= refusedBefore + 3, 3000, "refusals counted");
    assert.ok((st2.device!.ports[0]!.refused as number) >= refusedBefore + 3);
  } finally {
    await alpha.close();
    await dev.stop();
  }
});

testWhere(t, "watchdog: armed by bravo, bravo silent for its timeout: outlet 2 cycled off and on, alpha told", REQS, async () => {
  const dev = await DeviceProc.start({ settings: CLUSTER, outlets: 2 });
  const alpha = await DeviceClient.open(dev.hostA, KEY, { name: "alpha" });
  const bravo = await DeviceClient.open(dev.hostB, KEY, { name: "bravo" });
  try {
    await dev.waitStatus((s) => s.hal.outlets.every((o) => o.on), 5000, "outlets on after boot");
    await alpha.hello();
    await bravo.hello();
    const mark = dev.records.length;
    const armed = await bravo.armWatchdog(1000);
    assert.ok(armed.ok, armed.error ?? "");
    const t0 = Date.now();
    const off = await dev.waitRecord((r) => r.event === "outlet-off" && r.outlet === 2, 5000, mark, "outlet 2 off by the watchdog");
    const tripMs = Date.now() - t0;
    const on = await dev.waitRecord((r) => r.event === "outlet-on" && r.outlet === 2, 5000, dev.records.indexOf(off), "outlet 2 back on");
    const ev = await alpha.waitEvent("wd-cycle", 5000);
    assert.is(ev.fields.host, "bravo");
    assert.is(ev.auth, "", "event signed");
    const offAt = Date.parse(String(off.time));
    const onAt = Date.parse(String(on.time));
    console.log(`  watchdog tripped ${tripMs} ms after arming (timeout 1000 ms); outlet off for ${onAt - offAt} ms (outlet.off_ms 1000)`);
    assert.ok(tripMs >= 900 && tripMs < 3000, `tripped after ${tripMs} ms`);
    assert.ok(onAt - offAt >= 900 && onAt - offAt < 3000, `off for ${onAt - offAt} ms`);
    assert.is(dev.outlets()[0], true, "alpha's outlet untouched");
  } finally {
    await alpha.close();
    await bravo.close();
    await dev.stop();
  }
});

t.run();
