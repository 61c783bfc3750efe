// Heartbeat's IPaddr2: takes over an IPv4 address as a secondary address
// (`ip addr add IP/CIDR brd BCAST dev IFACE`, labelled only when the argument
// says `IFACE:LABEL`) and announces it with gratuitous ARP. The argument is
// `ip[/netmask[/interface[:label]][/broadcast]]`. See ip/takeover.ts for the
// semantics and ip/garp.ts for the gratuitous ARP defaults (IPaddr2's:
// 5 × 200 ms).

import type { ResourceClass } from "./resource-class.js";
import { IPADDR2_GARP } from "./ip/garp.js";
import { createIpClass, type IpClassOptions } from "./ip/takeover.js";

export type { IpClassOptions };

export function createIpaddr2Class(options: IpClassOptions = {}): ResourceClass {
  return createIpClass("IPaddr2", "secondary", IPADDR2_GARP, options);
}

export const ipaddr2Class: ResourceClass = createIpaddr2Class();
