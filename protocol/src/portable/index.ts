// The portable part of the protocol: what the device firmware needs (deframe,
// decode, read a few fields, pass frames on unchanged). Everything reachable
// from here stays inside the portable subset (see tools/portable-check).

export * from "./limits.js";
export * from "./errors.js";
export * from "./message.js";
export * from "./numbers.js";
export * from "./base64.js";
export * from "./netstring.js";
export * from "./classic.js";
export * from "./decode.js";
export * from "./deframer.js";
export * from "./device.js";
