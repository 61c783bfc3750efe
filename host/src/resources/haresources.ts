// haresources, read the way Heartbeat 3.0.6's ResourceManager reads it:
//
//   NODE RESOURCE[::ARG[::ARG…]] RESOURCE …
//
//   - `#` starts a comment, up to the end of the line;
//   - a line ending in `\` continues on the next one (the two are joined
//     with nothing in between, as ResourceManager's sed does);
//   - blanks and tabs separate words; the first word is the preferred node
//     (case does not matter), the rest are the group's resources, started
//     left to right and stopped right to left;
//   - the group's key is its first resource as written: Heartbeat names
//     groups by it on the wire (ip-request ipaddr=KEY) and in
//     `ResourceManager listkeys NODE`, so it must be unique;
//   - a resource spelled like an IPv4 address is IPaddr::that address.
//
// Each resource is resolved (resolve.ts) at parse time, so a name that runs
// nothing is reported with its file:line before any failover depends on it.
// Never throws.

import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Diagnostic } from "@lubdub/protocol";
import type { ResourceSpec } from "./resource-class.js";
import { resolveDirs, resolveResource, type ResourceDirs } from "./resolve.js";

/** A haresources larger than this is not a haresources. */
export const MAX_HARESOURCES_BYTES = 1 << 20;
/** One resource word (it may travel on the wire as a group key). */
export const MAX_RESOURCE_CHARS = 1024;

export interface ResourceGroup {
  /** Preferred node: the line's first word, spelled as ha.cf spells it when the node list was given. */
  owner: string;
  /** Heartbeat's group key: the first resource as written. */
  key: string;
  /** Line the group starts on. */
  line: number;
  resources: ResourceSpec[];
}

export interface ParsedHaresources {
  /** Groups in file order; a group with an error in it is left out. */
  groups: ResourceGroup[];
  diagnostics: Diagnostic[];
}

export interface ParseHaresourcesOptions extends ResourceDirs {
  /** ha.cf's node list; when given, every line's node must be in it. */
  nodes?: string[];
}

interface Word {
  text: string;
  line: number;
}

/**
 * Joins continuation lines and strips comments the way ResourceManager's sed
 * does, keeping the physical line of every word.
 */
function logicalLines(text: string, diag: Diagnostic[], source: string): Word[][] {
  const err = (line: number, message: string) => diag.push({ severity: "error", source, line, message });
  const out: Word[][] = [];
  const physical = text.split("\n");
  // Characters of the current logical line, each with its physical line.
  let chars: { c: string; line: number }[] = [];
  let continuing = false;
  for (let i = 0; i < physical.length; i++) {
    const n = i + 1;
    let raw = physical[i]!;
    if (raw.endsWith("\r")) raw = raw.slice(0, -1);
    if (i === physical.length - 1 && raw === "" && !continuing) break;
    const hash = raw.indexOf("#");
    if (hash >= 0) {
      // ResourceManager strips comments before joining lines, so a `#` on a
      // continuation line is not a comment there: its words become resources.
      if (continuing) err(n, "a comment on a continuation line is not a comment to Heartbeat's ResourceManager (it would run its words as resources); put the comment on a line of its own");
      raw = raw.slice(0, hash);
    }
    if (/[^\x20-\x7e\t\f\v]/.test(raw)) {
      err(n, "line contains control or non-ASCII characters");
      raw = raw.replace(/[^\x20-\x7e\t\f\v]/g, " ");
    }
    continuing = raw.endsWith("\\");
    if (continuing) raw = raw.slice(0, -1);
    for (const c of raw) chars.push({ c, line: n });
    if (continuing) {
      if (i === physical.length - 1 || (i === physical.length - 2 && physical[i + 1] === "")) {
        err(n, "the file ends with a line continuation ('\\'): the line has nothing to continue onto");
        continuing = false;
      } else continue;
    }
    const words: Word[] = [];
    let cur: Word | null = null;
    for (const { c, line } of chars) {
      if (c === " " || c === "\t" || c === "\f" || c === "\v") {
        if (cur) words.push(cur);
        cur = null;
      } else if (cur) cur.text += c;
      else cur = { text: c, line };
    }
    if (cur) words.push(cur);
    if (words.length > 0) out.push(words);
    chars = [];
  }
  return out;
}

/** Parses haresources text. `source` names the file in diagnostics. Never throws. */
export function parseHaresources(text: string, source: string, opts: ParseHaresourcesOptions = {}): ParsedHaresources {
  const diagnostics: Diagnostic[] = [];
  const groups: ResourceGroup[] = [];
  const err = (line: number, message: string) => diagnostics.push({ severity: "error", source, line, message });
  const warn = (line: number, message: string) => diagnostics.push({ severity: "warning", source, line, message });
  if (text.length > MAX_HARESOURCES_BYTES) {
    err(0, `file is larger than ${MAX_HARESOURCES_BYTES} bytes`);
    return { groups, diagnostics };
  }
  const dirs = resolveDirs(opts);
  const keys = new Map<string, number>();
  /** Every resource word (beyond the keys) and where it is, for the cross checks. */
  const seen = new Map<string, { line: number; key: string }>();
  const members: { word: Word; key: string; groupLine: number }[] = [];

  for (const words of logicalLines(text, diagnostics, source)) {
    const [nodeWord, ...resWords] = words;
    const line = nodeWord!.line;
    let owner = nodeWord!.text;
    let bad = false;
    if (opts.nodes) {
      const known = opts.nodes.find((n) => n.toLowerCase() === owner.toLowerCase());
      if (known === undefined) {
        err(line, `unknown node '${owner}': not in ha.cf's node list (${opts.nodes.join(", ") || "empty"})`);
        bad = true;
      } else owner = known;
    }
    if (resWords.length === 0) {
      err(line, `node '${owner}' is given no resources (a line is: node resource [resource…])`);
      continue;
    }
    const key = resWords[0]!.text;
    const first = keys.get(key);
    if (first !== undefined) {
      err(resWords[0]!.line, `duplicate group key '${key}' (first at line ${first}): the first resource of each line names its group and must be unique`);
      bad = true;
    } else keys.set(key, line);

    const resources: ResourceSpec[] = [];
    for (const w of resWords) {
      if (w.text.length > MAX_RESOURCE_CHARS) {
        err(w.line, `resource longer than ${MAX_RESOURCE_CHARS} characters`);
        bad = true;
        continue;
      }
      if (w.text === "\\") {
        err(w.line, "a '\\' followed by blanks is not a line continuation: the backslash must end the line");
        bad = true;
        continue;
      }
      const r = resolveResource(w.text, dirs);
      if ("error" in r) {
        err(w.line, r.error);
        bad = true;
        continue;
      }
      resources.push(r.spec);
      if (r.spec.className === "lsb" && r.spec.args.length > 0) {
        warn(w.line, `'${w.text}': init script ${r.spec.path} is given arguments; ResourceManager passes them before the action, which LSB scripts do not expect`);
      }
      const before = seen.get(w.text);
      if (before) {
        warn(w.line, `resource '${w.text}' is also in group '${before.key}' (line ${before.line}); the two cannot run on different nodes`);
      } else seen.set(w.text, { line: w.line, key });
      members.push({ word: w, key, groupLine: line });
    }
    if (!bad) groups.push({ owner, key, line, resources });
  }

  // ResourceManager finds a group by grepping for " KEY " anywhere on a line,
  // so a key that is also a later resource of another line selects both lines.
  for (const m of members) {
    if (m.word.text === m.key) continue;
    const at = keys.get(m.word.text);
    if (at !== undefined && at !== m.groupLine) {
      err(m.word.line, `'${m.word.text}' is the key of the group at line ${at}; Heartbeat's ResourceManager looks groups up by their key anywhere on a line and would take both lines as one group`);
      const i = groups.findIndex((g) => g.line === m.groupLine);
      if (i >= 0) groups.splice(i, 1);
    }
  }
  diagnostics.sort((a, b) => (a.line || Infinity) - (b.line || Infinity));
  return { groups, diagnostics };
}

/** Reads and parses <configDir>/haresources. A missing file is an error, as in Heartbeat. */
export function loadHaresources(opts: ParseHaresourcesOptions = {}): ParsedHaresources {
  const path = join(resolveDirs(opts).configDir, "haresources");
  const fail = (message: string): ParsedHaresources => ({ groups: [], diagnostics: [{ severity: "error", source: path, line: 0, message }] });
  try {
    const st = statSync(path);
    if (!st.isFile()) return fail("not a regular file");
    if (st.size > MAX_HARESOURCES_BYTES) return fail(`larger than ${MAX_HARESOURCES_BYTES} bytes; refusing to read it`);
    return parseHaresources(readFileSync(path, "latin1"), path, opts);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code === "ENOENT" ? "cannot read: file not found (Heartbeat does not start without it either)" : code === "EACCES" ? "cannot read: permission denied" : `cannot read: ${(e as Error).message}`);
  }
}

/** The groups whose preferred node is `node` (ResourceManager listkeys NODE), in file order. */
export function groupsOf(groups: ResourceGroup[], node: string): ResourceGroup[] {
  return groups.filter((g) => g.owner.toLowerCase() === node.toLowerCase());
}

/**
 * A resource in canonical form: what it runs, independent of how it was
 * spelled (the IP shorthand and IPaddr::IP are the same resource).
 */
export function canonicalResource(r: ResourceSpec): string {
  const params = Object.keys(r.params)
    .sort()
    .map((k) => `::${k}=${r.params[k]}`)
    .join("");
  const name = r.className === "ocf" ? `${r.provider ?? ""}:${r.name}` : r.name;
  return `${r.className}:${name}${r.args.map((a) => `::${a}`).join("")}${params}`;
}

function canonicalGroup(g: ResourceGroup): string {
  return [g.owner.toLowerCase(), g.key, ...g.resources.map(canonicalResource)].join(" ");
}

/** A stable digest of what the groups mean (sha1 hex), for comparing two nodes' files over the wire. */
export function haresourcesDigest(groups: ResourceGroup[]): string {
  const h = createHash("sha1");
  h.update("lubdub-haresources-1\n");
  for (const g of groups) h.update(canonicalGroup(g) + "\n");
  return h.digest("hex");
}

export interface HaresourcesDifference {
  /** The group concerned ("" for a difference in group order). */
  key: string;
  /** Its line in each file, null when it is not there. */
  lineA: number | null;
  lineB: number | null;
  message: string;
}

/**
 * Where two nodes' haresources differ, by group. `nameA`/`nameB` name the two
 * sides in messages (e.g. "alpha", "bravo"). Empty when they mean the same.
 */
export function compareHaresources(a: ResourceGroup[], b: ResourceGroup[], nameA = "here", nameB = "peer"): HaresourcesDifference[] {
  const out: HaresourcesDifference[] = [];
  const byKeyB = new Map(b.map((g) => [g.key, g]));
  const byKeyA = new Map(a.map((g) => [g.key, g]));
  for (const ga of a) {
    const gb = byKeyB.get(ga.key);
    if (!gb) {
      out.push({ key: ga.key, lineA: ga.line, lineB: null, message: `group '${ga.key}' is in ${nameA}'s haresources (line ${ga.line}) but not in ${nameB}'s` });
      continue;
    }
    if (ga.owner.toLowerCase() !== gb.owner.toLowerCase()) {
      out.push({ key: ga.key, lineA: ga.line, lineB: gb.line, message: `group '${ga.key}': preferred node is ${ga.owner} on ${nameA} (line ${ga.line}) but ${gb.owner} on ${nameB} (line ${gb.line})` });
    }
    const ra = ga.resources.map(canonicalResource);
    const rb = gb.resources.map(canonicalResource);
    if (ra.join(" ") !== rb.join(" ")) {
      const i = ra.findIndex((r, j) => r !== rb[j]);
      const at = i < 0 ? Math.min(ra.length, rb.length) : i;
      const sa = ga.resources[at]?.raw ?? "(nothing)";
      const sb = gb.resources[at]?.raw ?? "(nothing)";
      const why =
        sa === sb && ga.resources[at] && gb.resources[at]
          ? ` ('${sa}' is ${ga.resources[at]!.className} on ${nameA} but ${gb.resources[at]!.className} on ${nameB})`
          : "";
      out.push({
        key: ga.key,
        lineA: ga.line,
        lineB: gb.line,
        message: `group '${ga.key}': resource ${at + 1} is '${sa}' on ${nameA} (line ${ga.line}) but '${sb}' on ${nameB} (line ${gb.line})${why}`,
      });
    }
  }
  for (const gb of b) {
    if (!byKeyA.has(gb.key)) out.push({ key: gb.key, lineA: null, lineB: gb.line, message: `group '${gb.key}' is in ${nameB}'s haresources (line ${gb.line}) but not in ${nameA}'s` });
  }
  if (out.length === 0) {
    const oa = a.map((g) => g.key).join(" ");
    const ob = b.map((g) => g.key).join(" ");
    if (oa !== ob) out.push({ key: "", lineA: null, lineB: null, message: `the groups are in a different order (${nameA}: ${oa}; ${nameB}: ${ob}); groups are taken in file order` });
  }
  return out;
}
