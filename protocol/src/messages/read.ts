// Readers: a decoded Message → its typed header and body, or the reason it is
// not a well-formed message of a known type. The rules for the header are the
// receive pipeline's (src, ts and t required; seq required unless NS_; ts a
// non-zero hex number; hg missing counts as 0).

import { getField, Message } from "../portable/message.js";
import { parseDecimal, parseHex } from "../portable/numbers.js";
import { MAX_NODE_NAME_BYTES, MAX_STATUS_BYTES } from "../portable/limits.js";
import {
  Body, Header, isNonSequenced, NODE_STATUS_WORDS, NodeStatusWord, RESOURCE_SETS, ResourceSet, STANDBY_PHASES,
  StandbyPhase, STONITH_RESULTS, StonithResult, TAKEOVER_SETS, TakeoverSet, TypedMessage,
} from "./types.js";

export type ReadError = { code: "missing-field" | "bad-field" | "unknown-type"; field: string; detail: string };

export type ReadHeaderResult = { ok: true; header: Header; type: string } | { ok: false; error: ReadError };
export type ReadResult = { ok: true; message: TypedMessage } | { ok: false; error: ReadError };

class Bad extends Error {
  constructor(readonly readError: ReadError) {
    super(readError.detail);
  }
}

function need(msg: Message, name: string): string {
  const v = getField(msg, name);
  if (v === null) throw new Bad({ code: "missing-field", field: name, detail: `no '${name}' field` });
  return v;
}

function hex(msg: Message, name: string): number {
  const raw = need(msg, name);
  const n = parseHex(raw);
  if (n === null) throw new Bad({ code: "bad-field", field: name, detail: `'${name}=${raw}' is not a hex number` });
  return n;
}

function dec(msg: Message, name: string): number {
  const raw = need(msg, name);
  const n = parseDecimal(raw);
  if (n === null) throw new Bad({ code: "bad-field", field: name, detail: `'${name}=${raw}' is not a decimal number` });
  return n;
}

function oneOf<T extends string>(msg: Message, name: string, allowed: readonly T[]): T {
  const raw = need(msg, name);
  const found = allowed.find((a) => a === raw);
  if (found === undefined) throw new Bad({ code: "bad-field", field: name, detail: `'${name}=${raw}' is not one of ${allowed.join(", ")}` });
  return found;
}

function nodeName(msg: Message, name: string): string {
  const v = need(msg, name);
  if (v.length === 0 || v.length >= MAX_NODE_NAME_BYTES) {
    throw new Bad({ code: "bad-field", field: name, detail: `'${name}' must be 1 to ${MAX_NODE_NAME_BYTES - 1} bytes` });
  }
  return v;
}

/** "alpha bravo " → ["alpha", "bravo"] */
function nameList(msg: Message, name: string): string[] {
  return need(msg, name).split(" ").filter((n) => n !== "");
}

function optional(msg: Message, name: string): string | null {
  return getField(msg, name);
}

export function readHeader(msg: Message): ReadHeaderResult {
  try {
    const type = need(msg, "t");
    const src = nodeName(msg, "src");
    const ts = hex(msg, "ts");
    if (ts === 0) throw new Bad({ code: "bad-field", field: "ts", detail: "'ts' is zero" });
    const ns = isNonSequenced(type);
    const seq = ns ? null : hex(msg, "seq");
    const hg = getField(msg, "hg") === null ? 0 : hex(msg, "hg");
    const ttlRaw = optional(msg, "ttl");
    const ttl = ttlRaw === null ? null : parseDecimal(ttlRaw);
    return {
      ok: true,
      type,
      header: {
        src, srcuuid: optional(msg, "srcuuid"), seq, hg, ts, ld: optional(msg, "ld"), ttl, destuuid: optional(msg, "destuuid"),
      },
    };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, error: e.readError };
    throw e;
  }
}

function readBody(msg: Message, type: string): Body {
  switch (type) {
    case "status": {
      const st = oneOf<NodeStatusWord>(msg, "st", NODE_STATUS_WORDS);
      if (st.length >= MAX_STATUS_BYTES) throw new Bad({ code: "bad-field", field: "st", detail: "status word too long" });
      const protocol = optional(msg, "protocol");
      return { t: "status", st, dt: hex(msg, "dt"), protocol: protocol === null ? null : dec(msg, "protocol") };
    }
    case "reqnodes":
      return { t: "reqnodes", dest: nodeName(msg, "dest") };
    case "repnodes":
      return { t: "repnodes", dest: nodeName(msg, "dest"), nodes: nameList(msg, "nodelist"), deleted: nameList(msg, "delnodelist") };
    case "NS_ackmsg":
      return { t: "NS_ackmsg", dest: nodeName(msg, "dest"), ackseq: hex(msg, "ackseq") };
    case "NS_rexmit":
      return { t: "NS_rexmit", dest: nodeName(msg, "dest"), firstseq: dec(msg, "firstseq"), lastseq: dec(msg, "lastseq") };
    case "NS_nak_rexmit":
      return { t: "NS_nak_rexmit", dest: nodeName(msg, "dest"), firstseq: hex(msg, "firstseq"), info: optional(msg, "info") ?? "" };
    case "starting":
      return { t: "starting" };
    case "resource": {
      const rscHold = oneOf<ResourceSet>(msg, "rsc_hold", RESOURCE_SETS);
      const rtype = optional(msg, "rtype");
      if (rtype !== null && rtype !== "full") throw new Bad({ code: "bad-field", field: "rtype", detail: `'rtype=${rtype}' is not 'full'` });
      const full = rtype === null ? null : { isStable: oneOf(msg, "isstable", ["0", "1"] as const) === "1" };
      return { t: "resource", rscHold, full, info: optional(msg, "info") };
    }
    case "ask_resources":
      return { t: "ask_resources", rscHold: oneOf<ResourceSet>(msg, "rsc_hold", RESOURCE_SETS), phase: oneOf<StandbyPhase>(msg, "info", STANDBY_PHASES) };
    case "hb_takeover":
      return { t: "hb_takeover", rscHold: oneOf<TakeoverSet>(msg, "rsc_hold", TAKEOVER_SETS) };
    case "ip-request":
      return { t: "ip-request", ipaddr: need(msg, "ipaddr") };
    case "ip-request-resp":
      return {
        t: "ip-request-resp", dest: nodeName(msg, "dest"), ipaddr: need(msg, "ipaddr"),
        weown: oneOf(msg, "weown", ["yes", "no"] as const) === "yes", ok: need(msg, "ok"),
      };
    case "stonith":
      return { t: "stonith", node: nodeName(msg, "node"), result: oneOf<StonithResult>(msg, "result", STONITH_RESULTS) };
    case "shutdone":
      return { t: "shutdone" };
    case "lubdub-haresources":
      return { t: "lubdub-haresources", digest: need(msg, "digest"), groups: dec(msg, "groups") };
    case "lubdub-ping":
      return { t: "lubdub-ping", count: dec(msg, "count"), total: dec(msg, "total") };
    default:
      throw new Bad({ code: "unknown-type", field: "t", detail: `unknown message type '${type}'` });
  }
}

/** Reads header and body. Unknown types are an `unknown-type` error (the caller may still pass them on). */
export function readMessage(msg: Message): ReadResult {
  const h = readHeader(msg);
  if (!h.ok) return h;
  try {
    return { ok: true, message: { header: h.header, body: readBody(msg, h.type) } };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, error: e.readError };
    throw e;
  }
}
