// The keyed methods: standard HMAC (RFC 2104) over the raw key bytes.

import { createHmac } from "node:crypto";
import type { AuthMethod } from "./method.js";

function hmacMethod(name: string, algorithm: string): AuthMethod {
  return {
    name,
    keyed: true,
    digest(key: string, data: string): string {
      return createHmac(algorithm, Buffer.from(key, "latin1")).update(data, "latin1").digest("hex");
    },
  };
}

export const md5Method: AuthMethod = hmacMethod("md5", "md5");
export const sha1Method: AuthMethod = hmacMethod("sha1", "sha1");
