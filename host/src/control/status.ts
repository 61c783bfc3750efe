// What the agent reports about itself over the control socket: enough for
// `lubdub status` and for cl_status-compatible answers.

import type { MembershipSnapshot } from "../membership/membership.js";

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
}

/** Requests the control socket understands, one JSON object per line. */
export type ControlRequest = { cmd: "status" };
export type ControlResponse = { ok: true; status: AgentStatus } | { ok: false; error: string };
