// The shell that probes ping nodes: one long-running system `ping` (iputils)
// per address, its output read line by line.
//
//   ping -n -O -i INTERVAL -w LIFETIME ADDRESS      (LC_ALL=C)
//
// Why a long-running ping rather than `ping -c 1 -W T` per probe: one process
// per address for an hour instead of one fork and exec per address per
// keepalive (86 400 a day at 1 s), with the same information: every reply is
// a line as it arrives, and -O prints "no answer yet" for each probe that got
// no reply before the next was sent, so every probe has an outcome within
// one interval. The rest is covered here:
//   - a ping that prints nothing for SILENCE (5 intervals, at least 5 s) is
//     hung: it is killed and started again;
//   - a ping that exits (no route at start, -w LIFETIME reached, killed) is
//     started again, at once after a long run, else after a delay that
//     doubles up to MAX_RESTART_DELAY_MS;
//   - if the agent dies, each ping dies of SIGPIPE at its next line (within
//     one interval), and in any case at LIFETIME;
//   - ICMP needs no privilege here beyond what Debian's ping already has
//     (cap_net_raw or ping_group_range); no native npm module is needed.
// Whether a ping node is up or dead is not decided here: replies go to the
// ping core, which applies deadping. Nothing here throws.

import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

/** iputils refuses shorter intervals to unprivileged users; keepalive below this is rounded up. */
export const MIN_PROBE_INTERVAL_MS = 200;
/** Each ping process ends after this (ping -w) and is started again: bounds an orphan's life, renews its route and source address. */
export const PROBE_LIFETIME_S = 3600;
/** A ping that printed nothing for this long is hung (5 intervals, at least this). */
export const MIN_SILENCE_LIMIT_MS = 5000;
/** Restart delays double up to this. */
export const MAX_RESTART_DELAY_MS = 30_000;
/** A run at least this long counts as healthy: the next restart is immediate. */
const HEALTHY_RUN_MS = 10_000;
/** Longer output lines are not ping's; they are dropped. */
const MAX_LINE_BYTES = 4096;
/** The same problem is reported at most this often per address. */
const PROBLEM_REPORT_INTERVAL_MS = 60_000;
/** stop() waits this long for a ping to end on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 1000;

const REPLY = /^\d+ bytes from ([0-9.]+): icmp_seq=\d+/;

export interface PingerOptions {
  /** Distinct IPv4 addresses to probe (PingCore.addresses()). */
  addresses: readonly string[];
  /** Probe interval: ha.cf keepalive. */
  intervalMs: number;
  /** An echo reply from `address`, seen at `at` (the `now` clock). */
  onReply: (address: string, at: number) => void;
  /** Something went wrong with the probing of `address` (rate-limited); for the log. */
  onProblem?: (address: string, detail: string) => void;
  /** The ping program (default "ping", found on PATH). */
  command?: string;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
  /** Overrides the hung-ping limit (tests). */
  silenceLimitMs?: number;
}

export interface ProbeStats {
  address: string;
  running: boolean;
  pid: number | null;
  replies: number;
  starts: number;
  lastReplyAt: number | null;
}

class Prober {
  private child: ChildProcess | null = null;
  private startedAt = 0;
  private lastOutputAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDelay: number;
  private stopped = false;
  private buf = "";
  private lastStderr = "";
  private reported = new Map<string, number>();
  replies = 0;
  starts = 0;
  lastReplyAt: number | null = null;

  constructor(
    readonly address: string,
    private readonly o: Required<Omit<PingerOptions, "addresses" | "onProblem">> & { onProblem: (a: string, d: string) => void },
  ) {
    this.restartDelay = o.intervalMs;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const seconds = String(this.o.intervalMs / 1000);
    let child: ChildProcess;
    try {
      child = spawn(this.o.command, ["-n", "-O", "-i", seconds, "-w", String(PROBE_LIFETIME_S), this.address], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LC_ALL: "C", LANG: "C" },
      });
    } catch (e) {
      this.problem(`cannot start ${this.o.command}: ${(e as Error).message}`);
      this.scheduleRestart(0);
      return;
    }
    this.child = child;
    this.starts++;
    this.startedAt = this.lastOutputAt = this.o.now();
    this.buf = "";
    this.lastStderr = "";
    child.stdout?.setEncoding("latin1");
    child.stderr?.setEncoding("latin1");
    child.stdout?.on("data", (s: string) => this.onStdout(s));
    child.stderr?.on("data", (s: string) => {
      const lines = s.split("\n").map((l) => l.trim()).filter(Boolean);
      if (lines.length) this.lastStderr = lines[lines.length - 1]!.slice(0, 300);
    });
    let done = false;
    const finished = (why: string) => {
      if (done) return;
      done = true;
      if (this.child === child) this.child = null;
      if (this.stopped) return;
      const ran = this.o.now() - this.startedAt;
      const detail = this.lastStderr ? `${why}: ${this.lastStderr}` : why;
      // A normal end of life (-w) after a healthy run is not a problem.
      if (ran < HEALTHY_RUN_MS || this.lastStderr) this.problem(detail);
      this.scheduleRestart(ran);
    };
    child.on("error", (e) => finished(`${this.o.command}: ${e.message}`));
    // "close": after the exit and the last of its output, so its final stderr line is known.
    child.on("close", (code, signal) => finished(`ping ended (${signal ?? `exit ${code}`})`));
  }

  /** Called every interval: a ping that has gone quiet is hung. */
  watchdog(): void {
    const c = this.child;
    if (!c || this.stopped) return;
    const silent = this.o.now() - this.lastOutputAt;
    if (silent >= this.o.silenceLimitMs) {
      this.problem(`ping printed nothing for ${Math.round(silent)} ms: killing it (pid ${c.pid})`);
      this.lastOutputAt = this.o.now(); // one kill per silence
      kill(c, "SIGKILL");
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        kill(c, "SIGKILL");
        resolve();
      }, STOP_GRACE_MS);
      c.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      kill(c, "SIGTERM");
    });
  }

  running(): { running: boolean; pid: number | null } {
    return { running: this.child !== null, pid: this.child?.pid ?? null };
  }

  private onStdout(s: string): void {
    const now = this.o.now();
    this.lastOutputAt = now;
    this.buf += s;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = REPLY.exec(line);
      if (m && m[1] === this.address) {
        this.replies++;
        this.lastReplyAt = now;
        try {
          this.o.onReply(this.address, now);
        } catch {
          // the caller's problem; probing goes on
        }
      }
    }
    if (this.buf.length > MAX_LINE_BYTES) this.buf = "";
  }

  private scheduleRestart(ran: number): void {
    if (this.stopped) return;
    let delay: number;
    if (ran >= HEALTHY_RUN_MS) {
      delay = 0;
      this.restartDelay = this.o.intervalMs;
    } else {
      delay = this.restartDelay;
      this.restartDelay = Math.min(this.restartDelay * 2, MAX_RESTART_DELAY_MS);
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.start();
    }, delay);
  }

  private problem(detail: string): void {
    const now = this.o.now();
    const key = detail.replace(/\d+/g, "#");
    const last = this.reported.get(key);
    if (last !== undefined && now - last < PROBLEM_REPORT_INTERVAL_MS) return;
    if (this.reported.size > 100) this.reported.clear();
    this.reported.set(key, now);
    try {
      this.o.onProblem(this.address, detail);
    } catch {
      // ignore
    }
  }
}

function kill(c: ChildProcess, signal: NodeJS.Signals): void {
  try {
    c.kill(signal);
  } catch {
    // already gone
  }
}

/** Probes every address until stop(). */
export class Pinger {
  private readonly probers: Prober[];
  private watchdogTimer: NodeJS.Timeout | null = null;
  private started = false;
  readonly intervalMs: number;

  constructor(o: PingerOptions) {
    this.intervalMs = Math.max(MIN_PROBE_INTERVAL_MS, Math.round(o.intervalMs));
    const opts = {
      intervalMs: this.intervalMs,
      onReply: o.onReply,
      onProblem: o.onProblem ?? (() => {}),
      command: o.command ?? "ping",
      now: o.now ?? (() => performance.now()),
      silenceLimitMs: o.silenceLimitMs ?? Math.max(5 * this.intervalMs, MIN_SILENCE_LIMIT_MS),
    };
    this.probers = [...new Set(o.addresses)].map((a) => new Prober(a, opts));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const p of this.probers) p.start();
    this.watchdogTimer = setInterval(() => {
      for (const p of this.probers) p.watchdog();
    }, this.intervalMs);
  }

  /** Ends every ping process (SIGTERM, then SIGKILL after a second). */
  async stop(): Promise<void> {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.watchdogTimer = null;
    await Promise.all(this.probers.map((p) => p.stop()));
  }

  stats(): ProbeStats[] {
    return this.probers.map((p) => ({ address: p.address, ...p.running(), replies: p.replies, starts: p.starts, lastReplyAt: p.lastReplyAt }));
  }
}
