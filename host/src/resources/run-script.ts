// Runs one resource script the way every class needs it: its own process
// group (so a timeout kills the script and everything it started and left
// in the foreground), a deadline, bounded captured output, never throwing.
//
// A script that exits normally may leave daemons behind holding its stdout
// (init scripts do that); the result is returned shortly after the script
// itself exits, without waiting for them, and they are not killed.

import { spawn } from "node:child_process";

/** Captured stdout and stderr are each bounded to this many bytes (head and tail kept). */
export const MAX_SCRIPT_OUTPUT_BYTES = 64 * 1024;
/** After the script exits, how long to wait for the rest of its output. */
export const OUTPUT_DRAIN_MS = 200;
/** After killing a script's group, how long to wait for it to exit before giving up on it (a process stuck in the kernel cannot be killed). */
export const KILL_WAIT_MS = 5000;

export interface ScriptRun {
  path: string;
  args: string[];
  /** Merged over the agent's environment; a value of null removes the variable. */
  env?: Record<string, string | null>;
  timeoutMs: number;
  signal?: AbortSignal;
  cwd?: string;
  maxOutputBytes?: number;
}

export interface ScriptOutcome {
  /** Exit code, or null when killed (timeout, abort, signal) or not started. */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The script could not be started (ENOENT, EACCES…). */
  spawnError: string | null;
  stdout: string;
  /** stdout and stderr interleaved as they arrived, for logs. */
  output: string;
  durationMs: number;
}

/** Keeps the first and last half of what it is given, with a note of what was dropped. */
class Bounded {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  private dropped = 0;
  constructor(private readonly limit: number) {}

  add(b: Buffer): void {
    const half = Math.floor(this.limit / 2);
    if (this.headLen < half) {
      const take = b.subarray(0, half - this.headLen);
      this.head.push(take);
      this.headLen += take.length;
      b = b.subarray(take.length);
    }
    if (b.length === 0) return;
    this.tail.push(b);
    this.tailLen += b.length;
    const keep = this.limit - half;
    while (this.tailLen > keep) {
      const first = this.tail[0]!;
      const excess = this.tailLen - keep;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailLen -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailLen -= excess;
        this.dropped += excess;
      }
    }
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    const tail = Buffer.concat(this.tail).toString("utf8");
    return this.dropped > 0 ? `${head}\n[... ${this.dropped} bytes of output dropped ...]\n${tail}` : head + tail;
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Runs the script; resolves when it has exited (or was killed). Never rejects. */
export function runScript(run: ScriptRun): Promise<ScriptOutcome> {
  const started = Date.now();
  const limit = run.maxOutputBytes ?? MAX_SCRIPT_OUTPUT_BYTES;
  const stdout = new Bounded(limit);
  const output = new Bounded(limit);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(run.env ?? {})) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let giveUp: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const finish = (o: Pick<ScriptOutcome, "exitCode" | "signal" | "spawnError">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(giveUp);
      if (onAbort) run.signal?.removeEventListener("abort", onAbort);
      resolve({ ...o, timedOut, aborted, stdout: stdout.text(), output: output.text(), durationMs: Date.now() - started });
    };
    if (run.signal?.aborted) {
      aborted = true;
      finish({ exitCode: null, signal: null, spawnError: null });
      return;
    }
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(run.path, run.args, { env, cwd: run.cwd ?? "/", detached: true, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      finish({ exitCode: null, signal: null, spawnError: (e as Error).message });
      return;
    }
    const kill = () => {
      killGroup(child.pid);
      giveUp ??= setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ exitCode: null, signal: null, spawnError: null });
      }, KILL_WAIT_MS);
    };
    timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, run.timeoutMs);
    onAbort = () => {
      aborted = true;
      kill();
    };
    run.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout!.on("data", (b: Buffer) => {
      stdout.add(b);
      output.add(b);
    });
    child.stderr!.on("data", (b: Buffer) => output.add(b));
    child.on("error", (e) => {
      // Spawn failures (ENOENT, EACCES) arrive here; no exit follows.
      finish({ exitCode: null, signal: null, spawnError: e.message });
    });
    child.on("exit", (code, sig) => {
      clearTimeout(timer);
      // A timeout may have fired with the script already ending: its group is killed either way.
      if (timedOut || aborted) killGroup(child.pid);
      let pending = 2;
      const done = () => {
        if (--pending > 0) return;
        clearTimeout(drain);
        child.stdout!.destroy();
        child.stderr!.destroy();
        finish({ exitCode: code, signal: sig, spawnError: null });
      };
      const drain = setTimeout(() => {
        pending = 1;
        done();
      }, OUTPUT_DRAIN_MS);
      const closed = (s: NodeJS.ReadableStream & { closed?: boolean }) => {
        if (s.closed) done();
        else s.once("close", done);
      };
      closed(child.stdout!);
      closed(child.stderr!);
    });
  });
}

/** A short description of how a script ended, for messages. */
export function describeOutcome(o: ScriptOutcome, timeoutMs: number): string {
  if (o.spawnError) return `could not run: ${o.spawnError}`;
  if (o.timedOut) return `timed out after ${timeoutMs} ms and was killed with its process group`;
  if (o.aborted) return "cancelled";
  if (o.signal) return `killed by ${o.signal}`;
  return `exit code ${o.exitCode}`;
}
