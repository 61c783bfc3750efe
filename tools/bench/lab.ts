// A two-host network for benchmarks that run real daemons: two network
// namespaces joined by one veth pair on 192.0.2.0/24 (the namespace lab of
// ../netns), a socat pty pair as the null-modem cable, and the processes
// started inside. Hosts are numbered 0 and 1 here, as the agents are.
//
// Everything made here is undone by cleanup(): the processes it started and
// the pty pair's socat (killed by PID, nothing else) and the namespaces
// (their veths go with them). cleanup() also runs on exit, SIGINT and
// SIGTERM. Namespaces of bench processes that died without cleaning up are
// swept on the next create().
//
// Needs root, iproute2 and socat.

import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { commandMissing, isRoot, leftoverNamespaces, namespacesMissing, NetnsLab } from "../netns/index.js";
import { BENCH_IFACE, BENCH_KIND, BENCH_NET, NETNS_PREFIX } from "./netns.js";

/** The shared `lubdub-b-<pid>-` prefix, so each bench lab sweeps the other's leftovers; `agent` in the name keeps them apart. */
export const BENCH_NETNS_PREFIX = NETNS_PREFIX;
export { BENCH_IFACE, BENCH_NET };
/** How long socat gets to create both pty links. */
const PTY_READY_TIMEOUT_MS = 5000;

/** Why this machine cannot run a bench lab (not root, no namespaces, no socat), or null. */
export function labMissing(): string | null {
  if (!isRoot()) return "needs root";
  return commandMissing("ip", "iproute2") ?? commandMissing("socat", "socat") ?? namespacesMissing(`${BENCH_NETNS_PREFIX}probe`);
}

export interface BenchHost {
  ns: string;
  iface: string;
  address: string;
  /** This host's end of the serial cable. */
  tty: string;
}

let labCount = 0;

export class BenchLab {
  readonly hosts: [BenchHost, BenchHost];

  private constructor(
    readonly dir: string,
    private readonly lab: NetnsLab,
  ) {
    const mk = (i: 0 | 1, tty: string): BenchHost => ({ ...lab.hosts[i]!, tty: join(dir, tty) });
    this.hosts = [mk(0, "ttyA"), mk(1, "ttyB")];
  }

  /** Builds both namespaces, the veth pair and the pty pair (links in `dir`); undoes everything on failure. */
  static async create(dir: string): Promise<BenchLab> {
    const tag = `agent${labCount++}`;
    const lab = new BenchLab(dir, NetnsLab.open({ kind: BENCH_KIND, hosts: [`${tag}-h1`, `${tag}-h2`], net: BENCH_NET }));
    try {
      await lab.openPty();
    } catch (e) {
      lab.cleanup();
      throw e;
    }
    return lab;
  }

  private async openPty(): Promise<void> {
    const [a, b] = this.hosts.map((h) => h.tty) as [string, string];
    const child = this.lab.adopt(spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ["ignore", "ignore", "pipe"] }));
    let stderr = "";
    let failed: Error | null = null;
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", (e) => (failed = e));
    const until = Date.now() + PTY_READY_TIMEOUT_MS;
    while (!(existsSync(a) && existsSync(b))) {
      if (failed || child.exitCode !== null || Date.now() > until) {
        throw new Error(`socat did not make a pty pair: ${(failed as Error | null)?.message ?? stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Runs a command in host i's (0 or 1) namespace. `ip netns exec` execs the
   * command in place, so the returned child's PID becomes the command's own
   * once the exec has happened.
   */
  exec(i: 0 | 1, argv: string[], options: SpawnOptions = {}): ChildProcess {
    return this.lab.exec(i + 1, argv, { stdio: ["ignore", "pipe", "pipe"], ...options });
  }

  /** Kills (by PID) what this lab started and deletes what it made. Safe to call twice. */
  cleanup(): void {
    this.lab.cleanup();
  }
}

/** This process's bench namespaces still present (for checks that cleanup worked). */
export function leftoverBenchNamespaces(): string[] {
  return leftoverNamespaces(BENCH_KIND);
}
