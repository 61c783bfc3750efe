// Resources: haresources, resolution of resource names, resource classes and
// the group runner.
export * from "./resource-class.js";
export * from "./ip-argument.js";
export * from "./resolve.js";
export * from "./haresources.js";
export * from "./run-script.js";
export * from "./script-env.js";
export * from "./class-heartbeat.js";
export * from "./class-lsb.js";
export * from "./class-ocf.js";
export * from "./classes.js";
export * from "./group-runner.js";
