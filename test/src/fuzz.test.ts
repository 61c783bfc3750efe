// Property tests over random and mutated input, at least 100,000 inputs per
// run for each of the decoder, the deframer and the authkeys parser: no
// exception escapes, no input takes long (no hang), buffers stay bounded.
// Seeds are printed; LUBDUB_SEED replays a run, LUBDUB_FUZZ_SCALE multiplies it.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeDatagram, Deframer, encodeClassic, encodeNetstringBody, Message, parseAuthkeys, readMessage, singleKey,
  verifyDecoded,
} from "@lubdub/protocol";
import { classicFrame, loadFixtureSets } from "./support/fixture-frames.js";
import { Rng, seedFromEnv } from "./support/rng.js";

const SCALE = Number(process.env.LUBDUB_FUZZ_SCALE) || 1;
const INPUTS = Math.round(110_000 * SCALE);
/** No single input may take this long; real inputs take microseconds. */
const SLOW_INPUT_MS = 1000;
/** Heap growth over a whole run that would mean something is retained per input. */
const HEAP_GROWTH_LIMIT = 256 * 1024 * 1024;

const t = suite("fuzz");
const sets = loadFixtureSets();
const KEYS = [singleKey("crc", "", 1), singleKey("md5", "wpMd5Key-Heartbeat306", 3), singleKey("sha1", "wpSha1Key-Heartbeat306", 2)];

// Seeds when no capture is available: hand-made messages of both formats.
const FALLBACK = [
  "###\n11:(0)t=status,10:(0)st=init,10:(0)dt=1f40,13:(0)protocol=1,12:(0)src=alpha,8:(0)seq=1,14:(0)hg=6b02d7da,14:(0)ts=6b02d7d9,8:(0)ttl=3,%%%\n10:1 9d78d2ea,",
  ">>>\nt=status\nst=up\ndt=1f40\nsrc=alpha\n(1)srcuuid=SYSEvG5cSAqCA/3OLQ0c0A==\nseq=2\nhg=6b02d7da\nts=6b02d7d9\nauth=1 78404c3f\n<<<\n",
];
const corpus: string[] = sets.length
  ? sets.flatMap((s) => s.datagrams.filter((_, i) => i % 7 === 0).flatMap((dg) => [dg, classicFrame(dg, s.keys)]))
  : FALLBACK;
const TOKENS = ["###\n", "%%%\n", ">>>\n", "<<<\n", ":", ",", "(0)", "(1)", "(2)", "(3)", "(5)", "(9)", "=", "\n", "\r", "\x13", "\x14", "0:", "999999:", "12:", "t=status", "auth=1 ", "10:1 9d78d2ea,"];

function mutate(rng: Rng, s: string): string {
  let out = s;
  const edits = 1 + rng.int(6);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(out.length + 1);
    switch (rng.int(7)) {
      case 0: out = out.slice(0, at) + String.fromCharCode(rng.int(256)) + out.slice(at + 1); break; // replace
      case 1: out = out.slice(0, at) + rng.bytes(1 + rng.int(8)) + out.slice(at); break; // insert
      case 2: out = out.slice(0, at) + out.slice(at + 1 + rng.int(16)); break; // delete
      case 3: out = out.slice(0, at); break; // truncate
      case 4: out = out.slice(0, at) + rng.pick(TOKENS) + out.slice(at); break; // structural token
      case 5: out = out.slice(0, at) + rng.pick(corpus).slice(rng.int(200)); break; // splice
      default: { // rewrite a length prefix
        const m = /\d+:/.exec(out.slice(at));
        if (m) out = out.slice(0, at + m.index) + String(rng.int(100000)) + out.slice(at + m.index + m[0].length - 1);
      }
    }
  }
  return out;
}

function randomField(rng: Rng, depth: number): string {
  const type = rng.int(10) === 0 ? rng.int(10) : rng.pick([0, 0, 0, 1, 2, 3, 5]);
  const name = rng.int(20) === 0 ? "" : rng.pick(["t", "src", "seq", "auth", "x", "dest"]) + (rng.int(3) ? "" : rng.bytes(2));
  let value: string;
  // Nest rarely, but now and then all the way past the depth limit (16).
  if ((type === 2 || type === 5) && depth < 18 && (depth === 0 || rng.int(3) === 0)) value = randomNetstring(rng, depth + 1, false, depth > 0 ? 1 : 3);
  else if (type === 3) value = Array.from({ length: rng.int(4) }, () => { const e = rng.bytes(rng.int(6)); return `${e.length}:${e},`; }).join("");
  else value = rng.bytes(rng.int(24));
  const payload = `(${type})${name}=${value}`;
  const len = rng.int(15) === 0 ? payload.length + rng.int(5) - 2 : payload.length;
  return `${len}:${payload}${rng.int(30) === 0 ? "" : ","}`;
}

function randomNetstring(rng: Rng, depth: number, trailer: boolean, maxFields = 12): string {
  let s = "###\n";
  const n = rng.int(maxFields + 1);
  for (let i = 0; i < n; i++) s += randomField(rng, depth);
  s += "%%%\n";
  if (trailer) s += rng.pick(["10:1 9d78d2ea,", "3:9 x,", "", "42:2 " + "a".repeat(40) + ",", rng.bytes(10)]);
  return s;
}

function randomInput(rng: Rng): string {
  switch (rng.int(5)) {
    case 0: return rng.bytes(rng.int(400));
    case 1: return randomNetstring(rng, 0, true);
    case 2: return ">>>\n" + Array.from({ length: rng.int(10) }, () => rng.pick(["", "(1)", "(2)", "(3)", "(7)"]) + rng.pick(["t", "auth", "", "x"]) + rng.pick(["=", ""]) + rng.bytes(rng.int(30))).join("\n") + rng.pick(["\n<<<\n", "", "\n<<"]);
    default: return mutate(rng, rng.pick(corpus));
  }
}

function sameMessage(a: Message, b: Message): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}

t(`decoder, verifier and reader: ${INPUTS} random and mutated inputs`, () => {
  const rng = new Rng(seedFromEnv("fuzz-decoder"));
  const heap0 = heapUsed();
  let decoded = 0;
  let verified = 0;
  let slowest = 0;
  for (let i = 0; i < INPUTS; i++) {
    const input = randomInput(rng);
    const started = performance.now();
    try {
      const d = decodeDatagram(input);
      if (d.ok) {
        decoded++;
        for (const k of KEYS) if (verifyDecoded(d.decoded, k).ok) verified++;
        readMessage(d.decoded.message);
        // Whatever decodes re-encodes to something that decodes to the same message.
        const again = decodeDatagram(encodeNetstringBody(d.decoded.message) + "10:1 00000000,");
        assert.ok(again.ok && sameMessage(again.decoded.message, d.decoded.message), `netstring round trip, input ${i} (seed ${rng.seed})`);
        encodeClassic(d.decoded.message);
      } else {
        assert.type(d.error.code, "string");
        assert.ok(d.error.offset >= 0 && d.error.offset <= input.length + 1, `error offset ${d.error.offset} outside the input`);
      }
    } catch (e) {
      assert.unreachable(`input ${i} threw ${(e as Error).stack} (seed ${rng.seed}): ${JSON.stringify(input)}`);
    }
    slowest = Math.max(slowest, performance.now() - started);
  }
  assert.ok(slowest < SLOW_INPUT_MS, `slowest input took ${slowest.toFixed(1)} ms`);
  assert.ok(heapUsed() - heap0 < HEAP_GROWTH_LIMIT, "heap grew without bound");
  console.log(`  ${INPUTS} inputs: ${decoded} decoded, ${verified} verified under some key, slowest ${slowest.toFixed(2)} ms`);
});

for (const maxFrame of [1024, 262144]) {
  t(`deframer (limit ${maxFrame} bytes): ${INPUTS} random chunks, buffer stays bounded`, () => {
    const rng = new Rng(seedFromEnv(`fuzz-deframer-${maxFrame}`));
    const d = new Deframer(maxFrame);
    let framesOut = 0;
    let frameBytes = 0;
    let slowest = 0;
    for (let i = 0; i < INPUTS; i++) {
      const kind = rng.int(6);
      const chunk = kind === 0 ? rng.bytes(rng.int(64))
        : kind === 1 ? rng.pick(TOKENS)
        : kind === 2 ? rng.pick(corpus)
        : kind === 3 ? mutate(rng, rng.pick(corpus))
        : kind === 4 ? rng.pick(corpus).slice(0, rng.int(300))
        : rng.pick(corpus).slice(rng.int(300));
      const started = performance.now();
      try {
        for (const e of d.push(chunk)) {
          if (e.frame !== null) {
            framesOut++;
            frameBytes += e.frame.length;
            assert.ok(e.frame.length <= maxFrame, `frame of ${e.frame.length} bytes over the limit`);
            assert.ok(e.frame.startsWith("###\n") || e.frame.startsWith(">>>\n"), "a frame starts with a marker");
          } else {
            assert.ok(e.bytes >= 0 && e.reason !== null);
          }
        }
      } catch (err) {
        assert.unreachable(`chunk ${i} threw ${(err as Error).stack} (seed ${rng.seed})`);
      }
      slowest = Math.max(slowest, performance.now() - started);
      assert.ok(d.pendingBytes() <= maxFrame + 8, `pending ${d.pendingBytes()} bytes after chunk ${i} (seed ${rng.seed})`);
    }
    d.end();
    assert.ok(d.pendingBytes() === 0);
    assert.ok(frameBytes + d.stats.droppedBytes <= d.stats.bytesIn, "more bytes out than in");
    assert.ok(slowest < SLOW_INPUT_MS, `slowest chunk took ${slowest.toFixed(1)} ms`);
    console.log(`  ${d.stats.bytesIn} bytes in, ${framesOut} frames, ${d.stats.droppedFrames} dropped frames, ${d.stats.noiseBytes} noise bytes, slowest ${slowest.toFixed(2)} ms`);
  });
}

const AUTHKEYS_WORDS = ["auth", "auth 1", "auth 16", "auth x", "1 crc", "2 sha1 k", "3 md5 key", "1 sha1", "2 crc key", "15 md5 a b c", "16 crc", "-1 crc", "1 foo", "#", " ", "\t", "\r", "\0", "01 crc", "auth 01"];

function randomAuthkeys(rng: Rng): string {
  const lines: string[] = [];
  const n = rng.int(8);
  for (let i = 0; i < n; i++) {
    const kind = rng.int(5);
    if (kind === 0) lines.push(rng.bytes(rng.int(40)));
    else if (kind === 1) lines.push(rng.pick(AUTHKEYS_WORDS) + " " + rng.pick(AUTHKEYS_WORDS));
    else if (kind === 2 && rng.int(50) === 0) lines.push("2 sha1 " + "k".repeat(5200));
    else lines.push(rng.pick(AUTHKEYS_WORDS));
  }
  return lines.join(rng.pick(["\n", "\r\n", "\n\n"]));
}

t(`authkeys parser: ${INPUTS} random files`, () => {
  const rng = new Rng(seedFromEnv("fuzz-authkeys"));
  let ok = 0;
  let slowest = 0;
  for (let i = 0; i < INPUTS; i++) {
    const text = randomAuthkeys(rng);
    const started = performance.now();
    try {
      const r = parseAuthkeys(text, "authkeys");
      const lineCount = text.split("\n").length;
      if (r.ok) {
        ok++;
        assert.ok(r.keys.entries.has(r.keys.active), "active index defined");
        for (const [idx, e] of r.keys.entries) {
          assert.ok(idx >= 0 && idx <= 15 && e.index === idx);
          assert.ok(e.method.keyed ? e.key.length > 0 : e.key === "");
        }
      } else {
        assert.ok(r.errors.length > 0);
        for (const e of r.errors) assert.ok(e.line >= 0 && e.line <= lineCount && e.source === "authkeys" && e.message.length > 0);
      }
    } catch (e) {
      assert.unreachable(`file ${i} threw ${(e as Error).stack} (seed ${rng.seed}): ${JSON.stringify(text)}`);
    }
    slowest = Math.max(slowest, performance.now() - started);
  }
  assert.ok(slowest < SLOW_INPUT_MS);
  console.log(`  ${INPUTS} files: ${ok} valid, ${INPUTS - ok} rejected with line-numbered errors`);
});

t.run();
