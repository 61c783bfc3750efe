// What the machine must provide for the respawn lines of a parsed ha.cf: the
// user exists and the program is an executable file. Heartbeat 3.0.6 checks
// both while reading ha.cf (config.c, add_client_child_base: "Invalid uid
// [...] specified for client child", "Client child command [...] is not
// executable") and does not start when either fails; these are errors here
// too, meant for the load of /etc/ha.d, after parseHaCf.

import { accessSync, constants, statSync } from "node:fs";
import type { Diagnostic } from "@lubdub/protocol";
import type { HaConfig } from "../config/types.js";
import { lookupUser, type UserLookup } from "./users.js";

export interface HostProbe {
  lookupUser: UserLookup;
  /** Null when `path` is an executable regular file, else why not. */
  programProblem(path: string): string | null;
}

/** Null when `path` is a regular file this process may execute, else why not. */
export function programProblem(path: string): string | null {
  try {
    if (!statSync(path).isFile()) return "is not a regular file";
    accessSync(path, constants.X_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "does not exist";
    if (code === "EACCES") return "is not executable";
    return (e as Error).message;
  }
}

export const SYSTEM_PROBE: HostProbe = { lookupUser, programProblem };

/** Errors, with the ha.cf line, for respawn clients this machine cannot run. */
export function respawnProblems(cfg: HaConfig, probe: HostProbe = SYSTEM_PROBE): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of cfg.respawn) {
    const at = (message: string) => out.push({ severity: "error", source: cfg.source, line: r.line, message });
    if (!probe.lookupUser(r.user)) at(`respawn: user '${r.user}' does not exist`);
    const why = probe.programProblem(r.argv[0]!);
    if (why) at(`respawn: '${r.argv[0]}' ${why}`);
  }
  return out;
}
