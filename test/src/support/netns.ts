// Real networks for tests: network namespaces joined by veth pairs (two
// hosts) or by a bridge living in a namespace of its own (any number), with
// addresses only from the documentation ranges (RFC 5737). Links can be cut
// and restored, made lossy with netem, and commands run inside a namespace.
//
// Everything made here is remembered and undone by cleanup(): the processes
// it started (killed by PID, nothing else), the namespaces and any veth left
// in the root namespace. cleanup() also runs on exit, SIGINT and SIGTERM, so a
// failing or interrupted test leaves nothing behind.
//
// Needs root and iproute2; gate tests with NETNS_LAB from require.ts.

import { type ChildProcess, spawn, type SpawnOptions, spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** The documentation networks (RFC 5737); nothing else is ever assigned. */
export const TEST_NETS = ["192.0.2", "198.51.100", "203.0.113"] as const;
export type TestNet = (typeof TEST_NETS)[number];

export const NETNS_PREFIX = `lubdub-t-${process.pid}-`;
/** The interface name every host sees for its link. */
export const HOST_IFACE = "lub0";
/** Where `ip netns exec` finds per-namespace /etc files. */
export const ETC_NETNS = "/etc/netns";

export interface LabHost {
  /** 1-based host number. */
  index: number;
  /** Namespace name. */
  ns: string;
  /** Interface inside the namespace (HOST_IFACE). */
  iface: string;
  /** IPv4 address on `net`. */
  address: string;
  /** The veth end that leads to this host, as named in the bridge namespace (bridge topology). */
  peerIface: string | null;
}

export interface LabOptions {
  hosts: number;
  /** "pair": one veth between two hosts; "bridge": every host on a bridge (default: pair for 2, else bridge). */
  topology?: "pair" | "bridge";
  /** Which documentation network to use (default 192.0.2). */
  net?: TestNet;
}

function run(args: string[], allowFail = false): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || "").trim()}`);
  }
  return r.stdout ?? "";
}

const labs = new Set<NetnsLab>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const l of labs) l.cleanup();
  });
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(sig, () => {
      for (const l of labs) l.cleanup();
      process.exit(code);
    });
  }
}

let labCount = 0;

export class NetnsLab {
  readonly hosts: LabHost[] = [];
  /** The bridge namespace (bridge topology only). */
  bridgeNs: string | null = null;
  readonly net: TestNet;
  private readonly namespaces: string[] = [];
  private readonly rootVeths: string[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private cleaned = false;
  private readonly tag: string;

  private constructor(net: TestNet) {
    this.net = net;
    this.tag = `${labCount++}`;
  }

  /** Builds the namespaces and links; on any failure undoes what it made and throws. */
  static create(o: LabOptions): NetnsLab {
    if (o.hosts < 1 || o.hosts > 200) throw new Error("hosts must be 1-200");
    const topology = o.topology ?? (o.hosts === 2 ? "pair" : "bridge");
    if (topology === "pair" && o.hosts !== 2) throw new Error("a veth pair joins exactly two hosts");
    sweepDeadLabs();
    const lab = new NetnsLab(o.net ?? "192.0.2");
    labs.add(lab);
    hookExit();
    try {
      lab.build(o.hosts, topology);
    } catch (e) {
      lab.cleanup();
      throw e;
    }
    return lab;
  }

  private nsName(what: string): string {
    return `${NETNS_PREFIX}${this.tag}-${what}`;
  }

  /** veth names are made in the root namespace, so they must be unique there and at most 15 bytes. */
  private vethName(host: number, end: "h" | "b"): string {
    return `lt${process.pid % 100000}${this.tag}${end}${host}`.slice(0, 15);
  }

  private addNs(name: string): void {
    run(["ip", "netns", "add", name]);
    this.namespaces.push(name);
    run(["ip", "-n", name, "link", "set", "lo", "up"]);
  }

  private build(n: number, topology: "pair" | "bridge"): void {
    for (let i = 1; i <= n; i++) {
      const ns = this.nsName(`h${i}`);
      this.addNs(ns);
      this.hosts.push({ index: i, ns, iface: HOST_IFACE, address: `${this.net}.${i}`, peerIface: null });
    }
    if (topology === "pair") {
      const [a, b] = [this.hosts[0]!, this.hosts[1]!];
      const va = this.vethName(1, "h");
      const vb = this.vethName(2, "h");
      this.rootVeths.push(va, vb);
      run(["ip", "link", "add", va, "type", "veth", "peer", "name", vb]);
      this.moveIn(va, a);
      this.moveIn(vb, b);
    } else {
      const br = this.nsName("br");
      this.addNs(br);
      this.bridgeNs = br;
      run(["ip", "-n", br, "link", "add", "br0", "type", "bridge"]);
      run(["ip", "-n", br, "link", "set", "br0", "up"]);
      for (const h of this.hosts) {
        const vh = this.vethName(h.index, "h");
        const vb = this.vethName(h.index, "b");
        this.rootVeths.push(vh, vb);
        run(["ip", "link", "add", vh, "type", "veth", "peer", "name", vb]);
        run(["ip", "link", "set", vb, "netns", br]);
        run(["ip", "-n", br, "link", "set", vb, "master", "br0"]);
        run(["ip", "-n", br, "link", "set", vb, "up"]);
        h.peerIface = vb;
        this.moveIn(vh, h);
      }
    }
    for (const h of this.hosts) {
      run(["ip", "-n", h.ns, "addr", "add", `${h.address}/24`, "broadcast", `${this.net}.255`, "dev", h.iface]);
      run(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
    }
  }

  private moveIn(veth: string, h: LabHost): void {
    run(["ip", "link", "set", veth, "netns", h.ns]);
    run(["ip", "-n", h.ns, "link", "set", veth, "name", h.iface]);
  }

  host(i: number): LabHost {
    const h = this.hosts[i - 1];
    if (!h) throw new Error(`no host ${i}`);
    return h;
  }

  /** Cuts host i's cable: its interface goes down (the other end loses carrier). */
  linkDown(i: number): void {
    const h = this.host(i);
    run(["ip", "-n", h.ns, "link", "set", h.iface, "down"]);
  }

  /** Plugs host i's cable back in; the kernel restores its routes. */
  linkUp(i: number): void {
    const h = this.host(i);
    run(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
  }

  /** netem on host i's outgoing side, e.g. netem(1, "loss 30%"). */
  netem(i: number, spec: string): void {
    const h = this.host(i);
    run(["tc", "-n", h.ns, "qdisc", "replace", "dev", h.iface, "root", "netem", ...spec.split(/\s+/).filter(Boolean)]);
  }

  clearNetem(i: number): void {
    const h = this.host(i);
    run(["tc", "-n", h.ns, "qdisc", "del", "dev", h.iface, "root"], true);
  }

  /** Runs a command in a host's namespace and remembers its PID for cleanup. */
  exec(i: number, argv: string[], options: SpawnOptions = {}): ChildProcess {
    if (this.cleaned) throw new Error("lab already cleaned up");
    const h = this.host(i);
    // `ip netns exec` execs the command in place, so the PID is the command's own.
    const child = spawn("ip", ["netns", "exec", h.ns, ...argv], { stdio: ["pipe", "pipe", "pipe"], ...options });
    if (child.pid !== undefined) {
      const pid = child.pid;
      this.children.set(pid, child);
      child.once("exit", () => this.children.delete(pid));
    }
    return child;
  }

  /** Synchronous output of a command inside a host's namespace. */
  execSync(i: number, argv: string[]): string {
    return run(["ip", "netns", "exec", this.host(i).ns, ...argv]);
  }

  /** Kills (by PID) what this lab started and deletes what it made. Safe to call twice. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    labs.delete(this);
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
    for (const ns of this.namespaces.reverse()) run(["ip", "netns", "delete", ns], true);
    // Deleting a namespace deletes the veths in it; these are the ones a failed build left behind.
    const left = run(["ip", "-o", "link", "show"], true);
    for (const v of this.rootVeths) if (left.includes(` ${v}@`) || left.includes(` ${v}:`)) run(["ip", "link", "delete", v], true);
  }
}

/** Whether `name` belongs to a lab process (`lubdub-t-<pid>-…`) other than this one that is gone. */
function ofDeadLab(name: string): boolean {
  const m = /^lubdub-t-(\d+)-/.exec(name);
  if (!m || Number(m[1]) === process.pid) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Deletes what lab processes that died without cleaning up (SIGKILL, a
 * crash) left: their namespaces (the veths go with them) and their
 * /etc/netns entries (per-namespace files tests mount through `ip netns exec`).
 */
export function sweepDeadLabs(): void {
  for (const line of run(["ip", "netns", "list"], true).split("\n")) {
    const name = line.split(" ")[0]!;
    if (ofDeadLab(name)) run(["ip", "netns", "delete", name], true);
  }
  let etc: string[] = [];
  try {
    etc = readdirSync(ETC_NETNS);
  } catch {
    return; // no /etc/netns at all
  }
  for (const name of etc) if (ofDeadLab(name)) rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
}

/** This process's namespaces still present (for checks that cleanup worked). */
export function leftoverNamespaces(): string[] {
  return run(["ip", "netns", "list"], true)
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(NETNS_PREFIX));
}

/** Why netem cannot be used here (no sch_netem in the kernel, no tc), or null. */
export function netemMissing(): string | null {
  const ns = `${NETNS_PREFIX}netem-probe`;
  const add = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
  if (add.status !== 0) return `cannot create network namespaces (${(add.stderr || "").trim()})`;
  try {
    spawnSync("ip", ["-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    const r = spawnSync("tc", ["-n", ns, "qdisc", "add", "dev", "v0", "root", "netem", "loss", "1%"], { encoding: "utf8" });
    if (r.error) return "needs 'tc' (Debian package iproute2)";
    return r.status === 0 ? null : `netem unavailable (${(r.stderr || "").trim()})`;
  } finally {
    spawnSync("ip", ["netns", "delete", ns]);
  }
}

/** Requirement for tests that use netem(): pass with NETNS_LAB to testWhere. */
export const NETEM = { check: netemMissing, what: "netem" };
