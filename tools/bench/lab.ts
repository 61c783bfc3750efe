// A two-host network for benchmarks that run real daemons: two network
// namespaces joined by one veth pair on 192.0.2.0/24 (RFC 5737), a socat pty
// pair as the null-modem cable, and the processes started inside.
//
// The test workspace has a fuller version (test/src/support/netns.ts,
// pty.ts); tools cannot import from test/, so this is the small part a
// benchmark needs. Everything made here is undone by cleanup(): the processes
// it started (killed by PID, nothing else), the namespaces (their veths go
// with them) and the pty pair. cleanup() also runs on exit, SIGINT and
// SIGTERM. Namespaces of bench processes that died without cleaning up are
// swept on the next create().
//
// Needs root, iproute2 and socat.

import { type ChildProcess, spawn, type SpawnOptions, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BENCH_IFACE, BENCH_NET, cleanUpAtExit, execIn, namespaceNames, NETNS_PREFIX, releaseAtExit, run, sweepDeadLabs } from "./netns.js";

/** The shared `lubdub-b-<pid>-` prefix, so each bench lab sweeps the other's leftovers; `agent` in the name keeps them apart. */
export const BENCH_NETNS_PREFIX = NETNS_PREFIX;
export { BENCH_IFACE, BENCH_NET };
/** How long socat gets to create both pty links. */
const PTY_READY_TIMEOUT_MS = 5000;

/** Why this machine cannot run a bench lab (not root, no namespaces, no socat), or null. */
export function labMissing(): string | null {
  if (!process.getuid || process.getuid() !== 0) return "needs root";
  for (const [cmd, pkg] of [["ip", "iproute2"], ["socat", "socat"]] as const) {
    if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) return `needs '${cmd}' (Debian package ${pkg})`;
  }
  const probe = `${BENCH_NETNS_PREFIX}probe`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0) return `cannot create network namespaces (${(add.stderr || add.error?.message || "").trim()})`;
  spawnSync("ip", ["netns", "delete", probe]);
  return null;
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
  private readonly namespaces: string[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private socat: ChildProcess | null = null;
  private cleaned = false;

  private constructor(readonly dir: string, tag: string) {
    const mk = (i: number, tty: string): BenchHost => ({ ns: `${BENCH_NETNS_PREFIX}agent${tag}-h${i}`, iface: BENCH_IFACE, address: `${BENCH_NET}.${i}`, tty: join(dir, tty) });
    this.hosts = [mk(1, "ttyA"), mk(2, "ttyB")];
  }

  /** Builds both namespaces, the veth pair and the pty pair (links in `dir`); undoes everything on failure. */
  static async create(dir: string): Promise<BenchLab> {
    sweepDeadLabs();
    const lab = new BenchLab(dir, `${labCount++}`);
    cleanUpAtExit(lab);
    try {
      lab.buildNetwork();
      await lab.openPty();
    } catch (e) {
      lab.cleanup();
      throw e;
    }
    return lab;
  }

  private buildNetwork(): void {
    const [a, b] = this.hosts;
    for (const h of this.hosts) {
      run(["ip", "netns", "add", h.ns]);
      this.namespaces.push(h.ns);
      run(["ip", "-n", h.ns, "link", "set", "lo", "up"]);
    }
    // Created inside the first namespace, so no veth ever lives in the root namespace.
    run(["ip", "-n", a.ns, "link", "add", a.iface, "type", "veth", "peer", "name", b.iface, "netns", b.ns]);
    for (const h of this.hosts) {
      run(["ip", "-n", h.ns, "addr", "add", `${h.address}/24`, "broadcast", `${BENCH_NET}.255`, "dev", h.iface]);
      run(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
    }
  }

  private async openPty(): Promise<void> {
    const [a, b] = this.hosts.map((h) => h.tty) as [string, string];
    const child = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ["ignore", "ignore", "pipe"] });
    this.socat = child;
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
    if (this.cleaned) throw new Error("lab already cleaned up");
    return execIn(this.hosts[i].ns, argv, options, this.children);
  }

  /** Kills (by PID) what this lab started and deletes what it made. Safe to call twice. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    releaseAtExit(this);
    const all = [...this.children.values(), ...(this.socat ? [this.socat] : [])];
    for (const child of all) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    this.children.clear();
    for (const ns of this.namespaces.reverse()) run(["ip", "netns", "delete", ns], true);
  }
}

/** This process's bench namespaces still present (for checks that cleanup worked). */
export function leftoverBenchNamespaces(): string[] {
  return namespaceNames().filter((n) => n.startsWith(BENCH_NETNS_PREFIX));
}
