// HMAC-SHA1 (RFC 2104) over a SHA1 function, for Espruino: its `crypto`
// module has SHA1 but no HMAC. Byte strings carry one byte per char.
//
// Espruino target code (not the shared core): esbuild lowers it for the
// interpreter, so the only rules are those of device-targets.md §1.2.

/** The SHA1 digest of a byte string, as a 20-byte byte string. */
export type Sha1 = (this: void, bytes: string) => string;

const BLOCK = 64;

function pad(key: string, x: number): string {
  let out = "";
  for (let i = 0; i < BLOCK; i++) out += String.fromCharCode((i < key.length ? key.charCodeAt(i) : 0) ^ x);
  return out;
}

/** HMAC-SHA1 of `data` under `key`, as 40 lower-case hex digits. */
export function hmacSha1(sha1: Sha1, key: string, data: string): string {
  if (key.length > BLOCK) key = sha1(key);
  const mac = sha1(pad(key, 0x5c) + sha1(pad(key, 0x36) + data));
  let hex = "";
  for (let i = 0; i < mac.length; i++) hex += (256 + mac.charCodeAt(i)).toString(16).slice(1);
  return hex;
}
