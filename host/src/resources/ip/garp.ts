// Gratuitous ARP after an address is taken over, so that neighbours (the
// clients, the router) replace the old owner's MAC in their ARP caches at
// once instead of after their entries expire.
//
// What Heartbeat sends, and what lubdub sends:
//
// - Heartbeat's send_arp ("For each ARP announcement requested, a pair of ARP
//   packets is sent, an ARP request, and an ARP reply. This is because some
//   systems ignore one or the other") with `-i INTERVAL -r COUNT`: COUNT pairs,
//   one packet every INTERVAL/2 ms, request first. lubdub sends the same
//   sequence with iputils arping, one process per packet: `arping -U` for the
//   request and `arping -A` for the reply (the OCF IPaddr2 agent's
//   iputils_arping sender uses `-U`, and documents `-A` for reply mode).
//   arping itself cannot pace below a second, hence a process per packet.
// - Defaults (resource-agents 4.12 as Debian installs it with Heartbeat
//   3.0.6): the OCF IPaddr agent behind resource.d/IPaddr runs
//   `send_arp -i $ARP_INTERVAL_MS -r $ARP_REPEAT` with 500 ms and 10, in the
//   background (ARP_BACKGROUND=yes); the OCF IPaddr2 agent behind
//   resource.d/IPaddr2 has arp_interval=200, arp_count=5, arp_bg=true for
//   IPv4, and arp_count_refresh=0: a refresh round of that many on every
//   monitor, which is off by default (and Heartbeat in haresources mode never
//   monitors). lubdub's refresh round is one more burst arpRefreshAfterMs
//   after the start, off by default (arpRefreshCount 0) as in Heartbeat.
//
// Failover time: start's success waits only for the first packet (the
// request) to leave, which takes one process start (a few ms); in a group
// (ActionContext.finishLater) not even that: start returns once arping runs,
// the group's next resource starts meanwhile, and the group counts as
// started once the first packet is confirmed. The rest of the burst runs in
// the background, bounded (every arping is killed ARPING_MAX_LIFE_MS after
// it started), and stop cancels it: a node that gives the address away must
// not keep announcing it. The first packet is
// known to be leaving when arping prints its banner, which it does just
// before sending; `stdbuf -oL` makes that line arrive at once instead of at
// exit (arping lingers a second after its last packet, waiting for replies).

import { type ChildProcess, spawn } from "node:child_process";
import { inNetns } from "./ip-command.js";

export interface GarpOptions {
  /** Announcements (request + reply pairs) right after the address is added; 0 sends none. */
  arpCount: number;
  /** Time between announcements (ms); the reply goes half-way between two requests. */
  arpIntervalMs: number;
  /** The refresh round starts this long after the first packet (ms). */
  arpRefreshAfterMs: number;
  /** Announcements in the refresh round; 0 (the default) has none. */
  arpRefreshCount: number;
}

/** OCF IPaddr ARP_REPEAT default (send_arp -r). */
export const IPADDR_ARP_COUNT = 10;
/** OCF IPaddr ARP_INTERVAL_MS default (send_arp -i). */
export const IPADDR_ARP_INTERVAL_MS = 500;
/** OCF IPaddr2 arp_count default. */
export const IPADDR2_ARP_COUNT = 5;
/** OCF IPaddr2 arp_interval default. */
export const IPADDR2_ARP_INTERVAL_MS = 200;
/** OCF IPaddr2 arp_count_refresh default: no refresh. */
export const ARP_REFRESH_COUNT = 0;
/** When a refresh round is configured: after IPaddr2's advertised monitor interval (10 s). */
export const ARP_REFRESH_AFTER_MS = 10_000;

export const IPADDR_GARP: Readonly<GarpOptions> = Object.freeze({
  arpCount: IPADDR_ARP_COUNT,
  arpIntervalMs: IPADDR_ARP_INTERVAL_MS,
  arpRefreshAfterMs: ARP_REFRESH_AFTER_MS,
  arpRefreshCount: ARP_REFRESH_COUNT,
});

export const IPADDR2_GARP: Readonly<GarpOptions> = Object.freeze({
  arpCount: IPADDR2_ARP_COUNT,
  arpIntervalMs: IPADDR2_ARP_INTERVAL_MS,
  arpRefreshAfterMs: ARP_REFRESH_AFTER_MS,
  arpRefreshCount: ARP_REFRESH_COUNT,
});

/** Start waits at most this long for the first packet to be confirmed (then reports it unconfirmed). */
export const FIRST_ARP_WAIT_MS = 100;
/** Every arping is killed this long after it started (it exits by itself about a second after its packet). */
export const ARPING_MAX_LIFE_MS = 3000;
/** Upper bounds on configuration, so a burst stays bounded whatever is configured. */
export const MAX_ARP_COUNT = 100;
export const MAX_ARP_INTERVAL_MS = 60_000;
export const MAX_ARP_REFRESH_AFTER_MS = 3_600_000;

export type GarpKind = "request" | "reply";

export interface GarpPacket {
  /** When, after the first packet (ms). */
  atMs: number;
  kind: GarpKind;
}

export interface GarpTarget {
  iface: string;
  ip: string;
  /** Network namespace to send in (tests), or null. */
  netns: string | null;
}

/** Checks options; returns what is wrong, or null. */
export function checkGarpOptions(o: GarpOptions): string | null {
  const int = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!int(o.arpCount, 0, MAX_ARP_COUNT)) return `arpCount must be an integer 0-${MAX_ARP_COUNT} (got ${o.arpCount})`;
  if (!int(o.arpIntervalMs, 1, MAX_ARP_INTERVAL_MS)) return `arpIntervalMs must be an integer 1-${MAX_ARP_INTERVAL_MS} (got ${o.arpIntervalMs})`;
  if (!int(o.arpRefreshCount, 0, MAX_ARP_COUNT)) return `arpRefreshCount must be an integer 0-${MAX_ARP_COUNT} (got ${o.arpRefreshCount})`;
  if (!int(o.arpRefreshAfterMs, 0, MAX_ARP_REFRESH_AFTER_MS)) return `arpRefreshAfterMs must be an integer 0-${MAX_ARP_REFRESH_AFTER_MS} (got ${o.arpRefreshAfterMs})`;
  return null;
}

/** The packets of one takeover, as send_arp spaces them: request, reply, request… every interval/2. */
export function garpSchedule(o: GarpOptions): GarpPacket[] {
  const out: GarpPacket[] = [];
  const half = o.arpIntervalMs / 2;
  for (let k = 0; k < 2 * o.arpCount; k++) out.push({ atMs: k * half, kind: k % 2 === 0 ? "request" : "reply" });
  for (let k = 0; k < 2 * o.arpRefreshCount; k++) out.push({ atMs: o.arpRefreshAfterMs + k * half, kind: k % 2 === 0 ? "request" : "reply" });
  return out;
}

/** The arping command for one packet. */
export function arpingArgv(kind: GarpKind, target: GarpTarget, quiet: boolean): string[] {
  return ["arping", kind === "request" ? "-U" : "-A", ...(quiet ? ["-q"] : []), "-c", "1", "-I", target.iface, target.ip];
}

export interface AnnounceOptions {
  /** How long start may wait for the first packet (ms); FIRST_ARP_WAIT_MS when absent. */
  waitMs?: number;
  /** Told about background packets that could not be sent. */
  onError?: (message: string) => void;
}

export interface AnnounceResult {
  /** confirmed: the first packet left; unconfirmed: arping runs but did not say so in time; failed: arping could not send. */
  first: "confirmed" | "unconfirmed" | "failed" | "none";
  /** Packets of the schedule after the first (sent or still to come in the background). */
  scheduled: number;
  detail: string;
}

interface Burst {
  timers: Set<NodeJS.Timeout>;
  children: Set<ChildProcess>;
  cancelled: boolean;
}

const bursts = new Map<string, Burst>();

function keyOf(t: Pick<GarpTarget, "ip" | "netns">): string {
  return `${t.netns ?? ""}\u0000${t.ip}`;
}

/** Starts arping and bounds its life; it is forgotten when it exits. */
function spawnBounded(burst: Burst, argv: string[], stdout: "pipe" | "ignore"): ChildProcess | { error: string } {
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", stdout, "pipe"], env: { ...process.env, LC_ALL: "C" } });
  } catch (e) {
    return { error: (e as Error).message };
  }
  burst.children.add(child);
  const killer = setTimeout(() => child.kill("SIGKILL"), ARPING_MAX_LIFE_MS);
  killer.unref();
  child.once("close", () => {
    clearTimeout(killer);
    burst.children.delete(child);
    if (burst.timers.size === 0 && burst.children.size === 0) forget(burst);
  });
  child.on("error", () => {
    // Reported by whoever waits on it; without this listener an ENOENT would throw.
  });
  return child;
}

function forget(burst: Burst): void {
  for (const [k, b] of bursts) if (b === burst) bursts.delete(k);
}

function stderrOf(child: ChildProcess): () => string {
  let text = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => {
    if (text.length < 4096) text += s;
  });
  return () => text.trim();
}

/** Sends the first packet and waits (bounded) until it is leaving. */
function sendFirst(burst: Burst, target: GarpTarget, waitMs: number): Promise<{ first: AnnounceResult["first"]; detail: string }> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (first: AnnounceResult["first"], detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ first, detail });
    };
    const argv = inNetns(["stdbuf", "-oL", ...arpingArgv("request", target, false)], target.netns);
    const child = spawnBounded(burst, argv, "pipe");
    if ("error" in child) return done("failed", `${argv.join(" ")}: could not run (${child.error})`);
    const stderr = stderrOf(child);
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => {
      out += s;
      if (out.includes("ARPING ")) done("confirmed", "first gratuitous ARP sent");
    });
    child.on("error", (e) => done("failed", `${argv.join(" ")}: could not run (${e.message})`));
    child.on("close", (code, signal) => {
      if (code === 0) done("confirmed", "first gratuitous ARP sent");
      else done("failed", `${argv.join(" ")} failed (${code !== null ? `exit ${code}` : signal})${stderr() ? `: ${stderr()}` : ""}`);
    });
    timer = setTimeout(() => done("unconfirmed", `first gratuitous ARP not confirmed within ${waitMs} ms (arping still running)`), waitMs);
  });
}

function sendLater(burst: Burst, target: GarpTarget, kind: GarpKind, onError?: (m: string) => void): void {
  if (burst.cancelled) return;
  const argv = inNetns(arpingArgv(kind, target, true), target.netns);
  const child = spawnBounded(burst, argv, "ignore");
  if ("error" in child) {
    onError?.(`${argv.join(" ")}: could not run (${child.error})`);
    return;
  }
  const stderr = stderrOf(child);
  child.on("error", (e) => onError?.(`${argv.join(" ")}: could not run (${e.message})`));
  child.on("close", (code, signal) => {
    if (code !== 0 && !burst.cancelled && signal !== "SIGKILL") onError?.(`${argv.join(" ")} failed (${code !== null ? `exit ${code}` : signal})${stderr() ? `: ${stderr()}` : ""}`);
  });
}

/**
 * Announces `target.ip` on `target.iface`: sends the first packet, waits for
 * it (at most waitMs), and leaves the rest of the schedule to run in the
 * background. A burst already running for the same address is cancelled first.
 */
export async function announce(target: GarpTarget, options: GarpOptions, a: AnnounceOptions = {}): Promise<AnnounceResult> {
  cancelAnnouncements(target);
  const bad = checkGarpOptions(options);
  if (bad) return { first: "failed", scheduled: 0, detail: `gratuitous ARP not sent: ${bad}` };
  const schedule = garpSchedule(options);
  if (schedule.length === 0) return { first: "none", scheduled: 0, detail: "gratuitous ARP disabled (arpCount 0)" };
  const burst: Burst = { timers: new Set(), children: new Set(), cancelled: false };
  bursts.set(keyOf(target), burst);
  const t0 = performance.now();
  // The background packets are timed from now, not from when the first is confirmed.
  for (const p of schedule.slice(1)) {
    const timer = setTimeout(() => {
      burst.timers.delete(timer);
      sendLater(burst, target, p.kind, a.onError);
      if (burst.timers.size === 0 && burst.children.size === 0) forget(burst);
    }, p.atMs);
    // A pending announcement never holds the agent's exit.
    timer.unref();
    burst.timers.add(timer);
  }
  const first = await sendFirst(burst, target, a.waitMs ?? FIRST_ARP_WAIT_MS);
  const waited = performance.now() - t0;
  const rest = burst.cancelled ? 0 : schedule.length - 1;
  const lastMs = schedule[schedule.length - 1]!.atMs;
  const tail = rest > 0 ? `; ${rest} more in the background over ${Math.round(lastMs)} ms` : "";
  return { first: first.first, scheduled: rest, detail: `${first.detail} (${waited.toFixed(1)} ms)${tail}` };
}

/** Stops a burst for this address (timers and running arping). Returns how many packets and processes it stopped. */
export function cancelAnnouncements(target: Pick<GarpTarget, "ip" | "netns">): number {
  const key = keyOf(target);
  const burst = bursts.get(key);
  if (!burst) return 0;
  bursts.delete(key);
  burst.cancelled = true;
  const n = burst.timers.size + burst.children.size;
  for (const t of burst.timers) clearTimeout(t);
  burst.timers.clear();
  for (const c of burst.children) c.kill("SIGKILL");
  return n;
}

/** Packets still scheduled plus arping processes still running for this address. */
export function pendingAnnouncements(target: Pick<GarpTarget, "ip" | "netns">): number {
  const burst = bursts.get(keyOf(target));
  return burst ? burst.timers.size + burst.children.size : 0;
}
