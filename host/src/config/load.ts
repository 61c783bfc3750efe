// Reads a Heartbeat configuration directory (/etc/ha.d) as lubdubd needs it:
// ha.cf and authkeys, unchanged from a stock Heartbeat install. Nothing here
// throws on bad input: every problem is a Diagnostic naming its file and line.

import { existsSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { authkeysModeProblem, parseAuthkeys, type Authkeys, type Diagnostic } from "@lubdub/protocol";
import { MAX_HACF_BYTES, parseHaCf } from "./hacf.js";
import type { HaConfig } from "./types.js";
import { loadHaresources, type ResourceGroup } from "../resources/haresources.js";
import { respawnProblems } from "../respawn/check.js";
import { LUBDUB_CF, parseLubdubCf, type LubdubCf } from "./lubdub-cf.js";
import { resolveStonith, type ResolvedStonith } from "../fencing/config.js";
import { DEFAULT_EXTERNAL_DIR, DEFAULT_FENCE_AGENTS_DIR, SILENT_LOG } from "../fencing/types.js";
import { deviceKeyFrom } from "../fencing/setup.js";

export const DEFAULT_CONFIG_DIR = "/etc/ha.d";
/** authkeys is a few lines; anything bigger is refused unread. */
const MAX_AUTHKEYS_BYTES = 64 * 1024;

export interface LoadedConfig {
  /** Present when ha.cf could be read (even with errors, for `lubdub check`). */
  config: HaConfig | null;
  keys: Authkeys | null;
  /** haresources groups (empty when the file has errors: it is refused whole). */
  groups: ResourceGroup[];
  /** lubdub's own additions (lubdub.cf); empty when the file is absent. */
  lubdub: LubdubCf;
  /** This node's STONITH device (ha.cf stonith_host / stonith), parameters resolved; null: none. */
  stonith: ResolvedStonith | null;
  diagnostics: Diagnostic[];
  /** True when there is no error: the agent may start. */
  ok: boolean;
}

/** uname -n, as Heartbeat names the local node. */
export function defaultNodeName(): string {
  return hostname();
}

function readSmall(path: string, limit: number, diag: Diagnostic[]): { text: string; mode: number } | null {
  try {
    const st = statSync(path);
    if (!st.isFile()) {
      diag.push({ severity: "error", source: path, line: 0, message: "not a regular file" });
      return null;
    }
    if (st.size > limit) {
      diag.push({ severity: "error", source: path, line: 0, message: `larger than ${limit} bytes; refusing to read it` });
      return null;
    }
    return { text: readFileSync(path, "latin1"), mode: st.mode };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : (e as Error).message;
    diag.push({ severity: "error", source: path, line: 0, message: `cannot read: ${why}` });
    return null;
  }
}

export function loadConfigDir(configDir: string, node: string): LoadedConfig {
  const diagnostics: Diagnostic[] = [];
  let config: HaConfig | null = null;
  let keys: Authkeys | null = null;

  const hacfPath = join(configDir, "ha.cf");
  const hacf = readSmall(hacfPath, MAX_HACF_BYTES, diagnostics);
  if (hacf) {
    const parsed = parseHaCf(hacf.text, hacfPath, node);
    config = parsed.config;
    // In file order, whole-file remarks last: the way an operator reads them.
    diagnostics.push(...[...parsed.diagnostics].sort((a, b) => (a.line || Infinity) - (b.line || Infinity)));
  }

  const authPath = join(configDir, "authkeys");
  const auth = readSmall(authPath, MAX_AUTHKEYS_BYTES, diagnostics);
  if (auth) {
    const modeProblem = authkeysModeProblem(auth.mode);
    if (modeProblem) {
      // Heartbeat refuses to start with readable keys; so does lubdub.
      diagnostics.push({ severity: "error", source: authPath, line: 0, message: modeProblem });
    } else {
      const r = parseAuthkeys(auth.text, authPath);
      diagnostics.push(...r.warnings);
      if (r.ok) keys = r.keys;
      else diagnostics.push(...r.errors);
    }
  }
  let groups: ResourceGroup[] = [];
  if (config) {
    // Heartbeat refuses to start with an unknown respawn user or a program it cannot run.
    diagnostics.push(...respawnProblems(config));
    const hares = loadHaresources({ configDir, nodes: config.nodes });
    diagnostics.push(...hares.diagnostics);
    groups = hares.groups;
  }
  let lubdub: LubdubCf = { monitors: [], arp: [] };
  const cfPath = join(configDir, LUBDUB_CF);
  if (existsSync(cfPath)) {
    const text = readSmall(cfPath, 64 * 1024, diagnostics);
    if (text) {
      const r = parseLubdubCf(text.text, cfPath, groups.map((g) => g.key));
      diagnostics.push(...r.diagnostics);
      lubdub = r.config;
    }
  }
  let stonith: ResolvedStonith | null = null;
  if (config && config.stonith.length > 0) {
    // As Heartbeat does while reading ha.cf: the parameter file is read and
    // external plugins are asked for their configuration names.
    const r = resolveStonith(config, node, {
      localNode: node,
      externalDir: lubdub.fencing?.externalDir ?? DEFAULT_EXTERNAL_DIR,
      fenceAgentsDir: lubdub.fencing?.agentsDir ?? DEFAULT_FENCE_AGENTS_DIR,
      log: SILENT_LOG,
    });
    diagnostics.push(...r.diagnostics);
    stonith = r.stonith;
    if (stonith?.typeName === "lubdub" && keys && !deviceKeyFrom(keys)) {
      diagnostics.push({ severity: "error", source: config.source, line: stonith.line, message: "stonith_host: the lubdub device signs with the cluster key, and authkeys' active key is crc; use sha1 (or md5)" });
    }
  }
  const ok = config !== null && keys !== null && !diagnostics.some((d) => d.severity === "error");
  return { config, keys, groups, lubdub, stonith, diagnostics, ok };
}
