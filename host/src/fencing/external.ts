// `external/NAME`: a cluster-glue external STONITH plugin, an executable in
// the plugins directory (/usr/lib/stonith/plugins/external unless
// configured), called as cluster-glue's external.so calls it:
//   PLUGIN getconfignames | getinfo-* | gethosts | status | reset HOST | on HOST | off HOST
// with the device parameters as environment variables (named exactly as
// getconfignames lists them), HA_LOGTAG=external/NAME, no stdin, and exit 0
// meaning success. Host names are passed lowercased. A plugin file that is
// not a regular file, not executable, or writable by group or others is
// refused, as cluster-glue refuses it. Unlike cluster-glue, the plugin runs
// without a shell (argv, not `sh -c`) and under a time limit.

import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { outputSummary, runProgram } from "./run.js";
import { abortedOutcome, done, fail, type FenceAction, type FenceDevice, type FenceEnv, type FenceOutcome, type FenceRequest, type FenceType } from "./types.js";

/** getconfignames and the getinfo ops are quick; the rest get this long unless told otherwise. */
export const EXTERNAL_INFO_TIMEOUT_MS = 10_000;
export const EXTERNAL_OP_TIMEOUT_MS = 120_000;
/** cluster-glue's S_RESETFAIL, what a failed reset exits with by convention. */
export const S_RESETFAIL = 5;

const PLUGIN_NAME = /^[A-Za-z0-9._+-]+$/;

/** Why the plugin file cannot be used, or null. */
export function externalPluginProblem(path: string): string | null {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    return `${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such plugin" : (e as Error).message}`;
  }
  if (!st.isFile()) return `${path}: not a regular file`;
  if ((st.mode & 0o022) !== 0) return `${path}: writable by group or others (cluster-glue ignores such plugins; chmod go-w)`;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `${path}: not executable`;
  }
  return null;
}

export function externalPluginPath(typeName: string, env: Pick<FenceEnv, "externalDir">): string | null {
  const name = typeName.slice("external/".length);
  if (!PLUGIN_NAME.test(name) || name === "." || name === "..") return null;
  return join(env.externalDir, name);
}

function pluginEnv(typeName: string, params: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...params, HA_LOGTAG: typeName };
}

export class ExternalDevice implements FenceDevice {
  readonly describe: string;

  constructor(
    readonly type: string,
    private readonly path: string,
    private readonly params: Record<string, string>,
    private readonly env: FenceEnv,
    private readonly timeoutMs = EXTERNAL_OP_TIMEOUT_MS,
  ) {
    this.describe = `${type} (${path})`;
  }

  private run(args: string[], signal?: AbortSignal, timeoutMs = this.timeoutMs) {
    return runProgram([this.path, ...args], { env: pluginEnv(this.type, this.params), timeoutMs, ...(signal ? { signal } : {}) });
  }

  async fence(req: FenceRequest): Promise<FenceOutcome> {
    if (req.action === "status") {
      // The API has no per-host state: the best it tells is that the device works.
      const o = await this.check(req.signal);
      return o.ok ? done("unknown", "external plugins report the device, not the host") : o;
    }
    const op: Record<Exclude<FenceAction, "status">, string> = { reboot: "reset", off: "off", on: "on" };
    const r = await this.run([op[req.action], req.node.toLowerCase()], req.signal);
    if (r.aborted) return abortedOutcome(req.signal, this.type);
    if (r.timedOut) return fail("timeout", `${this.type} ${op[req.action]} ${req.node}: no answer within ${this.timeoutMs} ms`);
    if (r.error !== undefined) return fail("config", `${this.type}: cannot run ${this.path}: ${r.error}`);
    for (const line of r.stdout.split("\n").filter((l) => l.trim())) this.env.log("info", "fence.device-output", `${this.type}: ${line}`, { type: this.type });
    if (r.code !== 0) return fail("failed", `${this.type} ${op[req.action]} ${req.node} exited ${r.code}${outputSummary(r) ? `: ${outputSummary(r)}` : ""}`);
    return done(req.action === "reboot" ? "unknown" : req.action, `${op[req.action]} exited 0`);
  }

  async check(signal?: AbortSignal): Promise<FenceOutcome> {
    const r = await this.run(["status"], signal);
    if (r.aborted) return abortedOutcome(signal, this.type);
    if (r.timedOut) return fail("timeout", `${this.type} status: no answer within ${this.timeoutMs} ms`);
    if (r.code !== 0) return fail("unreachable", `${this.type} status exited ${r.code ?? r.error}${outputSummary(r) ? `: ${outputSummary(r)}` : ""}`);
    return done("unknown");
  }

  async hosts(signal?: AbortSignal): Promise<string[]> {
    const r = await this.run(["gethosts"], signal, EXTERNAL_INFO_TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`${this.type} gethosts exited ${r.code ?? r.error}`);
    const hosts = r.stdout.split(/\s+/).filter(Boolean);
    if (hosts.length === 0) throw new Error(`${this.type} gethosts listed no host`);
    return hosts;
  }
}

export const externalType: FenceType = {
  name: "external/NAME",
  matches: (t) => t.startsWith("external/") && t.length > "external/".length,
  configNames(t, env) {
    const path = externalPluginPath(t, env);
    if (path === null) return { error: `${t}: not a plugin name` };
    const problem = externalPluginProblem(path);
    if (problem) return { error: problem };
    // Heartbeat asks the plugin while reading ha.cf; so does lubdub.
    const r = spawnSync(path, ["getconfignames"], { encoding: "utf8", timeout: EXTERNAL_INFO_TIMEOUT_MS, env: { ...process.env, HA_LOGTAG: t } });
    if (r.status !== 0) return { error: `${path} getconfignames failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})` };
    const names = r.stdout.split(/\s+/).filter(Boolean);
    return { names, required: names.length };
  },
  validate(t, _p, env) {
    const path = externalPluginPath(t, env);
    if (path === null) return [`${t}: not a plugin name`];
    const problem = externalPluginProblem(path);
    return problem ? [problem] : [];
  },
  create: (t, p, env) => new ExternalDevice(t, externalPluginPath(t, env)!, p, env),
};
