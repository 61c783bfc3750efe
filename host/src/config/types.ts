// What ha.cf says, after parsing and validation. Every field carries
// Heartbeat 3.0.6's default when the file does not set it.

import type { Diagnostic } from "@lubdub/protocol";

export type AutoFailback = "on" | "off" | "legacy";

/** One heartbeat medium as a ha.cf line declares it. */
export type MediumDirective =
  | { kind: "ucast"; iface: string; peer: string; port: number; line: number }
  | { kind: "bcast"; iface: string; port: number; line: number }
  | { kind: "mcast"; iface: string; group: string; port: number; ttl: number; loop: boolean; line: number }
  | { kind: "serial"; device: string; baud: number; line: number };

/**
 * One `respawn USER /path/to/program [ARGS...]` line: a client process the
 * agent runs as USER from start to shutdown, restarting it when it exits
 * (unless it exits with status 100). Whether USER exists and the program can
 * be executed is a property of the machine, checked when the configuration is
 * loaded (respawn/check.ts), not by the parser.
 */
export interface RespawnDirective {
  user: string;
  /** argv[0] is the absolute path of the program. */
  argv: string[];
  line: number;
}

/** A ping pseudo-node: `ping IP` gives one per address (named by it), `ping_group NAME IP...` one named NAME, up while any address answers. */
export interface PingNodeDirective {
  name: string;
  addresses: string[];
  line: number;
}

/**
 * A `stonith_host HOST TYPE PARAMS…` or `stonith TYPE FILE` line. Parameters
 * are kept as text: which names they fill depends on the type (its
 * getconfignames), resolved by fencing/config.ts.
 */
export type StonithDirective =
  | { kind: "stonith_host"; host: string; type: string; params: string; line: number }
  | { kind: "stonith"; type: string; file: string; line: number };

export interface HaConfig {
  /** The ha.cf file this came from (for messages). */
  source: string;
  /** Cluster nodes in ha.cf order (the order `repnodes` replies use). */
  nodes: string[];
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadMs: number;
  deadpingMs: number;
  maxRexmitDelayMs: number;
  udpport: number;
  baud: number;
  media: MediumDirective[];
  /** Ping nodes (`ping`, `ping_group`) in ha.cf order; they time out after deadpingMs. */
  pingNodes: PingNodeDirective[];
  autoFailback: AutoFailback;
  logfile?: string;
  debugfile?: string;
  /** Syslog facility name, or "none". Unset: Heartbeat logs to syslog only when no logfile is set... lubdub keeps it off. */
  logfacility?: string;
  debug: number;
  hbgenmethod: "file" | "time";
  msgfmt: "classic" | "netstring";
  uuidfrom: "file" | "nodename";
  /** `respawn` lines, in ha.cf order (the order clients start; they stop in reverse). */
  respawn: RespawnDirective[];
  /**
   * `env NAME=VALUE` settings, NAME as written. Heartbeat exports each as
   * HA_NAME (its prefix) to the processes it starts; so do respawn clients here.
   */
  env: Record<string, string>;
  /** `stonith` and `stonith_host` lines in ha.cf order (every node's; see fencing/config.ts for which apply). */
  stonith: StonithDirective[];
  /** `watchdog FILE`: the kernel watchdog device the agent feeds. */
  watchdog?: { device: string; line: number };
  /** Directives that were set explicitly, with their line. */
  setAt: Record<string, number>;
}

export interface ParsedHaCf {
  config: HaConfig;
  diagnostics: Diagnostic[];
}
