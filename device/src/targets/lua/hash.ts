// SHA-1, MD5 and their HMACs in plain Lua 5.1 over the LuaBitOp `bit` module,
// for Linux gateways (Debian and OpenWrt ship lua-bitop; NodeMCU has `bit`
// built in). Byte strings in, lower-case hex out, as Hal.hmac wants.
//
// Why not an OpenSSL binding: the device only signs and checks a few short
// messages a second, luaossl/lua-openssl are not installed on a typical
// gateway (and would pull libssl into the firmware's dependencies), while
// `bit` is everywhere Lua 5.1 runs on small systems. Digests are checked
// against Node's crypto in test/src/device-lua-hash.test.ts.
//
// TSTL for Lua 5.1 refuses the bitwise operators, so every bit operation is
// an explicit `bit.*` call; sums are folded back to 32 bits with bit.tobit.
// No string literal holds a byte above 0x7f (TSTL would emit it as UTF-8):
// padding bytes come from string.char.

import { LuaBitLib, luaGlobal, luaRequire, luaString } from "./lua.js";

let bitLib: LuaBitLib | null = null;

function bits(): LuaBitLib {
  if (bitLib === null) {
    const g = luaGlobal("bit");
    bitLib = (g !== undefined && g !== null ? g : luaRequire("bit")) as LuaBitLib;
  }
  return bitLib;
}

const TWO32 = 4294967296;

/** Big-endian 8-byte length field, in bits, of a message of `len` bytes. */
function lengthField(len: number, bigEndian: boolean): string {
  const bitsLen = len * 8;
  const hi = Math.floor(bitsLen / TWO32);
  const lo = bitsLen - hi * TWO32;
  const out: number[] = [];
  const words = bigEndian ? [hi, lo] : [lo, hi];
  for (const w of words) {
    let v = w;
    const bytes: number[] = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) {
      const b = v % 256;
      bytes[i] = b;
      v = (v - b) / 256;
    }
    if (bigEndian) out.push(bytes[3]!, bytes[2]!, bytes[1]!, bytes[0]!);
    else out.push(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  }
  let s = "";
  for (const b of out) s += luaString.char(b);
  return s;
}

/** msg, 0x80, zeros, the length: a multiple of 64 bytes. */
function padded(msg: string, bigEndian: boolean): string {
  const len = msg.length;
  let zeros = 55 - (len % 64);
  if (zeros < 0) zeros += 64;
  return msg + luaString.char(128) + luaString.rep(luaString.char(0), zeros) + lengthField(len, bigEndian);
}

const sha1W: number[] = [];
for (let i = 0; i < 80; i++) sha1W.push(0);

/** SHA-1 of a byte string, as 5 words (signed 32-bit). */
function sha1Words(msg: string): number[] {
  const b = bits();
  const m = padded(msg, true);
  const w = sha1W;
  let h0 = b.tobit(0x67452301);
  let h1 = b.tobit(0xefcdab89);
  let h2 = b.tobit(0x98badcfe);
  let h3 = b.tobit(0x10325476);
  let h4 = b.tobit(0xc3d2e1f0);
  for (let off = 0; off < m.length; off += 64) {
    for (let i = 0; i < 16; i++) {
      const p = off + i * 4 + 1;
      w[i] = b.bor(
        b.lshift(luaString.byte(m, p), 24),
        b.lshift(luaString.byte(m, p + 1), 16),
        b.lshift(luaString.byte(m, p + 2), 8),
        luaString.byte(m, p + 3),
      );
    }
    for (let i = 16; i < 80; i++) w[i] = b.rol(b.bxor(w[i - 3]!, w[i - 8]!, w[i - 14]!, w[i - 16]!), 1);
    let a = h0;
    let bb = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = b.bor(b.band(bb, c), b.band(b.bnot(bb), d));
        k = 0x5a827999;
      } else if (i < 40) {
        f = b.bxor(bb, c, d);
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = b.bor(b.band(bb, c), b.band(bb, d), b.band(c, d));
        k = 0x8f1bbcdc;
      } else {
        f = b.bxor(bb, c, d);
        k = 0xca62c1d6;
      }
      const temp = b.tobit(b.rol(a, 5) + f + e + k + w[i]!);
      e = d;
      d = c;
      c = b.rol(bb, 30);
      bb = a;
      a = temp;
    }
    h0 = b.tobit(h0 + a);
    h1 = b.tobit(h1 + bb);
    h2 = b.tobit(h2 + c);
    h3 = b.tobit(h3 + d);
    h4 = b.tobit(h4 + e);
  }
  return [h0, h1, h2, h3, h4];
}

const MD5_S: number[] = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

const md5K: number[] = [];
for (let i = 0; i < 64; i++) md5K.push(Math.floor(Math.abs(Math.sin(i + 1)) * TWO32));

const md5M: number[] = [];
for (let i = 0; i < 16; i++) md5M.push(0);

/** MD5 of a byte string, as 4 words (signed 32-bit, little-endian byte order on output). */
function md5Words(msg: string): number[] {
  const b = bits();
  const m = padded(msg, false);
  const x = md5M;
  let a0 = b.tobit(0x67452301);
  let b0 = b.tobit(0xefcdab89);
  let c0 = b.tobit(0x98badcfe);
  let d0 = b.tobit(0x10325476);
  for (let off = 0; off < m.length; off += 64) {
    for (let i = 0; i < 16; i++) {
      const p = off + i * 4 + 1;
      x[i] = b.bor(
        luaString.byte(m, p),
        b.lshift(luaString.byte(m, p + 1), 8),
        b.lshift(luaString.byte(m, p + 2), 16),
        b.lshift(luaString.byte(m, p + 3), 24),
      );
    }
    let a = a0;
    let bb = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = b.bor(b.band(bb, c), b.band(b.bnot(bb), d));
        g = i;
      } else if (i < 32) {
        f = b.bor(b.band(d, bb), b.band(b.bnot(d), c));
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b.bxor(bb, c, d);
        g = (3 * i + 5) % 16;
      } else {
        f = b.bxor(c, b.bor(bb, b.bnot(d)));
        g = (7 * i) % 16;
      }
      const sum = b.tobit(f + a + md5K[i]! + x[g]!);
      a = d;
      d = c;
      c = bb;
      bb = b.tobit(bb + b.rol(sum, MD5_S[i]!));
    }
    a0 = b.tobit(a0 + a);
    b0 = b.tobit(b0 + bb);
    c0 = b.tobit(c0 + c);
    d0 = b.tobit(d0 + d);
  }
  return [a0, b0, c0, d0];
}

function wordsToBytes(words: number[], bigEndian: boolean): string {
  const b = bits();
  let s = "";
  for (const w of words) {
    const b3 = b.band(b.rshift(w, 24), 255);
    const b2 = b.band(b.rshift(w, 16), 255);
    const b1 = b.band(b.rshift(w, 8), 255);
    const b0 = b.band(w, 255);
    s += bigEndian ? luaString.char(b3, b2, b1, b0) : luaString.char(b0, b1, b2, b3);
  }
  return s;
}

/** Lower-case hex of a byte string. */
export function toHex(bytes: string): string {
  let s = "";
  for (let i = 1; i <= bytes.length; i++) s += luaString.format("%02x", luaString.byte(bytes, i));
  return s;
}

/** The raw digest (20 or 16 bytes) of `method` ("sha1", "md5"), or null for another method. */
export function digest(method: string, msg: string): string | null {
  if (method === "sha1") return wordsToBytes(sha1Words(msg), true);
  if (method === "md5") return wordsToBytes(md5Words(msg), false);
  return null;
}

function xorPad(key: string, pad: number): string {
  const b = bits();
  let s = "";
  for (let i = 1; i <= 64; i++) {
    const k = i <= key.length ? luaString.byte(key, i) : 0;
    s += luaString.char(b.bxor(k, pad));
  }
  return s;
}

/** HMAC (RFC 2104, 64-byte blocks) of `data` under `key`, as lower-case hex; null for an unknown method. */
export function hmacHex(method: string, key: string, data: string): string | null {
  let k = key;
  if (k.length > 64) {
    const d = digest(method, k);
    if (d === null) return null;
    k = d;
  }
  const inner = digest(method, xorPad(k, 0x36) + data);
  if (inner === null) return null;
  const outer = digest(method, xorPad(k, 0x5c) + inner);
  return outer === null ? null : toHex(outer);
}
