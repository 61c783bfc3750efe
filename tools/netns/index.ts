// The network-namespace test hosts, as one module for the tests, the
// benchmarks and the demo (`@lubdub/tools/netns`). tools/netns/hosts.sh makes
// the same kind of hosts by hand, for people.

export { type Cleanable, cleanUpAtExit, releaseAtExit } from "./exit-cleanup.js";
export { DOC_NETS, type DocNet, LAB_IFACE, type LabHost, type LabShape, NetnsLab } from "./lab.js";
export { ETC_NETNS, etcNetnsNames, labPrefix, leftoverNamespaces, leftovers, namespaceNames, sweepDeadLabs } from "./leftovers.js";
export { commandMissing, isRoot, namespacesMissing, netemMissing } from "./missing.js";
export { query, run } from "./run.js";
