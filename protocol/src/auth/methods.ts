// The methods authkeys may name.

import type { AuthMethod } from "./method.js";
import { crcMethod } from "./crc.js";
import { md5Method, sha1Method } from "./hmac.js";

const METHODS: readonly AuthMethod[] = [crcMethod, md5Method, sha1Method];

export function findMethod(name: string): AuthMethod | undefined {
  return METHODS.find((m) => m.name === name);
}

export function methodNames(): string[] {
  return METHODS.map((m) => m.name);
}
