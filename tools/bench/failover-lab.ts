// The stage of the failover benchmark: two servers (hosts 1 and 2) and a
// client (host 3), each in its own network namespace, on one bridge that
// lives in a fourth namespace: the namespace lab of ../netns, the same design
// as the failover tests. Each server gets an init script through
// `ip netns exec`'s own convention (installInitScript): /etc/netns/NS/init.d
// is mounted over /etc/init.d for processes in that namespace, so nothing is
// installed in the machine's /etc/init.d.
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
import { type LabHost, leftovers, NetnsLab } from "../netns/index.js";
import { BENCH_IFACE, BENCH_KIND, BENCH_NET, NETNS_PREFIX } from "./netns.js";

export const LAB_PREFIX = NETNS_PREFIX;
export const LAB_NET = BENCH_NET;
export const LAB_IFACE = BENCH_IFACE;

/** 1 and 2 are the servers, 3 the client. */
export type FailoverHost = LabHost;

let labCount = 0;

export class FailoverBenchLab extends NetnsLab {
  /** Builds the namespaces and the bridge; undoes everything on failure. */
  static create(): FailoverBenchLab {
    const tag = `f${labCount++}`;
    const hosts = [1, 2, 3].map((i) => `${tag}-h${i}`);
    return NetnsLab.build(new FailoverBenchLab({ kind: BENCH_KIND, hosts, bridge: `${tag}-br`, net: LAB_NET, killAllInside: true }));
  }

  /** Runs a command in host i's namespace; `ip netns exec` execs it in place, so the PID becomes the command's own. */
  override exec(i: number, argv: string[], options: SpawnOptions = {}): ChildProcess {
    return super.exec(i, argv, { stdio: ["ignore", "pipe", "pipe"], ...options });
  }
}

/** This process's lab namespaces and /etc/netns entries still present (for checks that cleanup worked). */
export function leftoverFailoverLab(pid = process.pid): string[] {
  return leftovers(BENCH_KIND, pid);
}
