// Fencing: fence types, the policy and its FenceHook, the device client.
export * from "./types.js";
export * from "./registry.js";
export * from "./config.js";
export * from "./policy.js";
export { BaytechDevice, BAYTECH_TIMEOUTS, type BaytechTimeouts } from "./baytech.js";
export { ExternalDevice } from "./external.js";
export { FenceAgentDevice } from "./fence-agent.js";
export { ManualConfirmations, ManualDevice } from "./manual.js";
export { LubdubDevice } from "./lubdub.js";
export type { DeviceLink } from "./device/link.js";
export { LinkListeners } from "./device/link.js";
export { HostDeviceClient, DeviceError } from "./device/client.js";
export { SerialDeviceLink } from "./device/serial-link.js";
export * from "./setup.js";
