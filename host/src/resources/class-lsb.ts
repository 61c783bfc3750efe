// Init scripts (/etc/init.d/NAME): `NAME start|stop|status`, as
// ResourceManager runs them (arguments given in haresources, if any, come
// before the action, as ResourceManager passes them).
//
// start and stop succeed on exit code 0. status follows the LSB exit codes:
// 0 running, 3 stopped; 1 (dead, pid file left), 2 (dead, lock file left),
// 4 (unknown) and anything else are not running but not cleanly stopped
// either: "failed".

import type { Action, ActionContext, ActionResult, ResourceClass, ResourceSpec } from "./resource-class.js";
import { exitZero, noScript, statusResult } from "./action-result.js";
import { UNSET_FOR_SCRIPTS } from "./class-heartbeat.js";
import { runScript } from "./run-script.js";

export const LSB_STATUS_RUNNING = 0;
export const LSB_STATUS_STOPPED = 3;

export const lsbClass: ResourceClass = {
  name: "lsb",
  async run(spec: ResourceSpec, action: Action, ctx: ActionContext): Promise<ActionResult> {
    if (!spec.path) return noScript(spec.raw);
    const o = await runScript({ path: spec.path, args: [...spec.args, action], env: { ...UNSET_FOR_SCRIPTS, ...ctx.env }, timeoutMs: ctx.timeoutMs, signal: ctx.signal });
    if (action !== "status") return exitZero(o, ctx.timeoutMs);
    const state = o.exitCode === LSB_STATUS_RUNNING ? "running" : o.exitCode === LSB_STATUS_STOPPED ? "stopped" : "failed";
    return statusResult(o, ctx.timeoutMs, state);
  },
};
