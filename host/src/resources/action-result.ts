// From a script's outcome to an ActionResult: shared by the script classes.

import type { ActionResult } from "./resource-class.js";
import { describeOutcome, type ScriptOutcome } from "./run-script.js";

/** The script's output, with a note when lubdub ended it or could not run it. */
export function outputOf(o: ScriptOutcome, timeoutMs: number): string {
  if (o.exitCode !== null) return o.output;
  const note = `[lubdub: ${describeOutcome(o, timeoutMs)}]`;
  return o.output.length > 0 ? `${o.output}${o.output.endsWith("\n") ? "" : "\n"}${note}` : note;
}

/** start/stop: success is exit code 0. */
export function exitZero(o: ScriptOutcome, timeoutMs: number): ActionResult {
  return { ok: o.exitCode === 0 && !o.timedOut, exitCode: o.exitCode, timedOut: o.timedOut, output: outputOf(o, timeoutMs) };
}

/** A status answer. A script that did not answer (timeout, not runnable) is "failed". */
export function statusResult(o: ScriptOutcome, timeoutMs: number, state: "running" | "stopped" | "failed"): ActionResult {
  const s = o.exitCode === null ? "failed" : state;
  return { ok: s === "running", exitCode: o.exitCode, timedOut: o.timedOut, output: outputOf(o, timeoutMs), state: s };
}

/** A spec without a path (a bug in resolution, or a hand-made spec). */
export function noScript(name: string): ActionResult {
  return { ok: false, exitCode: null, timedOut: false, output: `[lubdub: no script path for resource '${name}']`, state: "failed" };
}
