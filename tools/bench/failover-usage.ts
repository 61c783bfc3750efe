// What a cluster daemon costs while it runs: resident memory and CPU time of
// its processes, read from /proc. A node's processes are the one it was
// started as and its descendants whose command name is the daemon's own:
//
//   lubdub      node (lubdubd) and ip (its pre-started `ip -batch`)
//   heartbeat   heartbeat (master control, FIFO reader, one writer and one
//               reader per medium); the unshare/sh wrappers are not counted
//   keepalived  keepalived (the parent and its VRRP child)
//
// Resource scripts and the service are not counted (they are short-lived or
// not the daemon's: the service's PID is excluded explicitly).

import { readdirSync, readFileSync } from "node:fs";
import type { Impl } from "./failover-nodes.js";

const COMMS: Record<Impl, readonly string[]> = {
  lubdub: ["node", "ip"],
  heartbeat: ["heartbeat"],
  keepalived: ["keepalived"],
};

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, clock ticks. */
  ticks: number;
}

function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const f = stat.slice(close + 2).split(" ");
    return { pid, ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = procInfo(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** The daemon's processes under `root` (see the header), without `exclude`. */
export function daemonProcs(impl: Impl, root: number, exclude: ReadonlySet<number> = new Set()): ProcInfo[] {
  const procs = allProcs();
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const rootInfo = procs.find((p) => p.pid === root);
  if (!rootInfo) return [];
  const out: ProcInfo[] = [];
  const walk = (p: ProcInfo) => {
    if (exclude.has(p.pid)) return;
    if (COMMS[impl].includes(p.comm)) out.push(p);
    for (const c of children.get(p.pid) ?? []) walk(c);
  };
  walk(rootInfo);
  return out;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface Usage {
  /** Processes counted. */
  procs: number;
  /** Sum of VmRSS at the end of the window, MiB. */
  rssMiB: number;
  /** CPU time over the window / the window, percent of one core. */
  cpuPct: number;
  windowMs: number;
}

/** Samples a node's processes over `windowMs` of wall time. */
export async function sampleUsage(impl: Impl, root: number, windowMs: number, exclude: () => ReadonlySet<number> = () => new Set()): Promise<Usage> {
  const hz = 100; // USER_HZ on Linux
  const before = new Map(daemonProcs(impl, root, exclude()).map((p) => [p.pid, p.ticks]));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const after = daemonProcs(impl, root, exclude());
  const wall = performance.now() - t0;
  let ticks = 0;
  for (const p of after) ticks += p.ticks - (before.get(p.pid) ?? p.ticks);
  const rssKb = after.reduce((s, p) => s + statusKb(p.pid, "VmRSS"), 0);
  return { procs: after.length, rssMiB: Math.round((rssKb / 1024) * 10) / 10, cpuPct: Math.round(((ticks / hz) * 1000 * 100 * 100) / wall) / 100, windowMs: Math.round(wall) };
}

/** Sum of the processes' peak resident memory (VmHWM), MiB. */
export function peakRssMiB(impl: Impl, root: number, exclude: ReadonlySet<number> = new Set()): number {
  const kb = daemonProcs(impl, root, exclude).reduce((s, p) => s + statusKb(p.pid, "VmHWM"), 0);
  return Math.round((kb / 1024) * 10) / 10;
}
