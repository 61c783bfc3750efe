// The demo's network: a UDP "switch" between two lubdubd nodes on one machine,
// no root needed.
//
// lubdubd's ucast medium receives on 0.0.0.0:udpport and sends to
// PEER:udpport (its own udpport, as Heartbeat does). Two agents on one
// machine therefore need different udpports, and each must send somewhere
// that reaches the other's port. The switch owns two loopback addresses, one
// per direction: node 1 (udpport P1) has `ucast lo ADDR1`, so it sends to
// ADDR1:P1, where the switch listens (a socket bound to a specific address
// wins over the agent's wildcard socket on the same port; both set
// SO_REUSEADDR) and forwards to 127.0.0.1:P2, node 2's port. Node 2 likewise
// through ADDR2:P2 to 127.0.0.1:P1.
//
// Cutting the link is the switch dropping datagrams (both ways), counted.

import { createSocket, type Socket } from "node:dgram";

export interface SwitchSide {
  /** Where this node sends (its ucast peer address). */
  listen: string;
  /** This node's udpport. */
  port: number;
}

export class UdpSwitch {
  up = true;
  forwarded = [0, 0];
  dropped = [0, 0];
  private sockets: Socket[] = [];

  constructor(readonly sides: [SwitchSide, SwitchSide]) {}

  async open(): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const from = this.sides[i]!;
      const to = this.sides[1 - i]!;
      const s = createSocket({ type: "udp4", reuseAddr: true });
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.bind({ address: from.listen, port: from.port, exclusive: false }, () => {
          s.off("error", reject);
          resolve();
        });
      });
      s.on("error", () => {
        // a send to a node that is down: ICMP refused; nothing to do
      });
      s.on("message", (msg) => {
        if (!this.up) {
          this.dropped[i]!++;
          return;
        }
        this.forwarded[i]!++;
        s.send(msg, to.port, "127.0.0.1");
      });
      this.sockets.push(s);
    }
  }

  close(): void {
    for (const s of this.sockets.splice(0)) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}
