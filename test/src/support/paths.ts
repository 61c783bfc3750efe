// Where things are, relative to the repository (never to a machine).

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (test/dist/support/ is three levels below it). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");

/**
 * The Heartbeat 3.0.6 capture sets. LUBDUB_HB_FIXTURES overrides; otherwise the
 * shared reference material beside the repository (../shared/fixtures/...).
 * Returns null when neither exists.
 */
export function heartbeatFixturesDir(): string | null {
  const candidates = [
    process.env.LUBDUB_HB_FIXTURES,
    join(REPO_ROOT, "..", "shared", "fixtures", "heartbeat-3.0.6"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return resolve(c);
  return null;
}

export function fromRoot(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
