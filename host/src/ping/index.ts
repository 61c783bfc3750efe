// Ping nodes and the ipfail decision: the deterministic cores and the shell
// that probes with the system ping.

export * from "./ping-core.js";
export * from "./ping-arbiter.js";
export * from "./pinger.js";
