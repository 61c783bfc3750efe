// Turns a byte stream of Heartbeat messages (captured UDP payloads or a serial
// line, several back to back) into one report per message: its fields in wire
// order, its type, and whether and how its signature verified.

import {
  Authkeys, bytesToHex, Decoded, decodeDatagram, Deframer, DeframeEvent, DROP_NOISE, Field, FIELD_TYPE_NAMES, getField,
  isList, isNested, Message, parseAuthkeys, verifyDecoded,
} from "@lubdub/protocol";

export type FieldReport =
  | { name: string; type: string; value: string }
  | { name: string; type: string; hex: string }
  | { name: string; type: string; items: string[] }
  | { name: string; type: string; fields: FieldReport[] };

export interface AuthReport {
  verified: boolean;
  via?: "trailer" | "auth-field";
  method?: string;
  index?: number;
  /** Netstring datagrams: what the (unchecked by Heartbeat) in-message auth field says. */
  authField?: string;
  reason?: string;
  detail?: string;
  /** Set when no authkeys were given and the unkeyed crc was assumed. */
  assumed?: string;
}

export interface MessageReport {
  source: string;
  offset: number;
  bytes: number;
  framing?: "netstring" | "classic";
  type?: string | null;
  fields?: FieldReport[];
  auth?: AuthReport;
  error?: { code: string; detail: string; offset?: number };
}

export interface StreamSummary {
  messages: number;
  verified: number;
  unverified: number;
  malformed: number;
  noiseBytes: number;
}

const PRINTABLE_MIN = 0x20;
const PRINTABLE_MAX = 0x7e;

function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < PRINTABLE_MIN || c > PRINTABLE_MAX) return false;
  }
  return true;
}

function reportField(f: Field): FieldReport {
  const type = FIELD_TYPE_NAMES[f.type] ?? String(f.type);
  if (isNested(f)) return { name: f.name, type, fields: reportFields(f.value) };
  if (isList(f)) return { name: f.name, type, items: f.value };
  if (f.type === 0 && printable(f.value)) return { name: f.name, type, value: f.value };
  return { name: f.name, type, hex: bytesToHex(f.value) };
}

export function reportFields(msg: Message): FieldReport[] {
  return msg.fields.map(reportField);
}

/** Without authkeys only crc, which has no key, can be checked: assume it when the digest looks like one. */
function crcOnlyKeys(d: Decoded): Authkeys | null {
  let index: number | null = null;
  if (d.framing === "netstring") {
    if (d.trailer && /^[0-9a-f]{1,8}$/.test(d.trailer.digest)) index = d.trailer.index;
  } else {
    const m = /^(\d{1,2}) [0-9a-f]{1,8}$/.exec(getField(d.message, "auth") ?? "");
    if (m) index = Number(m[1]);
  }
  if (index === null || index > 15) return null;
  const parsed = parseAuthkeys(`auth ${index}\n${index} crc\n`, "(assumed)");
  return parsed.ok ? parsed.keys : null;
}

function authReport(d: Decoded, keys: Authkeys | null): AuthReport {
  let assumed: string | undefined;
  let use = keys;
  if (!use) {
    use = crcOnlyKeys(d);
    if (!use) return { verified: false, reason: "no-authkeys", detail: "not checked: the digest needs a key; pass --authkeys FILE" };
    assumed = "no authkeys given; crc needs no key";
  }
  const v = verifyDecoded(d, use);
  if (v.ok) {
    const r: AuthReport = { verified: true, via: v.via, method: v.method, index: v.index };
    if (v.authField) r.authField = v.authField;
    if (assumed) r.assumed = assumed;
    return r;
  }
  const r: AuthReport = { verified: false, via: v.via, reason: v.reason, detail: v.detail };
  if (v.method) r.method = v.method;
  if (v.index !== undefined) r.index = v.index;
  if (assumed) r.assumed = assumed;
  return r;
}

function reportFrame(source: string, ev: DeframeEvent, keys: Authkeys | null): MessageReport {
  const frame = ev.frame!;
  const base: MessageReport = { source, offset: ev.offset, bytes: frame.length };
  const d = decodeDatagram(frame);
  if (!d.ok) return { ...base, error: { code: d.error.code, detail: d.error.detail, offset: ev.offset + d.error.offset } };
  return {
    ...base,
    framing: d.decoded.framing,
    type: getField(d.decoded.message, "t"),
    fields: reportFields(d.decoded.message),
    auth: authReport(d.decoded, keys),
  };
}

/**
 * Reports every message in one source. Noise between messages is summed, not
 * reported per run (Heartbeat ignores bytes after a trailer, and serial lines
 * carry noise); frames that are cut short, too large or broken are reported.
 */
export function reportStream(source: string, chunks: Iterable<string>, keys: Authkeys | null): { reports: MessageReport[]; summary: StreamSummary } {
  const deframer = new Deframer();
  const reports: MessageReport[] = [];
  const summary: StreamSummary = { messages: 0, verified: 0, unverified: 0, malformed: 0, noiseBytes: 0 };
  const take = (events: DeframeEvent[]) => {
    for (const ev of events) {
      if (ev.frame !== null) {
        const r = reportFrame(source, ev, keys);
        reports.push(r);
        summary.messages++;
        if (r.error) summary.malformed++;
        else if (r.auth?.verified) summary.verified++;
        else summary.unverified++;
      } else if (ev.reason === DROP_NOISE) {
        summary.noiseBytes += ev.bytes;
      } else {
        reports.push({ source, offset: ev.offset, bytes: ev.bytes, error: { code: ev.reason ?? "dropped", detail: ev.detail } });
        summary.messages++;
        summary.malformed++;
      }
    }
  };
  for (const chunk of chunks) take(deframer.push(chunk));
  take(deframer.end());
  if (summary.messages === 0) {
    reports.push({
      source, offset: 0, bytes: summary.noiseBytes,
      error: { code: "no-message", detail: `no Heartbeat message found (${summary.noiseBytes} bytes without a ### or >>> start)` },
    });
    summary.malformed++;
  }
  return { reports, summary };
}

/** decode's exit status: 2 if anything was malformed, else 1 if anything failed verification, else 0. */
export function decodeExitCode(summaries: StreamSummary[]): number {
  if (summaries.some((s) => s.malformed > 0)) return 2;
  if (summaries.some((s) => s.unverified > 0)) return 1;
  return 0;
}
