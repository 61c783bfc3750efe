// Signing exactly as a stock Heartbeat 3.0.6 node with the default
// `msgfmt classic`: first the in-message `auth` field (a digest over the
// classic rendering of every other field), then the netstring body that
// includes it, then the trailer token (a digest over that body).

import type { Authkeys, AuthEntry } from "./authkeys.js";
import { copyMessage, fieldIndex, Message, setString } from "../portable/message.js";
import { encodeNetstringBody, netstring } from "../portable/netstring.js";
import { encodeClassic, renderClassicLines } from "../portable/classic.js";

export const AUTH_FIELD = "auth";

function activeEntry(keys: Authkeys): AuthEntry {
  const entry = keys.entries.get(keys.active);
  if (!entry) throw new Error(`authkeys: active index ${keys.active} is not defined`);
  return entry;
}

/** `<index> <hex>`: the form of both the auth field and the trailer payload. */
function token(entry: AuthEntry, data: string): string {
  return `${entry.index} ${entry.method.digest(entry.key, data)}`;
}

/** Returns a copy of `msg` with its `auth` field set (in place when present, else appended). */
export function withAuthField(msg: Message, keys: Authkeys): Message {
  const entry = activeEntry(keys);
  const out = copyMessage(msg);
  setString(out, AUTH_FIELD, token(entry, renderClassicLines(msg, AUTH_FIELD, 0)));
  return out;
}

export interface SignOptions {
  /** Add the in-message auth field (`msgfmt classic`, Heartbeat's default). Default true. */
  authField?: boolean;
}

/** The datagram a stock node sends on UDP: netstring body plus auth trailer. */
export function signDatagram(msg: Message, keys: Authkeys, options: SignOptions = {}): string {
  const entry = activeEntry(keys);
  const withField = options.authField === false ? msg : withAuthField(msg, keys);
  const body = encodeNetstringBody(withField);
  return body + netstring(token(entry, body));
}

/** The classic frame a stock node writes on a serial line (authenticated by the auth field alone). */
export function signClassic(msg: Message, keys: Authkeys): string {
  return encodeClassic(withAuthField(msg, keys));
}

/** True when the message already carries an auth field. */
export function hasAuthField(msg: Message): boolean {
  return fieldIndex(msg, AUTH_FIELD) >= 0;
}
