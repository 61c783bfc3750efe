// The one argument of Heartbeat's IPaddr and IPaddr2 resources, as their
// resource.d wrappers split it:
//
//   ip[/netmask[/interface[:label]][/broadcast]]
//
// netmask is a prefix length (24) or a dotted mask (255.255.255.0); a third
// field that starts with a digit is the broadcast address (no interface).
// Haresources' IP shorthand (a resource spelled like an IPv4 address) is this
// argument given to IPaddr.

import { isIPv4 } from "node:net";

export interface IpArgument {
  ip: string;
  /** Prefix length, when a netmask was given (a dotted mask is converted). */
  bits: number | null;
  /** Interface, without the label. */
  iface: string | null;
  /** Alias label after the interface's colon (eth0:web → "web"). */
  label: string | null;
  broadcast: string | null;
}

/** Linux limits an interface name to 15 bytes (IFNAMSIZ - 1). */
export const MAX_IFACE_NAME = 15;

/** Heartbeat's `isip`: starts with a digit and has three dots (glob [0-9]*.[0-9]*.[0-9]*.[0-9]*). */
export function looksLikeIp(word: string): boolean {
  return /^[0-9][^]*\.[^]*\.[^]*\.[^]*$/.test(word);
}

function maskBits(mask: string): number | null {
  if (/^[0-9]{1,2}$/.test(mask)) {
    const n = Number(mask);
    return n >= 1 && n <= 32 ? n : null;
  }
  if (!isIPv4(mask)) return null;
  const v = mask.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  // Contiguous ones then zeros.
  const inv = (~v >>> 0) >>> 0;
  if ((inv & (inv + 1)) !== 0) return null;
  const bits = 32 - Math.log2(inv + 1);
  return bits >= 1 ? bits : null;
}

/** Parses the argument; on error, says what is wrong with it. */
export function parseIpArgument(arg: string): IpArgument | { error: string } {
  const parts = arg.split("/");
  if (parts.length > 4) return { error: `'${arg}' has too many '/' fields (ip[/netmask[/interface][/broadcast]])` };
  const [ip, mask, third, fourth] = parts;
  if (!isIPv4(ip!)) return { error: `'${ip}' is not an IPv4 address` };
  const out: IpArgument = { ip: ip!, bits: null, iface: null, label: null, broadcast: null };
  if (mask === undefined) return out;
  const bits = maskBits(mask);
  if (bits === null) return { error: `'${mask}' is not a netmask (a prefix length 1-32 or a dotted mask)` };
  out.bits = bits;
  if (third === undefined || third === "") {
    if (fourth !== undefined) return { error: `'${arg}': empty interface field` };
    return out;
  }
  if (/^[0-9]/.test(third)) {
    // IPaddr's wrapper: a third field starting with a digit is the broadcast.
    if (fourth !== undefined) return { error: `'${arg}': '${third}' is taken as the broadcast address, and nothing may follow it` };
    if (!isIPv4(third)) return { error: `'${third}' is not an IPv4 broadcast address` };
    out.broadcast = third;
    return out;
  }
  const colon = third.indexOf(":");
  const iface = colon >= 0 ? third.slice(0, colon) : third;
  const label = colon >= 0 ? third.slice(colon + 1) : null;
  if (iface.length === 0 || third.length > MAX_IFACE_NAME || /[\s:]/.test(iface)) return { error: `'${third}' is not a network interface name (at most ${MAX_IFACE_NAME} characters with its label)` };
  if (label !== null && (label.length === 0 || /[\s:]/.test(label))) return { error: `'${third}': bad interface label` };
  out.iface = iface;
  out.label = label;
  if (fourth !== undefined) {
    if (!isIPv4(fourth)) return { error: `'${fourth}' is not an IPv4 broadcast address` };
    out.broadcast = fourth;
  }
  return out;
}
