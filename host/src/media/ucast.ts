// ha.cf `ucast IFACE PEER_IP`: heartbeats sent to one peer address at udpport,
// received on the process's shared 0.0.0.0:udpport socket (see udp-socket.ts
// for why it is shared and how datagrams find their medium).

import {
  CLAIM_ANY, CLAIM_PEER, CLAIM_SUBNET, DEFAULT_UDP_PORT, inSubnet, isIpv4, resolveInterface, UdpMedium,
  type UdpMediumOptions, type UdpPlan,
} from "./udp-socket.js";

export class UcastMedium extends UdpMedium {
  readonly kind = "ucast";
  readonly port: number;

  constructor(iface: string, readonly peer: string, options: UdpMediumOptions = {}) {
    super(iface, options);
    if (!isIpv4(peer)) throw new Error(`ucast ${iface}: peer '${peer}' is not an IPv4 address`);
    this.port = options.udpport ?? DEFAULT_UDP_PORT;
  }

  protected override describe(): string {
    return `ucast ${this.linkName} ${this.peer}`;
  }

  protected makePlan(): UdpPlan {
    const info = resolveInterface(this.linkName);
    if (!info) throw new Error(`no interface ${this.linkName}`);
    // Send from the interface's address on the peer's subnet (else its first
    // one); an interface without IPv4 still sends, routed by the kernel.
    const local = info.ipv4.find((a) => inSubnet(this.peer, a)) ?? info.ipv4[0] ?? null;
    return {
      bindAddress: "0.0.0.0",
      port: this.port,
      destination: this.peer,
      sourceAddress: local ? local.address : null,
      claim: (from) => (from === this.peer ? CLAIM_PEER : local && inSubnet(from, local) ? CLAIM_SUBNET : CLAIM_ANY),
    };
  }
}
