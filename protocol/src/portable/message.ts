// The message model shared by both wire formats: an ordered list of typed
// fields. Values are byte strings (one char per byte, codes 0-255), which is
// what a serial line delivers on every target and what Node reads as latin1.
//
// Portable subset: no Map, RegExp, Buffer, spread or default parameters.

export const FT_STRING = 0;
export const FT_BINARY = 1;
export const FT_STRUCT = 2;
export const FT_LIST = 3;
export const FT_COMPRESSED = 4;
export const FT_UNCOMPRESSED = 5;

/** Wire type codes, the digit between parentheses on the wire. */
export type FieldType = 0 | 1 | 2 | 3 | 4 | 5;

/** Names used in decoder output and error messages. */
export const FIELD_TYPE_NAMES: string[] = ["string", "binary", "struct", "list", "compressed", "uncompressed"];

export interface ScalarField {
  name: string;
  /** string, binary or compressed: the raw bytes. */
  type: 0 | 1 | 4;
  value: string;
}

export interface NestedField {
  name: string;
  /** struct or uncompressed: a nested message (carries no auth token). */
  type: 2 | 5;
  value: Message;
}

export interface ListField {
  name: string;
  type: 3;
  value: string[];
}

export type Field = ScalarField | NestedField | ListField;

export function isNested(f: Field): f is NestedField {
  return f.type === FT_STRUCT || f.type === FT_UNCOMPRESSED;
}

export function isList(f: Field): f is ListField {
  return f.type === FT_LIST;
}

export function isScalar(f: Field): f is ScalarField {
  return f.type === FT_STRING || f.type === FT_BINARY || f.type === FT_COMPRESSED;
}

export interface Message {
  /** Fields in wire order; order matters for both digests. */
  fields: Field[];
}

export function newMessage(): Message {
  return { fields: [] };
}

/** Index of the first field called `name`, or -1 (lookups always use the first, as Heartbeat does). */
export function fieldIndex(msg: Message, name: string): number {
  const fields = msg.fields;
  for (let i = 0; i < fields.length; i++) {
    if (fields[i]!.name === name) return i;
  }
  return -1;
}

/** The bytes of the first string, binary or compressed field called `name`, or null. */
export function getField(msg: Message, name: string): string | null {
  const i = fieldIndex(msg, name);
  if (i < 0) return null;
  const f = msg.fields[i]!;
  return isScalar(f) ? f.value : null;
}

/** Sets a scalar field: replaced in place when present (position kept), else appended. */
export function setScalar(msg: Message, name: string, type: 0 | 1 | 4, value: string): void {
  const field: ScalarField = { name: name, type: type, value: value };
  const i = fieldIndex(msg, name);
  if (i < 0) msg.fields.push(field);
  else msg.fields[i] = field;
}

export function setString(msg: Message, name: string, value: string): void {
  setScalar(msg, name, FT_STRING, value);
}

export function setBinary(msg: Message, name: string, value: string): void {
  setScalar(msg, name, FT_BINARY, value);
}

/** Removes every field called `name`; returns how many were removed. */
export function removeField(msg: Message, name: string): number {
  const kept: Field[] = [];
  let removed = 0;
  for (const f of msg.fields) {
    if (f.name === name) removed++;
    else kept.push(f);
  }
  msg.fields = kept;
  return removed;
}

/** A shallow copy: a new field list, the same field objects (fields are never mutated in place). */
export function copyMessage(msg: Message): Message {
  return { fields: msg.fields.slice() };
}
