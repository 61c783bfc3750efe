// The host cores the simulator composes, imported the way any user of
// @lubdub/host would: membership, failover, the fencing policy and the
// device client core (host/package.json exports ./membership, ./failover/*
// and ./fencing/*).

export { Failover, RQSTDELAY_MS, STANDBY_TIMEOUT_MS, STARTING_TIMEOUT_MS, type AutoFailback, type FailoverEffect, type GroupInfo } from "@lubdub/host/failover/failover";
export { Membership, STARTUP_DT_BONUS_MS, type Effect } from "@lubdub/host/membership";
export { FencePolicy, type FencePolicyConfig, type PolicyEffect } from "@lubdub/host/fencing/policy";
export type { FenceOutcome } from "@lubdub/host/fencing/types";
export { DeviceClientCore, type DeviceClientEffect, type DeviceOpResult } from "@lubdub/host/fencing/device/client-core";
