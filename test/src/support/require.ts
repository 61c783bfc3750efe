// Tests that need root, network namespaces or Debian packages run in CI;
// elsewhere they are skipped, and the reason is printed, never silently.

import { spawnSync } from "node:child_process";
import type { Test } from "uvu";

export type Requirement =
  | "root"
  | "netns"
  | { command: string; pkg: string }
  | { path: string; what: string }
  /** Any other probe: returns why the machine cannot run the test, or null. Probed once. */
  | { check: () => string | null; what: string };

const checkCache = new Map<() => string | null, string | null>();

let netnsCache: string | null | undefined;

function missingOne(r: Requirement): string | null {
  if (r === "root") return process.getuid && process.getuid() === 0 ? null : "needs root";
  if (r === "netns") {
    if (netnsCache === undefined) {
      const probe = `lubdub-probe-${process.pid}`;
      const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
      netnsCache = add.status === 0 ? null : `cannot create network namespaces (${(add.stderr || add.error?.message || "").trim()})`;
      if (add.status === 0) spawnSync("ip", ["netns", "delete", probe]);
    }
    return netnsCache;
  }
  if ("check" in r) {
    if (!checkCache.has(r.check)) {
      let why: string | null;
      try {
        why = r.check();
      } catch (e) {
        why = `${r.what}: ${(e as Error).message}`;
      }
      checkCache.set(r.check, why);
    }
    return checkCache.get(r.check) ?? null;
  }
  if ("command" in r) {
    const found = spawnSync("sh", ["-c", `command -v ${r.command}`], { encoding: "utf8" });
    return found.status === 0 ? null : `needs '${r.command}' (Debian package ${r.pkg})`;
  }
  return spawnSync("test", ["-e", r.path]).status === 0 ? null : `needs ${r.what} (${r.path})`;
}

/** The first unmet requirement, or null when all are met. */
export function missing(reqs: Requirement[]): string | null {
  for (const r of reqs) {
    const why = missingOne(r);
    if (why) return why;
  }
  return null;
}

/**
 * Registers `fn` as a test when `reqs` are met; otherwise registers a skip and
 * prints why. Use for every test that needs something beyond Node.
 */
export function testWhere(t: Test, name: string, reqs: Requirement[], fn: () => void | Promise<void>): void {
  const why = missing(reqs);
  if (why) {
    console.log(`SKIP ${name}: ${why}`);
    t.skip(name, fn);
  } else {
    t(name, fn);
  }
}

export const LUA: Requirement = { command: "lua5.1", pkg: "lua5.1" };
export const SOCAT: Requirement = { command: "socat", pkg: "socat" };
export const HEARTBEAT: Requirement = { command: "/usr/libexec/heartbeat/heartbeat", pkg: "heartbeat" };
export const NFT: Requirement = { command: "nft", pkg: "nftables" };
export const UNSHARE: Requirement = { command: "unshare", pkg: "util-linux" };
export const STONITH: Requirement = { command: "stonith", pkg: "cluster-glue" };
export const IPROUTE: Requirement = { command: "ip", pkg: "iproute2" };
/** Network namespace labs (support/netns.ts): root, iproute2 and namespaces that can be made. */
export const NETNS_LAB: Requirement[] = ["root", IPROUTE, "netns"];
/** resource-agents' Dummy OCF agent (real OCF runs in resources.test). */
export const OCF_DUMMY: Requirement = { path: "/usr/lib/ocf/resource.d/heartbeat/Dummy", what: "resource-agents' Dummy OCF agent" };
/** Heartbeat's stock Delay resource script (an OCF wrapper through hto-mapfuncs). */
export const HB_DELAY: Requirement = { path: "/etc/ha.d/resource.d/Delay", what: "heartbeat's resource.d/Delay script" };
/** iputils arping, which the IPaddr/IPaddr2 classes send gratuitous ARP with. */
export const ARPING: Requirement = { command: "arping", pkg: "iputils-arping" };
export const TCPDUMP: Requirement = { command: "tcpdump", pkg: "tcpdump" };
/** iputils ping (ping nodes probe with it). */
export const PING: Requirement = { command: "ping", pkg: "iputils-ping" };
