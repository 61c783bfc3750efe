// The device simulator (lubdub-device-sim) through real ttys: heartbeat
// frames relayed both ways byte-exact through line noise, interpreter
// commands on a host port doing nothing but being dropped and counted, and
// the authenticated device protocol (fence, replay, forgery, watchdog).

import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, rmSync } from "node:fs";
import { DeviceProc, HostLine, deviceRequirements } from "./support/device-proc.js";
import { classicFrame, loadFixtureSets, noise } from "./support/fixture-frames.js";
import { Rng, seedFromEnv } from "./support/rng.js";
import { testWhere } from "./support/require.js";

const t = test;
const REQS = deviceRequirements("sim");

/** Every fixture message as the classic frame a serial line carries. */
function fixtureFrames(): string[] {
  const out: string[] = [];
  for (const set of loadFixtureSets()) {
    for (const d of set.datagrams) {
      try {
        out.push(classicFrame(d, set.keys));
      } catch {
        // a capture that is not a message
      }
    }
  }
  return out;
}

const FIXTURES = { check: () => (fixtureFrames().length > 0 ? null : "no Heartbeat 3.0.6 fixtures (../shared/fixtures/heartbeat-3.0.6 or LUBDUB_HB_FIXTURES)"), what: "heartbeat fixtures" };

testWhere(t, "relay: every fixture frame crosses A→B and B→A byte-exact through noise; the noise is dropped and counted", [...REQS, FIXTURES], async () => {
  const rng = new Rng(seedFromEnv("device-sim relay"));
  const frames = fixtureFrames();
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

t.run();
