// A small JSON writer for the Lua targets (Lua has no JSON): log records in
// the simulator's pino shape and the status file. Strings are byte strings;
// bytes outside printable ASCII are written as \u00XX, so a reader gets the
// same latin1 text the simulator's JSON.stringify would give it.
//
// Lua tables do not say whether they are arrays: a value built as a
// TypeScript array (a non-empty sequence) is written as one, and so is an
// empty table (the status has more lists than objects that can be empty). Numbers are written as integers when they are.

import { luaString } from "./lua.js";

export function jsonString(s: string): string {
  const out: string[] = ['"'];
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 32 && c < 127 && c !== 34 && c !== 92) continue;
    if (i > run) out.push(s.substring(run, i));
    run = i + 1;
    if (c === 34) out.push('\\"');
    else if (c === 92) out.push("\\\\");
    else if (c === 10) out.push("\\n");
    else if (c === 13) out.push("\\r");
    else if (c === 9) out.push("\\t");
    else out.push(luaString.format("\\u%04x", c));
  }
  if (s.length > run) out.push(s.substring(run));
  out.push('"');
  return out.join("");
}

function jsonNumber(n: number): string {
  if (n !== n || n === Infinity || n === -Infinity) return "null";
  if (Math.floor(n) === n && Math.abs(n) < 1e15) return luaString.format("%d", n);
  return luaString.format("%.14g", n);
}

/** JSON text of a string, number, boolean, null, array or plain object. */
export function toJson(v: unknown, depth?: number): string {
  const d = depth === undefined ? 0 : depth;
  if (v === null || v === undefined) return "null";
  const t = typeof v;
  if (t === "string") return jsonString(v as string);
  if (t === "number") return jsonNumber(v as number);
  if (t === "boolean") return v === true ? "true" : "false";
  if (t !== "object" || d > 20) return "null";
  const obj = v as { [k: string]: unknown };
  const keys = Object.keys(obj);
  if (keys.length === 0) return "[]";
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (const item of v as unknown[]) parts.push(toJson(item, d + 1));
    return "[" + parts.join(",") + "]";
  }
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  for (const k of keys) parts.push(jsonString(k) + ":" + toJson(obj[k], d + 1));
  return "{" + parts.join(",") + "}";
}

/** Writes `fields` (already JSON members, in order) as one object. */
export function jsonObject(members: string[]): string {
  return "{" + members.join(",") + "}";
}
