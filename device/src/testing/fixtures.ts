// Heartbeat 3.0.6 captures as the classic frames a serial line carries, for the
// device's relay tests. LUBDUB_HB_FIXTURES overrides the shared reference
// material beside the repository. Node only.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildMessage, decodeDatagram, parseAuthkeys, signClassic } from "@lubdub/protocol";

/** device/dist/node/testing/ is four levels below the repository root. */
const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../../../..");

export function fixturesDir(): string | null {
  for (const c of [process.env.LUBDUB_HB_FIXTURES, join(REPO_ROOT, "..", "shared", "fixtures", "heartbeat-3.0.6")]) {
    if (c && existsSync(c)) return resolve(c);
  }
  return null;
}

/** Every captured datagram of every set, rendered as a signed classic frame (at most `limit` per set). */
export function fixtureFrames(limit = Infinity): string[] {
  const root = fixturesDir();
  if (root === null) return [];
  const out: string[] = [];
  for (const set of readdirSync(root).sort()) {
    const msgDir = join(root, set, "messages");
    if (!existsSync(msgDir)) continue;
    const nodeFiles = join(root, set, "node-files");
    const keyFile = existsSync(nodeFiles) ? readdirSync(nodeFiles).filter((f) => f.endsWith("authkeys")).sort()[0] : undefined;
    const parsed = parseAuthkeys(keyFile ? readFileSync(join(nodeFiles, keyFile), "latin1") : "auth 1\n1 crc\n", "authkeys");
    if (!parsed.ok) continue;
    const files = readdirSync(msgDir).filter((f) => f.endsWith(".msg")).sort().slice(0, limit);
    for (const f of files) {
      const d = decodeDatagram(readFileSync(join(msgDir, f), "latin1"));
      if (d.ok) out.push(signClassic(d.decoded.message, parsed.keys));
    }
  }
  return out;
}

/**
 * Signed classic status heartbeats of two made-up nodes, for tests that need
 * valid frames but not Heartbeat's own bytes (used when the captures are not
 * beside the repository).
 */
export function syntheticFrames(count: number): string[] {
  const parsed = parseAuthkeys("auth 1\n1 sha1 lubdub-test-key\n", "authkeys");
  if (!parsed.ok) throw new Error("built-in authkeys did not parse");
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const msg = buildMessage(
      { t: "status", st: "active", dt: 5000, protocol: 1 },
      { src: i % 2 === 0 ? "alpha" : "bravo", srcuuid: null, seq: i + 1, hg: 7, ts: 1700000000 + i, ld: "0.00 0.01 0.05 1/80 999", ttl: 4, destuuid: null },
    );
    out.push(signClassic(msg, parsed.keys));
  }
  return out;
}
