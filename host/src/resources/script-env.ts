// The environment Heartbeat gives resource scripts. ResourceManager exports
// HA_DIR and HA_FUNCS; the heartbeat daemon sets HA_CURHOST and its logging
// settings (HA_LOGFACILITY, HA_LOGFILE, HA_DEBUGLOG, HA_debug), which
// ha_log in the stock shellfuncs and ocf-shellfuncs use. Everything else the
// stock scripts need they derive from HA_DIR (ocf-directories).

import { join } from "node:path";
import { DEFAULT_CONFIG_DIR } from "../config/load.js";

export interface ScriptEnvOptions {
  /** Heartbeat's configuration directory (HA_DIR); default /etc/ha.d. */
  configDir?: string;
  /** This node's name (HA_CURHOST). */
  nodeName?: string;
  /** ha.cf logfacility; "none" or absent: scripts do not log to syslog. */
  logfacility?: string | null;
  /** ha.cf logfile. */
  logfile?: string | null;
  /** ha.cf debugfile. */
  debugfile?: string | null;
  /** ha.cf debug level. */
  debug?: number;
}

/** HA_* variables for resource scripts, as Heartbeat sets them. */
export function heartbeatScriptEnv(o: ScriptEnvOptions = {}): Record<string, string> {
  const dir = o.configDir ?? DEFAULT_CONFIG_DIR;
  const env: Record<string, string> = {
    HA_DIR: dir,
    HA_FUNCS: join(dir, "shellfuncs"),
    HA_CF: join(dir, "ha.cf"),
    HA_RESOURCEDIR: join(dir, "resource.d"),
    HA_RCDIR: join(dir, "rc.d"),
    HA_debug: String(o.debug ?? 0),
    // lubdub has no logd; scripts log through syslog or the files.
    HA_LOGD: "no",
  };
  if (o.nodeName) env.HA_CURHOST = o.nodeName;
  if (o.logfacility && o.logfacility !== "none") env.HA_LOGFACILITY = o.logfacility;
  if (o.logfile) env.HA_LOGFILE = o.logfile;
  if (o.debugfile) env.HA_DEBUGLOG = o.debugfile;
  return env;
}
