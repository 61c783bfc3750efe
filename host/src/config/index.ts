export * from "./types.js";
export * from "./interval.js";
export * from "./hacf.js";
export * from "./load.js";
export * from "./facilities.js";
