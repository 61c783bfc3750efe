// The classic ("nvpair") serialisation Heartbeat uses on serial lines and the
// local FIFO, and accepts on UDP:
//   ">>>\n" { ["(" TYPE ")"] NAME "=" VALUE "\n" } "<<<\n"
// Strings carry no type prefix and have '\n' replaced by 0x13; binary and
// compressed values are base64; a struct is a nested classic message whose
// newlines are replaced by a control byte that depends on the nesting depth.

import { CLASSIC_END, CLASSIC_NEWLINE_SUBSTITUTE, CLASSIC_START, MARKER_BYTES, MAX_FIELDS, MAX_MESSAGE_BYTES, MAX_NESTING_DEPTH } from "./limits.js";
import { Field, FT_BINARY, FT_COMPRESSED, FT_LIST, FT_STRING, FT_STRUCT, FT_UNCOMPRESSED, FieldType, isList, isNested, Message } from "./message.js";
import { base64Decode, base64Encode } from "./base64.js";
import { decodeList, encodeList } from "./netstring.js";
import { E_BAD_BASE64, E_BAD_LINE, E_BAD_NAME, E_BAD_NESTED, E_BAD_TYPE, E_NO_MARKER, E_TOO_DEEP, E_TOO_MANY_FIELDS, E_TRUNCATED, WireError, wireError } from "./errors.js";
import { formatDecimal } from "./numbers.js";

/** The byte that stands for '\n' inside a struct value at this depth (0x14..0x1f, then 0x0f..0x12). */
export function structNewlineSubstitute(depth: number): number {
  return depth < 12 ? 0x14 + depth : 0x0f + (depth - 12);
}

/** Replaces every occurrence of one byte by another. */
function replaceByte(s: string, from: number, to: number): string {
  const fromCh = String.fromCharCode(from);
  if (s.indexOf(fromCh) < 0) return s;
  return s.split(fromCh).join(String.fromCharCode(to));
}

function renderValue(f: Field, depth: number): string {
  if (isList(f)) return encodeList(f.value);
  if (!isNested(f)) return f.type === FT_STRING ? replaceByte(f.value, 10, CLASSIC_NEWLINE_SUBSTITUTE) : base64Encode(f.value);
  // struct / uncompressed: render nested, then hide its newlines behind this depth's byte
  return replaceByte(encodeClassic(f.value, depth + 1), 10, structNewlineSubstitute(depth));
}

/** One classic line, newline included. */
export function classicLine(f: Field, depth: number): string {
  const prefix = f.type === FT_STRING ? "" : "(" + formatDecimal(f.type) + ")";
  return prefix + f.name + "=" + renderValue(f, depth) + "\n";
}

/**
 * The classic lines of every field except those named `skip` (pass null to keep
 * all), without markers. With skip = "auth" this is what the in-message auth
 * field digests.
 */
export function renderClassicLines(msg: Message, skip: string | null, depth: number): string {
  let out = "";
  for (const f of msg.fields) {
    if (skip !== null && f.name === skip) continue;
    out += classicLine(f, depth);
  }
  return out;
}

export function encodeClassic(msg: Message, depth?: number): string {
  return CLASSIC_START + renderClassicLines(msg, null, depth === undefined ? 0 : depth) + CLASSIC_END;
}

function decodeLine(line: string, offset: number, depth: number): { ok: true; field: Field } | { ok: false; error: WireError } {
  let type: FieldType = FT_STRING;
  let nameStart = 0;
  if (line.length >= 3 && line.charCodeAt(0) === 40 && line.charCodeAt(2) === 41) {
    const t = line.charCodeAt(1) - 48;
    if (t < 0 || t > 5) return { ok: false, error: wireError(E_BAD_TYPE, "field type digit is not 0-5", offset + 1) };
    type = t as FieldType;
    nameStart = 3;
  }
  const eq = line.indexOf("=", nameStart);
  if (eq < 0) return { ok: false, error: wireError(E_BAD_LINE, "line has no '='", offset) };
  if (eq === nameStart) return { ok: false, error: wireError(E_BAD_NAME, "field has an empty name", offset) };
  const name = line.substring(nameStart, eq);
  const raw = line.substring(eq + 1);
  const vOff = offset + eq + 1;
  if (type === FT_STRING) return { ok: true, field: { name: name, type: FT_STRING, value: replaceByte(raw, CLASSIC_NEWLINE_SUBSTITUTE, 10) } };
  if (type === FT_BINARY || type === FT_COMPRESSED) {
    const bytes = base64Decode(raw);
    if (bytes === null) return { ok: false, error: wireError(E_BAD_BASE64, "field '" + name + "' is not valid base64", vOff) };
    return { ok: true, field: { name: name, type: type, value: bytes } };
  }
  if (type === FT_LIST) {
    const list = decodeList(raw, vOff);
    if (!list.ok) return { ok: false, error: list.error };
    return { ok: true, field: { name: name, type: FT_LIST, value: list.items } };
  }
  if (depth + 1 >= MAX_NESTING_DEPTH) return { ok: false, error: wireError(E_TOO_DEEP, "struct nesting deeper than " + formatDecimal(MAX_NESTING_DEPTH), offset) };
  const text = replaceByte(raw, structNewlineSubstitute(depth), 10);
  const nested = decodeClassicMessage(text, 0, depth + 1);
  if (!nested.ok) return { ok: false, error: wireError(E_BAD_NESTED, "in struct field '" + name + "': " + nested.error.detail, vOff) };
  if (nested.end !== text.length) return { ok: false, error: wireError(E_BAD_NESTED, "bytes after the nested message in struct field '" + name + "'", vOff) };
  return { ok: true, field: { name: name, type: type === FT_STRUCT ? FT_STRUCT : FT_UNCOMPRESSED, value: nested.message } };
}

export type ClassicResult = { ok: true; message: Message; end: number } | { ok: false; error: WireError };

/**
 * Decodes `>>>\n` ... `<<<\n` at `start`. Blank lines between fields are skipped
 * (as Heartbeat's reader does); the message ends at a line that is exactly `<<<`.
 * The final newline after `<<<` may be missing at the very end of the input.
 */
export function decodeClassicMessage(bytes: string, start: number, depth: number): ClassicResult {
  if (bytes.substring(start, start + MARKER_BYTES) !== CLASSIC_START) {
    return { ok: false, error: wireError(E_NO_MARKER, "message does not start with >>>", start) };
  }
  const limit = bytes.length < start + MAX_MESSAGE_BYTES ? bytes.length : start + MAX_MESSAGE_BYTES;
  const fields: Field[] = [];
  let pos = start + MARKER_BYTES;
  while (pos < limit) {
    let nl = bytes.indexOf("\n", pos);
    if (nl < 0 || nl >= limit) nl = limit;
    if (nl === pos) { pos++; continue; }
    const line = bytes.substring(pos, nl);
    if (line === "<<<") return { ok: true, message: { fields: fields }, end: nl < limit ? nl + 1 : nl };
    if (nl === limit) break;
    if (fields.length >= MAX_FIELDS) return { ok: false, error: wireError(E_TOO_MANY_FIELDS, "more than " + formatDecimal(MAX_FIELDS) + " fields", pos) };
    const r = decodeLine(line, pos, depth);
    if (!r.ok) return { ok: false, error: r.error };
    fields.push(r.field);
    pos = nl + 1;
  }
  return { ok: false, error: wireError(E_TRUNCATED, "message ends before <<<", pos) };
}

