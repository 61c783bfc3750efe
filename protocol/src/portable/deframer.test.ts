import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Deframer, DeframeEvent, DROP_INCOMPLETE, DROP_MALFORMED, DROP_NOISE, DROP_OVERSIZE, DROP_TRUNCATED } from "./deframer.js";

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

t.run();
