// `ip -4 addr add` and `addr del` without a process start on the takeover
// path: an `ip -4 -force -batch -` is started ahead of time and waits on its
// stdin; when a command is due, it is written there with a sentinel line
// after it, and stdin is closed. Each such process runs exactly one command:
// a long-lived `ip -batch` keeps the interface names it has resolved
// (iproute2's ll_map cache), so after an interface is deleted and created
// again under the same name it would send the next command to the old index
// ("Device not found", or another interface if the index were reused). One
// command per process resolves the name when the command runs, as a fresh
// `ip` does; the next one is started after a pause, off the takeover's path.
//
// Completion and errors are read from stderr, where ip reports a failed
// command in batch mode ("<ip's error>" then "Command failed -:LINE"): the
// sentinel (line 2, an unknown object, which fails without touching the
// kernel) proves that line 1 was done, and "Command failed -:1" that it
// failed. A waiting process that is gone, or ends without the sentinel,
// runs nothing for us: the command is then run as an ordinary `ip` process
// (add and del are safe to repeat: "already assigned" and "not found" count
// as done). Past the deadline, or on abort, it is killed like any command.
//
// In another network namespace (`ip -n NS`, tests), the waiting process
// entered it when it started; it is used only while /run/netns/NS is still
// that namespace (same inode), and never when the option is off.

import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { type CommandOptions, type CommandResult, ipArgv, runCommand } from "./ip-command.js";

/** After a waiting `ip` was used, the next one starts this much later (ms), so its start is not on the path of what follows. */
export const REWARM_DELAY_MS = 1000;
const SENTINEL = "lubdub-sentinel";
const MAX_STDERR = 64 * 1024;

interface Waiting {
  child: ChildProcess;
  /** Inode of the namespace it entered, or null for the agent's own. */
  nsIno: number | null;
  exited: boolean;
  stderr: string;
  onStderr: (() => void) | null;
}

const waiting = new Map<string, Waiting>();
const rewarmTimers = new Map<string, NodeJS.Timeout>();

function nsPath(netns: string): string {
  return netns.includes("/") ? netns : `/run/netns/${netns}`;
}

/** The namespace's inode, null for the agent's own, undefined when it cannot be read. */
function nsInode(netns: string | null): number | null | undefined {
  if (netns === null) return null;
  try {
    return statSync(nsPath(netns)).ino;
  } catch {
    return undefined;
  }
}

function start(netns: string | null): Waiting | null {
  const ino = nsInode(netns);
  if (ino === undefined) return null;
  let child: ChildProcess;
  try {
    child = spawn("ip", [...(netns ? ["-n", netns] : []), "-4", "-force", "-batch", "-"], { stdio: ["pipe", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  } catch {
    return null;
  }
  const w: Waiting = { child, nsIno: ino, exited: false, stderr: "", onStderr: null };
  const key = netns ?? "";
  const gone = () => {
    w.exited = true;
    if (waiting.get(key) === w) waiting.delete(key);
    w.onStderr?.();
  };
  child.on("error", gone);
  child.on("close", gone);
  child.stdin!.on("error", () => undefined);
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    if (w.stderr.length < MAX_STDERR) w.stderr += s;
    w.onStderr?.();
  });
  // A waiting ip never holds the agent's exit; it ends at EOF when the agent does.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return w;
}

/** Makes sure an `ip` waits for the next command in this namespace (starts one now if none does and none is due). */
export function warmIp(netns: string | null): void {
  const key = netns ?? "";
  if (rewarmTimers.has(key)) return;
  const w = waiting.get(key);
  if (w && !w.exited) return;
  const s = start(netns);
  if (s) waiting.set(key, s);
}

function take(netns: string | null): Waiting | null {
  const key = netns ?? "";
  const w = waiting.get(key);
  waiting.delete(key);
  if (!rewarmTimers.has(key)) {
    const timer = setTimeout(() => {
      rewarmTimers.delete(key);
      warmIp(netns);
    }, REWARM_DELAY_MS);
    timer.unref();
    rewarmTimers.set(key, timer);
  }
  if (!w || w.exited) return null;
  if (nsInode(netns) !== w.nsIno) {
    w.child.kill("SIGKILL");
    return null;
  }
  return w;
}

/** The waiting `ip` of a namespace, if any (tests). */
export function waitingIp(netns: string | null): ChildProcess | undefined {
  return waiting.get(netns ?? "")?.child;
}

/** Ends every waiting `ip` and pending restart (tests, shutdown). */
export function closeWarmIp(): void {
  for (const t of rewarmTimers.values()) clearTimeout(t);
  rewarmTimers.clear();
  for (const w of waiting.values()) w.child.kill("SIGKILL");
  waiting.clear();
}

/** Words ip's batch parser takes as they are: no blanks, quotes, backslashes or comment signs. */
function plain(args: string[]): boolean {
  return args.every((a) => a.length > 0 && !/[\s"'\\#]/.test(a));
}

/**
 * `ip [-n NS] -4 ARGS…` through a waiting `ip -batch` when there is one (see
 * above), otherwise as its own process. The result is what runCommand gives
 * for that command line (argv is the equivalent `ip` command).
 */
export async function runIp4(args: string[], netns: string | null, o: CommandOptions & { warm: boolean }): Promise<CommandResult> {
  const argv = ipArgv(["-4", ...args], netns);
  const w = o.warm && plain(args) ? take(netns) : null;
  if (!w) return runCommand(argv, o);
  const started = performance.now();
  const r = await new Promise<CommandResult | null>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const base = { argv, timedOut: false, aborted: false, spawnError: null, stdout: "" };
    const finish = (x: CommandResult | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      w.onStderr = null;
      o.signal?.removeEventListener("abort", onAbort);
      resolve(x);
    };
    const onAbort = () => {
      w.child.kill("SIGKILL");
      finish({ ...base, ok: false, exitCode: null, aborted: true, stderr: "", durationMs: performance.now() - started });
    };
    if (o.signal?.aborted) return onAbort();
    timer = setTimeout(() => {
      w.child.kill("SIGKILL");
      finish({ ...base, ok: false, exitCode: null, timedOut: true, stderr: "", durationMs: performance.now() - started });
    }, Math.max(0, o.timeoutMs));
    o.signal?.addEventListener("abort", onAbort, { once: true });
    w.onStderr = () => {
      const text = w.stderr;
      const failedAt = text.indexOf("Command failed -:1\n");
      const doneAt = text.indexOf("Command failed -:2\n");
      if (doneAt >= 0) {
        const ok = failedAt < 0;
        const stderr = ok ? text.slice(0, text.indexOf(`"${SENTINEL}"`)).replace(/[^\n]*$/, "") : text.slice(0, failedAt);
        finish({ ...base, ok, exitCode: ok ? 0 : 1, stderr, durationMs: performance.now() - started });
      } else if (w.exited) {
        finish(null);
      }
    };
    w.child.stdin!.end(`${args.join(" ")}\n${SENTINEL}\n`);
    w.onStderr();
  });
  if (r) return r;
  // The waiting ip could not run it (gone, or not an ip that reports as expected): run it on its own.
  return runCommand(argv, { ...o, timeoutMs: Math.max(0, o.timeoutMs - Math.ceil(performance.now() - started)) });
}
