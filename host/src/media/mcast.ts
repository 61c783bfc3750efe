// ha.cf `mcast IFACE GROUP PORT TTL LOOP`: sends to the group with the given
// TTL and loopback out of IFACE, and joins the group on IFACE's address. The
// receive socket is bound to GROUP:PORT, as Heartbeat's is, and shared by
// every mcast line of the process with that group and port (udp-socket.ts).

import {
  CLAIM_ANY, CLAIM_SUBNET, inSubnet, interfaceWithAddress, ipv4ToInt, parsePort, UdpMedium, type UdpMediumOptions, type UdpPlan,
} from "./udp-socket.js";

/** Heartbeat's mcast plugin accepts TTLs 0 to 4. */
export const MAX_MCAST_TTL = 4;

export class McastMedium extends UdpMedium {
  readonly kind = "mcast";
  readonly port: number;
  readonly ttl: number;
  readonly loop: boolean;

  constructor(iface: string, readonly group: string, port: string, ttl: string, loop: string, options: UdpMediumOptions = {}) {
    super(iface, options);
    const g = ipv4ToInt(group);
    if (g === null || g >>> 28 !== 0xe) throw new Error(`mcast ${iface}: '${group}' is not an IPv4 multicast group (224.0.0.0-239.255.255.255)`);
    this.port = parsePort(port, `mcast ${iface}: port`);
    if (!/^\d+$/.test(ttl) || Number(ttl) > MAX_MCAST_TTL) throw new Error(`mcast ${iface}: ttl '${ttl}' is not in 0-${MAX_MCAST_TTL}`);
    this.ttl = Number(ttl);
    if (loop !== "0" && loop !== "1") throw new Error(`mcast ${iface}: loop '${loop}' is not 0 or 1`);
    this.loop = loop === "1";
  }

  protected override describe(): string {
    return `mcast ${this.linkName} ${this.group}:${this.port}`;
  }

  protected makePlan(): UdpPlan {
    const { addr } = interfaceWithAddress(this.linkName);
    return {
      bindAddress: this.group,
      port: this.port,
      destination: this.group,
      sourceAddress: addr.address,
      claim: (from) => (inSubnet(from, addr) ? CLAIM_SUBNET : CLAIM_ANY),
      setupSend: (s) => {
        s.setMulticastInterface(addr.address);
        s.setMulticastTTL(this.ttl);
        s.setMulticastLoopback(this.loop);
      },
      setupReceive: (s) => s.addMembership(this.group, addr.address),
      teardownReceive: (s) => s.dropMembership(this.group, addr.address),
    };
  }
}
