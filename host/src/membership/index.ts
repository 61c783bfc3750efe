export * from "./effects.js";
export * from "./membership.js";
export * from "./limits.js";
