// The messages two nodes exchange in haresources mode, as typed values.
// Field names, value encodings (hex or decimal) and field order follow what
// stock Heartbeat 3.0.6 sends (checked against the captures).

/** Message types (`t=`). */
export const T_STATUS = "status";
export const T_REQNODES = "reqnodes";
export const T_REPNODES = "repnodes";
export const T_ACKMSG = "NS_ackmsg";
export const T_REXMIT = "NS_rexmit";
export const T_NAK_REXMIT = "NS_nak_rexmit";
export const T_STARTING = "starting";
export const T_RESOURCE = "resource";
export const T_ASK_RESOURCES = "ask_resources";
export const T_HB_TAKEOVER = "hb_takeover";
export const T_IP_REQUEST = "ip-request";
export const T_IP_REQUEST_RESP = "ip-request-resp";
export const T_STONITH = "stonith";
export const T_SHUTDONE = "shutdone";
/**
 * lubdub's own: how many ping nodes the sender reaches (ipfail's question).
 * A stock Heartbeat passes unknown types to its API clients, so it is harmless
 * to one; it is only sent when ping nodes are configured.
 */
export const T_LUBDUB_PING = "lubdub-ping";
/** lubdub's own: a digest of the sender's haresources, so two nodes can see that theirs differ. */
export const T_LUBDUB_HARESOURCES = "lubdub-haresources";

/** Non-sequenced types carry no seq and no ld, are never stored or retransmitted. */
export function isNonSequenced(type: string): boolean {
  return type.startsWith("NS_");
}

/** A node's own status words (`dead` is never sent about oneself; `ping` is for ping nodes). */
export type NodeStatusWord = "init" | "up" | "active" | "dead" | "ping";
export const NODE_STATUS_WORDS: readonly NodeStatusWord[] = ["init", "up", "active", "dead", "ping"];

/** Which resource groups a `rsc_hold` names: this node's own (local), the peer's (foreign). */
export type ResourceSet = "none" | "local" | "foreign" | "all";
export const RESOURCE_SETS: readonly ResourceSet[] = ["none", "local", "foreign", "all"];

/** hb_takeover also accepts `failback`. */
export type TakeoverSet = ResourceSet | "failback";
export const TAKEOVER_SETS: readonly TakeoverSet[] = ["none", "local", "foreign", "all", "failback"];

/** The three phases of the standby protocol. */
export type StandbyPhase = "me" | "other" | "done";
export const STANDBY_PHASES: readonly StandbyPhase[] = ["me", "other", "done"];

/** `t=stonith` results. */
export type StonithResult = "OK" | "badhost" | "bad" | "n_stnth" | "unneeded";
export const STONITH_RESULTS: readonly StonithResult[] = ["OK", "badhost", "bad", "n_stnth", "unneeded"];

/** NS_nak_rexmit reasons stock nodes send. */
export const NAK_SEQ_TOO_LOW = "seqno too low";
export const NAK_SEQ_NOT_FOUND = "seqno not found";

/** The protocol version a status advertises; without it a 3.0.6 receiver disables ACKs for good. */
export const PROTOCOL_VERSION = 1;

export type Body =
  | { t: "status"; st: NodeStatusWord; /** advertised deadtime, ms */ dt: number; protocol: number | null }
  | { t: "reqnodes"; dest: string }
  | { t: "repnodes"; dest: string; nodes: string[]; deleted: string[] }
  | { t: "NS_ackmsg"; dest: string; ackseq: number }
  | { t: "NS_rexmit"; dest: string; firstseq: number; lastseq: number }
  | { t: "NS_nak_rexmit"; dest: string; firstseq: number; info: string }
  | { t: "starting" }
  | { t: "resource"; rscHold: ResourceSet; /** full report (rtype=full, isstable) or the incremental script form */ full: { isStable: boolean } | null; info: string | null }
  | { t: "ask_resources"; rscHold: ResourceSet; phase: StandbyPhase }
  | { t: "hb_takeover"; rscHold: TakeoverSet }
  | { t: "ip-request"; ipaddr: string }
  | { t: "ip-request-resp"; dest: string; ipaddr: string; weown: boolean; ok: string }
  | { t: "stonith"; node: string; result: StonithResult }
  | { t: "shutdone" }
  | { t: "lubdub-ping"; count: number; total: number }
  | { t: "lubdub-haresources"; digest: string; groups: number };

export type MessageType = Body["t"];

/** The fields every message carries, added by the sender after the message's own. */
export interface Header {
  src: string;
  /** 16 raw bytes (a byte string), or null when absent. */
  srcuuid: string | null;
  /** null for NS_ messages. */
  seq: number | null;
  /** Generation of the sender's process (hex on the wire). */
  hg: number;
  /** Sender's wall clock, Unix seconds (hex on the wire). */
  ts: number;
  /** First line of the sender's /proc/loadavg; null for NS_ messages. */
  ld: string | null;
  /** hopfudge + node count; never used, always sent. */
  ttl: number | null;
  /** Present when the message names a destination node whose UUID the sender knows. */
  destuuid: string | null;
}

/** A decoded message: its common header and typed body. */
export interface TypedMessage {
  header: Header;
  body: Body;
}
