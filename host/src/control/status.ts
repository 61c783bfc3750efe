// What the agent reports about itself over the control socket: enough for
// `lubdub status` and for cl_status-compatible answers.

import type { MembershipSnapshot } from "../membership/membership.js";
import type { FailoverSnapshot } from "../failover/failover.js";
import type { PingSnapshot } from "../ping/ping-core.js";
import type { DeviceReport } from "../agent/device-watch.js";

/** Fencing as the agent does it (ha.cf stonith / stonith_host). */
export interface FencingReport {
  /** The fence type as configured (lubdub, baytech, external/ssh, fence_ipmilan, manual). */
  type: string;
  describe: string;
  action: "reboot" | "off";
  /** Fencing runs in progress. */
  inProgress: Array<{ node: string; phase: string; attempt: number; lastError: string }>;
  /** Manual fencing waiting for `lubdub fence-confirm NODE`. */
  manualWaiting: Array<{ node: string; since: string }>;
  /** The last fencing this agent finished. */
  last: { node: string; result: string; at: string } | null;
}

export interface MediumReport {
  kind: string;
  link: string;
  sent: number;
  sendErrors: number;
  received: number;
  droppedBytes: number;
  droppedFrames: number;
  /** "through device" for a serial link that a lubdub device relays. */
  note?: string;
}

export interface AgentStatus {
  version: string;
  pid: number;
  /** Milliseconds since the agent started. */
  uptimeMs: number;
  keepaliveMs: number;
  deadtimeMs: number;
  membership: MembershipSnapshot;
  media: MediumReport[];
  /** Resource groups: who holds each, since when (wall clock, ISO 8601). */
  resources?: FailoverSnapshot & { sinceWall: Record<string, string> };
  /** Ping nodes (ha.cf ping / ping_group). */
  ping?: PingSnapshot;
  /** Problems an operator must see (configuration differing between the nodes…). */
  warnings?: string[];
  /** Respawned clients. */
  respawn?: unknown;
  /** Fencing (when ha.cf configures STONITH or a kernel watchdog). */
  fencing?: FencingReport;
  /** The lubdub device (when it is the fence device): its state as last read, and this host's watchdog on it. */
  device?: DeviceReport;
  /** The kernel watchdog (ha.cf watchdog), when configured. */
  kernelWatchdog?: { path: string; open: boolean; writes: number };
}

/** Requests the control socket understands, one JSON object per line. */
export type ControlRequest =
  | { cmd: "status" }
  | { cmd: "standby"; set: "all" | "local" | "foreign" }
  | { cmd: "takeover"; set: "all" | "local" | "foreign" | "failback" };

const SETS = ["all", "local", "foreign"];

/** Checks a request read from the socket; null when it is not one. */
export function parseControlRequest(v: unknown): ControlRequest | null {
  if (typeof v !== "object" || v === null) return null;
  const r = v as { cmd?: unknown; set?: unknown };
  if (r.cmd === "status") return { cmd: "status" };
  if (r.cmd === "standby" && typeof r.set === "string" && SETS.includes(r.set)) return { cmd: "standby", set: r.set as "all" };
  if (r.cmd === "takeover" && typeof r.set === "string" && (SETS.includes(r.set) || r.set === "failback")) return { cmd: "takeover", set: r.set as "all" };
  return null;
}
export type ControlResponse = { ok: true; status: AgentStatus } | { ok: false; error: string };

/**
 * `lubdub fence-confirm NODE`: an operator says NODE is down (manual
 * fencing). Kept out of ControlRequest so the agent answers it through the
 * separate handler serveControl takes (`extra`).
 */
export interface FenceConfirmRequest {
  cmd: "fence-confirm";
  node: string;
}

export type FenceConfirmResponse = { ok: true; node: string } | { ok: false; error: string };

export function parseFenceConfirmRequest(v: unknown): FenceConfirmRequest | null {
  if (typeof v !== "object" || v === null) return null;
  const r = v as { cmd?: unknown; node?: unknown };
  if (r.cmd !== "fence-confirm" || typeof r.node !== "string" || !/^[A-Za-z0-9._-]{1,100}$/.test(r.node)) return null;
  return { cmd: "fence-confirm", node: r.node };
}
