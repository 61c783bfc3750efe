// Real networks for tests: the namespace lab of @lubdub/tools/netns (hosts
// joined by a veth pair or a bridge, documentation addresses only, links
// that can be cut, netem, commands run inside, everything undone on exit and
// signals), with the tests' naming: hosts numbered from 1, namespaces
// `lubdub-t-<pid>-<lab>-h<i>`, so parallel test processes and the leftovers
// of dead ones are told apart.
//
// Needs root and iproute2; gate tests with NETNS_LAB from require.ts.

import { DOC_NETS, type DocNet, ETC_NETNS, LAB_IFACE, type LabHost, labPrefix, leftoverNamespaces as leftoverOfKind, NetnsLab as Lab, netemMissing as netemMissingFor, sweepDeadLabs as sweepOfKind } from "@lubdub/tools/netns";

export { ETC_NETNS, type LabHost };
/** Who makes these labs, in every name: `lubdub-t-<pid>-…`. */
const KIND = "t";
/** The documentation networks (RFC 5737); nothing else is ever assigned. */
export const TEST_NETS = DOC_NETS;
export type TestNet = DocNet;
export const NETNS_PREFIX = labPrefix(KIND);
/** The interface name every host sees for its link. */
export const HOST_IFACE = LAB_IFACE;

export interface LabOptions {
  hosts: number;
  /** "pair": one veth between two hosts; "bridge": every host on a bridge (default: pair for 2, else bridge). */
  topology?: "pair" | "bridge";
  /** Which documentation network to use (default 192.0.2). */
  net?: TestNet;
}

let labCount = 0;

export class NetnsLab extends Lab {
  /** Builds the namespaces and links; on any failure undoes what it made and throws. */
  static create(o: LabOptions): NetnsLab {
    const tag = `${labCount++}`;
    const topology = o.topology ?? (o.hosts === 2 ? "pair" : "bridge");
    // Clamped only so that a bad count reaches the lab's own check (1-200) instead of Array.from's.
    const hosts = Array.from({ length: Math.max(0, Math.min(o.hosts, 201)) }, (_, i) => `${tag}-h${i + 1}`);
    return Lab.build(new NetnsLab({ kind: KIND, hosts, ...(topology === "bridge" ? { bridge: `${tag}-br` } : {}), ...(o.net ? { net: o.net } : {}) }));
  }
}

/** Deletes what test processes that died without cleaning up left (namespaces, /etc/netns entries). */
export function sweepDeadLabs(): void {
  sweepOfKind(KIND);
}

/** This process's namespaces still present (for checks that cleanup worked). */
export function leftoverNamespaces(): string[] {
  return leftoverOfKind(KIND);
}

/** Why netem cannot be used here (no sch_netem in the kernel, no tc), or null. */
export function netemMissing(): string | null {
  return netemMissingFor(`${NETNS_PREFIX}netem-probe`);
}

/** Requirement for tests that use netem(): pass with NETNS_LAB to testWhere. */
export const NETEM = { check: netemMissing, what: "netem" };
