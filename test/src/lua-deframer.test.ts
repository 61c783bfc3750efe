// The portable protocol subset compiled by typescript-to-lua and run by Lua 5.1
// must behave exactly as it does in Node. The same byte stream (every captured
// Heartbeat message in both formats, CR-LF variants, random noise with high
// bytes, messages cut short) is cut into the same chunks and fed to the Node
// Deframer and to the Lua one (test/lua/deframer_driver.lua); every event,
// every chunk boundary at which it appeared, and the final statistics must be
// identical. Decoding, field reading and re-encoding are compared the same way
// (test/lua/decode_driver.lua).

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  base64Decode, base64Encode, decodeDatagram, Deframer, DeframeEvent, encodeClassic, encodeNetstringBody, FRAMING_NETSTRING,
  encodeList, getField, isList, isNested, Message, netstring, newMessage, parseHex, setBinary, setString,
} from "@lubdub/protocol/portable";
import { classicFrame, FixtureSet, loadFixtureSets, noise, splitRandomly } from "./support/fixture-frames.js";
import { fromRoot, heartbeatFixturesDir } from "./support/paths.js";
import { LUA, Requirement, testWhere } from "./support/require.js";
import { Rng, seedFromEnv } from "./support/rng.js";

const t = suite("portable protocol compiled for Lua 5.1");

const BUNDLE = fromRoot("protocol", "dist-lua", "lubdub_protocol.lua");
const DEFRAMER_DRIVER = fromRoot("test", "lua", "deframer_driver.lua");
const DECODE_DRIVER = fromRoot("test", "lua", "decode_driver.lua");
const FIXTURES: Requirement = {
  path: heartbeatFixturesDir() ?? fromRoot("..", "shared", "fixtures", "heartbeat-3.0.6"),
  what: "the Heartbeat 3.0.6 capture sets (set LUBDUB_HB_FIXTURES or put shared/ beside the repository)",
};

let bundleChecked = false;

/**
 * The Lua build must match the current sources: rebuild it (as `npm run
 * build:lua` does) when it is missing or older than a portable source file.
 */
function ensureBundle(): void {
  if (bundleChecked) return;
  bundleChecked = true;
  const srcDir = fromRoot("protocol", "src", "portable");
  const inputs = readdirSync(srcDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).map((f) => join(srcDir, f));
  inputs.push(fromRoot("protocol", "tsconfig.lua.json"));
  const built = existsSync(BUNDLE) ? statSync(BUNDLE).mtimeMs : -1;
  if (built >= 0 && inputs.every((f) => statSync(f).mtimeMs <= built)) return;
  console.log(`  Lua build ${built < 0 ? "missing" : "older than its sources"}: rebuilding (npm run build:lua)`);
  const tstl = fromRoot("node_modules", "typescript-to-lua", "dist", "tstl.js");
  const r = spawnSync(process.execPath, [tstl, "-p", fromRoot("protocol", "tsconfig.lua.json")], { encoding: "utf8" });
  if (r.status !== 0) assert.unreachable(`typescript-to-lua failed:\n${r.stdout}${r.stderr}`);
}

let tmp: string | null = null;

function tempFile(name: string, content: string): string {
  if (tmp === null) tmp = mkdtempSync(join(tmpdir(), "lubdub-lua-"));
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

function runLua(driver: string, args: string[], input: string): string[] {
  ensureBundle();
  const r = spawnSync("lua5.1", [driver, "--bundle", BUNDLE].concat(args), {
    input: Buffer.from(input, "latin1"),
    encoding: "latin1",
    maxBuffer: 1 << 28,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) assert.unreachable(`lua5.1 ${driver} exited ${r.status}: ${r.stderr}`);
  return r.stdout.split("\n");
}

function hex(s: string): string {
  return Buffer.from(s, "latin1").toString("hex");
}

/** Compares two transcripts and reports the first line that differs (they can be megabytes long). */
function sameLines(node: string[], lua: string[], what: string): void {
  const n = node.length < lua.length ? node.length : lua.length;
  for (let i = 0; i < n; i++) {
    if (node[i] !== lua[i]) {
      const cut = (s: string | undefined) => (s === undefined ? "(none)" : s.length > 200 ? s.slice(0, 200) + "..." : s);
      assert.unreachable(`${what}: line ${i + 1} differs\n  node: ${cut(node[i])}\n  lua:  ${cut(lua[i])}`);
    }
  }
  assert.is(lua.length, node.length, `${what}: number of lines`);
}

// ---- deframer ---------------------------------------------------------------

interface NodeRun {
  lines: string[];
  frames: string[];
}

/** What deframer_driver.lua prints, produced by the Node Deframer. */
function nodeDeframe(chunks: string[], maxFrame?: number): NodeRun {
  const lines: string[] = [];
  const frames: string[] = [];
  const print = (events: DeframeEvent[]) => {
    for (const e of events) {
      if (e.frame !== null) {
        lines.push(`frame ${e.offset} ${e.bytes} ${hex(e.frame)}`);
        frames.push(e.frame);
      } else lines.push(`drop ${e.reason} ${e.offset} ${e.bytes} ${e.detail}`);
    }
  };
  const d = new Deframer(maxFrame);
  let maxPending = 0;
  chunks.forEach((c, k) => {
    const events = d.push(c);
    if (events.length > 0) {
      lines.push(`push ${k} ${events.length}`);
      print(events);
    }
    if (d.pendingBytes() > maxPending) maxPending = d.pendingBytes();
  });
  const last = d.end();
  lines.push(`end ${last.length}`);
  print(last);
  const s = d.stats;
  lines.push(
    `stats bytesIn=${s.bytesIn} frames=${s.frames} noiseBytes=${s.noiseBytes} droppedFrames=${s.droppedFrames} ` +
      `droppedBytes=${s.droppedBytes} truncated=${s.truncated} oversize=${s.oversize} malformed=${s.malformed} incomplete=${s.incomplete}`,
  );
  lines.push(`chunks ${chunks.length} maxPending ${maxPending}`);
  lines.push("");
  return { lines, frames };
}

function luaFrames(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith("frame ")).map((l) => Buffer.from(l.split(" ")[3]!, "hex").toString("latin1"));
}

/** Runs both deframers over the same chunks and asserts identical transcripts; returns the Node run. */
function compareDeframers(stream: string, chunks: string[], label: string, maxFrame?: number): NodeRun {
  assert.is(chunks.join(""), stream);
  const node = nodeDeframe(chunks, maxFrame);
  const sizes = tempFile(`sizes-${label}`, chunks.map((c) => c.length).join("\n") + "\n");
  const args = ["--sizes", sizes];
  if (maxFrame !== undefined) args.push("--max-frame", String(maxFrame));
  const lua = runLua(DEFRAMER_DRIVER, args, stream);
  sameLines(node.lines, lua, label);
  return node;
}

/** A message cut short inside its body (never inside the trailer, which would still leave a whole body). */
function truncated(rng: Rng, frame: string): string {
  const endMarker = frame.startsWith("###\n") ? frame.indexOf("%%%\n") : frame.lastIndexOf("<<<");
  return frame.slice(0, 1 + rng.int(endMarker - 1));
}

function crlf(frame: string): string {
  return frame.split("\n").join("\r\n");
}

interface MixedStream {
  stream: string;
  /** The whole frames as the deframer must pass them on, in order. */
  frames: string[];
  /** Where each frame ends in the stream. */
  ends: number[];
  noiseRuns: number;
  cuts: number;
}

/** Every captured message, in one or the other format, with noise and cut-short messages between them. */
function mixedStream(rng: Rng, sets: FixtureSet[]): MixedStream {
  let stream = "";
  const frames: string[] = [];
  const ends: number[] = [];
  let noiseRuns = 0;
  let cuts = 0;
  for (const s of sets) {
    for (const dg of s.datagrams) {
      const roll = rng.int(10);
      const classic = classicFrame(dg, s.keys);
      const frame = roll < 5 ? dg : classic;
      if (rng.int(8) === 0) {
        stream += truncated(rng, rng.int(2) === 0 ? dg : classic) + noise(rng, 8);
        cuts++;
      }
      if (rng.int(3) !== 0) {
        stream += noise(rng, 120);
        noiseRuns++;
      }
      stream += roll === 9 ? crlf(classic) : frame;
      frames.push(frame);
      ends.push(stream.length);
    }
  }
  stream += noise(rng, 50);
  return { stream, frames, ends, noiseRuns, cuts };
}

/**
 * The first `about` bytes of a mixed stream, cut back to the end of a whole
 * frame, and the frames in it. (Cut anywhere, the stream may end right after
 * a netstring body: the deframer then rightly passes the body on without its
 * trailer, which is not the frame the stream was built from.)
 */
function prefixAtFrameEnd(m: MixedStream, about: number): { stream: string; frames: string[] } {
  let k = 0;
  while (k < m.ends.length && m.ends[k]! <= about) k++;
  return { stream: m.stream.slice(0, k === 0 ? 0 : m.ends[k - 1]), frames: m.frames.slice(0, k) };
}

function assertFramesInOrder(got: string[], want: string[], what: string): void {
  assert.is(got.length, want.length, `${what}: number of whole frames`);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.unreachable(`${what}: frame ${i} differs`);
}

const sets = loadFixtureSets();

testWhere(t, "captured traffic with noise and cut-short messages: Lua and Node report the same events, chunk by chunk", [LUA, FIXTURES], () => {
  const rng = new Rng(seedFromEnv("lua-mixed"));
  const m = mixedStream(rng, sets);
  const node = compareDeframers(m.stream, splitRandomly(rng, m.stream, 97), "random chunks");
  assertFramesInOrder(node.frames, m.frames, `node (seed ${rng.seed})`);
  assert.ok(/[\x80-\xff]/.test(m.stream), "the stream carries bytes above 0x7f");
  console.log(`  ${m.frames.length} frames, ${m.cuts} cut short, ${m.noiseRuns} noise runs, ${m.stream.length} bytes: transcripts identical`);
});

testWhere(t, "one byte at a time, and the whole stream in one push, give the same frames in Lua", [LUA, FIXTURES], () => {
  const rng = new Rng(seedFromEnv("lua-bytewise"));
  const m = mixedStream(rng, sets.slice(0, 1));
  const part = prefixAtFrameEnd(m, 40000);
  const bytewise = compareDeframers(part.stream, part.stream.split(""), "byte chunks");
  const whole = compareDeframers(m.stream, [m.stream], "one chunk");
  assertFramesInOrder(whole.frames, m.frames, `whole stream (seed ${rng.seed})`);
  assertFramesInOrder(bytewise.frames, part.frames, `byte chunks (seed ${rng.seed})`);
});

testWhere(t, "a stream that stops between a netstring body and its trailer passes the body on, in Lua too (seed 1085665296)", [LUA], () => {
  // LUBDUB_SEED=1085665296: the byte-wise test above used to cut its stream at
  // byte 40000, exactly where a netstring body ended and its trailer began. Both
  // deframers passed the body on, as end() documents; the test expected the
  // frame with its trailer. Shrunk: one message, stopped before its trailer.
  const withTrailer = "###\n11:(0)t=status,%%%\n10:1 9d78d2ea,";
  const body = withTrailer.slice(0, withTrailer.indexOf("%%%\n") + 4);
  for (const chunks of [[body], body.split("")]) {
    const run = compareDeframers(body, chunks, `body without trailer, ${chunks.length} chunks`);
    assertFramesInOrder(run.frames, [body], "body alone");
  }
  // one byte of the trailer more and the message is incomplete, not passed on
  const cut = withTrailer.slice(0, body.length + 1);
  assertFramesInOrder(compareDeframers(cut, cut.split(""), "one trailer byte").frames, [], "cut inside the trailer");
  // the helper the byte-wise test now uses never cuts between a body and its trailer
  const m: MixedStream = { stream: "xx" + withTrailer + "yy" + withTrailer, frames: [withTrailer, withTrailer], ends: [2 + withTrailer.length, 4 + 2 * withTrailer.length], noiseRuns: 2, cuts: 0 };
  assert.equal(prefixAtFrameEnd(m, 2 + body.length), { stream: "", frames: [] });
  assert.equal(prefixAtFrameEnd(m, 4 + withTrailer.length + body.length), { stream: "xx" + withTrailer, frames: [withTrailer] });
});

/** The deframer's pinned regression streams (protocol/src/portable/deframer.test.ts): the same events in Lua, however cut. */
const REGRESSION_STREAMS: { stream: string; maxFrame?: number }[] = [
  { stream: ">>>\nt=a>>\r>\n>>>\nt=status\n<<<\nzz###\n11:(0)t=status,%%%\n10:1 9d78d2ea," },
  { stream: ">>>\n\r###\n11:(0)t=status,%%%\n10:1 9d78d2ea," },
  { stream: ">>>\nt=a\n\r\r###\n11:(0)t=status,%%%\n>>>\nt=b\n<<<\n" },
  { stream: ">>>\nt=a>>>\r\nt=status\r\n<<<\r\n" },
  { stream: "###\n900:(0)t=>>>\r\nt=status\r\nauth=1 abc\r\n<<<\r\n" },
  { stream: ">>>\nt=aaaaaaaaaaaaaaaaaaa>>>\n>>>\nt=status\n<<<\n", maxFrame: 20 },
  { stream: ">>>\nt=a\n<<<\r\r\n", maxFrame: 12 },
  { stream: ">>>\ndest=alpha\n(1)destuuid=D>>>\r\n>>>\r\nt=status\r\n<<<\r\n", maxFrame: 30 },
];

testWhere(t, "the deframer's regression streams give the same events in Lua, whole and byte by byte", [LUA], () => {
  REGRESSION_STREAMS.forEach((r, i) => {
    const whole = compareDeframers(r.stream, [r.stream], `regression ${i}, one chunk`, r.maxFrame);
    const bytes = compareDeframers(r.stream, r.stream.split(""), `regression ${i}, byte chunks`, r.maxFrame);
    // the same events either way (the transcripts differ only in their push lines)
    const events = (lines: string[]) => lines.filter((l) => l.startsWith("frame ") || l.startsWith("drop ") || l.startsWith("stats "));
    assert.equal(events(bytes.lines), events(whole.lines), `regression ${i}: byte chunks and one chunk`);
  });
});

testWhere(t, "a small frame limit: oversize drops agree", [LUA, FIXTURES], () => {
  const rng = new Rng(seedFromEnv("lua-oversize"));
  const m = mixedStream(rng, sets.slice(0, 2));
  const node = compareDeframers(m.stream, splitRandomly(rng, m.stream, 300), "max frame 200", 200);
  const stats = node.lines[node.lines.length - 3]!;
  assert.ok(!stats.includes(" oversize=0 "), `some frames were oversize: ${stats}`);
});

testWhere(t, "bytes 0x80-0xff inside frames and noise pass through Lua unchanged", [LUA], () => {
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  const m = newMessage();
  setString(m, "t", "hi\xff\x80\xe9");
  setString(m, "note", "\xc3\xa9 latin1 \xfe");
  setBinary(m, "bin", all);
  const classic = encodeClassic(m);
  const netstring = encodeNetstringBody(m) + "10:1 a1b2c3d4,";
  const high = "\xff\xfe\x80\x81\xc0\xc1\xf5\xff";
  const stream = high + classic + high + netstring + high + crlf(classic) + "\x80";
  const node = compareDeframers(stream, splitRandomly(new Rng(7), stream, 13), "high bytes");
  assertFramesInOrder(node.frames, [classic, netstring, classic], "node");
  const lua = runLua(DEFRAMER_DRIVER, [], stream);
  assertFramesInOrder(luaFrames(lua), [classic, netstring, classic], "lua, one chunk");
});

testWhere(t, "the driver's seeded chunking (Park-Miller) cuts as documented", [LUA], () => {
  const stream = ">>>\nt=status\nsrc=a\n<<<\n" + "noise\xff" + "###\n11:(0)t=status,%%%\n10:1 9d78d2ea," + ">>>\nt=x\n";
  const chunks: string[] = [];
  let state = 12345;
  for (let pos = 0; pos < stream.length; ) {
    state = (state * 16807) % 2147483647;
    const n = 1 + (state % 5);
    chunks.push(stream.slice(pos, pos + n));
    pos += n;
  }
  const node = nodeDeframe(chunks);
  sameLines(node.lines, runLua(DEFRAMER_DRIVER, ["--seed", "12345", "--max-chunk", "5"], stream), "seeded chunks");
});

// ---- decode and field readers -----------------------------------------------

/** What decode_driver.lua prints, produced by the Node code. */
function nodeDecode(records: string[]): string[] {
  const out: string[] = [];
  const printFields = (msg: Message, depth: number) => {
    for (const f of msg.fields) {
      if (isNested(f)) {
        out.push(`struct ${depth} ${hex(f.name)} ${f.type} ${f.value.fields.length}`);
        printFields(f.value, depth + 1);
      } else if (isList(f)) {
        out.push(`list ${depth} ${hex(f.name)} ${f.value.length}`);
        for (const item of f.value) out.push(`item ${hex(item)}`);
      } else out.push(`field ${depth} ${hex(f.name)} ${f.type} ${hex(f.value)}`);
    }
  };
  records.forEach((bytes, i) => {
    out.push(`record ${i} ${bytes.length}`);
    const r = decodeDatagram(bytes);
    if (!r.ok) out.push(`error ${r.error.code} ${r.error.offset} ${r.error.detail}`);
    else {
      const dec = r.decoded;
      out.push(`ok ${dec.framing} ${dec.extraBytes}`);
      if (dec.framing === FRAMING_NETSTRING) {
        out.push(`body ${dec.body.length}`);
        if (dec.trailer !== null) out.push(`trailer ${dec.trailer.index} ${hex(dec.trailer.digest)}`);
        else out.push(`trailer-error ${dec.trailerError!.code} ${dec.trailerError!.offset}`);
      }
      printFields(dec.message, 0);
      for (const name of ["t", "src", "seq", "dest"]) {
        const v = getField(dec.message, name);
        out.push(`get ${name} ${v === null ? "null" : hex(v)}`);
      }
      const seq = getField(dec.message, "seq");
      const n = seq === null ? null : parseHex(seq);
      out.push(`seq ${n === null ? "null" : n}`);
      out.push(`classic ${hex(encodeClassic(dec.message))}`);
      out.push(`netstring ${hex(encodeNetstringBody(dec.message))}`);
    }
    const b64 = base64Encode(bytes);
    out.push(`base64 ${b64} ${base64Decode(b64) === bytes}`);
  });
  out.push("");
  return out;
}

function compareDecoders(records: string[], label: string): string[] {
  const node = nodeDecode(records);
  const lua = runLua(DECODE_DRIVER, [], records.map((r) => `${r.length}\n${r}`).join(""));
  sameLines(node, lua, label);
  return node;
}

testWhere(t, "decodeDatagram, field readers and re-encoding agree on every captured message", [LUA, FIXTURES], () => {
  const rng = new Rng(seedFromEnv("lua-decode"));
  const records: string[] = [];
  for (const s of sets) {
    for (const dg of s.datagrams) {
      records.push(dg, classicFrame(dg, s.keys));
      if (rng.int(4) === 0) records.push(dg.slice(0, rng.int(dg.length)));
      if (rng.int(4) === 0) {
        const at = rng.int(dg.length);
        records.push(dg.slice(0, at) + String.fromCharCode(rng.int(256)) + dg.slice(at + 1));
      }
    }
  }
  const lines = compareDecoders(records, `decode (seed ${rng.seed})`);
  const ok = lines.filter((l) => l.startsWith("ok ")).length;
  const errors = lines.filter((l) => l.startsWith("error ")).length;
  assert.ok(ok >= 2 * sets.reduce((n, s) => n + s.datagrams.length, 0), "every captured message decodes");
  assert.ok(errors > 0, "broken copies exercise the error paths");
  console.log(`  ${records.length} records (${ok} decoded, ${errors} refused): identical in Lua and Node`);
});

testWhere(t, "decoding values with high bytes, a list field and refusals agree", [LUA], () => {
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  const m = newMessage();
  setString(m, "t", "status\xff");
  setString(m, "seq", "1f");
  setString(m, "line", "a\nb\x13c\xe9");
  setBinary(m, "bin", all);
  const withList = "###\n" + netstring("(3)l=" + encodeList(["ab", "\xff\x80\x00"])) + "%%%\n";
  const lines = compareDecoders(
    [encodeClassic(m), encodeNetstringBody(m) + "5:1 ab,xyz", withList, ">>>\n(1)b=!!!!\n<<<\n", "", "###\n5:(0)a", "\xff\xfe"],
    "decode, hand-made",
  );
  assert.ok(lines.includes(`seq 31`), "seq read as hex 1f");
  assert.ok(lines.includes(`list 0 ${hex("l")} 2`), "list field read");
  assert.ok(lines.some((l) => l.startsWith("error bad-base64 ")), "bad base64 refused");
});

t.after(() => {
  if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
});

t.run();
