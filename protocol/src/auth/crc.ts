// Heartbeat's "crc" method: not a MAC, a 32-bit CRC (CRC-32/POSIX: polynomial
// 0x04C11DB7, MSB first, initial value 0, final value inverted, the length not
// appended) printed with %lx, i.e. without leading zeros.

import type { AuthMethod } from "./method.js";

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
}

/** CRC-32/POSIX of a byte string, as an unsigned integer. */
export function crc32posix(data: string): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) {
    crc = (crc << 8) ^ TABLE[((crc >>> 24) ^ data.charCodeAt(i)) & 0xff]!;
  }
  return ~crc >>> 0;
}

export const crcMethod: AuthMethod = {
  name: "crc",
  keyed: false,
  digest(_key: string, data: string): string {
    return crc32posix(data).toString(16);
  },
};
