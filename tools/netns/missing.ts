// What keeps a lab from running on this machine, asked before building one so
// that a test or benchmark can be skipped with the reason printed, and the
// demo can fall back to loopback. Each check returns why it cannot, or null.

import { spawnSync } from "node:child_process";

/** How long a probe command may take. */
const PROBE_TIMEOUT_MS = 10_000;

export function isRoot(): boolean {
  return process.getuid !== undefined && process.getuid() === 0;
}

/** Why `cmd` cannot be run (not on PATH), naming the Debian package that has it, or null. */
export function commandMissing(cmd: string, pkg: string): string | null {
  const found = spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore", timeout: PROBE_TIMEOUT_MS });
  return found.status === 0 ? null : `needs '${cmd}' (Debian package ${pkg})`;
}

/** Why network namespaces cannot be made here (no iproute2, refused by the kernel), or null; `probe` is made and deleted. */
export function namespacesMissing(probe: string): string | null {
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8", timeout: PROBE_TIMEOUT_MS });
  if (add.error && (add.error as NodeJS.ErrnoException).code === "ENOENT") return "needs 'ip' (Debian package iproute2)";
  if (add.status !== 0) return `cannot create network namespaces (${(add.stderr || add.error?.message || "").trim()})`;
  spawnSync("ip", ["netns", "delete", probe], { timeout: PROBE_TIMEOUT_MS });
  return null;
}

/** Why netem cannot be used here (no sch_netem in the kernel, no tc), or null; `probe` is made and deleted. */
export function netemMissing(probe: string): string | null {
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8", timeout: PROBE_TIMEOUT_MS });
  if (add.status !== 0) return `cannot create network namespaces (${(add.stderr || "").trim()})`;
  try {
    spawnSync("ip", ["-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"], { timeout: PROBE_TIMEOUT_MS });
    const r = spawnSync("tc", ["-n", probe, "qdisc", "add", "dev", "v0", "root", "netem", "loss", "1%"], { encoding: "utf8", timeout: PROBE_TIMEOUT_MS });
    if (r.error) return "needs 'tc' (Debian package iproute2)";
    return r.status === 0 ? null : `netem unavailable (${(r.stderr || "").trim()})`;
  } finally {
    spawnSync("ip", ["netns", "delete", probe], { timeout: PROBE_TIMEOUT_MS });
  }
}
