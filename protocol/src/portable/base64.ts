// Standard base64 (A-Z a-z 0-9 + /, '=' padding, no line breaks), as the
// classic format uses for binary fields. Arithmetic instead of bit operators
// keeps it inside the portable subset (Lua 5.1 has no bit operators).

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function sextet(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  if (code === 43) return 62; // +
  if (code === 47) return 63; // /
  return -1;
}

export function base64Encode(bytes: string): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = bytes.charCodeAt(i) * 65536 + bytes.charCodeAt(i + 1) * 256 + bytes.charCodeAt(i + 2);
    out += ALPHABET.charAt(Math.floor(v / 262144)) + ALPHABET.charAt(Math.floor(v / 4096) % 64) +
      ALPHABET.charAt(Math.floor(v / 64) % 64) + ALPHABET.charAt(v % 64);
  }
  const rest = n - i;
  if (rest === 1) {
    const v = bytes.charCodeAt(i) * 65536;
    out += ALPHABET.charAt(Math.floor(v / 262144)) + ALPHABET.charAt(Math.floor(v / 4096) % 64) + "==";
  } else if (rest === 2) {
    const v = bytes.charCodeAt(i) * 65536 + bytes.charCodeAt(i + 1) * 256;
    out += ALPHABET.charAt(Math.floor(v / 262144)) + ALPHABET.charAt(Math.floor(v / 4096) % 64) +
      ALPHABET.charAt(Math.floor(v / 64) % 64) + "=";
  }
  return out;
}

/** Strict decode: length a multiple of 4, padding only at the end; null otherwise. */
export function base64Decode(text: string): string | null {
  const n = text.length;
  if (n % 4 !== 0) return null;
  let out = "";
  for (let i = 0; i < n; i += 4) {
    const a = sextet(text.charCodeAt(i));
    const b = sextet(text.charCodeAt(i + 1));
    if (a < 0 || b < 0) return null;
    const last = i + 4 === n;
    const c3 = text.charCodeAt(i + 2);
    const c4 = text.charCodeAt(i + 3);
    if (last && c3 === 61 && c4 === 61) {
      if (b % 16 !== 0) return null; // non-canonical padding bits
      out += String.fromCharCode(a * 4 + Math.floor(b / 16));
      continue;
    }
    const c = sextet(c3);
    if (c < 0) return null;
    if (last && c4 === 61) {
      if (c % 4 !== 0) return null;
      const v2 = (a * 262144 + b * 4096 + c * 64) / 256;
      out += String.fromCharCode(Math.floor(v2 / 256), v2 % 256);
      continue;
    }
    const d = sextet(c4);
    if (d < 0) return null;
    const v = a * 262144 + b * 4096 + c * 64 + d;
    out += String.fromCharCode(Math.floor(v / 65536), Math.floor(v / 256) % 256, v % 256);
  }
  return out;
}
