import { test } from "uvu";
import * as assert from "uvu/assert";
import { Bench } from "../testing/fake-hal.js";
import { fixtureFrames, syntheticFrames } from "../testing/fixtures.js";
import { MAX_RELAY_FRAME } from "./device.js";
import { PORT_A, PORT_B } from "./hal.js";

/** Seeded generator so a failure can be replayed (LUBDUB_SEED). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), s | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = process.env.LUBDUB_SEED ? Number(process.env.LUBDUB_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`  [relay] seed ${SEED} (replay with LUBDUB_SEED=${SEED})`);

const MARKERS = ["###\n", ">>>\n", ">>>\r\n"];
function noise(r: () => number, max: number): string {
  for (;;) {
    let s = "";
    const n = Math.floor(r() * (max + 1));
    for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * 256));
    if (!MARKERS.some((m) => s.includes(m))) return s;
  }
}
function feedChunked(b: Bench, port: number, s: string, r: () => number, maxChunk: number): void {
  for (let i = 0; i < s.length; ) {
    const n = 1 + Math.floor(r() * maxChunk);
    b.dev.portData(port, s.slice(i, i + n));
    i += n;
  }
}

const captured = fixtureFrames(40);
/** Heartbeat's captured frames when they are beside the repository, else signed made-up ones. */
const frames = captured.length > 0 ? captured : syntheticFrames(200);

if (captured.length > 0) {
  test("fixtures are available", () => {
    assert.ok(captured.length > 50, `only ${captured.length} fixture frames`);
  });
} else {
  console.log("SKIP fixtures are available: needs the Heartbeat 3.0.6 captures (shared/fixtures or LUBDUB_HB_FIXTURES); relaying signed made-up frames instead");
  test.skip("fixtures are available");
}

for (const [from, to] of [[PORT_A, PORT_B], [PORT_B, PORT_A]] as const) {
  test(`relays the heartbeat fixtures byte-exact ${from === PORT_A ? "A→B" : "B→A"} through noise and random chunking`, () => {
    const r = rng(SEED + from);
    const b = new Bench();
    let stream = "";
    let noiseBytes = 0;
    for (const f of frames) {
      const n = noise(r, 40);
      noiseBytes += n.length;
      stream += n + f;
    }
    // a final newline flushes the noise run the deframer is still holding
    stream += "\n";
    feedChunked(b, from, stream, r, 64);
    assert.is(b.hal.take(to), frames.join(""));
    assert.is(b.hal.take(from), "", "nothing echoed back");
    const st = b.dev.status().ports[from]!;
    assert.is(st.frames, frames.length);
    assert.is(st.relayed, frames.length);
    assert.is(st.bytesIn, stream.length);
    assert.ok(st.droppedBytes >= noiseBytes - 4 && st.droppedBytes <= noiseBytes + 1, `dropped ${st.droppedBytes} of ${noiseBytes} noise`);
    assert.is(b.dev.status().ports[to]!.bytesOut, frames.join("").length);
  });
}

test("both directions at once, interleaved chunks", () => {
  const r = rng(SEED ^ 0x5555);
  const b = new Bench();
  const sa = frames.slice(0, 60).map((f) => noise(r, 20) + f).join("");
  const sb = frames.slice(60, 120).map((f) => noise(r, 20) + f).join("");
  let ia = 0;
  let ib = 0;
  while (ia < sa.length || ib < sb.length) {
    const na = 1 + Math.floor(r() * 50);
    b.dev.portData(PORT_A, sa.slice(ia, ia + na));
    ia += na;
    const nb = 1 + Math.floor(r() * 50);
    b.dev.portData(PORT_B, sb.slice(ib, ib + nb));
    ib += nb;
  }
  assert.is(b.hal.take(PORT_B), frames.slice(0, 60).join(""));
  assert.is(b.hal.take(PORT_A), frames.slice(60, 120).join(""));
});

test("a frame cut short by another is dropped, the next one relayed", () => {
  const b = new Bench();
  const f = frames[0]!;
  b.dev.portData(PORT_A, f.slice(0, f.length - 20) + f);
  assert.is(b.hal.take(PORT_B), f);
  const st = b.dev.status().ports[PORT_A]!;
  assert.is(st.dropped, 1);
  assert.is(st.relayed, 1);
});

test("an oversize frame is dropped and the buffer stays bounded", () => {
  const b = new Bench();
  let big = ">>>\nt=status\n";
  while (big.length < MAX_RELAY_FRAME * 3) big += "x=" + "y".repeat(100) + "\n";
  big += "<<<\n";
  b.dev.portData(PORT_A, big + frames[1]!);
  assert.is(b.hal.take(PORT_B), frames[1]!);
  assert.is(b.dev.status().ports[PORT_A]!.dropped, 1);
});

test("interpreter commands on a host port are dropped and counted, nothing runs", () => {
  const b = new Bench();
  const outletsBefore = JSON.stringify(b.dev.outlets());
  const cmds = "print(1)\nos.execute('reboot')\ndigitalWrite(B3, 0)\nE.setConsole(Serial1)\n\x10reset();\nload()\n";
  b.dev.portData(PORT_A, cmds);
  b.dev.portData(PORT_B, cmds);
  b.dev.portData(PORT_A, frames[0]!); // a frame afterwards still goes through
  assert.is(b.hal.take(PORT_B), frames[0]!);
  assert.is(b.hal.take(PORT_A), "");
  assert.is(JSON.stringify(b.dev.outlets()), outletsBefore);
  const a = b.dev.status().ports[PORT_A]!;
  const bb = b.dev.status().ports[PORT_B]!;
  assert.is(a.droppedBytes, cmds.length);
  assert.ok(bb.droppedBytes >= cmds.length - 4);
  assert.is(a.relayed, 1);
});

test("ldev- frames are consumed, never relayed", () => {
  const b = new Bench();
  b.dev.portData(PORT_A, ">>>\nt=ldev-fence\nsrc=alpha\ntarget=bravo\naction=off\n<<<\n");
  b.dev.portData(PORT_A, ">>>\nt=ldev-status\nsrc=alpha\n<<<\n");
  b.dev.portData(PORT_A, "###\n11:(0)t=ldev-x,%%%\n\n");
  assert.is(b.hal.take(PORT_B), "");
  const st = b.dev.status().ports[PORT_A]!;
  assert.is(st.relayed, 0);
  assert.is(st.device, 2);
  assert.is(st.dropped, 1, "netstring device frame dropped");
  assert.ok(st.refused >= 2);
});

test("device-looking frames: typed fields dropped; a first t that is not ldev- relayed", () => {
  const b = new Bench();
  b.dev.portData(PORT_A, ">>>\nt=ldev-fence\n(1)x=AAAA\n<<<\n");
  const dup = ">>>\nt=status\nsrc=alpha\nt=ldev-fence\n<<<\n";
  b.dev.portData(PORT_A, dup);
  assert.is(b.hal.take(PORT_B), dup);
  const st = b.dev.status().ports[PORT_A]!;
  assert.is(st.dropped, 1);
  assert.is(st.relayed, 1);
  assert.is(st.device, 0);
});

test("drop logs are rate limited", () => {
  const b = new Bench();
  const f = frames[0]!;
  for (let i = 0; i < 200; i++) b.dev.portData(PORT_A, f.slice(0, 30) + "\n");
  b.dev.portData(PORT_A, f);
  assert.ok(b.hal.logged("drop").length <= 6, `${b.hal.logged("drop").length} drop logs`);
  assert.is(b.dev.status().ports[PORT_A]!.dropped, 200);
  b.advance(61000);
  b.dev.portData(PORT_A, f.slice(0, 30) + "\n" + f);
  assert.ok(b.hal.logged("drop").some((l) => /more not logged/.test(l.text)));
});

test.run();
