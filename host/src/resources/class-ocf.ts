// OCF resource agents (ocf:PROVIDER:AGENT::name=value…), run as the OCF
// resource agent API says: the action as the only argument (status is
// "monitor"), the parameters as OCF_RESKEY_name, and OCF_ROOT,
// OCF_RESOURCE_INSTANCE, OCF_RESOURCE_TYPE, OCF_RESOURCE_PROVIDER.
//
// Exit codes: 0 success (monitor: running); 7 not running (monitor: cleanly
// stopped); 8 running as master and 9 failed master (both: running, it must
// be stopped to be released); 1-6 and anything else: errors.

import { dirname } from "node:path";
import type { Action, ActionContext, ActionResult, ResourceClass, ResourceSpec } from "./resource-class.js";
import { exitZero, noScript, statusResult } from "./action-result.js";
import { runScript } from "./run-script.js";

export const OCF_SUCCESS = 0;
export const OCF_NOT_RUNNING = 7;
export const OCF_RUNNING_MASTER = 8;
export const OCF_FAILED_MASTER = 9;

/** The OCF action for a haresources action. */
export function ocfAction(action: Action): string {
  return action === "status" ? "monitor" : action;
}

/** The environment an agent gets for one action. */
export function ocfEnv(spec: ResourceSpec, ctx: ActionContext): Record<string, string> {
  const env: Record<string, string> = { ...ctx.env };
  // path = OCF_ROOT/resource.d/PROVIDER/AGENT
  if (spec.path) env.OCF_ROOT = dirname(dirname(dirname(spec.path)));
  env.OCF_RA_VERSION_MAJOR = "1";
  env.OCF_RA_VERSION_MINOR = "0";
  env.OCF_RESOURCE_INSTANCE = spec.instance ?? spec.name;
  env.OCF_RESOURCE_TYPE = spec.name;
  if (spec.provider) env.OCF_RESOURCE_PROVIDER = spec.provider;
  // Agents that wait for something use the operation's timeout (Pacemaker's name for it).
  env.OCF_RESKEY_CRM_meta_timeout = String(ctx.timeoutMs);
  for (const [k, v] of Object.entries(spec.params)) env[`OCF_RESKEY_${k}`] = v;
  return env;
}

export const ocfClass: ResourceClass = {
  name: "ocf",
  async run(spec: ResourceSpec, action: Action, ctx: ActionContext): Promise<ActionResult> {
    if (!spec.path) return noScript(spec.raw);
    const o = await runScript({ path: spec.path, args: [ocfAction(action)], env: ocfEnv(spec, ctx), timeoutMs: ctx.timeoutMs, signal: ctx.signal });
    if (action !== "status") return exitZero(o, ctx.timeoutMs);
    const c = o.exitCode;
    const state = c === OCF_SUCCESS || c === OCF_RUNNING_MASTER || c === OCF_FAILED_MASTER ? "running" : c === OCF_NOT_RUNNING ? "stopped" : "failed";
    return statusResult(o, ctx.timeoutMs, state);
  },
};
