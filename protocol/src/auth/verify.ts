// Verification as a stock Heartbeat 3.0.6 receiver does it.
//  - netstring datagrams: only the trailer counts. Its digest function comes
//    from the index the trailer names, but the key is always the receiver's
//    active one (a quirk of 3.0.6 that lubdub keeps, or mixed clusters would
//    disagree about which packets are genuine). The in-message auth field is
//    not checked; it is reported for information.
//  - classic datagrams and serial frames: the auth field, with the method and
//    key of the index it names.

import type { Authkeys } from "./authkeys.js";
import type { Decoded } from "../portable/decode.js";
import { getField, Message } from "../portable/message.js";
import { renderClassicLines } from "../portable/classic.js";
import { AUTH_FIELD } from "./sign.js";

export type VerifyFailure = "missing-auth" | "malformed-auth" | "unknown-index" | "bad-digest";

/** What the in-message auth field of a netstring datagram says (not used to accept or refuse). */
export type AuthFieldStatus = "ok" | "mismatch" | "absent" | "malformed" | "unknown-index";

export type VerifyResult =
  | {
      ok: true;
      /** Which authenticator decided: the trailer (netstring) or the auth field (classic). */
      via: "trailer" | "auth-field";
      index: number;
      method: string;
      /** Netstring only: the in-message auth field, checked with its own index's key. */
      authField?: AuthFieldStatus;
    }
  | {
      ok: false;
      via: "trailer" | "auth-field";
      reason: VerifyFailure;
      detail: string;
      index?: number;
      method?: string;
    };

function parseToken(tok: string): { index: number; digest: string } | null {
  const sp = tok.indexOf(" ");
  if (sp <= 0) return null;
  const idx = tok.slice(0, sp);
  if (!/^[0-9]{1,5}$/.test(idx)) return null;
  return { index: Number(idx), digest: tok.slice(sp + 1) };
}

/** Checks the auth field of `msg` with the method and key of the index it names. */
function checkAuthField(msg: Message, keys: Authkeys): { status: AuthFieldStatus; index?: number; method?: string; detail: string } {
  const value = getField(msg, AUTH_FIELD);
  if (value === null) return { status: "absent", detail: "no auth field" };
  const tok = parseToken(value);
  if (!tok) return { status: "malformed", detail: `auth field '${value}' is not '<index> <digest>'` };
  const entry = keys.entries.get(tok.index);
  if (!entry) return { status: "unknown-index", index: tok.index, detail: `auth field names index ${tok.index}, which authkeys does not define` };
  const expected = entry.method.digest(entry.key, renderClassicLines(msg, AUTH_FIELD, 0));
  if (expected !== tok.digest) {
    return { status: "mismatch", index: tok.index, method: entry.method.name, detail: `auth field digest ${tok.digest} does not match (${entry.method.name} index ${tok.index})` };
  }
  return { status: "ok", index: tok.index, method: entry.method.name, detail: "" };
}

export function verifyDecoded(decoded: Decoded, keys: Authkeys): VerifyResult {
  if (decoded.framing === "classic") {
    const r = checkAuthField(decoded.message, keys);
    if (r.status === "ok") return { ok: true, via: "auth-field", index: r.index!, method: r.method! };
    const reason: VerifyFailure =
      r.status === "absent" ? "missing-auth" : r.status === "malformed" ? "malformed-auth" : r.status === "unknown-index" ? "unknown-index" : "bad-digest";
    return { ok: false, via: "auth-field", reason, detail: r.detail, index: r.index, method: r.method };
  }

  const trailer = decoded.trailer;
  if (!trailer) {
    const why = decoded.trailerError ? decoded.trailerError.detail : "no auth trailer";
    return { ok: false, via: "trailer", reason: "missing-auth", detail: `no readable auth trailer after %%%: ${why}` };
  }
  const named = keys.entries.get(trailer.index);
  if (!named) {
    return { ok: false, via: "trailer", reason: "unknown-index", index: trailer.index, detail: `trailer names auth index ${trailer.index}, which authkeys does not define` };
  }
  const activeKey = keys.entries.get(keys.active)?.key ?? "";
  const expected = named.method.digest(activeKey, decoded.body);
  if (expected !== trailer.digest) {
    let detail = `trailer digest ${trailer.digest} does not match ${named.method.name} index ${trailer.index} (expected ${expected})`;
    if (trailer.index !== keys.active && named.method.keyed && named.method.digest(named.key, decoded.body) === trailer.digest) {
      detail += `; it was signed with index ${trailer.index}'s own key, but Heartbeat 3.0.6 receivers check every trailer with the active index's key (auth ${keys.active}): sign with the active index`;
    }
    return { ok: false, via: "trailer", reason: "bad-digest", index: trailer.index, method: named.method.name, detail };
  }
  return { ok: true, via: "trailer", index: trailer.index, method: named.method.name, authField: checkAuthField(decoded.message, keys).status };
}
