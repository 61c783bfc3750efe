// Heartbeat resource scripts (<config dir>/resource.d/NAME), called the way
// ResourceManager calls them:
//
//   NAME ARG1 ARG2 … start|stop|status
//
// start and stop succeed on exit code 0. status is judged by what it prints,
// never by its exit code (ResourceManager's we_own_resource):
//
//   case `$spath $arg status` in
//     *[Nn][Oo][Tt]\ *[Rr]unning*)  stopped
//     *[Rr]unning*|*OK*)            running
//     *)                            stopped

import type { Action, ActionContext, ActionResult, ResourceClass, ResourceSpec } from "./resource-class.js";
import { exitZero, noScript, statusResult } from "./action-result.js";
import { runScript } from "./run-script.js";

const NOT_RUNNING = /[Nn][Oo][Tt] [^]*[Rr]unning/;
const RUNNING = /[Rr]unning|OK/;

/** ResourceManager's reading of a status script's stdout: does it say the resource runs? */
export function statusSaysRunning(stdout: string): boolean {
  if (NOT_RUNNING.test(stdout)) return false;
  return RUNNING.test(stdout);
}

/** ResourceManager unsets these for every script ("make ifconfig work in France"). */
export const UNSET_FOR_SCRIPTS = { LC_ALL: null, LANGUAGE: null } as const;

export const heartbeatClass: ResourceClass = {
  name: "heartbeat",
  async run(spec: ResourceSpec, action: Action, ctx: ActionContext): Promise<ActionResult> {
    if (!spec.path) return noScript(spec.raw);
    const o = await runScript({ path: spec.path, args: [...spec.args, action], env: { ...UNSET_FOR_SCRIPTS, ...ctx.env }, timeoutMs: ctx.timeoutMs, signal: ctx.signal });
    if (action !== "status") return exitZero(o, ctx.timeoutMs);
    return statusResult(o, ctx.timeoutMs, statusSaysRunning(o.stdout) ? "running" : "stopped");
  },
};
