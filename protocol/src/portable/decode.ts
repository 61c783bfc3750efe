// One received datagram (or one frame cut out of a serial stream) to a message.
// Returns a typed result and never throws, whatever the bytes.

import { CLASSIC_START, MARKER_BYTES, MAX_MESSAGE_BYTES, NETSTRING_START } from "./limits.js";
import { Message } from "./message.js";
import { decodeNetstringBody, decodeTrailer, Trailer } from "./netstring.js";
import { decodeClassicMessage } from "./classic.js";
import { E_EMPTY, E_NO_MARKER, E_TOO_LARGE, WireError, wireError } from "./errors.js";
import { formatDecimal } from "./numbers.js";

export const FRAMING_NETSTRING = "netstring";
export const FRAMING_CLASSIC = "classic";

export interface DecodedNetstring {
  framing: "netstring";
  message: Message;
  /** `###\n` through `%%%\n`: the bytes the trailer digest covers. */
  body: string;
  /** The auth trailer, or null when it is missing or unreadable (see trailerError). */
  trailer: Trailer | null;
  trailerError: WireError | null;
  /** Bytes after the trailer; Heartbeat ignores them. */
  extraBytes: number;
}

export interface DecodedClassic {
  framing: "classic";
  message: Message;
  extraBytes: number;
}

export type Decoded = DecodedNetstring | DecodedClassic;

export type DecodeResult = { ok: true; decoded: Decoded } | { ok: false; error: WireError };

export function decodeDatagram(bytes: string): DecodeResult {
  if (bytes.length === 0) return { ok: false, error: wireError(E_EMPTY, "no bytes", 0) };
  if (bytes.length >= MAX_MESSAGE_BYTES) {
    return { ok: false, error: wireError(E_TOO_LARGE, formatDecimal(bytes.length) + " bytes; messages are smaller than " + formatDecimal(MAX_MESSAGE_BYTES), 0) };
  }
  const marker = bytes.substring(0, MARKER_BYTES);
  if (marker === NETSTRING_START) {
    const body = decodeNetstringBody(bytes, 0, 0);
    if (!body.ok) return { ok: false, error: body.error };
    const tr = decodeTrailer(bytes, body.end);
    const decoded: DecodedNetstring = {
      framing: "netstring",
      message: body.message,
      body: bytes.substring(0, body.end),
      trailer: tr.ok ? tr.trailer : null,
      trailerError: tr.ok ? null : tr.error,
      extraBytes: tr.ok ? bytes.length - tr.trailer.end : 0,
    };
    return { ok: true, decoded: decoded };
  }
  if (marker === CLASSIC_START) {
    const r = decodeClassicMessage(bytes, 0, 0);
    if (!r.ok) return { ok: false, error: r.error };
    return { ok: true, decoded: { framing: "classic", message: r.message, extraBytes: bytes.length - r.end } };
  }
  return { ok: false, error: wireError(E_NO_MARKER, "neither ### nor >>> at the start", 0) };
}
