// The reliability and timing limits of Heartbeat 3.0.6 (heartbeat.h,
// hb_resource.c), named once. lubdub keeps them so that a mixed cluster
// behaves the same on both sides.

/** Sent messages kept for retransmission (MAXMSGHIST). */
export const HISTORY_SIZE = 500;
/** Missing sequence numbers tracked per peer. */
export const MAX_MISSING = 500;
/** A gap wider than this resets tracking instead of asking for every packet (FLOWCONTROL_LIMIT). */
export const MAX_GAP = 250;
/** At most this many retransmissions per request (MAX_REXMIT_BATCH). */
export const MAX_REXMIT_BATCH = 50;
/** Default max_rexmit_delay, ms. */
export const DEFAULT_MAX_REXMIT_DELAY_MS = 250;
/** The earliest a rexmit request timer fires after a gap is seen, ms (when max_rexmit_delay ≥ 100). */
export const MIN_REXMIT_DELAY_MS = 50;
/** The same packet is not retransmitted again within max_rexmit_delay minus this, ms (ACCEPT_REXMIT_REQ_MS). */
export const REXMIT_REPEAT_SLACK_MS = 10;
/** ACK one in this many sequenced messages per peer. */
export const ACK_MODULUS = 10;
/** Extra deadtime advertised during the first seconds after start. */
export const STARTUP_DT_BONUS_MS = 2000;
/** How long after start the raised deadtime is advertised. */
export const STARTUP_DT_PERIOD_MS = 5000;
/** reqnodes is repeated this often until repnodes arrives. */
export const REQNODES_RETRY_MS = 1000;
/** Messages held back per peer while a gap is being filled (in-order delivery). */
export const MAX_HELD_MESSAGES = 500;
/** At most one "bad message" log line per source and reason in this window. */
export const BAD_INPUT_LOG_INTERVAL_MS = 10_000;
