// A real network on one machine: hosts that are network namespaces, joined
// by one veth pair (two hosts) or by a bridge living in a namespace of its
// own (any number), with addresses only from the documentation networks
// (RFC 5737). Links can be cut and restored, made lossy with netem, commands
// run inside a host, and LSB init scripts installed for a host alone.
//
// Every veth is created inside a lab namespace with its other end moved
// straight into the next, so nothing ever appears in the root namespace and
// deleting the namespaces deletes every link.
//
// Everything made here is remembered and undone by cleanup(): the processes
// the lab started (killed by PID, nothing else; optionally also whatever
// still runs inside its hosts, all of it started by the lab's user), the
// namespaces and the /etc/netns entries. cleanup() also runs on exit, SIGINT
// and SIGTERM unless the caller traps those itself, and create() first sweeps
// what labs of the same kind in dead processes left (see leftovers.ts).
//
// Needs root and iproute2 (see missing.ts).

import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanUpAtExit, releaseAtExit } from "./exit-cleanup.js";
import { ETC_NETNS, labPrefix, sweepDeadLabs } from "./leftovers.js";
import { run } from "./run.js";

/** The documentation networks (RFC 5737); nothing else is ever assigned. */
export const DOC_NETS = ["192.0.2", "198.51.100", "203.0.113"] as const;
export type DocNet = (typeof DOC_NETS)[number];
/** The interface name every host sees for its link. */
export const LAB_IFACE = "lub0";

export interface LabHost {
  /** 1-based host number; the host's address ends in it. */
  index: number;
  /** What the lab's user calls it; its namespace is the lab prefix followed by this. */
  name: string;
  /** Namespace name. */
  ns: string;
  /** Interface inside the namespace (LAB_IFACE). */
  iface: string;
  /** IPv4 address on the lab's network. */
  address: string;
  /** The bridge port that leads to this host, as named in the bridge namespace (bridge topology). */
  peerIface: string | null;
}

export interface LabShape {
  /** Who makes the lab (t, b, demo): names are `lubdub-<kind>-<pid>-…`. */
  kind: string;
  /** Host names, in order: host i is namespace prefix+name with address net.i. */
  hosts: string[];
  /** The bridge namespace's name after the prefix; without one, the two hosts share one veth pair. */
  bridge?: string;
  /** Which documentation network (default 192.0.2). */
  net?: DocNet;
  /** Clean up on exit, SIGINT and SIGTERM (default true); off for callers that trap those themselves. */
  cleanUpAtExit?: boolean;
  /** cleanup() also SIGKILLs, by PID, every process still inside a host's namespace. */
  killAllInside?: boolean;
}

export class NetnsLab {
  readonly hosts: LabHost[];
  readonly net: DocNet;
  /** The bridge namespace (bridge topology only). */
  readonly bridgeNs: string | null;
  private readonly namespaces: string[] = [];
  private readonly etcDirs: string[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private cleaned = false;

  /** Names things only; open() makes them. */
  protected constructor(private readonly shape: LabShape) {
    if (shape.hosts.length < 1 || shape.hosts.length > 200) throw new Error("hosts must be 1-200");
    if (shape.bridge === undefined && shape.hosts.length !== 2) throw new Error("a veth pair joins exactly two hosts");
    const prefix = labPrefix(shape.kind);
    this.net = shape.net ?? "192.0.2";
    this.bridgeNs = shape.bridge === undefined ? null : `${prefix}${shape.bridge}`;
    this.hosts = shape.hosts.map((name, i) => ({ index: i + 1, name, ns: `${prefix}${name}`, iface: LAB_IFACE, address: `${this.net}.${i + 1}`, peerIface: null }));
  }

  /** Builds a lab of `shape`; on any failure undoes what it made and throws. */
  static open(shape: LabShape): NetnsLab {
    return NetnsLab.build(new NetnsLab(shape));
  }

  /** Builds `lab` (made by a subclass constructor); on any failure undoes what it made and throws. */
  protected static build<T extends NetnsLab>(lab: T): T {
    sweepDeadLabs(lab.shape.kind);
    if (lab.shape.cleanUpAtExit !== false) cleanUpAtExit(lab);
    try {
      lab.buildNetwork();
    } catch (e) {
      lab.cleanup();
      throw e;
    }
    return lab;
  }

  private addNamespace(name: string): void {
    run(["ip", "netns", "add", name]);
    this.namespaces.push(name);
    run(["ip", "-n", name, "link", "set", "lo", "up"]);
  }

  private buildNetwork(): void {
    const br = this.bridgeNs;
    if (br !== null) {
      this.addNamespace(br);
      run(["ip", "-n", br, "link", "add", "br0", "type", "bridge"]);
      run(["ip", "-n", br, "link", "set", "br0", "up"]);
    }
    for (const h of this.hosts) this.addNamespace(h.ns);
    if (br === null) {
      const [a, b] = [this.hosts[0]!, this.hosts[1]!];
      run(["ip", "-n", a.ns, "link", "add", a.iface, "type", "veth", "peer", "name", b.iface, "netns", b.ns]);
    } else {
      for (const h of this.hosts) {
        const port = `p${h.index}`;
        run(["ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", h.iface, "netns", h.ns]);
        run(["ip", "-n", br, "link", "set", port, "master", "br0"]);
        run(["ip", "-n", br, "link", "set", port, "up"]);
        h.peerIface = port;
      }
    }
    for (const h of this.hosts) {
      run(["ip", "-n", h.ns, "addr", "add", `${h.address}/24`, "broadcast", `${this.net}.255`, "dev", h.iface]);
      run(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
    }
  }

  /** Host by number (1-based) or by name. */
  host(which: number | string): LabHost {
    const h = typeof which === "number" ? this.hosts[which - 1] : this.hosts.find((x) => x.name === which);
    if (!h) throw new Error(`no host ${which}`);
    return h;
  }

  /** Cuts or restores a host's cable: its interface goes down (the other end loses carrier) or up (the kernel restores its routes). */
  setLink(which: number | string, up: boolean, allowFail = false): void {
    if (this.cleaned) return;
    const h = this.host(which);
    run(["ip", "-n", h.ns, "link", "set", h.iface, up ? "up" : "down"], allowFail);
  }

  linkDown(which: number | string): void {
    this.setLink(which, false);
  }

  linkUp(which: number | string): void {
    this.setLink(which, true);
  }

  /** Whether a host's interface is up now (false when it cannot be read). */
  linkIsUp(which: number | string): boolean {
    const h = this.host(which);
    try {
      return ((JSON.parse(run(["ip", "-j", "-n", h.ns, "link", "show", h.iface], true)) as { flags?: string[] }[])[0]?.flags ?? []).includes("UP");
    } catch {
      return false;
    }
  }

  /** The MAC address of a host's interface, lower case. */
  mac(which: number | string): string {
    const h = this.host(which);
    return (JSON.parse(run(["ip", "-j", "-n", h.ns, "link", "show", h.iface])) as { address: string }[])[0]!.address.toLowerCase();
  }

  /** netem on a host's outgoing side, e.g. netem(1, "loss 30%"); see netemMissing(). */
  netem(which: number | string, spec: string): void {
    const h = this.host(which);
    run(["tc", "-n", h.ns, "qdisc", "replace", "dev", h.iface, "root", "netem", ...spec.split(/\s+/).filter(Boolean)]);
  }

  clearNetem(which: number | string): void {
    const h = this.host(which);
    run(["tc", "-n", h.ns, "qdisc", "del", "dev", h.iface, "root"], true);
  }

  /** argv that runs `argv` inside a host (`ip netns exec` execs in place: the PID is the command's own). */
  command(which: number | string, argv: string[]): string[] {
    return ["ip", "netns", "exec", this.host(which).ns, ...argv];
  }

  /** Runs a command inside a host and remembers its PID for cleanup. */
  exec(which: number | string, argv: string[], options: SpawnOptions = {}): ChildProcess {
    if (this.cleaned) throw new Error("lab already cleaned up");
    const [cmd, ...args] = this.command(which, argv);
    return this.adopt(spawn(cmd!, args, { stdio: ["pipe", "pipe", "pipe"], ...options }));
  }

  /** Synchronous (bounded) output of a command inside a host; throws when it fails. */
  execSync(which: number | string, argv: string[], input?: string): string {
    return run(this.command(which, argv), false, input);
  }

  /** Makes a process started outside exec() (a pty pair, say) the lab's to kill on cleanup. */
  adopt(child: ChildProcess): ChildProcess {
    if (child.pid !== undefined) {
      const pid = child.pid;
      this.children.set(pid, child);
      child.once("exit", () => this.children.delete(pid));
    }
    return child;
  }

  /** Installs an executable /etc/init.d/NAME for processes inside that host alone (through /etc/netns). */
  installInitScript(which: number | string, name: string, text: string): void {
    const etc = join(ETC_NETNS, this.host(which).ns);
    mkdirSync(join(etc, "init.d"), { recursive: true });
    if (!this.etcDirs.includes(etc)) this.etcDirs.push(etc);
    writeFileSync(join(etc, "init.d", name), text);
    chmodSync(join(etc, "init.d", name), 0o755);
  }

  /** Every process inside a host's namespace (what `ip netns pids` reports), this one excepted. */
  pidsIn(which: number | string): number[] {
    return run(["ip", "netns", "pids", this.host(which).ns], true)
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
  }

  /** SIGKILLs every process inside a host's namespace, by PID; returns how many. */
  killAllIn(which: number | string): number {
    let n = 0;
    for (const pid of this.pidsIn(which)) if (killed(pid)) n++;
    return n;
  }

  /** Kills (by PID) what this lab started and deletes what it made. Safe to call twice. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    releaseAtExit(this);
    for (const [pid, child] of this.children) if (child.exitCode === null && child.signalCode === null) killed(pid);
    this.children.clear();
    if (this.shape.killAllInside) for (const h of this.hosts) if (this.namespaces.includes(h.ns)) this.killAllIn(h.index);
    for (const ns of this.namespaces.splice(0).reverse()) run(["ip", "netns", "delete", ns], true);
    for (const e of this.etcDirs.splice(0)) rmSync(e, { recursive: true, force: true });
  }
}

/** SIGKILLs `pid`; false when it was gone already. */
function killed(pid: number): boolean {
  try {
    process.kill(pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}
