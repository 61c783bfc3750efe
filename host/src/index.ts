// @lubdub/host: the agent's building blocks, for tests and tools.
export * as membership from "./membership/index.js";
export * as fencing from "./fencing/index.js";
