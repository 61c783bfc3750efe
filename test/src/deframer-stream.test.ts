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
}

t.run();
