// Runs a fencing program (a cluster-glue plugin, a fence agent, an alert
// command) without a shell, with a time limit, stdin text, captured output
// (bounded) and an AbortSignal. The program runs in a process group of its
// own so that a timeout ends it and whatever it started.

import { spawn } from "node:child_process";

export interface RunResult {
  /** Exit status; null when it was killed (timeout, abort) or could not start. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the program could not be started. */
  error?: string;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_OUTPUT = 256 * 1024;

export function runProgram(argv: string[], o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const child = spawn(argv[0]!, argv.slice(1), { env: o.env ?? process.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, o.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener("abort", onAbort, { once: true });
    const finish = (code: number | null, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      const r: RunResult = { code: timedOut || aborted ? null : code, stdout, stderr, timedOut, aborted, ms: Date.now() - started };
      if (error !== undefined) r.error = error;
      resolve(r);
    };
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString("utf8");
    });
    child.stdin.on("error", () => {});
    child.once("error", (e) => finish(null, e.message));
    child.once("close", (code) => finish(code));
    child.stdin.end(o.stdin ?? "");
  });
}

/** One line for logs: the first lines of stderr/stdout, trimmed. */
export function outputSummary(r: RunResult, max = 300): string {
  const text = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(0, 3).join(" | ");
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
