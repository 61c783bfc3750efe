// Where an IPaddr/IPaddr2 address goes, worked out from the argument and the
// interfaces' present IPv4 addresses (`ip -j addr show`, parsed by
// ip-command.ts). Pure functions: no process is run here.
//
// The argument is Heartbeat's `ip[/netmask[/interface[:label]][/broadcast]]`,
// parsed by ../ip-argument.ts as the resource.d wrappers split it. What the
// argument leaves out is found as Heartbeat's findif finds it: the interface
// whose connected subnet contains the address (the longest such prefix when
// several do), and that subnet's prefix length. findif asks the routing table
// (`ip route list match IP scope link`); a connected route exists exactly
// when an interface has an address in that subnet, so the interfaces'
// addresses give the same answer without a second command.

import { type IpArgument, parseIpArgument } from "../ip-argument.js";

export { type IpArgument, parseIpArgument };

/** One IPv4 address of an interface. */
export interface IfAddr {
  local: string;
  prefixlen: number;
  /** As configured (`brd`), or null. */
  broadcast: string | null;
  /** The address's label (eth0, or an alias label eth0:0). */
  label: string;
  secondary: boolean;
}

/** One interface with its IPv4 addresses. */
export interface IfInfo {
  name: string;
  index: number;
  /** Administratively up (the UP flag). */
  up: boolean;
  loopback: boolean;
  /** Link-layer address (MAC), when the interface has one. */
  mac: string | null;
  addrs: IfAddr[];
}

/** Where to put the address: the answer of findif. */
export interface Placement {
  iface: string;
  prefix: number;
  /** Broadcast address to set, or null for none (/31 and /32). */
  broadcast: string | null;
  /** How the interface and prefix were chosen, for messages. */
  how: string;
}

/** The largest interface label the kernel takes (IFNAMSIZ - 1). */
export const MAX_LABEL_LENGTH = 15;

export function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  return (((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function maskOf(prefix: number): number {
  return prefix <= 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Does the subnet `net/prefix` contain `ip`? */
export function subnetContains(net: string, prefix: number, ip: string): boolean {
  const m = maskOf(prefix);
  return ((ipToInt(net) & m) >>> 0) === ((ipToInt(ip) & m) >>> 0);
}

/** The directed broadcast of ip/prefix (host bits set), or null for /31 and /32 (RFC 3021: no broadcast). */
export function broadcastOf(ip: string, prefix: number): string | null {
  if (prefix >= 31) return null;
  return intToIp((ipToInt(ip) | ~maskOf(prefix)) >>> 0);
}

/**
 * Checks the parsed argument beyond its syntax: an address a host can take
 * over (not 0/8, multicast or reserved, not the subnet's network or broadcast
 * address) and a broadcast inside the subnet. Returns the reason, or null.
 */
export function checkAddress(arg: IpArgument): string | null {
  const first = Number(arg.ip.split(".")[0]);
  if (first === 0) return `${arg.ip} is in 0.0.0.0/8, which is not a host address`;
  if (first >= 224) return `${arg.ip} is a multicast or reserved address, not a host address`;
  if (arg.bits !== null && arg.bits <= 30) {
    const m = maskOf(arg.bits);
    const host = (ipToInt(arg.ip) & ~m) >>> 0;
    if (host === 0) return `${arg.ip} is the network address of ${arg.ip}/${arg.bits}`;
    if (host === (~m >>> 0)) return `${arg.ip} is the broadcast address of ${arg.ip}/${arg.bits}`;
  }
  if (arg.broadcast !== null && arg.bits !== null && !subnetContains(arg.ip, arg.bits, arg.broadcast)) {
    return `broadcast ${arg.broadcast} is not in ${arg.ip}/${arg.bits}`;
  }
  return null;
}

/**
 * findif: the interface and prefix for the address. An interface named in
 * the argument must exist; a missing prefix comes from that interface's
 * address whose subnet contains the IP; a missing interface is the one with
 * the longest such subnet (first listed on a tie). Loopback interfaces are
 * only used when named. The broadcast is the argument's, else the matching
 * address's own `brd` when it has the same prefix, else computed.
 */
export function findPlacement(arg: IpArgument, ifaces: readonly IfInfo[]): Placement | { error: string } {
  let pool = ifaces;
  if (arg.iface !== null) {
    const named = ifaces.find((i) => i.name === arg.iface);
    if (!named) return { error: `no interface '${arg.iface}' on this host` };
    pool = [named];
  } else {
    pool = ifaces.filter((i) => !i.loopback);
  }
  let best: { iface: IfInfo; addr: IfAddr } | null = null;
  for (const iface of pool) {
    for (const addr of iface.addrs) {
      if (addr.prefixlen >= 32 || !subnetContains(addr.local, addr.prefixlen, arg.ip)) continue;
      // With a prefix given, findif matches routes at least as wide as IP/prefix.
      if (arg.bits !== null && addr.prefixlen > arg.bits) continue;
      if (!best || addr.prefixlen > best.addr.prefixlen) best = { iface, addr };
    }
  }
  let iface: string;
  let prefix: number;
  let how: string;
  if (arg.iface !== null && arg.bits !== null) {
    iface = arg.iface;
    prefix = arg.bits;
    how = "as given";
  } else if (best) {
    iface = best.iface.name;
    prefix = arg.bits ?? best.addr.prefixlen;
    how = `from ${best.addr.local}/${best.addr.prefixlen} on ${iface}`;
  } else if (arg.iface !== null) {
    return { error: `cannot tell the netmask: no IPv4 address on ${arg.iface} has a subnet containing ${arg.ip}; give it as ${arg.ip}/PREFIX/${arg.iface}` };
  } else {
    return {
      error: `cannot tell the interface: no interface has an IPv4 subnet containing ${arg.ip}${arg.bits !== null ? `/${arg.bits}` : ""}; give it as ${arg.ip}/PREFIX/IFACE`,
    };
  }
  let broadcast: string | null;
  if (arg.broadcast !== null) broadcast = arg.broadcast;
  else if (best && best.addr.prefixlen === prefix && best.addr.broadcast !== null && prefix < 31) broadcast = best.addr.broadcast;
  else broadcast = broadcastOf(arg.ip, prefix);
  return { iface, prefix, broadcast, how };
}

/** Where the address is present: on the named interface only, or on every non-loopback interface. */
export function findPresent(ip: string, ifaces: readonly IfInfo[], iface: string | null = null): { iface: string; addr: IfAddr }[] {
  const out: { iface: string; addr: IfAddr }[] = [];
  for (const i of ifaces) {
    if (iface !== null ? i.name !== iface : i.loopback) continue;
    for (const a of i.addrs) if (a.local === ip) out.push({ iface: i.name, addr: a });
  }
  return out;
}

/**
 * The first free alias label `IFACE:N` (N from 0), as Heartbeat's IPaddr
 * chose `eth0:N` for ifconfig aliases. Errors when it would not fit the
 * kernel's 15 characters.
 */
export function freeAliasLabel(iface: string, ifaces: readonly IfInfo[]): string | { error: string } {
  const used = new Set<string>();
  for (const i of ifaces) if (i.name === iface) for (const a of i.addrs) used.add(a.label);
  for (let n = 0; n < 1024; n++) {
    const label = `${iface}:${n}`;
    if (label.length > MAX_LABEL_LENGTH) return { error: `alias label ${label} is longer than ${MAX_LABEL_LENGTH} characters (interface name too long for IPaddr aliases; use IPaddr2)` };
    if (!used.has(label)) return label;
  }
  return { error: `no free alias label on ${iface}` };
}
