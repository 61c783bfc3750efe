// Captured datagrams as frames for stream tests: every netstring datagram of
// every capture set, and the classic rendering a serial line would carry.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Authkeys, decodeDatagram, parseAuthkeys, signClassic } from "@lubdub/protocol";
import { heartbeatFixturesDir } from "./paths.js";
import type { Rng } from "./rng.js";
import type { Requirement } from "./require.js";

export interface FixtureSet {
  name: string;
  keys: Authkeys;
  /** Netstring datagrams as captured. */
  datagrams: string[];
}

function keysFor(dir: string): Authkeys {
  const nodeFiles = join(dir, "node-files");
  const file = existsSync(nodeFiles) ? readdirSync(nodeFiles).filter((f) => f.endsWith("authkeys")).sort()[0] : undefined;
  const parsed = file ? parseAuthkeys(readFileSync(join(nodeFiles, file), "latin1"), file) : parseAuthkeys("auth 1\n1 crc\n", "crc");
  if (!parsed.ok) throw new Error(`${dir}: bad authkeys`);
  return parsed.keys;
}

export function loadFixtureSets(): FixtureSet[] {
  const root = heartbeatFixturesDir();
  if (!root) return [];
  const sets: FixtureSet[] = [];
  for (const name of readdirSync(root).sort()) {
    const msgDir = join(root, name, "messages");
    if (!existsSync(msgDir)) continue;
    const datagrams = readdirSync(msgDir).filter((f) => f.endsWith(".msg")).sort().map((f) => readFileSync(join(msgDir, f), "latin1"));
    sets.push({ name, keys: keysFor(join(root, name)), datagrams });
  }
  return sets;
}

/** The classic frame a serial line carries for a captured datagram. */
export function classicFrame(datagram: string, keys: Authkeys): string {
  const d = decodeDatagram(datagram);
  if (!d.ok) throw new Error("fixture does not decode");
  return signClassic(d.decoded.message, keys);
}

const MARKERS = ["###\n", ">>>\n", ">>>\r\n"];

/** Random bytes that contain no start marker (so every byte of it is noise). */
export function noise(rng: Rng, maxLen: number): string {
  for (;;) {
    const s = rng.bytes(rng.int(maxLen + 1));
    if (!MARKERS.some((m) => s.includes(m))) return s;
  }
}

/** Splits `s` into chunks of 1..maxChunk bytes. */
export function splitRandomly(rng: Rng, s: string, maxChunk: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    const n = 1 + rng.int(maxChunk);
    out.push(s.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Every capture of every set as the classic frame a serial line carries (captures that are not messages are left out). */
export function allClassicFrames(): string[] {
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

/** testWhere requirement: the Heartbeat 3.0.6 captures are there. */
export const HEARTBEAT_FIXTURES: Requirement = {
  check: () => (allClassicFrames().length > 0 ? null : "no Heartbeat 3.0.6 fixtures (../shared/fixtures/heartbeat-3.0.6 or LUBDUB_HB_FIXTURES)"),
  what: "heartbeat fixtures",
};
