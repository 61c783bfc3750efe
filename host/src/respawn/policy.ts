// When a respawn client is started again, and how its output reaches the log.
// Pure decisions on an injected clock: no processes, no timers.
//
// Heartbeat 3.0.6 (heartbeat.c, ManagedChildDied): a client that exits is
// started again unless it exited with status 100 or heartbeat is shutting
// down; one that keeps dying within 30 s is started after a 1 s pause, and
// after more than 10 such deaths in a row it is logged as "respawning too
// fast" and left dead. lubdub keeps the exit-100 and shutdown rules and
// replaces the give-up with an exponential backoff capped at a minute, so a
// client whose trouble passes comes back without an operator.

/** A client exiting with this status asks not to be started again (Heartbeat's rule). */
export const NO_RESPAWN_EXIT_CODE = 100;
/** Delay before the first restart after an exit. */
export const INITIAL_BACKOFF_MS = 1000;
/** The delay doubles for each quick exit in a row, up to this. */
export const MAX_BACKOFF_MS = 60_000;
/** A run at least this long counts as healthy: the next delay starts again from the initial one. */
export const STABLE_RUN_MS = 60_000;

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: INITIAL_BACKOFF_MS, maxMs: MAX_BACKOFF_MS, stableMs: STABLE_RUN_MS };

/** How a client process ended (one of code and signal is set). */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export type RestartDecision =
  | {
      restart: true;
      /** When to start it again (clock time). */
      startAt: number;
      delayMs: number;
      /** How long the run that just ended lasted. */
      ranMs: number;
      /** Quick exits in a row, this one included (1 after a healthy run). */
      quickExits: number;
      /** True once per streak, when the delay first reaches the maximum: worth a warning. */
      tooFast: boolean;
    }
  | { restart: false; ranMs: number; reason: "exit-100" | "stopping" };

/** The delay after `quickExits` quick exits in a row (1, 2, 3, ...). */
export function backoffDelay(quickExits: number, s: BackoffSettings = DEFAULT_BACKOFF): number {
  if (quickExits <= 1) return Math.min(s.initialMs, s.maxMs);
  // 2^(n-1) overflows to Infinity long after the cap is reached; min() handles it.
  return Math.min(s.initialMs * 2 ** (quickExits - 1), s.maxMs);
}

/** The restart policy of one client. */
export class RestartPolicy {
  private startedAt: number | null = null;
  private quick = 0;

  constructor(
    private readonly now: () => number,
    private readonly settings: BackoffSettings = DEFAULT_BACKOFF,
  ) {}

  /** The client was just started. */
  started(): void {
    this.startedAt = this.now();
  }

  /** The client just ended; `stopping` when the agent is shutting down. */
  exited(exit: ExitStatus, stopping: boolean): RestartDecision {
    const now = this.now();
    const ranMs = this.startedAt === null ? 0 : Math.max(0, now - this.startedAt);
    this.startedAt = null;
    if (stopping) return { restart: false, ranMs, reason: "stopping" };
    if (exit.code === NO_RESPAWN_EXIT_CODE) return { restart: false, ranMs, reason: "exit-100" };
    this.quick = ranMs >= this.settings.stableMs ? 1 : this.quick + 1;
    const delayMs = backoffDelay(this.quick, this.settings);
    const tooFast = this.quick > 1 && delayMs >= this.settings.maxMs && backoffDelay(this.quick - 1, this.settings) < this.settings.maxMs;
    return { restart: true, startAt: now + delayMs, delayMs, ranMs, quickExits: this.quick, tooFast };
  }
}

/** Longest line of client output that reaches the log; the rest is cut. */
export const MAX_OUTPUT_LINE_CHARS = 1000;
/** At most this many output lines per client reach the log per window... */
export const OUTPUT_LINES_PER_WINDOW = 50;
/** ...of this length; the lines over are counted and reported once the window ends. */
export const OUTPUT_WINDOW_MS = 10_000;

/** Rate limit for one client's output lines. */
export class OutputLimiter {
  private windowStart: number | null = null;
  private inWindow = 0;
  private dropped = 0;

  constructor(
    private readonly now: () => number,
    private readonly perWindow = OUTPUT_LINES_PER_WINDOW,
    private readonly windowMs = OUTPUT_WINDOW_MS,
  ) {}

  /**
   * Whether the next line may be logged, and how many lines were dropped in
   * the window that just ended (to report before it), if one ended.
   */
  take(): { allow: boolean; droppedBefore: number } {
    const now = this.now();
    let droppedBefore = 0;
    if (this.windowStart === null || now - this.windowStart >= this.windowMs) {
      droppedBefore = this.dropped;
      this.windowStart = now;
      this.inWindow = 0;
      this.dropped = 0;
    }
    if (this.inWindow < this.perWindow) {
      this.inWindow++;
      return { allow: true, droppedBefore };
    }
    this.dropped++;
    return { allow: false, droppedBefore };
  }

  /** Lines dropped and not yet reported (for the report when the client ends). */
  flush(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }
}

/**
 * Splits a byte stream into lines with bounded memory: a line longer than
 * `maxChars` is cut there (marked truncated) and the rest of it skipped.
 */
export class LineSplitter {
  private pending = "";
  private skipping = false;
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  constructor(private readonly maxChars = MAX_OUTPUT_LINE_CHARS) {}

  push(chunk: Uint8Array): { text: string; truncated: boolean }[] {
    return this.take(this.decoder.decode(chunk, { stream: true }));
  }

  /** The stream ended: whatever is left, as a last line. */
  end(): { text: string; truncated: boolean }[] {
    const out = this.take(this.decoder.decode());
    if (!this.skipping && this.pending.length > 0) out.push({ text: clean(this.pending), truncated: false });
    this.pending = "";
    this.skipping = false;
    return out;
  }

  private take(s: string): { text: string; truncated: boolean }[] {
    const out: { text: string; truncated: boolean }[] = [];
    let from = 0;
    for (;;) {
      const nl = s.indexOf("\n", from);
      const piece = nl < 0 ? s.slice(from) : s.slice(from, nl);
      if (!this.skipping) {
        this.pending += piece;
        if (this.pending.length > this.maxChars) {
          out.push({ text: clean(this.pending.slice(0, this.maxChars)), truncated: true });
          this.pending = "";
          this.skipping = nl < 0;
        } else if (nl >= 0) {
          out.push({ text: clean(this.pending), truncated: false });
          this.pending = "";
        }
      } else if (nl >= 0) {
        this.skipping = false;
      }
      if (nl < 0) break;
      from = nl + 1;
    }
    return out;
  }
}

function clean(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
