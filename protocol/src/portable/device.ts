// What a host agent and the lubdub device say to each other on the host's
// serial port, defined once for both sides (host/ and device/ never import
// each other). The messages are ordinary classic frames, like the heartbeats
// the device relays, with a `t` that starts with "ldev-". The device consumes
// every such frame itself and never relays it, so one host cannot reach the
// other through the device with a forged device message.
//
// Authentication: the in-message `auth` field exactly as Heartbeat computes it
// for classic frames (`<index> <hex>`, an HMAC over the classic lines of every
// other field), keyed with the cluster's authkeys entry that the device was
// given. Requests that change anything also carry the device's current nonce
// for that port; the device accepts a nonce once and then issues a new one, so
// a recorded request replayed later is refused.
//
// Flow on each host port:
//   host   ldev-hello                     (unsigned; "tell me your state")
//   device ldev-status  nonce=N1 ...      (signed)
//   host   ldev-wd-arm  nonce=N1 reqid=R timeout=MS           (signed)
//   device ldev-result  reqid=R ok=1 nonce=N2 ...             (signed)
//   host   ldev-fence   nonce=N2 reqid=S target=NODE action=off reason=...
//   device ldev-result  reqid=S ok=1 state=off nonce=N3
//   device ldev-event   event=wd-cycle host=NODE ...          (to the other host)
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import { fieldIndex, getField, Message, newMessage, setString } from "./message.js";
import { renderClassicLines } from "./classic.js";
import { parseDecimal } from "./numbers.js";

/** Every device message type starts with this. */
export const DEVICE_TYPE_PREFIX = "ldev-";
/** `src` of messages from the device and `dest` of messages to it. */
export const DEVICE_NODE = "@device";

/** host → device, unsigned: asks for an ldev-status (with the port's nonce). */
export const DEV_HELLO = "ldev-hello";
/** device → host: outlets, watchdogs, last fence, this port's nonce. */
export const DEV_STATUS = "ldev-status";
/** host → device: arm (or re-arm with a new timeout) this port's host watchdog. */
export const DEV_WD_ARM = "ldev-wd-arm";
/** host → device: disarm this port's host watchdog (a clean shutdown). */
export const DEV_WD_DISARM = "ldev-wd-disarm";
/** host → device: switch an outlet (action on|off|reboot|status) for a target node or outlet. */
export const DEV_FENCE = "ldev-fence";
/** device → host: the answer to one request, matched by reqid. */
export const DEV_RESULT = "ldev-result";
/** device → host, unsolicited: something happened to the other host (a watchdog cycle, a fence). */
export const DEV_EVENT = "ldev-event";

export const DF_TYPE = "t";
export const DF_SRC = "src";
export const DF_DEST = "dest";
export const DF_AUTH = "auth";
export const DF_NONCE = "nonce";
export const DF_REQID = "reqid";
export const DF_TARGET = "target";
export const DF_ACTION = "action";
export const DF_REASON = "reason";
export const DF_TIMEOUT = "timeout";
export const DF_OK = "ok";
export const DF_ERROR = "error";
export const DF_STATE = "state";
export const DF_EVENT = "event";
export const DF_HOST = "host";
export const DF_BY = "by";
/** ldev-status: "N name on|off" per outlet, joined with DEVICE_LIST_SEP. */
export const DF_OUTLETS = "outlets";
/** ldev-status: "port host state timeoutMs cycles" per host port, joined with DEVICE_LIST_SEP. */
export const DF_WATCHDOGS = "watchdogs";
/** ldev-status: "target action by ageMs reason" of the last fence, or empty. */
export const DF_LAST_FENCE = "lastfence";
/** ldev-status: the device's boot count (persisted), so a host sees a device reboot. */
export const DF_BOOT = "boot";
/** Separator of the entries of the list-valued fields above (names never contain it). */
export const DEVICE_LIST_SEP = ";";

export const ACTION_ON = "on";
export const ACTION_OFF = "off";
export const ACTION_REBOOT = "reboot";
export const ACTION_STATUS = "status";

export const EVENT_WD_CYCLE = "wd-cycle";
export const EVENT_WD_GIVEUP = "wd-giveup";
export const EVENT_FENCED = "fenced";

// Result error codes (DF_ERROR when ok=0). Stable: hosts and logs key on them.
export const ERR_UNSIGNED = "unsigned";
export const ERR_BAD_SIGNATURE = "bad-signature";
export const ERR_WRONG_KEY = "wrong-key-index";
export const ERR_UNSUPPORTED_METHOD = "unsupported-method";
export const ERR_STALE_NONCE = "stale-nonce";
export const ERR_NOT_CONFIGURED = "not-configured";
export const ERR_BAD_REQUEST = "bad-request";
export const ERR_UNKNOWN_TARGET = "unknown-target";
export const ERR_LOST_ARBITRATION = "lost-arbitration";
export const ERR_ALREADY_OFF = "already-off";
export const ERR_BUSY = "busy";

/** Longest accepted reason / target text: keeps device messages and logs small. */
export const MAX_DEVICE_TEXT = 120;

/** The device's copy of the cluster key: one authkeys entry (`index method secret`). */
export interface DeviceKey {
  index: number;
  /** "sha1" or "md5" (crc authenticates nothing and is refused for device control). */
  method: string;
  secret: string;
}

/** HMAC over byte strings, lower-case hex; null when the target lacks the method. */
export type HmacFn = (method: string, key: string, data: string) => string | null;

/** True for a frame of the host↔device protocol (consumed by the device, never relayed). */
export function isDeviceMessage(msg: Message): boolean {
  const t = getField(msg, DF_TYPE);
  return t !== null && t.substring(0, DEVICE_TYPE_PREFIX.length) === DEVICE_TYPE_PREFIX;
}

/** A new device-protocol message of type `t` from `src` to `dest`. */
export function deviceMessage(t: string, src: string, dest: string): Message {
  const msg = newMessage();
  setString(msg, DF_TYPE, t);
  setString(msg, DF_SRC, src);
  setString(msg, DF_DEST, dest);
  return msg;
}

/** Compares two strings without stopping at the first difference. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) diff++;
  }
  return diff === 0;
}

/**
 * The auth value (`<index> <hex>`) for a message whose classic lines, auth
 * excluded, are `lines` (renderClassicLines(msg, DF_AUTH, 0)); null when
 * `hmac` lacks the key's method. A caller that holds only plain string fields
 * (the device firmware) passes its lines as they are, without the full
 * encoder.
 */
export function deviceAuthValue(lines: string, key: DeviceKey, hmac: HmacFn): string | null {
  const digest = hmac(key.method, key.secret, lines);
  // index: a whole number 0-15, which every target prints without a fraction
  return digest === null ? null : key.index + " " + digest;
}

/** "" when `auth` (the first auth field's value, null when missing) is the key's HMAC over `lines`, else one of the ERR_ codes. */
export function checkDeviceAuth(auth: string | null, lines: string, key: DeviceKey, hmac: HmacFn): string {
  if (auth === null) return ERR_UNSIGNED;
  const space = auth.indexOf(" ");
  if (space <= 0) return ERR_BAD_SIGNATURE;
  const index = parseDecimal(auth.substring(0, space));
  if (index !== key.index) return ERR_WRONG_KEY;
  const digest = hmac(key.method, key.secret, lines);
  if (digest === null) return ERR_UNSUPPORTED_METHOD;
  return sameText(auth.substring(space + 1), digest) ? "" : ERR_BAD_SIGNATURE;
}

/** Sets the auth field; returns false when `hmac` lacks the key's method. */
export function signDeviceMessage(msg: Message, key: DeviceKey, hmac: HmacFn): boolean {
  const auth = deviceAuthValue(renderClassicLines(msg, DF_AUTH, 0), key, hmac);
  if (auth === null) return false;
  setString(msg, DF_AUTH, auth);
  return true;
}

/** "" when the auth field is the key's HMAC over the message, else one of the ERR_ codes. */
export function verifyDeviceMessage(msg: Message, key: DeviceKey, hmac: HmacFn): string {
  if (fieldIndex(msg, DF_AUTH) < 0) return ERR_UNSIGNED;
  return checkDeviceAuth(getField(msg, DF_AUTH), renderClassicLines(msg, DF_AUTH, 0), key, hmac);
}

/** Joins list entries for DF_OUTLETS / DF_WATCHDOGS. */
export function joinDeviceList(items: string[]): string {
  return items.join(DEVICE_LIST_SEP);
}

/** Splits an DF_OUTLETS / DF_WATCHDOGS value; an empty value is an empty list. */
export function splitDeviceList(value: string): string[] {
  if (value.length === 0) return [];
  return value.split(DEVICE_LIST_SEP);
}

/** Reads a decimal field; null when missing or not a plain number. */
export function getDecimalField(msg: Message, name: string): number | null {
  const v = getField(msg, name);
  return v === null ? null : parseDecimal(v);
}
