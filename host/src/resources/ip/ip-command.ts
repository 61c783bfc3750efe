// Runs iproute2's `ip` (and other short commands) with a deadline, never
// throwing, and reads `ip -j addr show`. lubdub builds no netlink messages of
// its own: `ip` is the interface every Linux administrator can replay by hand.
//
// A network namespace may be given: `ip -n NS ...` then acts inside it, and
// other commands run under `ip netns exec NS` (as the OCF IPaddr2 agent's
// network_namespace parameter does). lubdubd itself uses none; tests do.

import { spawn } from "node:child_process";
import type { IfAddr, IfInfo } from "./address.js";

/** The most one `ip` command may take, whatever is left of the action's timeout. */
export const IP_COMMAND_TIMEOUT_MS = 5000;
/** Output kept per stream; `ip -j addr show` on a host with many interfaces stays far below. */
export const MAX_COMMAND_OUTPUT_BYTES = 4 * 1024 * 1024;
/** After a command exits, how long its output may take to arrive. */
export const OUTPUT_DRAIN_MS = 200;

export interface CommandOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface CommandResult {
  argv: string[];
  /** Exit code 0. */
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  /** Could not be started (ENOENT…). */
  spawnError: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs argv[0] with the rest as arguments; kills it (SIGKILL) past the timeout or on abort. Never rejects. */
export function runCommand(argv: string[], o: CommandOptions): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let stdout = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    let child: ReturnType<typeof spawn> | undefined;
    const onAbort = () => {
      aborted = true;
      child?.kill("SIGKILL");
    };
    const finish = (exitCode: number | null, spawnError: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      resolve({ argv, ok: exitCode === 0 && !timedOut && !aborted, exitCode, timedOut, aborted, spawnError, stdout, stderr, durationMs: performance.now() - started });
    };
    if (o.signal?.aborted) {
      aborted = true;
      finish(null, null);
      return;
    }
    if (o.timeoutMs <= 0) {
      timedOut = true;
      finish(null, null);
      return;
    }
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    } catch (e) {
      finish(null, (e as Error).message);
      return;
    }
    timer = setTimeout(() => {
      timedOut = true;
      child?.kill("SIGKILL");
    }, o.timeoutMs);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => {
      if (stdout.length < MAX_COMMAND_OUTPUT_BYTES) stdout += s;
    });
    child.stderr!.on("data", (s: string) => {
      if (stderr.length < MAX_COMMAND_OUTPUT_BYTES) stderr += s;
    });
    child.on("error", (e) => finish(null, e.message));
    // "close" comes after the streams have ended, so all output is in. A
    // killed command is done at its exit (anything it left running may hold
    // the pipes open); so is one whose pipes stay open past OUTPUT_DRAIN_MS.
    child.on("close", (code) => finish(code, null));
    child.on("exit", (code) => {
      if (timedOut || aborted) finish(code, null);
      else setTimeout(() => finish(code, null), OUTPUT_DRAIN_MS).unref();
    });
  });
}

/** `ip` with its arguments, inside a namespace when one is given. */
export function ipArgv(args: string[], netns: string | null = null): string[] {
  return netns ? ["ip", "-n", netns, ...args] : ["ip", ...args];
}

/** Another command, inside a namespace when one is given. */
export function inNetns(argv: string[], netns: string | null = null): string[] {
  return netns ? ["ip", "netns", "exec", netns, ...argv] : argv;
}

/** "ip -4 addr add … failed (exit 2): RTNETLINK answers: File exists" */
export function describeFailure(r: CommandResult, timeoutMs?: number): string {
  const cmd = r.argv.join(" ");
  if (r.spawnError) return `${cmd}: could not run (${r.spawnError})`;
  if (r.timedOut) return `${cmd}: timed out${timeoutMs !== undefined ? ` after ${timeoutMs} ms` : ""} and was killed`;
  if (r.aborted) return `${cmd}: cancelled`;
  const why = r.stderr.trim() || r.stdout.trim();
  return `${cmd} failed (exit ${r.exitCode})${why ? `: ${why}` : ""}`;
}

interface JsonAddr {
  family?: unknown;
  local?: unknown;
  prefixlen?: unknown;
  broadcast?: unknown;
  label?: unknown;
  secondary?: unknown;
}

interface JsonLink {
  ifindex?: unknown;
  ifname?: unknown;
  flags?: unknown;
  link_type?: unknown;
  address?: unknown;
  addr_info?: unknown;
}

/**
 * Reads `ip -j addr show` into interfaces with their IPv4 addresses (other
 * families are dropped). Anything that is not that JSON gives an error.
 */
export function parseIpAddrJson(text: string): IfInfo[] | { error: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { error: `ip -j addr show printed something that is not JSON (${(e as Error).message})` };
  }
  if (!Array.isArray(data)) return { error: "ip -j addr show did not print a list of interfaces" };
  const out: IfInfo[] = [];
  for (const raw of data as JsonLink[]) {
    if (typeof raw !== "object" || raw === null || typeof raw.ifname !== "string") continue;
    const flags = Array.isArray(raw.flags) ? raw.flags.filter((f): f is string => typeof f === "string") : [];
    const addrs: IfAddr[] = [];
    for (const a of Array.isArray(raw.addr_info) ? (raw.addr_info as JsonAddr[]) : []) {
      if (typeof a !== "object" || a === null || a.family !== "inet") continue;
      if (typeof a.local !== "string" || typeof a.prefixlen !== "number") continue;
      addrs.push({
        local: a.local,
        prefixlen: a.prefixlen,
        broadcast: typeof a.broadcast === "string" ? a.broadcast : null,
        label: typeof a.label === "string" ? a.label : raw.ifname,
        secondary: a.secondary === true,
      });
    }
    out.push({
      name: raw.ifname,
      index: typeof raw.ifindex === "number" ? raw.ifindex : -1,
      up: flags.includes("UP"),
      loopback: flags.includes("LOOPBACK") || raw.link_type === "loopback",
      mac: raw.link_type === "ether" && typeof raw.address === "string" ? raw.address : null,
      addrs,
    });
  }
  return out;
}

/** `ip -j addr show`, read. */
export async function listInterfaces(o: CommandOptions & { netns?: string | null }): Promise<{ ifaces: IfInfo[]; result: CommandResult } | { error: string; result: CommandResult }> {
  const result = await runCommand(ipArgv(["-j", "addr", "show"], o.netns ?? null), o);
  if (!result.ok) return { error: describeFailure(result, o.timeoutMs), result };
  const parsed = parseIpAddrJson(result.stdout);
  if ("error" in parsed) return { error: parsed.error, result };
  return { ifaces: parsed, result };
}
