// Telling labs apart, and finding what they left. Every namespace (and
// /etc/netns entry) a lab makes is named `lubdub-<kind>-<pid>-…`: the kind
// says who made it (t: tests, b: benchmarks, demo: the demo) and the PID
// which process, so labs running side by side never touch each other, and
// what a process that died without cleaning up (SIGKILL, a crash) left can
// be recognised and swept by the next lab of its kind.

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { run } from "./run.js";

/** Where `ip netns exec` finds per-namespace /etc files (mounted over /etc for processes inside). */
export const ETC_NETNS = "/etc/netns";

/** The prefix of every name made by a `kind` lab in process `pid`. */
export function labPrefix(kind: string, pid = process.pid): string {
  return `lubdub-${kind}-${pid}-`;
}

/** Every network namespace on the machine. */
export function namespaceNames(): string[] {
  return run(["ip", "netns", "list"], true)
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter(Boolean);
}

/** Every entry of /etc/netns (none when it does not exist). */
export function etcNetnsNames(): string[] {
  try {
    return readdirSync(ETC_NETNS);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Names in `names` made by a `kind` lab in a process, other than this one, that is gone. */
function ofDeadLabs(kind: string, names: string[]): string[] {
  const pattern = new RegExp(`^lubdub-${kind}-(\\d+)-`);
  return names.filter((n) => {
    const m = pattern.exec(n);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
}

/** Deletes the namespaces (their veths go with them) and /etc/netns entries of dead `kind` labs. */
export function sweepDeadLabs(kind: string): void {
  for (const name of ofDeadLabs(kind, namespaceNames())) run(["ip", "netns", "delete", name], true);
  for (const name of ofDeadLabs(kind, etcNetnsNames())) rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
}

/** The namespaces of `kind` labs in process `pid` still present (for checks that cleanup worked). */
export function leftoverNamespaces(kind: string, pid = process.pid): string[] {
  return namespaceNames().filter((n) => n.startsWith(labPrefix(kind, pid)));
}

/** Those namespaces and their /etc/netns entries still present, the entries as paths. */
export function leftovers(kind: string, pid = process.pid): string[] {
  const etc = etcNetnsNames().filter((n) => n.startsWith(labPrefix(kind, pid)));
  return [...leftoverNamespaces(kind, pid), ...etc.map((n) => join(ETC_NETNS, n))];
}
