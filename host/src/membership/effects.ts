// What the membership core asks its shell to do. The core never touches a
// socket, a timer or a log: it returns effects, and the shell carries them out.

import type { TypedMessage } from "@lubdub/protocol";

export type Level = "debug" | "info" | "warn" | "error" | "crit";

/** Stable event names an operator can grep for. */
export const EV = {
  started: "node.started",
  commUp: "comm.up",
  nodeStatus: "node.status",
  nodeDead: "node.dead",
  nodeRestart: "node.restart",
  partitionReturn: "node.partition-return",
  lateHeartbeat: "heartbeat.late",
  linkUp: "link.up",
  linkDead: "link.dead",
  packetsLost: "seq.lost",
  packetsRecovered: "seq.recovered",
  trackingReset: "seq.reset",
  rexmitRequest: "rexmit.request",
  rexmitSent: "rexmit.sent",
  rexmitNak: "rexmit.nak",
  rexmitBeyond: "rexmit.beyond",
  rexmitInvalid: "rexmit.invalid",
  irretrievable: "rexmit.irretrievable",
  replay: "msg.replay",
  malformed: "msg.malformed",
  badAuth: "msg.bad-auth",
  badHeader: "msg.bad-header",
  unknownNode: "msg.unknown-node",
  unknownType: "msg.unknown-type",
  flowControlOff: "flow-control.disabled",
  shutdownNotice: "node.shutdown-notice",
} as const;

export type EventName = (typeof EV)[keyof typeof EV];

export type Effect =
  /** Send on every medium. */
  | { kind: "send"; datagram: string; classic: string; type: string; seq: number | null }
  /** Something to log: a stable event name, a level, structured fields and a sentence. */
  | { kind: "event"; level: Level; event: EventName; msg: string; fields: Record<string, string | number | boolean | null> }
  /** A sequenced message from a peer, delivered once and in order. */
  | { kind: "deliver"; from: string; message: TypedMessage }
  /** A peer's status changed (including to "dead", which only this node decides). */
  | { kind: "peer-status"; node: string; status: PeerStatus; previous: PeerStatus }
  /** A link (medium) to a peer went up or dead. */
  | { kind: "link-status"; node: string; link: string; up: boolean }
  /** This node's communication is up and it went active: resource negotiation may begin. */
  | { kind: "local-active" };

/** What cl_status nodestatus reports: the peer's own word, or dead. */
export type PeerStatus = "init" | "up" | "active" | "dead";
