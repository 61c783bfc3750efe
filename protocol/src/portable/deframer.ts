// Streaming deframer: cuts whole messages out of a byte stream that arrives in
// chunks of any size (a serial line, a pipe of captured payloads). It knows
// both serialisations:
//   classic   ">>>\n" lines "<<<\n"            (what Heartbeat sends on serial)
//   netstring "###\n" fields "%%%\n" [trailer]  (UDP payloads laid back to back)
// Anything outside a frame is noise; a frame cut short by the start of another,
// a frame that grows past the limit and a frame whose structure is broken are
// dropped whole. Every drop is reported and counted, and the deframer then
// hunts for the next start marker, so one bad byte costs at most one message.
//
// Frames are passed on unchanged, except that classic frames lose carriage
// returns and blank lines (Heartbeat's tty ignores CR and its reader skips
// blank lines, so the message is the same).
//
// Start markers are the exact bytes ">>>\n", ">>>\r\n" and "###\n", wherever
// they are looked for (between frames, ending a classic line, inside a
// netstring field), so a CR never hides or fakes one. Every event says where
// it begins in the stream; a drop's byte count covers the stream bytes it
// discards, so drops, noise and frames tile the stream. The events do not
// depend on how the stream was cut into chunks.
//
// Memory: the pending buffer never holds more than `maxFrame` bytes plus one
// slice of input, whatever the input.
//
// Two uses. The netstring half is a set of free functions (NETSTRING_HALF,
// at the end of this file) handed to the core class: `Deframer` (the host,
// the tools, the simulator and the Lua builds) always has it.
// `classicDeframer()` (the Espruino device: Heartbeat writes only classic
// frames on a serial line, heartbeat-wire-protocol.md §12) has none, so
// "###\n" is noise to it like any other byte outside a classic frame; it is
// the core class's classic rules written again as one small closure for the
// device's size budget, and the tests hold the two to the same events.
//
// Portable subset: this file is compiled for Espruino and Lua 5.1 too.

import { CLASSIC_END, CLASSIC_START, MARKER_BYTES, MAX_LENGTH_DIGITS, MAX_MESSAGE_BYTES, NETSTRING_END, NETSTRING_START } from "./limits.js";

export const DROP_NOISE = "noise";
export const DROP_TRUNCATED = "truncated";
export const DROP_OVERSIZE = "oversize";
export const DROP_MALFORMED = "malformed";
export const DROP_INCOMPLETE = "incomplete";

/** Longest auth trailer payload: index, space and a 40-hex SHA1 digest fit easily. */
const MAX_TRAILER_BYTES = 160;
/** The carriage-return variant of the classic start marker (a CR-LF line end). */
const CLASSIC_START_CRLF = ">>>\r\n";
/** The start markers without their line end, as they end a line. */
const NETSTRING_MARK = "###";
const CLASSIC_MARK = ">>>";

const MODE_HUNT = 0;
const MODE_CLASSIC = 1;
const MODE_NETSTRING = 2;

const PHASE_FIELDS = 0;
const PHASE_TRAILER = 1;

export interface DeframeEvent {
  /** A whole frame, or null for a drop. */
  frame: string | null;
  /** Why bytes were dropped (one of the DROP_ constants), or null for a frame. */
  reason: string | null;
  /** Frame length, or how many bytes were dropped. */
  bytes: number;
  /** Offset in the stream where the frame or the dropped bytes began. */
  offset: number;
  /** For drops: what was wrong, for logs. */
  detail: string;
}

export interface DeframerStats {
  bytesIn: number;
  frames: number;
  noiseBytes: number;
  droppedFrames: number;
  droppedBytes: number;
  truncated: number;
  oversize: number;
  malformed: number;
  incomplete: number;
}

export function newDeframerStats(): DeframerStats {
  return { bytesIn: 0, frames: 0, noiseBytes: 0, droppedFrames: 0, droppedBytes: 0, truncated: 0, oversize: 0, malformed: 0, incomplete: 0 };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A classic line is `[(D)]name=value` with a non-empty name. */
function classicLineOk(line: string): boolean {
  // a char past the end reads as NaN, so a short line is not typed
  const nameStart = line.charCodeAt(0) === 40 && line.charCodeAt(2) === 41 ? 3 : 0;
  const t = line.charCodeAt(1);
  return (nameStart === 0 || (t >= 48 && t <= 53)) && line.indexOf("=", nameStart) > nameStart;
}

/** Could buf[from, to) begin an auth trailer payload: digits, one space, printable non-blank bytes? */
function trailerBytesOk(buf: string, from: number, to: number): boolean {
  let i = from;
  while (i < to && isDigit(buf.charCodeAt(i))) i++;
  if (i === to) return true;
  if (i === from || buf.charCodeAt(i) !== 32) return false;
  for (i = i + 1; i < to; i++) {
    const c = buf.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Where a start marker ends the raw line `raw` (the bytes before a "\n"): the
 * offset of the marker in the line, or -1. Markers are matched byte for byte,
 * exactly as hunt() finds them: `###` (netstring), `>>>` and `>>>\r` (classic,
 * LF or CR-LF). A carriage return inside a marker (`>>\r>`) makes it no marker.
 */
function markerAtLineEnd(raw: string): number {
  const n = raw.length;
  return raw.endsWith(NETSTRING_MARK) || raw.endsWith(CLASSIC_MARK) ? n - 3 : raw.endsWith(CLASSIC_MARK + "\r") ? n - 4 : -1;
}

function stripCR(s: string): string {
  return s.replaceAll("\r", "");
}

/** The netstring half of a deframer (NETSTRING_HALF); free functions over the core's state. */
export interface NetstringHalf {
  /** Works on the netstring frame at buf[0]; false when it needs more input. */
  step(this: void, d: DeframerCore): boolean;
  /** End of stream inside a netstring frame. */
  end(this: void, d: DeframerCore): void;
}

/**
 * The deframer itself: hunting, classic frames, noise, drops and counters;
 * netstring frames through `netstring` when given. The fields below the
 * counters are the stream state, shared with the netstring half (not an API).
 */
export class DeframerCore {
  readonly maxFrame: number;
  readonly stats: DeframerStats;
  readonly netstring: NetstringHalf | null;

  buf = "";
  /** Stream offset of buf[0]. */
  bufOffset = 0;
  mode = MODE_HUNT;
  private noiseRun = 0;
  private noiseOffset = 0;
  // classic frame in progress: the cleaned text so far and where it began
  private classicText = "";
  private frameOffset = 0;
  // netstring frame in progress (buf starts at its ###): parse cursor and phase
  cursor = 0;
  phase = PHASE_FIELDS;
  /** Where the marker search inside a pending field resumes (avoids rescanning). */
  scanFrom = 0;
  private out: DeframeEvent[] = [];

  /** maxFrame: the largest frame accepted, in bytes (default: Heartbeat's MAXMSG); netstring: the netstring half, or null. */
  constructor(maxFrame: number | undefined, netstring: NetstringHalf | null) {
    this.maxFrame = maxFrame === undefined ? MAX_MESSAGE_BYTES : maxFrame;
    this.stats = newDeframerStats();
    this.netstring = netstring;
  }

  /** Feeds a chunk; returns the frames completed and the drops decided by it, in stream order. */
  push(chunk: string): DeframeEvent[] {
    this.out = [];
    this.stats.bytesIn += chunk.length;
    // Slices bound the buffer even when a caller hands over megabytes at once.
    const slice = this.maxFrame;
    for (let off = 0; off < chunk.length; off += slice) {
      this.buf += chunk.substring(off, off + slice);
      this.run();
    }
    return this.out;
  }

  /** End of stream: a frame in progress is dropped as incomplete, pending noise is reported. */
  end(): DeframeEvent[] {
    this.out = [];
    if (this.mode === MODE_NETSTRING) {
      this.netstring!.end(this);
    } else if (this.mode === MODE_CLASSIC) {
      this.drop(DROP_INCOMPLETE, this.classicSpan(this.buf.length), this.frameOffset, "stream ended in the message");
      this.classicText = "";
      this.consume(this.buf.length);
      this.mode = MODE_HUNT;
    }
    if (this.buf.length > 0) {
      this.addNoise(this.buf.length);
      this.consume(this.buf.length);
    }
    this.flushNoise();
    return this.out;
  }

  /** Bytes held while waiting for more input (for memory checks). */
  pendingBytes(): number {
    return this.buf.length + this.classicText.length;
  }

  private run(): void {
    let progress = true;
    while (progress) {
      if (this.mode === MODE_HUNT) progress = this.hunt();
      else if (this.mode === MODE_CLASSIC) progress = this.classic();
      else progress = this.netstring!.step(this);
    }
  }

  consume(n: number): void {
    this.buf = this.buf.substring(n);
    this.bufOffset += n;
  }

  emitFrame(frame: string, offset: number): void {
    this.flushNoise();
    this.stats.frames++;
    this.out.push({ frame: frame, reason: null, bytes: frame.length, offset: offset, detail: "" });
  }

  drop(reason: string, bytes: number, offset: number, detail: string): void {
    this.flushNoise();
    this.stats.droppedFrames++;
    this.stats.droppedBytes += bytes;
    if (reason === DROP_TRUNCATED) this.stats.truncated++;
    else if (reason === DROP_OVERSIZE) this.stats.oversize++;
    else if (reason === DROP_MALFORMED) this.stats.malformed++;
    else if (reason === DROP_INCOMPLETE) this.stats.incomplete++;
    this.out.push({ frame: null, reason: reason, bytes: bytes, offset: offset, detail: detail });
  }

  private addNoise(n: number): void {
    if (n <= 0) return;
    if (this.noiseRun === 0) this.noiseOffset = this.bufOffset;
    this.noiseRun += n;
    this.stats.noiseBytes += n;
    this.stats.droppedBytes += n;
  }

  private flushNoise(): void {
    if (this.noiseRun === 0) return;
    this.out.push({ frame: null, reason: DROP_NOISE, bytes: this.noiseRun, offset: this.noiseOffset, detail: "outside any message" });
    this.noiseRun = 0;
  }

  /** Looks for the next start marker; everything before it is noise. */
  private hunt(): boolean {
    const buf = this.buf;
    let at = -1;
    let mode = MODE_HUNT;
    let markerLen = 4;
    const ns = this.netstring === null ? -1 : buf.indexOf(NETSTRING_START);
    const cl = buf.indexOf(CLASSIC_START);
    const crlf = buf.indexOf(CLASSIC_START_CRLF);
    if (ns >= 0) { at = ns; mode = MODE_NETSTRING; }
    if (cl >= 0 && (at < 0 || cl < at)) { at = cl; mode = MODE_CLASSIC; }
    if (crlf >= 0 && (at < 0 || crlf < at)) { at = crlf; mode = MODE_CLASSIC; markerLen = 5; }
    if (at < 0) {
      // Keep a tail that could be the start of a marker split across chunks.
      const keep = buf.length < 4 ? buf.length : 4;
      this.addNoise(buf.length - keep);
      this.consume(buf.length - keep);
      return false;
    }
    this.addNoise(at);
    this.consume(at);
    if (mode === MODE_CLASSIC) {
      this.startClassic(markerLen);
    } else {
      this.mode = MODE_NETSTRING;
      this.cursor = NETSTRING_START.length;
      this.phase = PHASE_FIELDS;
    }
    return true;
  }

  private startClassic(markerLen: number): void {
    this.flushNoise();
    this.mode = MODE_CLASSIC;
    this.frameOffset = this.bufOffset;
    this.classicText = CLASSIC_START;
    this.consume(markerLen);
  }

  /** Stream bytes from the start of the classic frame in progress to buf[upTo]. */
  private classicSpan(upTo: number): number {
    return this.bufOffset + upTo - this.frameOffset;
  }

  /**
   * Classic frames are taken a line at a time; buf holds the unfinished line.
   * Drops count the stream bytes of the frame (carriage returns and blank
   * lines included), so drops, noise and frames tile the stream.
   */
  private classic(): boolean {
    const nl = this.buf.indexOf("\n");
    // The raw length of the line decides "too long" before anything else, so
    // the outcome is the same whether the line arrives whole or a byte at a time.
    const rawLength = nl < 0 ? this.buf.length : nl;
    if (this.classicText.length + rawLength > this.maxFrame) return this.classicOversize();
    if (nl < 0) return false;
    const rawLine = this.buf.substring(0, nl);
    const line = stripCR(rawLine);
    if (line === "<<<") {
      const frame = this.classicText + CLASSIC_END;
      this.consume(nl + 1);
      this.classicText = "";
      this.mode = MODE_HUNT;
      this.emitFrame(frame, this.frameOffset);
      return true;
    }
    // A start marker ends the line: another message began before this one
    // ended, either on a line of its own or right after a line the sender was
    // cut off in (no value ends in ">>>" or "###"). The first is dropped and
    // the hunt resumes at the marker itself.
    const marker = markerAtLineEnd(rawLine);
    if (marker >= 0) {
      const ownLine = stripCR(rawLine.substring(0, marker)).length === 0;
      this.drop(DROP_TRUNCATED, this.classicSpan(marker), this.frameOffset, ownLine ? "new message before <<<" : "new message inside a line");
      this.classicText = "";
      this.consume(marker);
      this.mode = MODE_HUNT;
      return true;
    }
    if (line.length === 0) {
      this.consume(nl + 1);
      return true;
    }
    if (this.classicText.length + line.length + 1 + CLASSIC_END.length > this.maxFrame) return this.classicOversize();
    if (!classicLineOk(line)) {
      this.drop(DROP_MALFORMED, this.classicSpan(nl + 1), this.frameOffset, "a line is not name=value");
      this.classicText = "";
      this.consume(nl + 1);
      this.mode = MODE_HUNT;
      return true;
    }
    this.classicText += line + "\n";
    this.consume(nl + 1);
    return true;
  }

  private classicOversize(): boolean {
    this.drop(DROP_OVERSIZE, this.classicSpan(0), this.frameOffset, "over " + this.maxFrame + " bytes");
    this.classicText = "";
    this.mode = MODE_HUNT;
    // The unfinished line may hide the next start marker: hunt through it.
    return true;
  }
}

/**
 * Drops the netstring frame at buf[0]: its start marker is counted as the
 * dropped frame and the hunt resumes right after it, so a message that
 * started inside the bad one's bytes is still found (the bytes skipped on the
 * way count as noise).
 */
function netstringBad(d: DeframerCore, reason: string, detail: string): boolean {
  d.drop(reason, NETSTRING_START.length, d.bufOffset, detail + " (after " + d.cursor + " bytes)");
  d.consume(NETSTRING_START.length);
  d.mode = MODE_HUNT;
  d.scanFrom = 0;
  return true;
}

/** Offset of the first start marker (any of the three hunt() knows) wholly in buf[from, to), or -1. */
function markerIn(d: DeframerCore, from: number, to: number): number {
  const buf = d.buf;
  let best = -1;
  const ns = buf.indexOf(NETSTRING_START, from);
  if (ns >= 0 && ns + 4 <= to) best = ns;
  const cl = buf.indexOf(CLASSIC_START, from);
  if (cl >= 0 && cl + 4 <= to && (best < 0 || cl < best)) best = cl;
  const crlf = buf.indexOf(CLASSIC_START_CRLF, from);
  if (crlf >= 0 && crlf + 5 <= to && (best < 0 || crlf < best)) best = crlf;
  return best;
}

/** The netstring frame at buf[0] was cut short by a message starting at `next`. */
function netstringTruncated(d: DeframerCore, next: number): boolean {
  d.drop(DROP_TRUNCATED, next, d.bufOffset, "a new message began inside a field");
  d.consume(next);
  d.mode = MODE_HUNT;
  d.scanFrom = 0;
  return true;
}

/**
 * Reads `LEN:` at `pos`: returns the length, -1 when more input is needed,
 * -2 when the bytes cannot be a netstring length.
 */
function readLength(d: DeframerCore, pos: number): number {
  const buf = d.buf;
  let len = 0;
  let i = pos;
  while (i < buf.length) {
    const c = buf.charCodeAt(i);
    if (c === 58) {
      if (i === pos) return -2;
      if (i - pos > 1 && buf.charCodeAt(pos) === 48) return -2;
      return len;
    }
    if (!isDigit(c)) return -2;
    len = len * 10 + (c - 48);
    i++;
    if (i - pos > MAX_LENGTH_DIGITS) return -2;
  }
  return -1;
}

function netstringStep(d: DeframerCore): boolean {
  const buf = d.buf;
  while (d.phase === PHASE_FIELDS) {
    const pos = d.cursor;
    if (buf.length - pos < 4) {
      // Too few bytes to tell "%%%\n" from a field; wait while either is possible.
      const part = buf.substring(pos);
      if (NETSTRING_END.substring(0, part.length) === part) return false;
    } else if (buf.substring(pos, pos + 4) === NETSTRING_END) {
      d.cursor = pos + 4;
      d.phase = PHASE_TRAILER;
      break;
    }
    const len = readLength(d, pos);
    if (len === -2) return netstringBad(d, DROP_MALFORMED, "expected a field or %%%");
    if (len === -1) return false;
    const colon = buf.indexOf(":", pos);
    const payloadStart = colon + 1;
    const fieldEnd = payloadStart + len; // where the ',' must be
    if (fieldEnd + 1 + NETSTRING_END.length > d.maxFrame) return netstringBad(d, DROP_OVERSIZE, "over " + d.maxFrame + " bytes");
    // A start marker inside a plain field's bytes means this message was cut
    // short and the next one began; notice it as soon as the bytes arrive
    // instead of waiting for (and swallowing) the rest of the claimed length.
    // Struct values are nested messages and legitimately contain markers.
    const t0 = buf.charCodeAt(payloadStart + 1);
    if (t0 !== 50 && t0 !== 53) {
      const seen = buf.length < fieldEnd ? buf.length : fieldEnd;
      const from = d.scanFrom > payloadStart ? d.scanFrom : payloadStart;
      const next = markerIn(d, from, seen);
      if (next >= 0) return netstringTruncated(d, next);
      d.scanFrom = seen > payloadStart + 4 ? seen - 4 : payloadStart;
    }
    if (buf.length < fieldEnd + 1) return false;
    if (buf.charCodeAt(fieldEnd) !== 44) return netstringBad(d, DROP_MALFORMED, "field netstring not closed by ','");
    // (D)name=value with D in 0-5 and a non-empty name
    const t = buf.charCodeAt(payloadStart + 1);
    if (len < 4 || buf.charCodeAt(payloadStart) !== 40 || buf.charCodeAt(payloadStart + 2) !== 41 || t < 48 || t > 53) {
      return netstringBad(d, DROP_MALFORMED, "field without a (type) prefix");
    }
    const eq = buf.indexOf("=", payloadStart + 3);
    if (eq <= payloadStart + 3 || eq >= fieldEnd) return netstringBad(d, DROP_MALFORMED, "field without name=");
    d.cursor = fieldEnd + 1;
    d.scanFrom = 0;
  }
  // PHASE_TRAILER: an auth netstring may follow; anything else ends the frame without one.
  const pos = d.cursor;
  if (pos >= buf.length) return false;
  if (!isDigit(buf.charCodeAt(pos))) return finishNetstring(d, pos);
  const len = readLength(d, pos);
  if (len === -2) return finishNetstring(d, pos);
  if (len === -1) {
    if (buf.length - pos > MAX_LENGTH_DIGITS) return finishNetstring(d, pos);
    return false;
  }
  if (len > MAX_TRAILER_BYTES) return finishNetstring(d, pos);
  const colon = buf.indexOf(":", pos);
  const end = colon + 1 + len;
  // `<index> <digest>`: anything else (say, the start of the next message
  // after a cut) means there is no trailer; decide as soon as it shows.
  if (!trailerBytesOk(buf, colon + 1, buf.length < end ? buf.length : end)) return finishNetstring(d, pos);
  if (buf.length < end + 1) return false;
  if (buf.charCodeAt(end) !== 44) return finishNetstring(d, pos);
  return finishNetstring(d, end + 1);
}

function finishNetstring(d: DeframerCore, end: number): boolean {
  const frame = d.buf.substring(0, end);
  const offset = d.bufOffset;
  d.consume(end);
  d.mode = MODE_HUNT;
  d.emitFrame(frame, offset);
  return true;
}

/** End of stream inside a netstring frame: a body without its trailer is passed on (verification will say so), else dropped. */
function netstringEnd(d: DeframerCore): void {
  if (d.phase === PHASE_TRAILER && d.cursor === d.buf.length) {
    d.emitFrame(d.buf, d.bufOffset);
  } else {
    d.drop(DROP_INCOMPLETE, d.buf.length, d.bufOffset, "stream ended inside a netstring message");
  }
  d.consume(d.buf.length);
  d.mode = MODE_HUNT;
}

/** The netstring half: what `Deframer` adds to the classic core. */
export const NETSTRING_HALF: NetstringHalf = { step: netstringStep, end: netstringEnd };

/** The deframer for both serialisations, classic and netstring. */
export class Deframer extends DeframerCore {
  /** maxFrame: the largest frame accepted, in bytes (default: Heartbeat's MAXMSG). */
  constructor(maxFrame?: number) {
    super(maxFrame, NETSTRING_HALF);
  }
}

/** What the users of a deframer see: `DeframerCore` and `classicDeframer()` alike. */
export interface StreamDeframer {
  readonly stats: DeframerStats;
  push(chunk: string): DeframeEvent[];
  end(): DeframeEvent[];
  pendingBytes(): number;
}

/**
 * A deframer for classic frames only (a serial line): netstring bytes are
 * noise. The same rules and events as `new DeframerCore(maxFrame, null)`
 * (deframer.test.ts feeds both the same streams and compares every event and
 * counter), written as a closure: the Espruino firmware uses it and has a
 * size budget, and locals minify where `this.field` does not.
 */
export function classicDeframer(maxFrame?: number): StreamDeframer {
  const max = maxFrame === undefined ? MAX_MESSAGE_BYTES : maxFrame;
  const stats = newDeframerStats();
  let buf = "";
  /** Stream offset of buf[0]. */
  let at = 0;
  // classic frame in progress: the cleaned text so far ("" while hunting) and where it began
  let text = "";
  let start = 0;
  let noise = 0;
  let noiseAt = 0;
  let out: DeframeEvent[] = [];

  function eat(n: number): void {
    buf = buf.substring(n);
    at += n;
  }
  function flush(): void {
    if (noise > 0) out.push({ frame: null, reason: DROP_NOISE, bytes: noise, offset: noiseAt, detail: "outside any message" });
    noise = 0;
  }
  function addNoise(n: number): void {
    if (noise === 0) noiseAt = at;
    noise += n;
    stats.noiseBytes += n;
    stats.droppedBytes += n;
  }
  /** Drops the frame in progress, its stream bytes up to buf[upTo], and hunts again. */
  function drop(reason: string, upTo: number, detail: string): boolean {
    flush();
    const bytes = at + upTo - start;
    stats.droppedFrames++;
    stats.droppedBytes += bytes;
    // the counter of each reason is named as the reason (DROP_TRUNCATED ... DROP_INCOMPLETE)
    (stats as unknown as { [reason: string]: number })[reason]!++;
    out.push({ frame: null, reason: reason, bytes: bytes, offset: start, detail: detail });
    text = "";
    return true;
  }
  function oversize(): boolean {
    return drop(DROP_OVERSIZE, 0, "over " + max + " bytes");
  }
  /** One step of DeframerCore's hunt() or classic(); false when it needs more input. */
  function step(): boolean {
    if (text === "") {
      let m = buf.indexOf(CLASSIC_START);
      let len = 4;
      const crlf = buf.indexOf(CLASSIC_START_CRLF);
      if (crlf >= 0 && (m < 0 || crlf < m)) {
        m = crlf;
        len = 5;
      }
      if (m < 0) {
        // keep a tail that could be the start of a marker split across chunks
        const k = buf.length < 4 ? 0 : buf.length - 4;
        addNoise(k);
        eat(k);
        return false;
      }
      addNoise(m);
      eat(m);
      flush();
      start = at;
      text = CLASSIC_START;
      eat(len);
      return true;
    }
    const nl = buf.indexOf("\n");
    if (text.length + (nl < 0 ? buf.length : nl) > max) return oversize();
    if (nl < 0) return false;
    const raw = buf.substring(0, nl);
    const line = stripCR(raw);
    const marker = markerAtLineEnd(raw);
    if (line === "<<<") {
      const frame = text + CLASSIC_END;
      eat(nl + 1);
      text = "";
      stats.frames++;
      out.push({ frame: frame, reason: null, bytes: frame.length, offset: start, detail: "" });
      return true;
    }
    if (marker >= 0) {
      drop(DROP_TRUNCATED, marker, stripCR(raw.substring(0, marker)) === "" ? "new message before <<<" : "new message inside a line");
      eat(marker);
      return true;
    }
    // blank lines go; a line that would make the frame too long or is not name=value drops it
    if (line !== "") {
      if (text.length + line.length + 1 + MARKER_BYTES > max) return oversize();
      if (classicLineOk(line)) text += line + "\n";
      else drop(DROP_MALFORMED, nl + 1, "a line is not name=value");
    }
    eat(nl + 1);
    return true;
  }
  return {
    stats: stats,
    push(chunk: string): DeframeEvent[] {
      out = [];
      stats.bytesIn += chunk.length;
      // slices bound the buffer even when a caller hands over megabytes at once
      for (let off = 0; off < chunk.length; off += max) {
        buf += chunk.substring(off, off + max);
        let more = true;
        while (more) more = step();
      }
      return out;
    },
    end(): DeframeEvent[] {
      out = [];
      if (text !== "") {
        drop(DROP_INCOMPLETE, buf.length, "stream ended in the message");
        eat(buf.length);
      }
      addNoise(buf.length);
      eat(buf.length);
      flush();
      return out;
    },
    pendingBytes(): number {
      return buf.length + text.length;
    },
  };
}
