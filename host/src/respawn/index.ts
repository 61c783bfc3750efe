// ha.cf `respawn` clients: the supervisor, its restart policy, and the
// checks of what the machine must provide for them.
export * from "./policy.js";
export * from "./users.js";
export * from "./check.js";
export * from "./supervisor.js";
