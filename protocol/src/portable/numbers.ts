// Strict number parsing for wire fields. Heartbeat writes most numbers as
// lower-case hex without prefix (seq, hg, ts, dt, ackseq) and a few in decimal
// (protocol, ttl, NS_rexmit's firstseq/lastseq). Parsing is strict on purpose:
// a field that is not a plain number is a malformed message, not a zero.

const HEX_DIGITS = "0123456789abcdef";
/** 13 hex digits stay below 2^52, exact in a double on every target. */
const MAX_HEX_DIGITS = 13;
/** 15 decimal digits stay below 2^53. */
const MAX_DECIMAL_DIGITS = 15;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F (sscanf %lx accepts it)
  return -1;
}

/** Parses unsigned hex (either case); null when empty, too long or not hex. */
export function parseHex(s: string): number | null {
  if (s.length === 0 || s.length > MAX_HEX_DIGITS) return null;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = hexValue(s.charCodeAt(i));
    if (d < 0) return null;
    n = n * 16 + d;
  }
  return n;
}

/** Parses an unsigned decimal integer; null when empty, too long or not digits. */
export function parseDecimal(s: string): number | null {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return s.length === 0 || s.length > MAX_DECIMAL_DIGITS ? null : n;
}

/** Lower-case hex without leading zeros, as Heartbeat's `%lx`. `n` must be a non-negative integer. */
export function formatHex(n: number): string {
  if (n < 1) return "0";
  let out = "";
  let v = Math.floor(n);
  while (v > 0) {
    const d = v % 16;
    out = HEX_DIGITS.charAt(d) + out;
    v = Math.floor(v / 16);
  }
  return out;
}

/** Decimal without leading zeros. `n` must be a non-negative integer. */
export function formatDecimal(n: number): string {
  if (n < 1) return "0";
  let out = "";
  let v = Math.floor(n);
  while (v > 0) {
    out = String.fromCharCode(48 + (v % 10)) + out;
    v = Math.floor(v / 10);
  }
  return out;
}

/** Lower-case hex of a byte string, two digits per byte (UUIDs in logs and JSON). */
export function bytesToHex(bytes: string): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes.charCodeAt(i);
    out += HEX_DIGITS.charAt(Math.floor(b / 16)) + HEX_DIGITS.charAt(b % 16);
  }
  return out;
}

/** Inverse of bytesToHex; null on odd length or a non-hex digit. */
export function hexToBytes(hex: string): string | null {
  if (hex.length % 2 !== 0) return null;
  let out = "";
  for (let i = 0; i < hex.length; i += 2) {
    const hi = hexValue(hex.charCodeAt(i));
    const lo = hexValue(hex.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return null;
    out += String.fromCharCode(hi * 16 + lo);
  }
  return out;
}
