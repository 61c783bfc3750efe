import { suite } from "uvu";
import * as assert from "uvu/assert";
import { classicDeframer, Deframer, DeframerCore, DeframeEvent, DROP_INCOMPLETE, DROP_MALFORMED, DROP_NOISE, DROP_OVERSIZE, DROP_TRUNCATED } from "./deframer.js";

const t = suite("deframer");

const CLASSIC = ">>>\nt=status\nst=up\nauth=1 abc\n<<<\n";
const NETSTRING = "###\n11:(0)t=status,10:(0)st=init,%%%\n10:1 9d78d2ea,";

function feedAll(d: Deframer, chunks: string[]): DeframeEvent[] {
  const out: DeframeEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  out.push(...d.end());
  return out;
}

function frames(events: DeframeEvent[]): string[] {
  return events.filter((e) => e.frame !== null).map((e) => e.frame!);
}

function byteChunks(s: string): string[] {
  return s.split("");
}

function crlf(s: string): string {
  return s.split("\n").join("\r\n");
}

t("a classic frame, whole or a byte at a time", () => {
  assert.equal(frames(feedAll(new Deframer(), [CLASSIC])), [CLASSIC]);
  assert.equal(frames(feedAll(new Deframer(), byteChunks(CLASSIC))), [CLASSIC]);
});

t("a netstring frame with its trailer, whole or a byte at a time", () => {
  assert.equal(frames(feedAll(new Deframer(), [NETSTRING])), [NETSTRING]);
  assert.equal(frames(feedAll(new Deframer(), byteChunks(NETSTRING + NETSTRING))), [NETSTRING, NETSTRING]);
});

t("noise before, between and after frames is counted and reported once per run", () => {
  const d = new Deframer();
  const ev = feedAll(d, ["xx", "x" + CLASSIC + "yyyy" + NETSTRING + "zz"]);
  assert.equal(frames(ev), [CLASSIC, NETSTRING]);
  assert.equal(ev.filter((e) => e.reason === DROP_NOISE).map((e) => e.bytes), [3, 4, 2]);
  assert.is(d.stats.noiseBytes, 9);
  assert.is(d.stats.frames, 2);
  assert.is(d.stats.droppedBytes, 9);
});

t("offsets point into the stream", () => {
  const ev = feedAll(new Deframer(), ["abc" + CLASSIC]);
  assert.is(ev.find((e) => e.frame)!.offset, 3);
});

t("carriage returns and blank lines inside a classic frame are dropped, as Heartbeat's tty and reader do", () => {
  const crlf = CLASSIC.split("\n").join("\r\n").replace("t=status\r\n", "t=status\r\n\r\n");
  assert.equal(frames(feedAll(new Deframer(), byteChunks(crlf))), [CLASSIC]);
});

t("a classic frame cut short by a new one is dropped as truncated", () => {
  const d = new Deframer();
  const ev = feedAll(d, [">>>\nt=status\nst=u", "p\n" + CLASSIC]);
  // "st=up" is a complete line of the cut frame; the new >>> starts the next
  assert.equal(frames(ev), [CLASSIC]);
  assert.is(d.stats.truncated, 1);
  assert.ok(ev.some((e) => e.reason === DROP_TRUNCATED));
});

t("a netstring frame cut inside a field is dropped and the next frame recovered", () => {
  for (let cut = 5; cut < NETSTRING.length - 1; cut++) {
    const d = new Deframer();
    const ev = feedAll(d, [NETSTRING.slice(0, cut) + NETSTRING]);
    const got = frames(ev);
    assert.ok(got.includes(NETSTRING), `cut at ${cut}: ${JSON.stringify(ev)}`);
  }
});

t("a classic line without '=' makes the frame malformed", () => {
  const d = new Deframer();
  const ev = feedAll(d, [">>>\nt=status\ngarbage line\n<<<\n" + CLASSIC]);
  assert.equal(frames(ev), [CLASSIC]);
  assert.is(d.stats.malformed, 1);
  assert.ok(ev.some((e) => e.reason === DROP_MALFORMED));
});

t("a netstring with a broken length is malformed and hunting resumes after its marker", () => {
  const d = new Deframer();
  const ev = feedAll(d, ["###\nxx:(0)t=status,%%%\n" + NETSTRING]);
  assert.equal(frames(ev), [NETSTRING]);
  assert.is(d.stats.malformed, 1);
});

t("frames longer than the limit are dropped as oversize and memory stays bounded", () => {
  const d = new Deframer(64);
  const long = ">>>\n" + "x=" + "y".repeat(500) + "\n<<<\n";
  const ev: DeframeEvent[] = [];
  for (const c of byteChunks(long + CLASSIC.slice(0, 60))) {
    ev.push(...d.push(c));
    assert.ok(d.pendingBytes() <= 64 + 1, `pending ${d.pendingBytes()}`);
  }
  assert.ok(ev.some((e) => e.reason === DROP_OVERSIZE));
  const big = "###\n99999:(0)t=" + "z".repeat(200);
  const d2 = new Deframer(64);
  assert.ok(feedAll(d2, [big]).some((e) => e.reason === DROP_OVERSIZE));
});

t("a huge chunk of noise never grows the buffer past the limit", () => {
  const d = new Deframer(128);
  d.push("n".repeat(100000));
  assert.ok(d.pendingBytes() <= 4);
  assert.is(d.stats.noiseBytes, 100000 - d.pendingBytes());
});

t("end of stream inside a frame reports it incomplete", () => {
  const d = new Deframer();
  const ev = feedAll(d, [CLASSIC.slice(0, 20)]);
  assert.equal(ev.map((e) => e.reason), [DROP_INCOMPLETE]);
  const d2 = new Deframer();
  assert.equal(feedAll(d2, [NETSTRING.slice(0, 30)]).map((e) => e.reason), [DROP_INCOMPLETE]);
});

t("a netstring body without a trailer at end of stream is passed on (verification reports it)", () => {
  const body = "###\n11:(0)t=status,%%%\n";
  assert.equal(frames(feedAll(new Deframer(), [body])), [body]);
  // followed by another frame, it ends where the next begins
  assert.equal(frames(feedAll(new Deframer(), [body + CLASSIC])), [body, CLASSIC]);
});

t("a split start marker is found across chunks", () => {
  assert.equal(frames(feedAll(new Deframer(), ["noise>", ">", ">\n", CLASSIC.slice(4)])), [CLASSIC]);
  assert.equal(frames(feedAll(new Deframer(), ["noise#", "##", "\n" + NETSTRING.slice(4)])), [NETSTRING]);
});

t("a bad type digit or a field without name= in a netstring is malformed", () => {
  for (const bad of ["###\n11:(7)t=status,%%%\n", "###\n8:(0)status,%%%\n", "###\n5:(0)=ab,%%%\n"]) {
    const d = new Deframer();
    const ev = feedAll(d, [bad + NETSTRING]);
    assert.equal(frames(ev), [NETSTRING], bad);
    assert.is(d.stats.malformed, 1, bad);
  }
});

// ---- regression cases: offsets, markers next to carriage returns, chunking ----

type Ev = [string, number, number];

function summary(events: DeframeEvent[]): Ev[] {
  return events.map((e): Ev => [e.frame !== null ? "frame" : e.reason!, e.offset, e.bytes]);
}

/** Raw stream length of the frame event `e` (a classic frame lost its CRs and blank lines). */
function rawFrameLength(stream: string, e: DeframeEvent): number {
  if (e.frame!.startsWith("###\n")) return e.bytes;
  let at = e.offset;
  for (;;) {
    const nl = stream.indexOf("\n", at);
    if (stream.slice(at, nl).split("\r").join("") === "<<<") return nl + 1 - e.offset;
    at = nl + 1;
  }
}

/** Every event begins where the one before ended, and together they cover the stream. */
function assertTiles(stream: string, events: DeframeEvent[], d: Deframer, label: string): void {
  let pos = 0;
  for (const e of events) {
    assert.is(e.offset, pos, `${label}: event ${JSON.stringify(summary([e])[0])} should begin at ${pos}`);
    pos += e.frame !== null ? rawFrameLength(stream, e) : e.bytes;
  }
  assert.is(pos, stream.length, `${label}: events cover the stream`);
  const frameBytes = events.reduce((n, e) => n + (e.frame !== null ? rawFrameLength(stream, e) : 0), 0);
  assert.is(d.stats.droppedBytes + frameBytes, d.stats.bytesIn, `${label}: dropped + frame bytes = bytes in`);
}

/**
 * Feeds `stream` whole, a byte at a time and in chunks of 2, 3, 5 and 7
 * bytes: the events must be the same every time and tile the stream.
 */
function everyChunking(stream: string, maxFrame?: number): DeframeEvent[] {
  const d0 = new Deframer(maxFrame);
  const whole = feedAll(d0, [stream]);
  assertTiles(stream, whole, d0, "whole");
  const cuts: string[][] = [byteChunks(stream)];
  for (const n of [2, 3, 5, 7]) {
    const chunks: string[] = [];
    for (let i = 0; i < stream.length; i += n) chunks.push(stream.slice(i, i + n));
    cuts.push(chunks);
  }
  for (const chunks of cuts) {
    const d = new Deframer(maxFrame);
    const ev = feedAll(d, chunks);
    assert.equal(ev, whole, `chunks of ${chunks[0]!.length}: same events as one push`);
    assert.equal(d.stats, d0.stats, `chunks of ${chunks[0]!.length}: same stats as one push`);
  }
  return whole;
}

t("a line ending in '>>\\r>' holds no start marker and later offsets stay right", () => {
  // It used to count as a marker inside the line, found nowhere in the raw
  // bytes: the deframer stepped back one byte and every later offset was one short.
  const head = ">>>\nt=a>>\r>\n";
  const ev = everyChunking(head + CLASSIC + "zz" + NETSTRING);
  assert.equal(summary(ev), [
    [DROP_TRUNCATED, 0, head.length],
    ["frame", head.length, CLASSIC.length],
    [DROP_NOISE, head.length + CLASSIC.length, 2],
    ["frame", head.length + CLASSIC.length + 2, NETSTRING.length],
  ]);
  // inside a complete frame the line is an ordinary one ("a>>>" once the CR is gone)
  assert.equal(frames(everyChunking(">>>\nt=a>>\r>\n<<<\n")), [">>>\nt=a>>>\n<<<\n"]);
});

t("a netstring start after a carriage return at the start of a classic line is found (seed 20)", () => {
  // Minimal stream of LUBDUB_SEED=20 (lua-mixed): a classic message cut short,
  // noise ending in "\n\r", then a netstring message, which used to be
  // swallowed with the line "\r###" as a malformed classic line.
  const ev = everyChunking(">>>\n\r" + NETSTRING);
  assert.equal(summary(ev), [[DROP_TRUNCATED, 0, 5], ["frame", 5, NETSTRING.length]]);
  assert.equal(frames(everyChunking(">>>\nt=a\n\r\r" + NETSTRING + CLASSIC)), [NETSTRING, CLASSIC]);
  assert.equal(frames(everyChunking(">>>\nt=a\n\r" + crlf(CLASSIC))), [CLASSIC]);
});

t("a CR-LF start marker ending a line is dropped up to the marker, not one byte into it", () => {
  const ev = everyChunking(">>>\nt=a>>>\r\n" + crlf(CLASSIC).slice(5));
  // (it used to report 8 bytes dropped, one into the next frame)
  assert.equal(summary(ev), [[DROP_TRUNCATED, 0, 7], ["frame", 7, CLASSIC.length]]);
});

t("a CR-LF start marker inside a netstring field cuts the message short at once", () => {
  // It used to go unnoticed: the field's claimed length swallowed the classic
  // message, and at the end of the stream both were dropped as incomplete.
  const d = new Deframer();
  const pushed = d.push("###\n900:(0)t=" + crlf(CLASSIC));
  assert.equal(frames(pushed), [CLASSIC]);
  assert.equal(summary(everyChunking("###\n900:(0)t=" + crlf(CLASSIC))), [[DROP_TRUNCATED, 0, 13], ["frame", 13, CLASSIC.length]]);
});

t("whether a line is too long does not depend on how it arrives", () => {
  // Shrunk from random streams where one push and byte-wise pushes disagreed:
  // a long line ending in a start marker (truncated vs oversize), and a frame
  // that fit only once its CRs were gone (passed on vs oversize).
  const a = everyChunking(">>>\nt=aaaaaaaaaaaaaaaaaaa>>>\n" + CLASSIC, 20);
  assert.equal(summary(a).slice(0, 2), [[DROP_OVERSIZE, 0, 4], [DROP_NOISE, 4, 21]]);
  everyChunking(">>>\nt=a\n<<<\r\r\n", 12);
  everyChunking(">>>\nt=\nrsc_hold=none\nhg=6b0##\n11:(0)t=status,12:(0)st=active,18:###\n", 40);
  everyChunking(">>>\ndest=alpha\n(1)destuuid=D>>>\r\n" + crlf(CLASSIC), 30);
  everyChunking(">>>\nt=\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\ra\n<<<\n", 24);
});

t("drops and noise tile the stream on a mixed bag of damage", () => {
  const stream = "xx" + CLASSIC.slice(0, 12) + "\n" + NETSTRING.slice(0, 20) + crlf(CLASSIC) + ">>>\nnot a line\n" + NETSTRING +
    "###\nxx:(0)t=a,%%%\n" + ">>>\nt=a\n\n\r\nb=c\r\n" + CLASSIC.slice(0, 9) + "###\n";
  const ev = everyChunking(stream);
  assert.equal(frames(ev), [CLASSIC, NETSTRING]);
  everyChunking(stream, 40);
});

// ---- classicDeframer(): the compact classic-only deframer of the device firmware ----

/** A byte stream built from pieces that exercise every classic rule, chosen by a seeded generator. */
function classicStream(seed: number, pieces: number): string {
  const parts = [
    CLASSIC, crlf(CLASSIC), NETSTRING, ">>>\n", ">>>\r\n", "<<<\n", "<<<\r\n", "\n", "\r\n", "x=1\n", "(1)y=2\n", "(9)y=2\n",
    "garbage\n", "=v\n", "t=a>>\r>\n", "st=up###\n", "st=up>>>\n", "st=up>>>\r\n", "###\n", "print(1)\n", "noise", ">", ">>", "\r",
    "long=" + "z".repeat(70) + "\n", "%%%\n", "\u00ff\u0000",
  ];
  let x = seed;
  let out = "";
  for (let i = 0; i < pieces; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += parts[x % parts.length]!;
  }
  return out;
}

t("classicDeframer() gives the events and counters of DeframerCore without a netstring half, however the stream is cut", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const stream = classicStream(seed, 40);
    for (const max of [undefined, 64, 200]) {
      const ref = new DeframerCore(max, null);
      const want = feedAll(ref as Deframer, [stream]);
      for (const n of [1, 3, 17, stream.length]) {
        const d = classicDeframer(max);
        const got: DeframeEvent[] = [];
        for (let i = 0; i < stream.length; i += n) {
          got.push(...d.push(stream.slice(i, i + n)));
          assert.ok(d.pendingBytes() <= (max ?? 262144) + n, `pending ${d.pendingBytes()}`);
        }
        got.push(...d.end());
        assert.equal(got, want, `seed ${seed}, max ${max}, chunks of ${n}`);
        assert.equal(d.stats, ref.stats, `seed ${seed}, max ${max}, chunks of ${n}: counters`);
      }
    }
  }
});

t.run();
