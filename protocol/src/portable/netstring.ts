// The netstring serialisation, which Heartbeat 3.0.6 sends on every UDP medium:
//   "###\n" { LEN ":" "(" TYPE ")" NAME "=" VALUE "," } "%%%\n" [ LEN ":" AUTHNUM " " HEX "," ]
// Values are raw bytes with no escaping; the length prefix makes any byte safe.

import {
  MAX_FIELDS, MAX_LENGTH_DIGITS, MAX_MESSAGE_BYTES, MAX_NESTING_DEPTH, NETSTRING_END, NETSTRING_START, MARKER_BYTES,
} from "./limits.js";
import { Field, FT_LIST, FT_STRUCT, FT_UNCOMPRESSED, FieldType, isList, isNested, Message } from "./message.js";
import {
  E_BAD_LENGTH, E_BAD_NAME, E_BAD_NESTED, E_BAD_TYPE, E_MISSING_COMMA, E_NO_MARKER, E_TOO_DEEP, E_TOO_MANY_FIELDS,
  E_TRUNCATED, WireError, wireError,
} from "./errors.js";
import { formatDecimal } from "./numbers.js";

/** One netstring: `LEN:` + payload + `,`. */
export function netstring(payload: string): string {
  return formatDecimal(payload.length) + ":" + payload + ",";
}

function encodeField(f: Field, depth: number): string {
  let value: string;
  if (isNested(f)) value = encodeNetstringBody(f.value, depth + 1);
  else if (isList(f)) value = encodeList(f.value);
  else value = f.value;
  return netstring("(" + formatDecimal(f.type) + ")" + f.name + "=" + value);
}

/** Packs list elements as consecutive netstrings (the same in both formats). */
export function encodeList(items: string[]): string {
  let out = "";
  for (const item of items) out += netstring(item);
  return out;
}

/** `###\n` + fields + `%%%\n`: the bytes the trailer digest covers. */
export function encodeNetstringBody(msg: Message, depth?: number): string {
  const d = depth === undefined ? 0 : depth;
  let out = NETSTRING_START;
  for (const f of msg.fields) out += encodeField(f, d);
  return out + NETSTRING_END;
}

/** Result of reading one netstring at an offset. */
export interface PeeledNetstring {
  ok: true;
  payload: string;
  /** Offset just past the closing comma. */
  end: number;
}

export type PeelResult = PeeledNetstring | { ok: false; error: WireError };

/** Reads `LEN:payload,` at `pos`, never past `limit`. */
export function peelNetstring(bytes: string, pos: number, limit: number): PeelResult {
  let i = pos;
  let len = 0;
  while (i < limit) {
    const c = bytes.charCodeAt(i);
    if (c < 48 || c > 57) break;
    len = len * 10 + (c - 48);
    i++;
    if (i - pos > MAX_LENGTH_DIGITS) return { ok: false, error: wireError(E_BAD_LENGTH, "netstring length has too many digits", pos) };
  }
  if (i === pos) {
    if (pos >= limit) return { ok: false, error: wireError(E_TRUNCATED, "input ends where a netstring should start", pos) };
    return { ok: false, error: wireError(E_BAD_LENGTH, "expected a netstring length", pos) };
  }
  // "0123:" is not a netstring length the reference writes; refuse leading zeros.
  if (i - pos > 1 && bytes.charCodeAt(pos) === 48) return { ok: false, error: wireError(E_BAD_LENGTH, "netstring length has a leading zero", pos) };
  if (i >= limit) return { ok: false, error: wireError(E_TRUNCATED, "input ends inside a netstring length", i) };
  if (bytes.charCodeAt(i) !== 58) return { ok: false, error: wireError(E_BAD_LENGTH, "expected ':' after the netstring length", i) };
  const start = i + 1;
  const end = start + len;
  if (end >= limit) return { ok: false, error: wireError(E_TRUNCATED, "netstring of " + formatDecimal(len) + " bytes runs past the end of the input", pos) };
  if (bytes.charCodeAt(end) !== 44) return { ok: false, error: wireError(E_MISSING_COMMA, "netstring is not closed by ','", end) };
  return { ok: true, payload: bytes.substring(start, end), end: end + 1 };
}

/** Splits a list value (`LEN:elem,` repeated) into its elements. */
export function decodeList(value: string, offset: number): { ok: true; items: string[] } | { ok: false; error: WireError } {
  const items: string[] = [];
  let pos = 0;
  while (pos < value.length) {
    const r = peelNetstring(value, pos, value.length);
    if (!r.ok) return { ok: false, error: wireError(r.error.code, "list element: " + r.error.detail, offset + r.error.offset) };
    items.push(r.payload);
    pos = r.end;
  }
  return { ok: true, items: items };
}

export interface NetstringBody {
  ok: true;
  message: Message;
  /** Offset just past `%%%\n`. */
  end: number;
}

export type NetstringBodyResult = NetstringBody | { ok: false; error: WireError };

function decodeNetstringField(payload: string, offset: number, depth: number): { ok: true; field: Field } | { ok: false; error: WireError } {
  // payload = "(" TYPE ")" NAME "=" VALUE
  if (payload.length < 4 || payload.charCodeAt(0) !== 40 || payload.charCodeAt(2) !== 41) {
    return { ok: false, error: wireError(E_BAD_TYPE, "field does not start with a (type) prefix", offset) };
  }
  const t = payload.charCodeAt(1) - 48;
  if (t < 0 || t > 5) return { ok: false, error: wireError(E_BAD_TYPE, "field type digit is not 0-5", offset + 1) };
  const eq = payload.indexOf("=", 3);
  if (eq < 0) return { ok: false, error: wireError(E_BAD_NAME, "field has no '='", offset) };
  if (eq === 3) return { ok: false, error: wireError(E_BAD_NAME, "field has an empty name", offset + 3) };
  const name = payload.substring(3, eq);
  if (name.indexOf("\n") >= 0) return { ok: false, error: wireError(E_BAD_NAME, "field name contains a newline", offset + 3) };
  const raw = payload.substring(eq + 1);
  const type = t as FieldType;
  if (type === FT_STRUCT || type === FT_UNCOMPRESSED) {
    if (depth + 1 >= MAX_NESTING_DEPTH) return { ok: false, error: wireError(E_TOO_DEEP, "struct nesting deeper than " + formatDecimal(MAX_NESTING_DEPTH), offset) };
    const nested = decodeNetstringBody(raw, 0, depth + 1);
    if (!nested.ok) return { ok: false, error: wireError(E_BAD_NESTED, "in struct field '" + name + "': " + nested.error.detail, offset + eq + 1 + nested.error.offset) };
    if (nested.end !== raw.length) return { ok: false, error: wireError(E_BAD_NESTED, "bytes after the nested message in struct field '" + name + "'", offset + eq + 1 + nested.end) };
    return { ok: true, field: { name: name, type: type, value: nested.message } };
  }
  if (type === FT_LIST) {
    const list = decodeList(raw, offset + eq + 1);
    if (!list.ok) return { ok: false, error: list.error };
    return { ok: true, field: { name: name, type: FT_LIST, value: list.items } };
  }
  return { ok: true, field: { name: name, type: type, value: raw } };
}

/** Decodes `###\n` ... `%%%\n` starting at `start`. Never throws. */
export function decodeNetstringBody(bytes: string, start: number, depth: number): NetstringBodyResult {
  if (bytes.substring(start, start + MARKER_BYTES) !== NETSTRING_START) {
    return { ok: false, error: wireError(E_NO_MARKER, "message does not start with ###", start) };
  }
  const limit = bytes.length < start + MAX_MESSAGE_BYTES ? bytes.length : start + MAX_MESSAGE_BYTES;
  const fields: Field[] = [];
  let pos = start + MARKER_BYTES;
  while (true) {
    if (bytes.substring(pos, pos + MARKER_BYTES) === NETSTRING_END) {
      return { ok: true, message: { fields: fields }, end: pos + MARKER_BYTES };
    }
    if (pos >= limit) return { ok: false, error: wireError(E_TRUNCATED, "message ends before %%%", pos) };
    if (fields.length >= MAX_FIELDS) return { ok: false, error: wireError(E_TOO_MANY_FIELDS, "more than " + formatDecimal(MAX_FIELDS) + " fields", pos) };
    const ns = peelNetstring(bytes, pos, limit);
    if (!ns.ok) return { ok: false, error: ns.error };
    const fr = decodeNetstringField(ns.payload, ns.end - 1 - ns.payload.length, depth);
    if (!fr.ok) return { ok: false, error: fr.error };
    fields.push(fr.field);
    pos = ns.end;
  }
}

/** The trailing authentication netstring: `LEN:` AUTHNUM " " DIGEST `,`. */
export interface Trailer {
  /** Authentication method index as written (may be out of range; verification decides). */
  index: number;
  digest: string;
  /** Offset just past the trailer. */
  end: number;
}

export type TrailerResult = { ok: true; trailer: Trailer } | { ok: false; error: WireError };

/** Reads the auth trailer at `pos` (right after `%%%\n`). */
export function decodeTrailer(bytes: string, pos: number): TrailerResult {
  const ns = peelNetstring(bytes, pos, bytes.length);
  if (!ns.ok) return { ok: false, error: ns.error };
  const p = ns.payload;
  const sp = p.indexOf(" ");
  if (sp <= 0) return { ok: false, error: wireError(E_BAD_LENGTH, "auth trailer is not '<index> <digest>'", pos) };
  let index = 0;
  for (let i = 0; i < sp; i++) {
    const c = p.charCodeAt(i);
    if (c < 48 || c > 57 || i > 4) return { ok: false, error: wireError(E_BAD_LENGTH, "auth trailer index is not a number", pos) };
    index = index * 10 + (c - 48);
  }
  return { ok: true, trailer: { index: index, digest: p.substring(sp + 1), end: ns.end } };
}
