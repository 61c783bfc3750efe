// The demo's real network, when run as root: each node in a network namespace
// of its own, a client in a third, all on one bridge (in a fourth namespace),
// with addresses only from the documentation range 192.0.2.0/24 (RFC 5737).
// The resource group is then a real floating IP (the IPaddr2 built-in) and an
// HTTP service started by an LSB init script inside the node's namespace.
//
// A minimal copy of the bridge topology of test/src/support/netns.ts (NetnsLab)
// and of the init-script convention of test/src/support/failover-lab.ts: the
// script lives in /etc/netns/NS/init.d, which `ip netns exec` mounts over
// /etc/init.d for processes in namespace NS, so nothing is installed in the
// machine's own /etc/init.d. (tools/ does not import from test/, and the
// pieces shared are a few lines each.)
//
// Names are unique per run (the demo's PID is in each); everything made here
// is remembered and undone by cleanup(): the namespaces (their veths, bridge
// and nftables tables go with them), any veth a failed build left in the root
// namespace, and the /etc/netns entries. Leftovers of demos that died without
// cleaning up (SIGKILL) are swept at the next start.

import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const NET = "192.0.2";
export const VIP = `${NET}.100`;
export const VIP_CIDR = 24;
/** The interface every namespace sees for its link. */
export const IFACE = "lub0";
export const ETC_NETNS = "/etc/netns";
/** The nftables table the UDP cut adds in each node's namespace. */
const NFT_TABLE = "lubdub_demo";
const PREFIX = "lubdub-demo-";

function run(args: string[], allowFail = false): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0 && !allowFail) throw new Error(`${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || "").trim()}`);
  return r.stdout ?? "";
}

function runAsync(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(args[0]!, args.slice(1), { encoding: "utf8", timeout: 3000 }, (err, stdout) => resolve(err ? "" : stdout));
  });
}

/** Why the demo cannot use namespaces here (not root, no iproute2, namespaces refused), or null. */
export function netnsMissing(): string | null {
  if (!process.getuid || process.getuid() !== 0) return "not root";
  const probe = `${PREFIX}${process.pid}-probe`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.error) return "no 'ip' (iproute2)";
  if (add.status !== 0) return `cannot create network namespaces (${(add.stderr || "").trim()})`;
  spawnSync("ip", ["netns", "delete", probe]);
  return null;
}

export function haveNft(): boolean {
  const r = spawnSync("nft", ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

/** Whether `name` is a demo's (`lubdub-demo-<pid>-…`) whose process is gone. */
function ofDeadDemo(name: string): boolean {
  const m = /^lubdub-demo-(\d+)-/.exec(name);
  if (!m || Number(m[1]) === process.pid) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function sweepDeadDemos(): void {
  for (const line of run(["ip", "netns", "list"], true).split("\n")) {
    const name = line.split(" ")[0]!;
    if (ofDeadDemo(name)) run(["ip", "netns", "delete", name], true);
  }
  let etc: string[] = [];
  try {
    etc = readdirSync(ETC_NETNS);
  } catch {
    return;
  }
  for (const name of etc) if (ofDeadDemo(name)) rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
}

export interface NetHost {
  name: string;
  ns: string;
  address: string;
  mac: string;
}

export class DemoNet {
  /** alpha, bravo, client. */
  readonly hosts: NetHost[] = [];
  bridgeNs = "";
  private readonly namespaces: string[] = [];
  private readonly rootVeths: string[] = [];
  private readonly etcDirs: string[] = [];
  private readonly cut = new Set<string>();
  private cleaned = false;

  /** Builds the namespaces and the bridge; on any failure undoes what it made and throws. */
  static create(names: string[]): DemoNet {
    sweepDeadDemos();
    const net = new DemoNet();
    try {
      net.build(names);
    } catch (e) {
      net.cleanup();
      throw e;
    }
    return net;
  }

  private ns(what: string): string {
    return `${PREFIX}${process.pid}-${what}`;
  }

  private addNs(name: string): void {
    run(["ip", "netns", "add", name]);
    this.namespaces.push(name);
    run(["ip", "-n", name, "link", "set", "lo", "up"]);
  }

  private build(names: string[]): void {
    const br = this.ns("br");
    this.addNs(br);
    this.bridgeNs = br;
    run(["ip", "-n", br, "link", "add", "br0", "type", "bridge"]);
    run(["ip", "-n", br, "link", "set", "br0", "up"]);
    names.forEach((name, i) => {
      const ns = this.ns(name);
      this.addNs(ns);
      // veths are made in the root namespace: unique there, at most 15 bytes.
      const vh = `ld${process.pid}h${i}`.slice(0, 15);
      const vb = `ld${process.pid}b${i}`.slice(0, 15);
      this.rootVeths.push(vh, vb);
      run(["ip", "link", "add", vh, "type", "veth", "peer", "name", vb]);
      run(["ip", "link", "set", vb, "netns", br]);
      run(["ip", "-n", br, "link", "set", vb, "master", "br0"]);
      run(["ip", "-n", br, "link", "set", vb, "up"]);
      run(["ip", "link", "set", vh, "netns", ns]);
      run(["ip", "-n", ns, "link", "set", vh, "name", IFACE]);
      const address = `${NET}.${i + 1}`;
      run(["ip", "-n", ns, "addr", "add", `${address}/${VIP_CIDR}`, "broadcast", `${NET}.255`, "dev", IFACE]);
      run(["ip", "-n", ns, "link", "set", IFACE, "up"]);
      const mac = (JSON.parse(run(["ip", "-j", "-n", ns, "link", "show", IFACE])) as { address: string }[])[0]!.address.toLowerCase();
      this.hosts.push({ name, ns, address, mac });
    });
  }

  host(name: string): NetHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** argv that runs `argv` inside `name`'s namespace (`ip netns exec` execs in place: the PID is the command's own). */
  exec(name: string, argv: string[]): string[] {
    return ["ip", "netns", "exec", this.host(name).ns, ...argv];
  }

  /** Installs an init script as /etc/init.d/SCRIPT for processes in `name`'s namespace. */
  installInitScript(name: string, script: string, text: string): void {
    const dir = join(ETC_NETNS, this.host(name).ns);
    mkdirSync(join(dir, "init.d"), { recursive: true });
    this.etcDirs.push(dir);
    writeFileSync(join(dir, "init.d", script), text);
    chmodSync(join(dir, "init.d", script), 0o755);
  }

  /** The cable of `name` pulled (down) or plugged back (up). */
  setLink(name: string, up: boolean): void {
    if (this.cleaned) return;
    run(["ip", "-n", this.host(name).ns, "link", "set", IFACE, up ? "up" : "down"], true);
  }

  linkUp(name: string): boolean {
    const out = run(["ip", "-j", "-n", this.host(name).ns, "link", "show", IFACE], true);
    try {
      return ((JSON.parse(out) as { flags: string[] }[])[0]?.flags ?? []).includes("UP");
    } catch {
      return false;
    }
  }

  /** Drops (or lets through again) UDP to and from `port` in `name`'s namespace, with nftables. */
  cutUdp(name: string, port: number, cut: boolean): void {
    const ns = this.host(name).ns;
    if (cut && !this.cut.has(name)) {
      const rules = [
        `add table inet ${NFT_TABLE}`,
        `add chain inet ${NFT_TABLE} in { type filter hook input priority 0; }`,
        `add chain inet ${NFT_TABLE} out { type filter hook output priority 0; }`,
        `add rule inet ${NFT_TABLE} in udp dport ${port} counter drop`,
        `add rule inet ${NFT_TABLE} out udp dport ${port} counter drop`,
        "",
      ].join("\n");
      const r = spawnSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: rules, encoding: "utf8", timeout: 10_000 });
      if (r.status !== 0) throw new Error(`nft: ${(r.stderr || r.error?.message || "").trim()}`);
      this.cut.add(name);
    } else if (!cut && this.cut.has(name)) {
      run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", NFT_TABLE], true);
      this.cut.delete(name);
    }
  }

  /** Datagrams the UDP cut dropped so far (all nodes, both ways). */
  async udpDropped(): Promise<number> {
    let n = 0;
    for (const name of this.cut) {
      const out = await runAsync(["ip", "netns", "exec", this.host(name).ns, "nft", "list", "table", "inet", NFT_TABLE]);
      for (const m of out.matchAll(/packets (\d+)/g)) n += Number(m[1]);
    }
    return n;
  }

  /** Whether the floating IP is on `name`'s interface now. */
  async holdsVip(name: string): Promise<boolean> {
    const out = await runAsync(["ip", "-n", this.host(name).ns, "-o", "-4", "addr", "show", "dev", IFACE]);
    return out.includes(` ${VIP}/`);
  }

  /** Kills nothing (processes are the demo's to end, by PID); deletes what was made. Safe to call twice. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const ns of this.namespaces.splice(0).reverse()) run(["ip", "netns", "delete", ns], true);
    const left = run(["ip", "-o", "link", "show"], true);
    for (const v of this.rootVeths) if (left.includes(` ${v}@`) || left.includes(` ${v}:`)) run(["ip", "link", "delete", v], true);
    for (const e of this.etcDirs.splice(0)) rmSync(e, { recursive: true, force: true });
  }

  /** What this run made that is still there (for the tests: empty after exit). */
  static leftovers(pid: number): string[] {
    const mine = (n: string) => n.startsWith(`${PREFIX}${pid}-`);
    const ns = run(["ip", "netns", "list"], true).split("\n").map((l) => l.split(" ")[0]!).filter(mine);
    let etc: string[] = [];
    try {
      etc = readdirSync(ETC_NETNS).filter(mine);
    } catch {
      // none
    }
    return [...ns, ...etc.map((e) => join(ETC_NETNS, e))];
  }
}
