// Runs ha.cf's `respawn` clients the way Heartbeat 3.0.6 does, with the
// process handling here and every decision in policy.ts:
//   - each client runs as its user (uid, primary gid and supplementary
//     groups, like Heartbeat's initgroups/setgid/setuid), in its own process
//     group, with cwd /, stdin from /dev/null, an environment of the `env`
//     values (as HA_NAME, Heartbeat's prefix) and a minimal PATH;
//   - its stdout and stderr go to the agent's log, line by line, cut to a
//     bounded length and rate-limited;
//   - when it exits it is started again after a backoff, except when it
//     exited with status 100 or the agent is stopping;
//   - a client whose user does not exist, or whose program cannot be
//     executed, is logged and left out; the agent keeps running;
//   - stop() ends the clients in reverse ha.cf order, as Heartbeat does:
//     SIGTERM to the client's process group, SIGKILL if it is still there
//     after STOP_TIMEOUT_MS.

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { logEvent, type AgentLogger } from "../agent/log.js";
import type { RespawnDirective } from "../config/types.js";
import type { Level } from "../membership/effects.js";
import { programProblem } from "./check.js";
import { DEFAULT_BACKOFF, LineSplitter, OutputLimiter, RestartPolicy, type BackoffSettings } from "./policy.js";
import { lookupUserAsync, type AsyncUserLookup, type UserIds } from "./users.js";

/** How long stop() waits after SIGTERM before it sends SIGKILL. */
export const STOP_TIMEOUT_MS = 10_000;
/** How long stop() waits after SIGKILL before it reports a client that will not die and moves on. */
export const KILL_WAIT_MS = 5_000;
/** How often stop() looks whether a client's processes are gone. */
const STOP_POLL_MS = 50;
/** The PATH respawn clients get. */
export const CLIENT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
/** Heartbeat exports `env NAME=VALUE` as HA_NAME. */
export const ENV_PREFIX = "HA_";
/** util-linux's setpriv sets the uid, gid and supplementary groups before exec; Node's spawn can only set uid and gid. */
export const SETPRIV = "/usr/bin/setpriv";

/** The environment of a respawn client: the `env` values as HA_NAME, and PATH. */
export function clientEnvironment(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { PATH: CLIENT_PATH };
  for (const [name, value] of Object.entries(env)) out[ENV_PREFIX + name] = value;
  return out;
}

export type ClientState =
  /** Not started yet (its user is being looked up). */
  | "idle"
  | "running"
  /** Exited; waiting for its restart. */
  | "backoff"
  /** Exited with status 100: not started again. */
  | "exited"
  /** Its user does not exist, or the agent cannot switch to it. */
  | "refused"
  /** Its program cannot be executed, or the process could not be created. */
  | "failed"
  /** stop() is ending it. */
  | "stopping"
  | "stopped";

export interface ClientSnapshot {
  user: string;
  argv: string[];
  /** Its ha.cf line. */
  line: number;
  state: ClientState;
  pid: number | null;
  uid: number | null;
  gid: number | null;
  /** Times it was started again after an exit. */
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: number; ranMs: number } | null;
  /** When the pending restart is due (clock time), while in backoff. */
  nextStartAt: number | null;
}

export interface SupervisorOptions {
  clients: RespawnDirective[];
  /** ha.cf's `env` values, names as written. */
  env: Record<string, string>;
  log: AgentLogger;
  /** The clock (ms); Date.now unless a test sets it. */
  now?: () => number;
  /** Backoff settings other than the defaults (tests). */
  backoff?: Partial<BackoffSettings>;
  /** SIGTERM-to-SIGKILL wait other than STOP_TIMEOUT_MS (tests). */
  stopTimeoutMs?: number;
  /** How user names are resolved; the system's name service unless a test says otherwise. */
  lookupUser?: AsyncUserLookup;
}

interface Client {
  spec: RespawnDirective;
  label: string;
  state: ClientState;
  child: ChildProcess | null;
  pid: number | null;
  ids: UserIds | null;
  policy: RestartPolicy;
  limiter: OutputLimiter;
  restarts: number;
  lastExit: ClientSnapshot["lastExit"];
  nextStartAt: number | null;
  timer: NodeJS.Timeout | null;
}

type Plan = { ok: true; command: string; args: string[]; options: SpawnOptions } | { ok: false; why: string };

export class Supervisor {
  private readonly clients: Client[];
  private readonly env: Record<string, string>;
  private readonly log: AgentLogger;
  private readonly now: () => number;
  private readonly stopTimeoutMs: number;
  private readonly lookup: AsyncUserLookup;
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private warnedNoSetpriv = false;

  constructor(o: SupervisorOptions) {
    this.log = o.log;
    this.now = o.now ?? Date.now;
    this.env = clientEnvironment(o.env);
    this.stopTimeoutMs = o.stopTimeoutMs ?? STOP_TIMEOUT_MS;
    this.lookup = o.lookupUser ?? lookupUserAsync;
    const backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
    this.clients = o.clients.map((spec) => ({
      spec: { ...spec, argv: [...spec.argv] },
      label: spec.argv.join(" "),
      state: "idle",
      child: null,
      pid: null,
      ids: null,
      policy: new RestartPolicy(this.now, backoff),
      limiter: new OutputLimiter(this.now),
      restarts: 0,
      lastExit: null,
      nextStartAt: null,
      timer: null,
    }));
  }

  /** Starts every client, in ha.cf order. Never throws for a client's sake: problems are logged. */
  start(): void {
    if (this.started) throw new Error("respawn supervisor already started");
    this.started = true;
    void this.resolveAndLaunch();
  }

  /** Ends every client (reverse ha.cf order); resolves when all are gone. Safe to call more than once. */
  stop(): Promise<void> {
    if (!this.stopped) this.stopped = this.stopAll();
    return this.stopped;
  }

  snapshot(): ClientSnapshot[] {
    return this.clients.map((c) => ({
      user: c.spec.user,
      argv: [...c.spec.argv],
      line: c.spec.line,
      state: c.state,
      pid: c.child ? c.pid : null,
      uid: c.ids?.uid ?? null,
      gid: c.ids?.gid ?? null,
      restarts: c.restarts,
      lastExit: c.lastExit ? { ...c.lastExit } : null,
      nextStartAt: c.nextStartAt,
    }));
  }

  private event(level: Level, event: string, c: Client, msg: string, fields: Record<string, unknown> = {}): void {
    logEvent(this.log, level, event, msg, { client: c.label, user: c.spec.user, hacfLine: c.spec.line, ...fields });
  }

  private plan(c: Client, ids: UserIds): Plan {
    const argv = c.spec.argv;
    const base: SpawnOptions = { cwd: "/", env: this.env, stdio: ["ignore", "pipe", "pipe"], detached: true };
    const myUid = process.getuid?.() ?? -1;
    if (myUid === 0) {
      if (existsSync(SETPRIV)) {
        const groups = ids.groups.length > 0 ? ["--groups", ids.groups.join(",")] : ["--clear-groups"];
        return { ok: true, command: SETPRIV, args: ["--reuid", String(ids.uid), "--regid", String(ids.gid), ...groups, "--", ...argv], options: base };
      }
      if (!this.warnedNoSetpriv) {
        this.warnedNoSetpriv = true;
        this.event("warn", "respawn.no-setpriv", c, `${SETPRIV} not found (Debian package util-linux): respawn clients get their uid and gid but no supplementary groups`);
      }
      return { ok: true, command: argv[0]!, args: argv.slice(1), options: { ...base, uid: ids.uid, gid: ids.gid } };
    }
    if (ids.uid === myUid) return { ok: true, command: argv[0]!, args: argv.slice(1), options: base };
    return { ok: false, why: `the agent runs as uid ${myUid}, not root, and cannot switch to user '${ids.name}'` };
  }

  /**
   * Users are resolved once, without blocking the agent (a name service can
   * take seconds), and kept for the restarts, as Heartbeat keeps the uid and
   * gid it read with ha.cf. The clients then start in ha.cf order.
   */
  private async resolveAndLaunch(): Promise<void> {
    const ids = await Promise.all(
      this.clients.map(async (c) => {
        try {
          return await this.lookup(c.spec.user);
        } catch {
          return null;
        }
      }),
    );
    this.clients.forEach((c, i) => {
      if (this.stopping) {
        c.state = "stopped";
        return;
      }
      const found = ids[i] ?? null;
      if (!found) {
        c.state = "refused";
        this.event("error", "respawn.user-unknown", c, `respawn client ${c.label}: user '${c.spec.user}' does not exist; not started`);
        return;
      }
      c.ids = found;
      this.launch(c);
    });
  }

  private launch(c: Client): void {
    c.timer = null;
    c.nextStartAt = null;
    const ids = c.ids;
    if (this.stopping || !ids) {
      c.state = "stopped";
      return;
    }
    const why = programProblem(c.spec.argv[0]!);
    if (why) {
      // Heartbeat checks the same before each start and leaves such a client dead.
      c.state = "failed";
      this.event("error", "respawn.cannot-exec", c, `respawn client ${c.label}: ${c.spec.argv[0]} ${why}; not started`);
      return;
    }
    const plan = this.plan(c, ids);
    if (!plan.ok) {
      c.state = "refused";
      this.event("error", "respawn.cannot-switch-user", c, `respawn client ${c.label}: ${plan.why}; not started`);
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(plan.command, plan.args, plan.options);
    } catch (e) {
      c.state = "failed";
      this.event("error", "respawn.spawn-failed", c, `respawn client ${c.label}: cannot create the process: ${(e as Error).message}`);
      return;
    }
    c.child = child;
    c.pid = child.pid ?? null;
    c.state = "running";
    c.policy.started();
    child.on("error", (e) => {
      // Only a process that could not be created ends here (no pid, no exit event follows).
      if (c.child !== child || child.pid !== undefined) return;
      c.child = null;
      c.pid = null;
      c.state = this.stopping ? "stopped" : "failed";
      this.event("error", "respawn.spawn-failed", c, `respawn client ${c.label}: cannot create the process: ${e.message}`);
    });
    if (c.pid !== null) {
      this.event("info", "respawn.started", c, `started respawn client ${c.label} as ${ids.name} (uid ${ids.uid}, gid ${ids.gid}), pid ${c.pid}`, {
        pid: c.pid,
        uid: ids.uid,
        gid: ids.gid,
        groups: ids.groups.join(","),
        restarts: c.restarts,
      });
    }
    for (const [stream, readable] of [["stdout", child.stdout], ["stderr", child.stderr]] as const) {
      if (!readable) continue;
      const splitter = new LineSplitter();
      const pid = c.pid;
      readable.on("data", (chunk: Buffer) => {
        for (const l of splitter.push(chunk)) this.output(c, pid, stream, l);
      });
      readable.on("end", () => {
        for (const l of splitter.end()) this.output(c, pid, stream, l);
      });
      readable.on("error", () => {
        /* the pipe closed under us: nothing more to read */
      });
    }
    child.on("exit", (code, signal) => this.exited(c, child, code, signal));
    // After the output pipes closed too: lines cut by the rate limit and not yet reported.
    child.on("close", () => {
      const dropped = c.limiter.flush();
      if (dropped > 0) this.dropped(c, dropped);
    });
  }

  private output(c: Client, pid: number | null, stream: "stdout" | "stderr", l: { text: string; truncated: boolean }): void {
    const { allow, droppedBefore } = c.limiter.take();
    if (droppedBefore > 0) this.dropped(c, droppedBefore);
    if (!allow) return;
    this.event("info", "respawn.output", c, `${c.label}[${pid ?? "?"}] ${stream}: ${l.text}${l.truncated ? " [cut]" : ""}`, { pid, stream, truncated: l.truncated });
  }

  private dropped(c: Client, n: number): void {
    this.event("warn", "respawn.output-dropped", c, `${n} output lines of respawn client ${c.label} not logged (more than the rate limit)`, { lines: n });
  }

  private exited(c: Client, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (c.child !== child) return;
    const pid = c.pid;
    c.child = null;
    const d = c.policy.exited({ code, signal }, this.stopping);
    c.lastExit = { code, signal, at: this.now(), ranMs: d.ranMs };
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    const fields = { pid, code, signal, ranMs: d.ranMs };
    if (!d.restart) {
      if (d.reason === "stopping") {
        c.state = "stopped";
        this.event("info", "respawn.stopped", c, `respawn client ${c.label} (pid ${pid}) ${how}`, fields);
      } else {
        c.state = "exited";
        this.event("warn", "respawn.not-restarted", c, `respawn client ${c.label} (pid ${pid}) exited with status 100 after ${d.ranMs} ms: not started again (status 100 asks for that, as in Heartbeat)`, fields);
      }
      return;
    }
    c.state = "backoff";
    c.nextStartAt = d.startAt;
    this.event("warn", "respawn.exited", c, `respawn client ${c.label} (pid ${pid}) ${how} after ${d.ranMs} ms; starting it again in ${d.delayMs} ms`, {
      ...fields,
      delayMs: d.delayMs,
      quickExits: d.quickExits,
    });
    if (d.tooFast) {
      this.event("warn", "respawn.too-fast", c, `respawn client ${c.label} keeps exiting (${d.quickExits} times in a row); restarts are now ${d.delayMs} ms apart`, { quickExits: d.quickExits, delayMs: d.delayMs });
    }
    c.timer = setTimeout(() => {
      c.restarts++;
      this.launch(c);
    }, d.delayMs);
  }

  private async stopAll(): Promise<void> {
    this.stopping = true;
    for (const c of this.clients) {
      if (c.state === "idle") c.state = "stopped";
      if (c.timer) {
        clearTimeout(c.timer);
        c.timer = null;
        c.nextStartAt = null;
        c.state = "stopped";
      }
    }
    for (const c of [...this.clients].reverse()) await this.stopOne(c);
  }

  private async stopOne(c: Client): Promise<void> {
    const pgid = c.pid;
    if (c.child === null || pgid === null) return;
    c.state = "stopping";
    this.event("info", "respawn.stopping", c, `stopping respawn client ${c.label} (pid ${pgid}): SIGTERM`, { pid: pgid });
    signalGroup(pgid, "SIGTERM");
    if (await this.gone(c, pgid, this.stopTimeoutMs)) return;
    this.event("warn", "respawn.killed", c, `respawn client ${c.label} (pid ${pgid}) still there ${this.stopTimeoutMs} ms after SIGTERM: SIGKILL`, { pid: pgid });
    signalGroup(pgid, "SIGKILL");
    if (await this.gone(c, pgid, KILL_WAIT_MS)) return;
    this.event("error", "respawn.stop-stuck", c, `respawn client ${c.label} (pid ${pgid}) survives SIGKILL for ${KILL_WAIT_MS} ms (uninterruptible sleep?); giving up on it`, { pid: pgid });
  }

  /** Waits until the client and the rest of its process group are gone; false after `ms`. */
  private async gone(c: Client, pgid: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (c.child === null && !groupAlive(pgid)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((r) => setTimeout(r, Math.min(STOP_POLL_MS, left)));
    }
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Whether any live process is left in the group. Zombies do not count: an
 * orphan killed with the group waits for init to reap it, and kill(-pgid, 0)
 * would still find it.
 */
export function groupAlive(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((n) => /^[0-9]+$/.test(n));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "EPERM";
    }
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may hold blanks and parentheses.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) === pgid && f[0] !== "Z" && f[0] !== "X") return true;
  }
  return false;
}
