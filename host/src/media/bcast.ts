// ha.cf `bcast IFACE [IFACE...]`: one medium per interface, sending to the
// interface's IPv4 broadcast address at udpport, receiving on the process's
// shared 0.0.0.0:udpport socket (see udp-socket.ts).

import {
  CLAIM_ANY, CLAIM_SUBNET, DEFAULT_UDP_PORT, inSubnet, interfaceWithAddress, UdpMedium, type UdpMediumOptions, type UdpPlan,
} from "./udp-socket.js";

export class BcastMedium extends UdpMedium {
  readonly kind = "bcast";
  readonly port: number;

  constructor(iface: string, options: UdpMediumOptions = {}) {
    super(iface, options);
    this.port = options.udpport ?? DEFAULT_UDP_PORT;
  }

  protected makePlan(): UdpPlan {
    const { addr } = interfaceWithAddress(this.linkName);
    return {
      bindAddress: "0.0.0.0",
      port: this.port,
      destination: addr.broadcast,
      sourceAddress: addr.address,
      claim: (from) => (inSubnet(from, addr) ? CLAIM_SUBNET : CLAIM_ANY),
      setupSend: (s) => s.setBroadcast(true),
    };
  }
}
