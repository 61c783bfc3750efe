// @lubdub/protocol: Heartbeat 3.0.6 compatible messages, authkeys, signing.
// Pure: no sockets, files or timers.

export * from "./portable/index.js";
export * from "./diagnostic.js";
export * from "./bytes.js";
export type { AuthMethod } from "./auth/method.js";
export { crc32posix, crcMethod } from "./auth/crc.js";
export { md5Method, sha1Method } from "./auth/hmac.js";
export { findMethod, methodNames } from "./auth/methods.js";
export * from "./auth/authkeys.js";
export * from "./auth/sign.js";
export * from "./auth/verify.js";
export * from "./messages/types.js";
export * from "./messages/build.js";
export * from "./messages/read.js";
