// The Espruino HMAC-SHA1 (built over a bare SHA1, as Espruino's crypto module
// offers) matches Node's HMAC.

import { createHash, createHmac } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hmacSha1 } from "./hmac.js";

const sha1 = (s: string): string => createHash("sha1").update(Buffer.from(s, "latin1")).digest().toString("latin1");

test("matches Node for short, block-sized, long and binary keys", () => {
  const keys = ["", "k", "secret key", "x".repeat(64), "y".repeat(65), "z".repeat(200), "\x00\xff\x80binary"];
  const data = ["", "hello", ">>>\nt=status\nsrc=a\n<<<\n", "\x00\x01\xfe\xff".repeat(50)];
  for (const k of keys) {
    for (const d of data) {
      const want = createHmac("sha1", Buffer.from(k, "latin1")).update(Buffer.from(d, "latin1")).digest("hex");
      assert.is(hmacSha1(sha1, k, d), want, JSON.stringify([k, d]));
    }
  }
});

test("RFC 2202 test case 2", () => {
  assert.is(hmacSha1(sha1, "Jefe", "what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
});

test.run();
