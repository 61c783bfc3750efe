// A real lubdubd for tests: writes its config dir, starts it (inside a test
// namespace when a lab is given), collects its JSON log lines, and asks it
// questions through the real `lubdub` CLI.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { STARTUP_DT_PERIOD_MS } from "@lubdub/host/membership";
import { REPO_ROOT } from "./paths.js";
import type { NetnsLab } from "./netns.js";

export const LUBDUBD = join(REPO_ROOT, "host/dist/daemon/lubdubd.js");
export const LUBDUB = join(REPO_ROOT, "host/dist/cli/lubdub.js");
/** Past STARTUP_DT_PERIOD_MS: a keepalive (the tests use up to 500 ms) for the status that lowers dt again, and its way to the peer. */
const STARTUP_SLACK_MS = 1000;

export interface LogRecord {
  event?: string;
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface HaDir {
  hacf: string;
  authkeys: string;
  haresources?: string;
}

/** Writes ha.cf, authkeys (0600) and haresources into `dir`. */
export function writeHaDir(dir: string, c: HaDir): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ha.cf"), c.hacf.endsWith("\n") ? c.hacf : c.hacf + "\n");
  writeFileSync(join(dir, "authkeys"), c.authkeys);
  chmodSync(join(dir, "authkeys"), 0o600);
  writeFileSync(join(dir, "haresources"), c.haresources ?? "");
}

export class AgentProc {
  readonly records: LogRecord[] = [];
  /** Where the current run's records begin. */
  private startMark = 0;
  readonly stderr: string[] = [];
  private child: ChildProcess | null = null;
  private waiters: Array<() => void> = [];
  exitCode: number | null = null;

  constructor(
    readonly node: string,
    readonly base: string,
    private readonly lab: NetnsLab | null,
    private readonly host: number,
  ) {}

  get configDir(): string {
    return join(this.base, "etc");
  }
  get stateDir(): string {
    return join(this.base, "state");
  }
  get runDir(): string {
    return join(this.base, "run");
  }

  /**
   * Gives the agent (and the resource agents it runs) a /run/resource-agents
   * of its own: OCF agents keep their state there, and two test nodes on one
   * machine must not see each other's. Only inside a lab namespace, where
   * `ip netns exec` already gave the process a mount namespace of its own.
   */
  privateResourceState = false;

  /**
   * Resolves once this agent advertises plain deadtime: for its first
   * STARTUP_DT_PERIOD_MS a node advertises deadtime + 2 s (as Heartbeat
   * does), so a failure injected earlier is found later than deadtime. Tests
   * that time a failure against deadtime wait for this. Counted from the
   * daemon's own start (node.started: Node's start-up before it varies with
   * the machine's load), then a keepalive for the status that lowers dt.
   */
  async pastStartup(): Promise<void> {
    const started = await this.waitFor((r) => r.event === "node.started", 30_000, this.startMark, "node.started");
    await sleep(Date.parse(String(started.time)) + STARTUP_DT_PERIOD_MS + STARTUP_SLACK_MS - Date.now());
  }

  start(): void {
    this.startMark = this.records.length;
    let argv = [process.execPath, LUBDUBD, "--config-dir", this.configDir, "--state-dir", this.stateDir, "--run-dir", this.runDir, "--node-name", this.node];
    if (this.privateResourceState && this.lab) {
      argv = ["sh", "-c", 'mkdir -p /run/resource-agents && mount -t tmpfs lubdub-rsc /run/resource-agents && exec "$@"', "sh", ...argv];
    }
    this.exitCode = null;
    const child = this.lab ? this.lab.exec(this.host, argv) : spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.records.push(JSON.parse(line) as LogRecord);
        } catch {
          this.stderr.push(line);
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    child.stderr!.on("data", (d: Buffer) => this.stderr.push(d.toString()));
    child.once("exit", (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : -1);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves with the first record (from index `from`) matching, or rejects after `ms`. */
  waitFor(pred: (r: LogRecord) => boolean, ms: number, from = 0, what = "log record"): Promise<LogRecord> {
    const until = Date.now() + ms;
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.records.slice(from).find(pred);
        if (hit) return resolve(hit);
        if (Date.now() >= until) {
          return reject(new Error(`${this.node}: no ${what} within ${ms} ms; last events: ${this.records.slice(-8).map((r) => r.event).join(", ")}; stderr: ${this.stderr.join("").slice(-400)}`));
        }
        this.waiters.push(check);
        setTimeout(check, Math.min(250, until - Date.now()));
      };
      check();
    });
  }

  event(name: string, fields: Record<string, unknown> = {}, ms = 15000, from = 0): Promise<LogRecord> {
    return this.waitFor((r) => r.event === name && Object.entries(fields).every(([k, v]) => r[k] === v), ms, from, `${name} ${JSON.stringify(fields)}`);
  }

  /** `lubdub ARGS --run-dir RUN` from the root namespace (the socket is a file). */
  cli(args: string[]): { code: number; out: string } {
    const [cmd, ...rest] = args;
    const r = spawnSync(process.execPath, [LUBDUB, cmd!, "--run-dir", this.runDir, ...rest], { encoding: "utf8", timeout: 10000 });
    return { code: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
  }

  status(): any {
    const r = this.cli(["status", "--json"]);
    return JSON.parse(r.out);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child?.pid && this.exitCode === null) process.kill(this.child.pid, sig);
  }

  /** SIGTERM and wait for exit (SIGKILL after a bound). */
  async stop(ms = 5000): Promise<number | null> {
    if (!this.child || this.exitCode !== null) return this.exitCode;
    const child = this.child;
    const gone = new Promise<void>((r) => (this.exitCode !== null ? r() : child.once("exit", () => r())));
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), ms);
    await gone;
    clearTimeout(timer);
    return this.exitCode;
  }

  kill9(): Promise<void> {
    const child = this.child;
    if (!child || this.exitCode !== null) return Promise.resolve();
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    this.signal("SIGKILL");
    return gone;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
