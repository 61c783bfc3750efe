// Heartbeat's IPaddr: takes over an IPv4 address as an alias, labelled
// `IFACE:N` (the first free N) the way the ifconfig aliases eth0:0, eth0:1…
// of Heartbeat's IPaddr were, and announces it with gratuitous ARP. The
// argument is `ip[/netmask[/interface][/broadcast]]`; a bare IP in
// haresources is this class. See ip/takeover.ts for the semantics and
// ip/garp.ts for the gratuitous ARP defaults (IPaddr's: 10 × 500 ms).

import type { ResourceClass } from "./resource-class.js";
import { IPADDR_GARP } from "./ip/garp.js";
import { createIpClass, type IpClassOptions } from "./ip/takeover.js";

export type { IpClassOptions };

export function createIpaddrClass(options: IpClassOptions = {}): ResourceClass {
  return createIpClass("IPaddr", "alias", IPADDR_GARP, options);
}

export const ipaddrClass: ResourceClass = createIpaddrClass();
