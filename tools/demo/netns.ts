// The demo's real network, when run as root: each node in a network namespace
// of its own, a client in a third, all on one bridge (in a fourth namespace),
// with addresses only from the documentation range 192.0.2.0/24 (RFC 5737):
// the namespace lab of ../netns with named hosts. The resource group is then
// a real floating IP (the IPaddr2 built-in) and an HTTP service started by an
// LSB init script inside the node's namespace (installInitScript: through
// /etc/netns, so nothing is installed in the machine's own /etc/init.d).
//
// Names are unique per run (the demo's PID is in each: `lubdub-demo-<pid>-…`);
// cleanup() deletes the namespaces (their veths, bridge and nftables tables
// go with them) and the /etc/netns entries. The demo traps its signals itself
// and ends its own processes by PID, so the lab neither hooks signals nor
// kills anything. Leftovers of demos that died without cleaning up (SIGKILL)
// are swept at the next start.

import { isRoot, LAB_IFACE, leftovers, namespacesMissing, NetnsLab, query, run } from "../netns/index.js";

export const NET = "192.0.2";
export const VIP = `${NET}.100`;
export const VIP_CIDR = 24;
/** The interface every namespace sees for its link. */
export const IFACE = LAB_IFACE;
/** The nftables table the UDP cut adds in each node's namespace. */
const NFT_TABLE = "lubdub_demo";
/** Who makes this lab, in every name. */
const KIND = "demo";

/** Why the demo cannot use namespaces here (not root, no iproute2, namespaces refused), or null. */
export function netnsMissing(): string | null {
  if (!isRoot()) return "not root";
  return namespacesMissing(`lubdub-${KIND}-${process.pid}-probe`);
}

export function haveNft(): boolean {
  try {
    run(["nft", "--version"]);
    return true;
  } catch {
    return false;
  }
}

export interface NetHost {
  name: string;
  ns: string;
  address: string;
  mac: string;
}

export class DemoNet {
  /** alpha, bravo, client. */
  readonly hosts: NetHost[];
  private readonly cut = new Set<string>();

  private constructor(private readonly lab: NetnsLab) {
    this.hosts = lab.hosts.map((h) => ({ name: h.name, ns: h.ns, address: h.address, mac: lab.mac(h.index) }));
  }

  /** Builds the namespaces and the bridge; on any failure undoes what it made and throws. */
  static create(names: string[]): DemoNet {
    const lab = NetnsLab.open({ kind: KIND, hosts: names, bridge: "br", net: NET, cleanUpAtExit: false });
    try {
      return new DemoNet(lab);
    } catch (e) {
      lab.cleanup();
      throw e;
    }
  }

  get bridgeNs(): string {
    return this.lab.bridgeNs ?? "";
  }

  host(name: string): NetHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** argv that runs `argv` inside `name`'s namespace (`ip netns exec` execs in place: the PID is the command's own). */
  exec(name: string, argv: string[]): string[] {
    return this.lab.command(name, argv);
  }

  /** Installs an init script as /etc/init.d/SCRIPT for processes in `name`'s namespace. */
  installInitScript(name: string, script: string, text: string): void {
    this.lab.installInitScript(name, script, text);
  }

  /** The cable of `name` pulled (down) or plugged back (up). */
  setLink(name: string, up: boolean): void {
    this.lab.setLink(name, up, true);
  }

  linkUp(name: string): boolean {
    return this.lab.linkIsUp(name);
  }

  /** Drops (or lets through again) UDP to and from `port` in `name`'s namespace, with nftables. */
  cutUdp(name: string, port: number, cut: boolean): void {
    if (cut && !this.cut.has(name)) {
      const rules = [
        `add table inet ${NFT_TABLE}`,
        `add chain inet ${NFT_TABLE} in { type filter hook input priority 0; }`,
        `add chain inet ${NFT_TABLE} out { type filter hook output priority 0; }`,
        `add rule inet ${NFT_TABLE} in udp dport ${port} counter drop`,
        `add rule inet ${NFT_TABLE} out udp dport ${port} counter drop`,
        "",
      ].join("\n");
      this.lab.execSync(name, ["nft", "-f", "-"], rules);
      this.cut.add(name);
    } else if (!cut && this.cut.has(name)) {
      run(this.lab.command(name, ["nft", "delete", "table", "inet", NFT_TABLE]), true);
      this.cut.delete(name);
    }
  }

  /** Datagrams the UDP cut dropped so far (all nodes, both ways). */
  async udpDropped(): Promise<number> {
    let n = 0;
    for (const name of this.cut) {
      const out = await query(this.lab.command(name, ["nft", "list", "table", "inet", NFT_TABLE]));
      for (const m of out.matchAll(/packets (\d+)/g)) n += Number(m[1]);
    }
    return n;
  }

  /** Whether the floating IP is on `name`'s interface now. */
  async holdsVip(name: string): Promise<boolean> {
    const out = await query(["ip", "-n", this.host(name).ns, "-o", "-4", "addr", "show", "dev", IFACE]);
    return out.includes(` ${VIP}/`);
  }

  /** Kills nothing (processes are the demo's to end, by PID); deletes what was made. Safe to call twice. */
  cleanup(): void {
    this.lab.cleanup();
  }

  /** What this run made that is still there (for the tests: empty after exit). */
  static leftovers(pid: number): string[] {
    return leftovers(KIND, pid);
  }
}
