// Persistent per-node state in the state dir (default /var/lib/lubdub):
//   generation  the process generation, in Heartbeat's hb_generation format
//               (decimal right-aligned in 15 columns, newline), incremented
//               and synced to disk at every start, so peers can tell a
//               restarted node from a replay of an old one;
//   uuid        16 random bytes naming this node (Heartbeat's hb_uuid).

import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

export const GENERATION_FILE = "generation";
export const UUID_FILE = "uuid";
const UUID_BYTES = 16;
const GENERATION_WIDTH = 15;

function writeDurably(path: string, data: Buffer): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(join(path, ".."), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * Reads the stored generation, adds one, stores it and returns it. Without a
 * readable file the count starts from the current Unix time, as Heartbeat's
 * does, so a wiped state dir still yields a generation peers have not seen.
 */
export function nextGeneration(stateDir: string, nowSeconds = Math.floor(Date.now() / 1000)): number {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, GENERATION_FILE);
  let previous: number | null = null;
  try {
    const text = readFileSync(path, "utf8").trim();
    if (/^\d{1,15}$/.test(text)) previous = Number(text);
  } catch {
    /* first start */
  }
  const next = previous === null ? nowSeconds + 1 : previous + 1;
  writeDurably(path, Buffer.from(String(next).padStart(GENERATION_WIDTH, " ") + "\n", "latin1"));
  return next;
}

/** This node's UUID (16 raw bytes as a byte string), created on first start. */
export function nodeUuid(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, UUID_FILE);
  try {
    const b = readFileSync(path);
    if (b.length === UUID_BYTES) return b.toString("latin1");
  } catch {
    /* first start */
  }
  const fresh = randomBytes(UUID_BYTES);
  writeDurably(path, fresh);
  return fresh.toString("latin1");
}
