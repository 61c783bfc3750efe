// What the benchmark labs (lab.ts for the agent benchmark, failover-lab.ts
// for the failover benchmark) share: the namespace naming, the `ip` runner,
// the sweep of leftovers from bench processes that died, and cleanup at
// exit. Namespaces are named `lubdub-b-<pid>-…` so that any bench process can
// tell which leftovers belong to a process that is gone.

import { type ChildProcess, spawn, type SpawnOptions, spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export const NETNS_PREFIX = `lubdub-b-${process.pid}-`;
/** The documentation network every bench lab uses (RFC 5737). */
export const BENCH_NET = "192.0.2";
/** The interface name every bench host sees for its link. */
export const BENCH_IFACE = "lub0";
/** Where `ip netns exec` looks for per-namespace /etc files. */
export const ETC_NETNS = "/etc/netns";
const DEAD_LAB = /^lubdub-b-(\d+)-/;

/** Runs a command (bounded); its stdout, or throws naming the command unless `allowFail`. */
export function run(args: string[], allowFail = false): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || "").trim()}`);
  }
  return r.stdout ?? "";
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Names in `names` that belong to a bench process other than this one that is gone. */
function ofDeadLabs(names: string[]): string[] {
  return names.filter((n) => {
    const m = DEAD_LAB.exec(n);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
}

/** Deletes namespaces and /etc/netns entries of bench processes that died without cleaning up. */
export function sweepDeadLabs(): void {
  for (const name of ofDeadLabs(namespaceNames())) run(["ip", "netns", "delete", name], true);
  for (const name of ofDeadLabs(etcNetnsNames())) rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
}

export function namespaceNames(): string[] {
  return run(["ip", "netns", "list"], true)
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter(Boolean);
}

export function etcNetnsNames(): string[] {
  try {
    return readdirSync(ETC_NETNS);
  } catch {
    return [];
  }
}

/** Something that undoes what it made. */
export interface Cleanable {
  cleanup(): void;
}

const live = new Set<Cleanable>();
let hooked = false;

/** Cleans `lab` up at exit, SIGINT and SIGTERM, unless it was released first. */
export function cleanUpAtExit(lab: Cleanable): void {
  live.add(lab);
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const l of live) l.cleanup();
  });
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(sig, () => {
      for (const l of live) l.cleanup();
      process.exit(code);
    });
  }
}

/** The lab cleaned itself up: nothing left to do at exit. */
export function releaseAtExit(lab: Cleanable): void {
  live.delete(lab);
}

/**
 * Runs a command in namespace `ns` and remembers it in `children` until it
 * exits, so the lab can kill it by PID. `ip netns exec` execs the command in
 * place, so the child's PID becomes the command's own.
 */
export function execIn(ns: string, argv: string[], options: SpawnOptions, children: Map<number, ChildProcess>): ChildProcess {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"], ...options });
  if (child.pid !== undefined) {
    const pid = child.pid;
    children.set(pid, child);
    child.once("exit", () => children.delete(pid));
  }
  return child;
}
