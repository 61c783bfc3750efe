// lubdubd's command line.

import { Command } from "commander";
import { DEFAULT_CONFIG_DIR } from "../config/load.js";

export const DEFAULT_STATE_DIR = "/var/lib/lubdub";
export const DEFAULT_RUN_DIR = "/run/lubdub";

export interface DaemonOptions {
  configDir: string;
  stateDir: string;
  runDir: string;
  nodeName?: string;
  /** Also log to stdout (foreground runs; the default when no log target is configured). */
  stdoutLog: boolean;
}

export function parseDaemonArgs(argv: string[]): DaemonOptions {
  const program = new Command("lubdubd")
    .description("lubdub cluster agent: heartbeats, membership, resource failover, fencing and watchdogs; Heartbeat 3.0.6 compatible")
    .version("0.1.0")
    .option("--config-dir <dir>", "Heartbeat configuration directory (ha.cf, authkeys, haresources)", DEFAULT_CONFIG_DIR)
    .option("--state-dir <dir>", "persistent state (generation, uuid)", DEFAULT_STATE_DIR)
    .option("--run-dir <dir>", "control socket directory", DEFAULT_RUN_DIR)
    .option("--node-name <name>", "this node's name (default: uname -n)")
    .option("--no-stdout-log", "do not copy logs to stdout")
    .exitOverride()
    .showHelpAfterError();
  program.parse(argv, { from: "user" });
  const o = program.opts<{ configDir: string; stateDir: string; runDir: string; nodeName?: string; stdoutLog: boolean }>();
  const out: DaemonOptions = { configDir: o.configDir, stateDir: o.stateDir, runDir: o.runDir, stdoutLog: o.stdoutLog };
  if (o.nodeName !== undefined) out.nodeName = o.nodeName;
  return out;
}
