// A stock Heartbeat 3.0.6 cluster node inside a test namespace: Debian's
// heartbeat runs with its own /etc/ha.d (bind-mounted), its own hostname, a
// private /run and /var/lib/heartbeat, in a PID namespace so that killing it
// ends every process it forked. cl_status runs inside the same namespaces.

import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import type { NetnsLab } from "./netns.js";

export const STOCK_HEARTBEAT_BIN = "/usr/libexec/heartbeat/heartbeat";
/**
 * Shell lines that give a stock heartbeat (inside fresh mount and UTS
 * namespaces) the node name "$1", "$2" as /etc/ha.d, and a private /run and
 * /var/lib/heartbeat, so two of them never share state.
 */
export const STOCK_PRIVATE_NODE_SH = `
  hostname "$1"
  mount --bind "$2" /etc/ha.d
  mount -t tmpfs tmpfs /run; mkdir -p /run/heartbeat /run/lock
  mount -t tmpfs tmpfs /var/lib/heartbeat
`;

/** The package's configuration directory, whose scripts a stock node needs. */
const STOCK_HA_D = "/etc/ha.d";

export class StockNode {
  private child: ChildProcess | null = null;
  readonly etc: string;
  readonly logPath: string;

  constructor(
    readonly node: string,
    readonly base: string,
    private readonly lab: NetnsLab,
    private readonly host: number,
  ) {
    this.etc = join(base, "etc");
    this.logPath = join(base, "ha-log");
  }

  /** Writes /etc/ha.d for it; a logfile line is added so its log can be read. */
  configure(hacf: string, authkeys: string, haresources = ""): void {
    mkdirSync(this.etc, { recursive: true });
    // Heartbeat's own scripts (rc.d, resource.d, harc, shellfuncs) come from the package.
    for (const name of readdirSync(STOCK_HA_D)) {
      if (["ha.cf", "authkeys", "haresources"].includes(name)) continue;
      cpSync(join(STOCK_HA_D, name), join(this.etc, name), { recursive: true });
    }
    writeFileSync(join(this.etc, "ha.cf"), `${hacf}\nlogfile ${this.logPath}\n`);
    writeFileSync(join(this.etc, "authkeys"), authkeys);
    chmodSync(join(this.etc, "authkeys"), 0o600);
    writeFileSync(join(this.etc, "haresources"), haresources);
  }

  start(): void {
    const script = `
      set -u
      ${STOCK_PRIVATE_NODE_SH}
      ${STOCK_HEARTBEAT_BIN}
      while :; do sleep 1; done
    `;
    this.child = this.lab.exec(this.host, ["unshare", "--mount", "--uts", "--pid", "--mount-proc", "--fork", "--kill-child=SIGKILL", "sh", "-c", script, "sh", this.node, this.etc]);
  }

  /** The shell that is PID 1 of its namespaces (unshare's only child). */
  private innerPid(): number {
    const pid = this.child?.pid;
    if (!pid) throw new Error("stock node not started");
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
    return Number(children[0]);
  }

  /** Runs the real cl_status inside the node's namespaces. */
  clStatus(args: string[]): { code: number; out: string } {
    const r = spawnSync("nsenter", ["--target", String(this.innerPid()), "--mount", "--uts", "--net", "--pid", "cl_status", ...args], { encoding: "utf8", timeout: 10000 });
    return { code: r.status ?? -1, out: r.stdout ?? "" };
  }

  log(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** Log lines without the syslog-style prefix. */
  logLines(): string[] {
    return this.log()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(/^.*heartbeat: \[\d+\]: /, ""));
  }

  async waitLog(re: RegExp, ms: number, fromLine = 0): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.logLines().slice(fromLine).find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`stock ${this.node}: no log line matching ${re} within ${ms} ms; last lines:\n${this.logLines().slice(-10).join("\n")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL: the whole namespace goes, as a power cut would take it. */
  kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGKILL");
    return gone;
  }
}
