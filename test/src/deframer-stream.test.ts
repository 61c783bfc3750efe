// The deframer on real traffic: every captured datagram (and its classic
// serial rendering) interleaved with random noise and split at random byte
// boundaries comes out whole and in order, with the noise counted; frames cut
// short cost themselves and nothing after them.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Deframer, DeframeEvent, DROP_NOISE } from "@lubdub/protocol";
import { classicFrame, loadFixtureSets, noise, splitRandomly } from "./support/fixture-frames.js";
import { Rng, seedFromEnv } from "./support/rng.js";

const t = suite("deframer on captured traffic");
const sets = loadFixtureSets();

function run(d: Deframer, chunks: string[]): DeframeEvent[] {
  const out: DeframeEvent[] = [];
  for (const c of chunks) {
    for (const e of d.push(c)) out.push(e);
    assert.ok(d.pendingBytes() <= d.maxFrame + 5, `pending ${d.pendingBytes()} over the limit`);
  }
  for (const e of d.end()) out.push(e);
  return out;
}

if (sets.length === 0) {
  console.log("SKIP deframer on captured traffic: Heartbeat fixtures not found (set LUBDUB_HB_FIXTURES or put shared/ beside the repository)");
  t.skip("captured traffic", () => {});
} else {
  for (const format of ["netstring", "classic"] as const) {
    t(`${format}: every captured message through noise and random splits comes out whole, in order`, () => {
      const rng = new Rng(seedFromEnv(`stream-${format}`));
      const frames: string[] = [];
      for (const s of sets) for (const dg of s.datagrams) frames.push(format === "netstring" ? dg : classicFrame(dg, s.keys));
      let stream = "";
      let noiseBytes = 0;
      for (const f of frames) {
        const n = rng.int(3) === 0 ? "" : noise(rng, 120);
        noiseBytes += n.length;
        stream += n + f;
      }
      const tail = noise(rng, 50);
      stream += tail;
      noiseBytes += tail.length;
      const d = new Deframer();
      const events = run(d, splitRandomly(rng, stream, 97));
      const got = events.filter((e) => e.frame !== null).map((e) => e.frame);
      assert.is(got.length, frames.length, `frames out (seed ${rng.seed})`);
      for (let i = 0; i < frames.length; i++) if (got[i] !== frames[i]) assert.unreachable(`frame ${i} differs (seed ${rng.seed})`);
      assert.is(d.stats.noiseBytes, noiseBytes, "noise counted");
      assert.is(events.filter((e) => e.reason === DROP_NOISE).reduce((s, e) => s + e.bytes, 0), noiseBytes, "noise reported");
      assert.is(d.stats.droppedFrames, 0);
      console.log(`  ${format}: ${frames.length} frames, ${noiseBytes} noise bytes, ${stream.length} bytes in all`);
    });

    t(`${format}: a message cut short anywhere costs only itself`, () => {
      const rng = new Rng(seedFromEnv(`truncate-${format}`));
      const all = sets.flatMap((s) => s.datagrams.map((dg) => (format === "netstring" ? dg : classicFrame(dg, s.keys))));
      let cuts = 0;
      for (let round = 0; round < 3000; round++) {
        const victim = rng.pick(all);
        const next = rng.pick(all);
        const cut = 1 + rng.int(victim.length - 2);
        const d = new Deframer();
        const events = run(d, splitRandomly(rng, victim.slice(0, cut) + noise(rng, 8) + next, 64));
        const got = events.filter((e) => e.frame !== null).map((e) => e.frame);
        if (got[got.length - 1] !== next) {
          assert.unreachable(`cut at ${cut} of ${victim.length}: the following frame was lost (seed ${rng.seed}, round ${round}): ${JSON.stringify(events.map((e) => [e.reason, e.bytes]))}`);
        }
        cuts++;
      }
      console.log(`  ${format}: ${cuts} truncated messages, every following message recovered`);
    });
  }

  // Captured messages in both formats (some with CR-LF line ends), cut short,
  // with marker-like tokens and CRs spliced in, fed whole, a byte at a time
  // and in random chunks, sometimes with a small frame limit: the events must
  // not depend on the chunking and must tile the stream. A failure is shrunk
  // to a minimal stream before it is reported.
  const TOKENS = ["\r", "\n", "\r\n", ">>>", "###", "<<<", "%%%\n", ">>>\n", "###\n", ">>>\r\n", "<<<\n", "\r###\n", ">>\r>\n", "a=b\n", "1:", "10:1 ab,", ">", "#", "="];

  const eventsOf = (chunks: string[], maxFrame: number | undefined): { events: DeframeEvent[]; d: Deframer } => {
    const d = new Deframer(maxFrame);
    const events: DeframeEvent[] = [];
    for (const c of chunks) for (const e of d.push(c)) events.push(e);
    for (const e of d.end()) events.push(e);
    return { events, d };
  };

  /** Why the stream is handled badly (chunking changes the events, or they do not tile it), or null. */
  const problem = (stream: string, maxFrame: number | undefined, chunkings: string[][]): string | null => {
    const whole = eventsOf([stream], maxFrame);
    const want = JSON.stringify([whole.events, whole.d.stats]);
    for (const chunks of chunkings) {
      const got = eventsOf(chunks, maxFrame);
      if (JSON.stringify([got.events, got.d.stats]) !== want) return `${chunks.length} chunks give other events than one push`;
    }
    let pos = 0;
    for (const e of whole.events) {
      if (e.offset !== pos) return `event at ${e.offset}, expected at ${pos}`;
      if (e.frame === null || e.frame.startsWith("###\n")) pos += e.bytes;
      else {
        // a classic frame lost its CRs and blank lines: it ends at its "<<<" line
        let at = pos;
        for (;;) {
          const nl = stream.indexOf("\n", at);
          if (nl < 0) return `classic frame at ${pos} without its <<< line`;
          const line = stream.slice(at, nl).split("\r").join("");
          at = nl + 1;
          if (line === "<<<") break;
        }
        const lines = stream.slice(pos, at).split("\r").join("").split("\n").filter((l) => l.length > 0);
        if (lines.join("\n") + "\n" !== e.frame) return `classic frame at ${pos} is not the stream's bytes without CRs and blank lines`;
        pos = at;
      }
    }
    return pos === stream.length ? null : `events cover ${pos} of ${stream.length} bytes`;
  };

  t("any chunking of damaged traffic gives the same events, and they tile the stream", () => {
    const rng = new Rng(seedFromEnv("stream-chunking"));
    const all = sets.flatMap((s) => s.datagrams.flatMap((dg) => [dg, classicFrame(dg, s.keys)]));
    const ROUNDS = 4000;
    for (let round = 0; round < ROUNDS; round++) {
      let stream = "";
      for (let parts = 1 + rng.int(6); parts > 0; parts--) {
        let f = rng.pick(all);
        if (rng.int(3) === 0) f = f.split("\n").join("\r\n");
        const kind = rng.int(5);
        if (kind === 0) stream += f;
        else if (kind === 1) stream += f.slice(0, rng.int(f.length));
        else if (kind === 2) stream += rng.pick(TOKENS);
        else if (kind === 3) stream += noise(rng, 20);
        else {
          const at = rng.int(f.length);
          stream += f.slice(0, at) + rng.pick(TOKENS) + f.slice(at);
        }
      }
      const maxFrame = rng.int(2) === 0 ? undefined : 50 + rng.int(400);
      const chunkings = [stream.split(""), splitRandomly(rng, stream, 30)];
      const why = problem(stream, maxFrame, chunkings);
      if (why !== null) {
        // shrink: drop slices while the stream still fails (whole vs byte by byte)
        let small = stream;
        for (let size = small.length >> 1; size >= 1; size >>= 1) {
          for (let i = 0; i + size <= small.length; ) {
            const tryIt = small.slice(0, i) + small.slice(i + size);
            if (problem(tryIt, maxFrame, [tryIt.split("")]) !== null) small = tryIt;
            else i++;
          }
        }
        assert.unreachable(`round ${round} (seed ${rng.seed}, limit ${maxFrame}): ${why}; shrunk: ${JSON.stringify(small)}`);
      }
    }
    console.log(`  ${ROUNDS} damaged streams: the same events whole, byte by byte and in random chunks, tiling the stream`);
  });
}

t.run();
