// From ha.cf's stonith / stonith_host lines to one fence device, as
// Heartbeat 3.0.6 gets there:
//   stonith_host HOST TYPE PARAMS…   applies when HOST is `*` or this node
//                                    (any case); other nodes' lines are skipped
//                                    unread;
//   stonith TYPE FILE                FILE's first line that is not empty and does
//                                    not start with `#` holds the parameters;
// the parameter words are matched to the type's configuration names in
// order (cluster-glue's getconfignames), the last name taking the rest of
// the line, blanks included; fewer words than names is a configuration
// error. When several lines apply, the last one counts (Heartbeat keeps one
// STONITH device). Types whose parameters are named (fence_NAME) take
// name=value words instead.

import { readFileSync } from "node:fs";
import type { Diagnostic } from "@lubdub/protocol";
import type { HaConfig, StonithDirective } from "../config/types.js";
import { findFenceType } from "./registry.js";
import type { FenceDevice, FenceEnv, FenceType } from "./types.js";

/** A stonith FILE bigger than this is not a parameter file. */
const MAX_STONITH_FILE_BYTES = 64 * 1024;
const DELIMS = /[ \t\n\r\f]/;

export interface ResolvedStonith {
  typeName: string;
  type: FenceType;
  params: Record<string, string>;
  /** Which ha.cf line it came from. */
  line: number;
}

/** cluster-glue's stonith1_compat_string_to_NVpair: positional words to names; null when too few. */
export function positionalParams(names: string[], required: number, text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  let s = text;
  for (let j = 0; j < names.length; j++) {
    s = s.replace(/^[ \t\n\r\f]+/, "");
    if (s.length === 0) return j >= required ? out : null;
    let len: number;
    if (j === names.length - 1) len = s.length;
    else {
      const m = DELIMS.exec(s);
      len = m ? m.index : s.length;
    }
    Object.defineProperty(out, names[j]!, { value: s.slice(0, len), enumerable: true, writable: true, configurable: true });
    s = s.slice(len);
  }
  return out;
}

/** name=value words (fence-agents style); null names the first bad word. */
export function namedParams(text: string): { params: Record<string, string> } | { bad: string } {
  const params: Record<string, string> = {};
  for (const w of text.split(/[ \t\n\r\f]+/).filter(Boolean)) {
    const eq = w.indexOf("=");
    if (eq <= 0) return { bad: w };
    Object.defineProperty(params, w.slice(0, eq), { value: w.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return { params };
}

/** The first parameter line of a stonith FILE, as cluster-glue's stonith_set_config_file reads it. */
export function readStonithFile(path: string): { text: string } | { error: string } {
  let content: string;
  try {
    content = readFileSync(path, "latin1");
  } catch (e) {
    return { error: `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  if (content.length > MAX_STONITH_FILE_BYTES) return { error: `${path} is larger than ${MAX_STONITH_FILE_BYTES} bytes` };
  for (const line of content.split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue;
    return { text: line };
  }
  return { error: `${path} has no parameter line` };
}

/** Does this directive apply to `node`? */
export function stonithApplies(d: StonithDirective, node: string): boolean {
  return d.kind === "stonith" || d.host === "*" || d.host.toLowerCase() === node.toLowerCase();
}

/**
 * The fence device configuration for `node`, with diagnostics naming
 * ha.cf:line. null config: no STONITH for this node (or errors).
 */
export function resolveStonith(cfg: HaConfig, node: string, env: FenceEnv): { stonith: ResolvedStonith | null; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const err = (line: number, message: string) => diagnostics.push({ severity: "error", source: cfg.source, line, message });
  const applying = cfg.stonith.filter((d) => stonithApplies(d, node));
  let chosen: ResolvedStonith | null = null;
  for (const d of applying) {
    const type = findFenceType(d.type);
    if (type === null) continue; // hacf.ts reported it
    let text: string;
    if (d.kind === "stonith") {
      const f = readStonithFile(d.file);
      if ("error" in f) {
        err(d.line, `stonith: ${f.error}`);
        continue;
      }
      text = f.text;
    } else {
      text = d.params;
    }
    const names = type.configNames(d.type, env);
    if ("error" in names) {
      err(d.line, `${d.kind}: ${names.error}`);
      continue;
    }
    let params: Record<string, string>;
    if (names.names === null) {
      const r = namedParams(text);
      if ("bad" in r) {
        err(d.line, `${d.kind}: ${d.type} takes name=value parameters; '${r.bad}' is not one`);
        continue;
      }
      params = r.params;
    } else {
      const r = positionalParams(names.names, names.required, text);
      if (r === null) {
        err(d.line, `${d.kind}: ${d.type} needs ${names.names.slice(0, Math.max(names.required, 1)).join(" ")}${names.required < names.names.length ? ` [${names.names.slice(names.required).join(" ")}]` : ""}, in that order`);
        continue;
      }
      params = r;
    }
    const problems = type.validate(d.type, params, env);
    for (const p of problems) err(d.line, `${d.kind}: ${p}`);
    if (problems.length > 0) continue;
    chosen = { typeName: d.type, type, params, line: d.line };
  }
  if (applying.length > 1) {
    const last = applying[applying.length - 1]!;
    diagnostics.push({ severity: "warning", source: cfg.source, line: last.line, message: `${applying.length} stonith/stonith_host lines apply to ${node}; only the last one (line ${last.line}) is used, as in Heartbeat` });
  }
  if (diagnostics.some((d) => d.severity === "error")) chosen = null;
  return { stonith: chosen, diagnostics };
}

/** The device for a resolved configuration. */
export function createFenceDevice(r: ResolvedStonith, env: FenceEnv): FenceDevice {
  return r.type.create(r.typeName, r.params, env);
}
