// What the benchmark labs (lab.ts for the agent benchmark, failover-lab.ts
// for the failover benchmark) share on top of the namespace lab of
// ../netns: their kind, so namespaces are named `lubdub-b-<pid>-…` and any
// bench process can tell which leftovers belong to a bench process that is
// gone, the network and the interface name.

import { type DocNet, LAB_IFACE, labPrefix } from "../netns/index.js";

/** Who makes these labs, in every name. */
export const BENCH_KIND = "b";
export const NETNS_PREFIX = labPrefix(BENCH_KIND);
/** The documentation network every bench lab uses (RFC 5737). */
export const BENCH_NET: DocNet = "192.0.2";
/** The interface name every bench host sees for its link. */
export const BENCH_IFACE = LAB_IFACE;
