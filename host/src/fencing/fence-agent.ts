// `fence_NAME`: a fence-agents agent (/usr/sbin/fence_NAME unless the
// agents directory is configured), run as Pacemaker's fencer runs it: no
// arguments, the parameters on stdin as name=value lines, `action=…`,
// `nodename=…` and the host argument (`plug=` unless pcmk_host_argument says
// otherwise; pcmk_host_map maps node names to plugs). Exit 0 is success;
// for status 0 means on and 2 means off. After `off` the state is read back
// with a `status` run and must be off.
//
// ha.cf form: `stonith_host * fence_ipmilan ip=10.0.0.5 username=admin password=secret`
// (fence agents have no getconfignames, so their parameters are named).
// Names starting with pcmk_ are lubdub's, as they are Pacemaker's, and never
// reach the agent.

import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { outputSummary, runProgram } from "./run.js";
import { abortedOutcome, done, fail, type FenceDevice, type FenceEnv, type FenceOutcome, type FenceRequest, type FenceType } from "./types.js";

/** Fence agents own their timeouts (power_timeout…); this bounds a run that never ends. */
export const FENCE_AGENT_TIMEOUT_MS = 120_000;
/** fence-agents' status exit code for "reachable and off". */
export const EC_STATUS_OFF = 2;

const AGENT_NAME = /^fence_[A-Za-z0-9_.-]+$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function fenceAgentPath(typeName: string, env: Pick<FenceEnv, "fenceAgentsDir">): string | null {
  return AGENT_NAME.test(typeName) ? join(env.fenceAgentsDir, typeName) : null;
}

function agentProblem(path: string): string | null {
  try {
    if (!statSync(path).isFile()) return `${path}: not a regular file`;
    accessSync(path, constants.X_OK);
    return null;
  } catch (e) {
    return `${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such fence agent (is fence-agents installed?)" : "not executable"}`;
  }
}

/** pcmk_host_map "node1:1;node2:2" (also with spaces or commas, as Pacemaker reads it). */
export function parseHostMap(text: string): Map<string, string> | null {
  const map = new Map<string, string>();
  for (const entry of text.split(/[;,\s]+/).filter(Boolean)) {
    const m = /^([^:=]+)[:=](.+)$/.exec(entry);
    if (!m) return null;
    map.set(m[1]!.toLowerCase(), m[2]!);
  }
  return map;
}

export class FenceAgentDevice implements FenceDevice {
  readonly describe: string;
  private readonly agentParams: Record<string, string> = {};
  private readonly hostArgument: string;
  private readonly hostMap: Map<string, string>;

  constructor(
    readonly type: string,
    private readonly path: string,
    params: Record<string, string>,
    private readonly timeoutMs = FENCE_AGENT_TIMEOUT_MS,
  ) {
    for (const [k, v] of Object.entries(params)) if (!k.startsWith("pcmk_")) this.agentParams[k] = v;
    this.hostArgument = params["pcmk_host_argument"] ?? "plug";
    this.hostMap = parseHostMap(params["pcmk_host_map"] ?? "") ?? new Map();
    const where = this.agentParams["ip"] ?? this.agentParams["ipaddr"] ?? this.agentParams["serial_port"] ?? "";
    this.describe = where ? `${type} ${where}` : type;
  }

  private stdin(action: string, node: string | null): string {
    const p: Record<string, string> = { ...this.agentParams, action };
    if (node !== null) {
      p["nodename"] = node;
      if (this.hostArgument !== "none" && this.agentParams[this.hostArgument] === undefined) p[this.hostArgument] = this.hostMap.get(node.toLowerCase()) ?? node;
    }
    return Object.entries(p).map(([k, v]) => `${k}=${v}\n`).join("");
  }

  private run(action: string, node: string | null, signal?: AbortSignal) {
    // Not PCMK_service: outside Pacemaker the agent keeps its own timeouts.
    const env = { ...process.env };
    delete env["PCMK_service"];
    return runProgram([this.path], { env, stdin: this.stdin(action, node), timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) });
  }

  async fence(req: FenceRequest): Promise<FenceOutcome> {
    const r = await this.run(req.action, req.node, req.signal);
    if (r.aborted) return abortedOutcome(req.signal, this.type);
    if (r.timedOut) return fail("timeout", `${this.type} ${req.action} ${req.node}: no answer within ${this.timeoutMs} ms`);
    if (r.error !== undefined) return fail("config", `${this.type}: cannot run ${this.path}: ${r.error}`);
    if (req.action === "status") {
      if (r.code === 0) return done("on");
      if (r.code === EC_STATUS_OFF) return done("off");
      return fail("unreachable", `${this.type} status ${req.node} exited ${r.code}${outputSummary(r) ? `: ${outputSummary(r)}` : ""}`);
    }
    if (r.code !== 0) return fail("failed", `${this.type} ${req.action} ${req.node} exited ${r.code}${outputSummary(r) ? `: ${outputSummary(r)}` : ""}`);
    if (req.action === "off") {
      const st = await this.fence({ ...req, action: "status" });
      if (!st.ok) return fail("unverified", `${this.type} off ${req.node} exited 0, but reading the state back failed: ${st.message}`);
      if (st.state !== "off") return fail("unverified", `${this.type} off ${req.node} exited 0, but status says ${st.state}`);
      return done("off");
    }
    return done(req.action === "on" ? "on" : "unknown", `${req.action} exited 0`);
  }

  async check(signal?: AbortSignal): Promise<FenceOutcome> {
    const r = await this.run("monitor", null, signal);
    if (r.aborted) return abortedOutcome(signal, this.type);
    if (r.code === 0) return done("unknown");
    return fail(r.timedOut ? "timeout" : "unreachable", `${this.type} monitor exited ${r.code ?? r.error ?? "by timeout"}${outputSummary(r) ? `: ${outputSummary(r)}` : ""}`);
  }

  async hosts(signal?: AbortSignal): Promise<string[]> {
    const r = await this.run("list", null, signal);
    if (r.code !== 0) throw new Error(`${this.type} list exited ${r.code ?? r.error}`);
    const out: string[] = [];
    for (const line of r.stdout.split("\n")) {
      const [id, alias] = line.trim().split(",");
      if (alias) out.push(alias);
      else if (id) out.push(id);
    }
    return out;
  }
}

export const fenceAgentType: FenceType = {
  name: "fence_NAME",
  matches: (t) => t.startsWith("fence_") && t.length > "fence_".length,
  configNames: () => ({ names: null, required: 0 }),
  validate(t, p, env) {
    const path = fenceAgentPath(t, env);
    if (path === null) return [`${t}: not a fence agent name`];
    const problems: string[] = [];
    const problem = agentProblem(path);
    if (problem) problems.push(problem);
    for (const k of Object.keys(p)) if (!PARAM_NAME.test(k)) problems.push(`${t}: '${k}' is not a parameter name`);
    if (p["pcmk_host_map"] !== undefined && parseHostMap(p["pcmk_host_map"]) === null) problems.push(`${t}: pcmk_host_map '${p["pcmk_host_map"]}' is not node:plug;node:plug`);
    if (p["action"] !== undefined) problems.push(`${t}: action= is chosen by lubdub (reboot, off, status); remove it`);
    return problems;
  },
  create: (t, p, env) => new FenceAgentDevice(t, fenceAgentPath(t, env)!, p),
};
