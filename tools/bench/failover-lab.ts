// The stage of the failover benchmark: two servers (hosts 1 and 2) and a
// client (host 3), each in its own network namespace, on one bridge that
// lives in a fourth namespace. The same design as the failover tests
// (test/src/support/failover-lab.ts, netns.ts); tools cannot import from
// test/, so this is the small part the benchmark needs.
//
// Every veth is created inside the bridge namespace with its host end moved
// straight into the host's namespace, so nothing ever appears in the root
// namespace. Each server gets an init script through `ip netns exec`'s own
// convention: /etc/netns/NS/init.d is mounted over /etc/init.d for processes
// in that namespace, so nothing is installed in the machine's /etc/init.d.
//
// cleanup() undoes everything: the processes the lab started and every
// process still inside its namespaces (all of them started by the benchmark:
// agents, services, arping), killed by PID; the namespaces; the /etc/netns
// entries. It also runs on exit, SIGINT and SIGTERM. Namespaces and
// /etc/netns entries of bench processes that died without cleaning up are
// swept on the next create().
//
// Needs root and iproute2.

import { type ChildProcess, type SpawnOptions } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_IFACE, BENCH_NET, cleanUpAtExit, execIn, ETC_NETNS, etcNetnsNames, namespaceNames, NETNS_PREFIX, releaseAtExit, run, sweepDeadLabs } from "./netns.js";

export const LAB_PREFIX = NETNS_PREFIX;
export const LAB_NET = BENCH_NET;
export const LAB_IFACE = BENCH_IFACE;

export interface FailoverHost {
  /** 1 and 2 are the servers, 3 the client. */
  index: number;
  ns: string;
  iface: string;
  address: string;
}

let labCount = 0;

export class FailoverBenchLab {
  readonly hosts: FailoverHost[] = [];
  private readonly bridgeNs: string;
  private readonly namespaces: string[] = [];
  private readonly etcDirs: string[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private cleaned = false;

  private constructor(tag: string) {
    for (const i of [1, 2, 3]) this.hosts.push({ index: i, ns: `${LAB_PREFIX}${tag}-h${i}`, iface: LAB_IFACE, address: `${LAB_NET}.${i}` });
    this.bridgeNs = `${LAB_PREFIX}${tag}-br`;
  }

  /** Builds the namespaces and the bridge; undoes everything on failure. */
  static create(): FailoverBenchLab {
    sweepDeadLabs();
    const lab = new FailoverBenchLab(`f${labCount++}`);
    cleanUpAtExit(lab);
    try {
      lab.build();
    } catch (e) {
      lab.cleanup();
      throw e;
    }
    return lab;
  }

  private addNs(name: string): void {
    run(["ip", "netns", "add", name]);
    this.namespaces.push(name);
    run(["ip", "-n", name, "link", "set", "lo", "up"]);
  }

  private build(): void {
    const br = this.bridgeNs;
    this.addNs(br);
    run(["ip", "-n", br, "link", "add", "br0", "type", "bridge"]);
    run(["ip", "-n", br, "link", "set", "br0", "up"]);
    for (const h of this.hosts) {
      this.addNs(h.ns);
      const port = `p${h.index}`;
      run(["ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", h.iface, "netns", h.ns]);
      run(["ip", "-n", br, "link", "set", port, "master", "br0"]);
      run(["ip", "-n", br, "link", "set", port, "up"]);
      run(["ip", "-n", h.ns, "addr", "add", `${h.address}/24`, "broadcast", `${LAB_NET}.255`, "dev", h.iface]);
      run(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
    }
  }

  host(i: number): FailoverHost {
    const h = this.hosts[i - 1];
    if (!h) throw new Error(`no host ${i}`);
    return h;
  }

  /** Puts an executable /etc/init.d/NAME in host i's view of the file system. */
  installInitScript(i: number, name: string, text: string): void {
    const etc = join(ETC_NETNS, this.host(i).ns);
    mkdirSync(join(etc, "init.d"), { recursive: true });
    if (!this.etcDirs.includes(etc)) this.etcDirs.push(etc);
    writeFileSync(join(etc, "init.d", name), text);
    chmodSync(join(etc, "init.d", name), 0o755);
  }

  /** Cuts host i's cable: its interface goes down (the bridge port loses carrier). */
  linkDown(i: number): void {
    const h = this.host(i);
    run(["ip", "-n", h.ns, "link", "set", h.iface, "down"]);
  }

  linkUp(i: number): void {
    const h = this.host(i);
    run(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
  }

  mac(i: number): string {
    const out = run(["ip", "-n", this.host(i).ns, "-j", "link", "show", LAB_IFACE]);
    return (JSON.parse(out) as Array<{ address: string }>)[0]!.address.toLowerCase();
  }

  /** Every process inside host i's namespace (what `ip netns pids` reports). */
  pidsIn(i: number): number[] {
    return run(["ip", "netns", "pids", this.host(i).ns], true)
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
  }

  /** SIGKILLs every process in host i's namespace, by PID; returns how many. */
  killAllIn(i: number): number {
    let n = 0;
    for (const pid of this.pidsIn(i)) {
      try {
        process.kill(pid, "SIGKILL");
        n++;
      } catch {
        // gone already
      }
    }
    return n;
  }

  /** Runs a command in host i's namespace; `ip netns exec` execs it in place, so the PID becomes the command's own. */
  exec(i: number, argv: string[], options: SpawnOptions = {}): ChildProcess {
    if (this.cleaned) throw new Error("lab already cleaned up");
    return execIn(this.host(i).ns, argv, options, this.children);
  }

  /** Kills (by PID) what this lab started or what runs in its namespaces, deletes what it made. Safe to call twice. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    releaseAtExit(this);
    for (const [pid, child] of this.children) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    this.children.clear();
    for (const h of this.hosts) if (this.namespaces.includes(h.ns)) this.killAllIn(h.index);
    for (const ns of this.namespaces.reverse()) run(["ip", "netns", "delete", ns], true);
    for (const e of this.etcDirs) rmSync(e, { recursive: true, force: true });
  }
}

/** This process's lab namespaces and /etc/netns entries still present (for checks that cleanup worked). */
export function leftoverFailoverLab(pid = process.pid): string[] {
  const prefix = `lubdub-b-${pid}-`;
  return [...namespaceNames().filter((n) => n.startsWith(prefix)), ...etcNetnsNames().filter((n) => n.startsWith(prefix)).map((n) => join(ETC_NETNS, n))];
}
