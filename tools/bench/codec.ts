// Codec benchmark: the cost of one Heartbeat status message through the
// protocol package, per auth method (crc, HMAC-MD5, HMAC-SHA1).
//
//   netstring encode+sign    typed body + header → signed UDP datagram
//   netstring decode+verify  datagram → message, trailer checked (as on receipt)
//   netstring receive        decode+verify plus reading the typed header and body
//   classic encode+sign      the serial-line frame (auth field only)
//   classic decode+verify    serial frame → message, auth field checked
//   deframe classic/netstring  a stream of status frames cut back into frames
//
// The messages are built the way the agent builds them (buildMessage, then
// signDatagram / signClassic), with the field set of a captured Heartbeat
// 3.0.6 status; the test checks the result against the capture byte for byte.

import {
  Authkeys, buildMessage, Body, decodeDatagram, Deframer, Header, parseAuthkeys, readHeader, readMessage,
  signClassic, signDatagram, VerifyResult, verifyDecoded, PROTOCOL_VERSION,
} from "@lubdub/protocol";
import { Benchmark, BenchOptions, BenchReport, CaseResult, CaseSpec, machine, measure, Sink } from "./harness.js";

/** The project's goal for receiving one status message (decode + verify). */
export const DECODE_VERIFY_GOAL_US = 20;

export const METHODS = ["crc", "md5", "sha1"] as const;
export type MethodName = (typeof METHODS)[number];

/** authkeys as in the Heartbeat capture sets of each method. */
export const AUTHKEYS: Record<MethodName, string> = {
  crc: "auth 1\n1 crc\n",
  md5: "auth 3\n3 md5 wpMd5Key-Heartbeat306\n",
  sha1: "auth 2\n2 sha1 wpSha1Key-Heartbeat306\n",
};

export function keysFor(method: MethodName): Authkeys {
  const r = parseAuthkeys(AUTHKEYS[method], `${method} authkeys`);
  if (!r.ok) throw new Error(`bench authkeys for ${method}: ${r.errors.map((e) => e.message).join("; ")}`);
  return r.keys;
}

/** What a node in state `up` advertises: deadtime 8000 ms, protocol 1. */
export const STATUS_BODY: Body = { t: "status", st: "up", dt: 8000, protocol: PROTOCOL_VERSION };

/** The sender's fixed identity (16 raw UUID bytes, generation, load line, ttl). */
export interface Sender {
  src: string;
  srcuuid: string;
  hg: number;
  ld: string;
  ttl: number;
}

export const SENDER: Sender = {
  src: "alpha",
  srcuuid: String.fromCharCode(0xd9, 0xbd, 0x05, 0xb7, 0x0d, 0x1e, 0x05, 0x62, 0xa0, 0x1a, 0x92, 0x52, 0x0d, 0x9d, 0xf2, 0xf6),
  hg: 0x6b02dbe7,
  ld: "0.65 4.64 3.70 3/93 12",
  ttl: 3,
};

/** A fresh header per message, as the agent stamps one per send. */
export function statusHeader(sender: Sender, seq: number, ts: number): Header {
  return { src: sender.src, srcuuid: sender.srcuuid, seq, hg: sender.hg, ts, ld: sender.ld, ttl: sender.ttl, destuuid: null };
}

/** Timed: one status message to a signed netstring datagram. */
export function encodeSignDatagram(keys: Authkeys, sender: Sender, seq: number, ts: number): string {
  return signDatagram(buildMessage(STATUS_BODY, statusHeader(sender, seq, ts)), keys);
}

/** Timed: one status message to a classic (serial) frame. */
export function encodeSignClassic(keys: Authkeys, sender: Sender, seq: number, ts: number): string {
  return signClassic(buildMessage(STATUS_BODY, statusHeader(sender, seq, ts)), keys);
}

/** Timed: decode one datagram or frame and verify it; null when it does not decode. */
export function decodeVerify(bytes: string, keys: Authkeys): VerifyResult | null {
  const d = decodeDatagram(bytes);
  if (!d.ok) return null;
  return verifyDecoded(d.decoded, keys);
}

/** Timed: what the agent does on receipt before acting (decode, verify, read header and typed body). */
export function receive(bytes: string, keys: Authkeys): boolean {
  const d = decodeDatagram(bytes);
  if (!d.ok) return false;
  if (!verifyDecoded(d.decoded, keys).ok) return false;
  const h = readHeader(d.decoded.message);
  if (!h.ok) return false;
  const m = readMessage(d.decoded.message);
  return m.ok && m.message.body.t === "status";
}

const POOL = 64;
const DEFAULT_CHUNK = 64;
const STREAM_FRAMES = 32;

function wallSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

interface CodecArgs {
  only: string[];
  chunk: number;
}

function parseCodecArgs(rest: string[]): CodecArgs {
  const only: string[] = [];
  let chunk = DEFAULT_CHUNK;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (flag === "--only") {
      const v = inline ?? rest[++i];
      if (!v) throw new Error("--only needs a word (e.g. sha1, classic, deframe)");
      only.push(v);
    } else if (flag === "--chunk") {
      const n = Number(inline ?? rest[++i]);
      if (!Number.isInteger(n) || n <= 0) throw new Error("--chunk needs a positive whole number of bytes");
      chunk = n;
    } else throw new Error(`codec: unknown argument '${a}' (known: --only WORD, --chunk BYTES)`);
  }
  return { only, chunk };
}

/** Datagrams (or frames) of consecutive sequence numbers, all signed with `keys`. */
function pool(keys: Authkeys, encode: typeof encodeSignDatagram, n: number): string[] {
  const ts = wallSeconds();
  return Array.from({ length: n }, (_, i) => encode(keys, SENDER, i + 1, ts));
}

function codecCases(method: MethodName, keys: Authkeys, checks: Map<string, () => Record<string, number | boolean | string>>): CaseSpec[] {
  const cases: CaseSpec[] = [];
  const datagrams = pool(keys, encodeSignDatagram, POOL);
  const frames = pool(keys, encodeSignClassic, POOL);
  const avg = (xs: string[]) => xs.reduce((s, x) => s + x.length, 0) / xs.length;

  for (const [format, encode] of [["netstring", encodeSignDatagram], ["classic", encodeSignClassic]] as const) {
    let seq = 1000;
    const name = `${method} ${format} encode+sign`;
    cases.push({
      name, op: "encode+sign", format, method, unit: "msg", unitsPerCall: 1, goalUs: null,
      bytesPerUnit: avg(format === "netstring" ? datagrams : frames),
      fn: () => encode(keys, SENDER, ++seq, wallSeconds()).length,
    });

    const inputs = format === "netstring" ? datagrams : frames;
    let i = 0;
    let calls = 0;
    let verified = 0;
    const dvName = `${method} ${format} decode+verify`;
    cases.push({
      name: dvName, op: "decode+verify", format, method, unit: "msg", unitsPerCall: 1, goalUs: DECODE_VERIFY_GOAL_US,
      bytesPerUnit: avg(inputs),
      fn: () => {
        calls++;
        const r = decodeVerify(inputs[i++ & (POOL - 1)]!, keys);
        if (r !== null && r.ok) {
          verified++;
          return r.index;
        }
        return 0;
      },
    });
    checks.set(dvName, () => ({ calls, verified, allVerified: calls > 0 && calls === verified }));

    if (format === "netstring") {
      let j = 0;
      let rcalls = 0;
      let accepted = 0;
      const rName = `${method} ${format} receive`;
      cases.push({
        name: rName, op: "receive", format, method, unit: "msg", unitsPerCall: 1, goalUs: null,
        bytesPerUnit: avg(inputs),
        fn: () => {
          rcalls++;
          if (receive(inputs[j++ & (POOL - 1)]!, keys)) {
            accepted++;
            return 1;
          }
          return 0;
        },
      });
      checks.set(rName, () => ({ calls: rcalls, accepted, allAccepted: rcalls > 0 && rcalls === accepted }));
    }
  }
  return cases;
}

function deframeCases(chunk: number, checks: Map<string, () => Record<string, number | boolean | string>>): CaseSpec[] {
  const keys = keysFor("sha1");
  const cases: CaseSpec[] = [];
  for (const [format, encode] of [["classic", encodeSignClassic], ["netstring", encodeSignDatagram]] as const) {
    const stream = pool(keys, encode, STREAM_FRAMES).join("");
    const pieces: string[] = [];
    for (let off = 0; off < stream.length; off += chunk) pieces.push(stream.substring(off, off + chunk));
    const deframer = new Deframer();
    let passes = 0;
    let frames = 0;
    const name = `deframe ${format} stream (sha1, ${chunk} B chunks)`;
    cases.push({
      name, op: "deframe", format, method: "sha1", unit: "frame", unitsPerCall: STREAM_FRAMES, goalUs: null,
      bytesPerUnit: stream.length / STREAM_FRAMES,
      fn: () => {
        passes++;
        let n = 0;
        for (const p of pieces) {
          for (const ev of deframer.push(p)) if (ev.frame !== null) n++;
        }
        frames += n;
        return n;
      },
    });
    checks.set(name, () => ({
      passes,
      frames,
      allFrames: passes > 0 && frames === passes * STREAM_FRAMES,
      dropped: deframer.stats.droppedFrames + deframer.stats.noiseBytes,
      chunkBytes: chunk,
    }));
  }
  return cases;
}

/** Cases a failing check makes meaningless: the benchmark would time the wrong path. */
function checkFailure(c: CaseResult): string | null {
  const k = c.checks;
  if (k.allVerified === false) return `${c.name}: only ${k.verified} of ${k.calls} messages verified`;
  if (k.allAccepted === false) return `${c.name}: only ${k.accepted} of ${k.calls} messages accepted`;
  if (k.allFrames === false || (typeof k.dropped === "number" && k.dropped > 0)) return `${c.name}: ${k.frames} frames from ${k.passes} passes, ${k.dropped} dropped`;
  return null;
}

export async function runCodec(options: BenchOptions): Promise<BenchReport> {
  const args = parseCodecArgs(options.rest);
  const checks = new Map<string, () => Record<string, number | boolean | string>>();
  let specs: CaseSpec[] = [];
  for (const m of METHODS) specs.push(...codecCases(m, keysFor(m), checks));
  specs.push(...deframeCases(args.chunk, checks));
  if (args.only.length) specs = specs.filter((s) => args.only.some((w) => s.name.includes(w)));
  if (specs.length === 0) throw new Error(`codec: no case matches ${args.only.join(", ")}`);

  const sink = new Sink();
  const cases: CaseResult[] = [];
  // Checks are attached before onCase sees the row, so a printed row is final.
  const onCase = options.onCase;
  const inner: BenchOptions = { ...options, onCase: undefined };
  for (const spec of specs) {
    const result = measure(spec, inner, sink);
    result.checks = checks.get(spec.name)?.() ?? {};
    const bad = checkFailure(result);
    if (bad) throw new Error(`codec benchmark is not measuring what it claims: ${bad}`);
    cases.push(result);
    onCase?.(result);
  }
  return {
    benchmark: "codec",
    ...machine(),
    seconds: options.seconds,
    rounds: options.rounds,
    date: new Date().toISOString(),
    cases,
    notes: [
      `one status message (t=status st=up dt=1f40 protocol=1, full header, auth field) per unit; goal: decode+verify ≤ ${DECODE_VERIFY_GOAL_US} µs per status message`,
      "netstring decode+verify: the trailer decides; verifyDecoded also digests the in-message auth field to report it (two digests per message)",
      `deframe: a stream of ${STREAM_FRAMES} sha1-signed status frames fed in ${args.chunk}-byte chunks`,
    ],
    sink: sink.value,
  };
}

export const codecBenchmark: Benchmark = {
  name: "codec",
  describe: "status message encode+sign / decode+verify per auth method (crc, md5, sha1), classic format, serial deframer throughput",
  run: runCodec,
};
