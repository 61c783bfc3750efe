// The host cores the simulator composes. @lubdub/host exports membership and
// fencing but not failover, and a relative import cannot name one file both
// from tools/sim (type checking) and from tools/dist/sim (run time), so the
// types come from the host project's declarations and the values are loaded
// from host/dist by URL. A `./failover/*` export in host/package.json would
// make this file a plain re-export.

import type * as FailoverModule from "../../host/dist/failover/failover.js";
import type * as MembershipModule from "../../host/dist/membership/index.js";
import type * as PolicyModule from "../../host/dist/fencing/policy.js";
import type * as TypesModule from "../../host/dist/fencing/types.js";
import type * as ClientModule from "../../host/dist/fencing/device/client.js";

const HOST_DIST = new URL("../../../host/dist/", import.meta.url);

async function load<T>(path: string): Promise<T> {
  return (await import(new URL(path, HOST_DIST).href)) as T;
}

export const failoverModule = await load<typeof FailoverModule>("failover/failover.js");
export const membershipModule = await load<typeof MembershipModule>("membership/index.js");
export const policyModule = await load<typeof PolicyModule>("fencing/policy.js");
export const fenceTypesModule = await load<typeof TypesModule>("fencing/types.js");
export const clientModule = await load<typeof ClientModule>("fencing/device/client.js");

export type Failover = FailoverModule.Failover;
export type FailoverEffect = FailoverModule.FailoverEffect;
export type AutoFailback = FailoverModule.AutoFailback;
export type GroupInfo = FailoverModule.GroupInfo;
export type Membership = MembershipModule.Membership;
export type Effect = MembershipModule.Effect;
export type FencePolicy = PolicyModule.FencePolicy;
export type FencePolicyConfig = PolicyModule.FencePolicyConfig;
export type PolicyEffect = PolicyModule.PolicyEffect;
export type FenceOutcome = TypesModule.FenceOutcome;
