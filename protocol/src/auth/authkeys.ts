// /etc/ha.d/authkeys, read as Heartbeat 3.0.6 reads it:
//   # comment          (after optional leading blanks)
//   auth N             selects the signing index
//   N crc              unkeyed CRC
//   N md5 KEY          HMAC-MD5 with the key token
//   N sha1 KEY         HMAC-SHA1 with the key token
// Indices run 0-15; a key is one whitespace-delimited token. The file must
// name an `auth` index that is defined. Keys are raw bytes (read as latin1).

import type { AuthMethod } from "./method.js";
import { findMethod, methodNames } from "./methods.js";
import type { Diagnostic } from "../diagnostic.js";
import { MAX_AUTH_INDEX, MAX_AUTHKEYS_LINE_BYTES } from "../portable/limits.js";

export interface AuthEntry {
  index: number;
  method: AuthMethod;
  /** The key bytes ("" for unkeyed methods). */
  key: string;
  /** Line of authkeys that defined it. */
  line: number;
}

export interface Authkeys {
  /** The index used to sign (`auth N`). */
  active: number;
  /** Defined entries by index. */
  entries: ReadonlyMap<number, AuthEntry>;
}

export type AuthkeysResult =
  | { ok: true; keys: Authkeys; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

const BLANK = /[ \t\r\f\v]+/;

function parseIndex(token: string): number | null {
  if (!/^[0-9]{1,3}$/.test(token)) return null;
  return Number(token);
}

/** Parses authkeys text; `source` names the file in every diagnostic. Never throws. */
export function parseAuthkeys(text: string, source: string): AuthkeysResult {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const err = (line: number, message: string) => errors.push({ severity: "error", source, line, message });
  const warn = (line: number, message: string) => warnings.push({ severity: "warning", source, line, message });

  const entries = new Map<number, AuthEntry>();
  let active: number | null = null;
  let activeLine = 0;

  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const raw = lines[n]!;
    if (raw.length >= MAX_AUTHKEYS_LINE_BYTES) {
      err(lineNo, `line is ${raw.length} bytes long; authkeys lines must be shorter than ${MAX_AUTHKEYS_LINE_BYTES}`);
      continue;
    }
    const line = raw.replace(/^[ \t\r\f\v]+/, "").replace(/[\r]+$/, "");
    if (line === "" || line.startsWith("#")) continue;
    if (line.includes("\0")) {
      err(lineNo, "line contains a NUL byte");
      continue;
    }
    const tokens = line.split(BLANK).filter((t) => t !== "");
    const first = tokens[0]!;
    if (first === "auth") {
      if (tokens.length < 2) {
        err(lineNo, "'auth' needs an index: auth N");
        continue;
      }
      const idx = parseIndex(tokens[1]!);
      if (idx === null || idx > MAX_AUTH_INDEX) {
        err(lineNo, `'auth ${tokens[1]}': the index must be a number from 0 to ${MAX_AUTH_INDEX}`);
        continue;
      }
      if (tokens.length > 2) warn(lineNo, `ignoring '${tokens.slice(2).join(" ")}' after 'auth ${idx}'`);
      if (active !== null) warn(lineNo, `'auth' given again (first on line ${activeLine}); index ${idx} is used`);
      active = idx;
      activeLine = lineNo;
      continue;
    }
    const idx = parseIndex(first);
    if (idx === null) {
      err(lineNo, `expected 'auth N' or 'N method [key]', found '${first}'`);
      continue;
    }
    if (idx > MAX_AUTH_INDEX) {
      err(lineNo, `index ${idx} is out of range (0 to ${MAX_AUTH_INDEX})`);
      continue;
    }
    if (tokens.length < 2) {
      err(lineNo, `index ${idx} names no method (one of ${methodNames().join(", ")})`);
      continue;
    }
    const methodName = tokens[1]!;
    const method = findMethod(methodName);
    if (!method) {
      err(lineNo, `unknown authentication method '${methodName}' (known: ${methodNames().join(", ")})`);
      continue;
    }
    const key = tokens[2];
    if (method.keyed && key === undefined) {
      err(lineNo, `method ${method.name} needs a key: ${idx} ${method.name} KEY`);
      continue;
    }
    if (!method.keyed && key !== undefined) {
      err(lineNo, `method ${method.name} takes no key`);
      continue;
    }
    if (tokens.length > 3) warn(lineNo, `ignoring '${tokens.slice(3).join(" ")}' after the key (keys cannot contain blanks)`);
    const previous = entries.get(idx);
    if (previous) warn(lineNo, `index ${idx} defined again (first on line ${previous.line}); this definition is used`);
    entries.set(idx, { index: idx, method, key: key ?? "", line: lineNo });
  }

  if (active === null) {
    err(0, "no 'auth N' line selects the signing index");
  } else if (!entries.has(active)) {
    err(activeLine, `'auth ${active}' selects an index that is not defined`);
  }
  if (errors.length > 0 || active === null) return { ok: false, errors, warnings };
  return { ok: true, keys: { active, entries }, warnings };
}

/**
 * Heartbeat refuses an authkeys readable by group or others; lubdub asks for
 * exactly 0600 (no group or other bits at all). Returns the reason, or null.
 */
export function authkeysModeProblem(mode: number): string | null {
  const perm = mode & 0o777;
  if ((perm & 0o077) === 0) return null;
  return `mode ${perm.toString(8).padStart(4, "0")} lets group or others access the keys; chmod 600`;
}

/** An in-memory keyring, for tests and tools: `keyring("sha1", "secret", 2)`. */
export function singleKey(methodName: string, key: string, index = 1): Authkeys {
  const method = findMethod(methodName);
  if (!method) throw new Error(`unknown authentication method '${methodName}'`);
  return { active: index, entries: new Map([[index, { index, method, key: method.keyed ? key : "", line: 0 }]]) };
}
