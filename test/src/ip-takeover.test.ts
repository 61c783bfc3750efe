// lubdub's built-in IP takeover (the IPaddr and IPaddr2 classes) on a real
// network: three namespaces on a bridge, two servers and a client. The
// address moves from server to server, and the client must follow at once
// thanks to gratuitous ARP, without waiting for its ARP cache to expire.

import { type ChildProcess, spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import type { ActionResult, ResourceClass, ResourceSpec } from "@lubdub/host/resources";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { leftoverNamespaces, NetnsLab } from "./support/netns.js";
import { fromRoot } from "./support/paths.js";
import { ARPING, NETNS_LAB, type Requirement, TCPDUMP, testWhere } from "./support/require.js";

interface ClassOptions {
  netns?: string | null;
  arpCount?: number;
  arpIntervalMs?: number;
  arpRefreshAfterMs?: number;
  arpRefreshCount?: number;
}
type Factory = (o?: ClassOptions) => ResourceClass;

// The factories take a namespace to act in (lubdubd itself acts in its own).
const { createIpaddrClass } = (await import(pathToFileURL(fromRoot("host/dist/resources/class-ipaddr.js")).href)) as { createIpaddrClass: Factory };
const { createIpaddr2Class } = (await import(pathToFileURL(fromRoot("host/dist/resources/class-ipaddr2.js")).href)) as { createIpaddr2Class: Factory };

const t = suite("ip takeover");

const REQS: Requirement[] = [...NETNS_LAB, ARPING, TCPDUMP];
const CLIENT = 3;
const VIP = "192.0.2.100";
const CTX = { timeoutMs: 10_000, env: {} };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spec(className: "IPaddr" | "IPaddr2", arg: string): ResourceSpec {
  return { raw: className === "IPaddr" ? arg : `${className}::${arg}`, className, name: className, args: [arg], params: {}, path: null };
}

async function act(cls: ResourceClass, className: "IPaddr" | "IPaddr2", arg: string, action: "start" | "stop" | "status"): Promise<ActionResult & { ms: number }> {
  const t0 = performance.now();
  const r = await cls.run(spec(className, arg), action, CTX);
  return { ...r, ms: performance.now() - t0 };
}

function mac(lab: NetnsLab, i: number): string {
  const links = JSON.parse(lab.execSync(i, ["ip", "-j", "link", "show", "dev", "lub0"])) as { address: string }[];
  return links[0]!.address;
}

interface Addr {
  local: string;
  prefixlen: number;
  broadcast?: string;
  label?: string;
}

function addrs(lab: NetnsLab, i: number): Addr[] {
  const links = JSON.parse(lab.execSync(i, ["ip", "-j", "-4", "addr", "show", "dev", "lub0"])) as { addr_info: Addr[] }[];
  return links[0]?.addr_info ?? [];
}

function has(lab: NetnsLab, i: number, ip: string): Addr | undefined {
  return addrs(lab, i).find((a) => a.local === ip);
}

/** The client's neighbour entry for ip: its MAC, or null. */
function neighbour(lab: NetnsLab, i: number, ip: string): string | null {
  const n = JSON.parse(lab.execSync(i, ["ip", "-j", "neigh", "show", ip, "dev", "lub0"])) as { lladdr?: string }[];
  return n[0]?.lladdr ?? null;
}

function ping(lab: NetnsLab, i: number, ip: string): boolean {
  return spawnSync("ip", ["netns", "exec", lab.host(i).ns, "ping", "-c", "1", "-W", "1", ip], { timeout: 5000 }).status === 0;
}

/** tcpdump of ARP on a host's lub0, with link-level headers (the sender's MAC). */
class ArpCapture {
  private out = "";
  private constructor(private readonly child: ChildProcess) {}

  static async start(lab: NetnsLab, i: number): Promise<ArpCapture> {
    const child = lab.exec(i, ["tcpdump", "-l", "-n", "-e", "-i", "lub0", "arp"]);
    const cap = new ArpCapture(child);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => (cap.out += s));
    let err = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (s: string) => {
        err += s;
        if (err.includes("listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", () => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited: ${err}`));
      });
    });
    return cap;
  }

  lines(): string[] {
    return this.out.split("\n").filter(Boolean);
  }

  /** Gratuitous ARP for ip sent from srcMac: requests ("who-has IP tell IP") and replies ("IP is-at MAC"). */
  announcements(ip: string, srcMac: string): { requests: number; replies: number } {
    const q = ip.replaceAll(".", "\\.");
    const request = new RegExp(`^\\S+ ${srcMac} > ff:ff:ff:ff:ff:ff, ethertype ARP .*: Request who-has ${q} (\\(ff:ff:ff:ff:ff:ff\\) )?tell ${q},`);
    const reply = new RegExp(`^\\S+ ${srcMac} > ff:ff:ff:ff:ff:ff, ethertype ARP .*: Reply ${q} is-at ${srcMac},`);
    const ls = this.lines();
    return { requests: ls.filter((l) => request.test(l)).length, replies: ls.filter((l) => reply.test(l)).length };
  }

  async waitFor(pred: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (pred()) return true;
      await sleep(20);
    }
    return pred();
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

function withLab(fn: (lab: NetnsLab) => Promise<void>): () => Promise<void> {
  return async () => {
    const lab = NetnsLab.create({ hosts: 3, topology: "bridge" });
    try {
      await fn(lab);
    } finally {
      lab.cleanup();
    }
    assert.equal(leftoverNamespaces(), []);
  };
}

testWhere(
  t,
  "IPaddr2 start on host 1: the client hears the gratuitous ARP from host 1's MAC and reaches the address",
  REQS,
  withLab(async (lab) => {
    const h1 = lab.host(1);
    const mac1 = mac(lab, 1);
    const cap = await ArpCapture.start(lab, CLIENT);
    try {
      const cls = createIpaddr2Class({ netns: h1.ns });
      const r = await act(cls, "IPaddr2", `${VIP}/24`, "start");
      assert.ok(r.ok, r.output);
      console.log(`  IPaddr2 start took ${r.ms.toFixed(1)} ms: ${r.output}`);
      assert.ok(r.ms < 1000, `start took ${r.ms} ms`);
      const a = has(lab, 1, VIP);
      assert.equal(a && [a.prefixlen, a.broadcast, a.label], [24, "192.0.2.255", "lub0"]);
      // The first request arrives at once; the whole burst (5 requests, 5 replies, 200 ms apart) within a second.
      assert.ok(await cap.waitFor(() => cap.announcements(VIP, mac1).requests >= 1, 1000), cap.lines().join("\n"));
      assert.ok(await cap.waitFor(() => cap.announcements(VIP, mac1).replies >= 5, 3000), cap.lines().join("\n"));
      await sleep(300);
      assert.equal(cap.announcements(VIP, mac1), { requests: 5, replies: 5 });
      assert.ok(ping(lab, CLIENT, VIP), "client pings the address");
      assert.is(neighbour(lab, CLIENT, VIP), mac1);
      const s = await act(cls, "IPaddr2", `${VIP}/24`, "status");
      assert.equal([s.ok, s.state], [true, "running"], s.output);
    } finally {
      cap.stop();
    }
  }),
);

testWhere(
  t,
  "idempotent: start twice adds once, stop twice succeeds, status follows, the address is gone after stop",
  REQS,
  withLab(async (lab) => {
    const cls = createIpaddr2Class({ netns: lab.host(1).ns, arpCount: 1 });
    assert.ok((await act(cls, "IPaddr2", `${VIP}/24/lub0`, "start")).ok);
    const again = await act(cls, "IPaddr2", `${VIP}/24/lub0`, "start");
    assert.ok(again.ok, again.output);
    assert.match(again.output, /already running/);
    assert.is(addrs(lab, 1).filter((a) => a.local === VIP).length, 1);
    assert.ok(ping(lab, CLIENT, VIP));
    const stop = await act(cls, "IPaddr2", `${VIP}/24/lub0`, "stop");
    assert.ok(stop.ok, stop.output);
    assert.match(stop.output, /stopped: removed 192\.0\.2\.100\/24 from lub0/);
    assert.is(has(lab, 1, VIP), undefined);
    const stop2 = await act(cls, "IPaddr2", `${VIP}/24/lub0`, "stop");
    assert.ok(stop2.ok, stop2.output);
    assert.match(stop2.output, /not running/);
    const s = await act(cls, "IPaddr2", `${VIP}/24/lub0`, "status");
    assert.equal([s.ok, s.state], [false, "stopped"], s.output);
    assert.not.ok(ping(lab, CLIENT, VIP), "nobody answers after stop");
    // The host's own address is untouched.
    assert.ok(has(lab, 1, lab.host(1).address));
  }),
);

testWhere(
  t,
  "takeover: after stop on host 1 and start on host 2, the client's neighbour entry holds host 2's MAC without the client asking",
  REQS,
  withLab(async (lab) => {
    const [mac1, mac2] = [mac(lab, 1), mac(lab, 2)];
    const one = createIpaddr2Class({ netns: lab.host(1).ns });
    const two = createIpaddr2Class({ netns: lab.host(2).ns });
    assert.ok((await act(one, "IPaddr2", `${VIP}/24`, "start")).ok);
    assert.ok(ping(lab, CLIENT, VIP));
    assert.is(neighbour(lab, CLIENT, VIP), mac1);
    const stop = await act(one, "IPaddr2", `${VIP}/24`, "stop");
    assert.ok(stop.ok, stop.output);
    const t0 = performance.now();
    const start = await act(two, "IPaddr2", `${VIP}/24`, "start");
    assert.ok(start.ok, start.output);
    console.log(`  IPaddr2 start on host 2 took ${start.ms.toFixed(1)} ms`);
    // The client sends nothing: only the gratuitous ARP can change its entry.
    let seen: string | null = null;
    while (performance.now() - t0 < 2000) {
      seen = neighbour(lab, CLIENT, VIP);
      if (seen === mac2) break;
      await sleep(5);
    }
    assert.is(seen, mac2, `client's entry for ${VIP} after takeover`);
    console.log(`  client's neighbour entry moved to host 2 within ${(performance.now() - t0).toFixed(1)} ms of the start call`);
    assert.ok(ping(lab, CLIENT, VIP));
    assert.ok((await act(two, "IPaddr2", `${VIP}/24`, "stop")).ok);
  }),
);

testWhere(
  t,
  "IPaddr: alias labels lub0:0, lub0:1 as ifconfig aliases were; the IP shorthand finds lub0",
  REQS,
  withLab(async (lab) => {
    const cls = createIpaddrClass({ netns: lab.host(1).ns, arpCount: 1 });
    const a = await act(cls, "IPaddr", "192.0.2.101/24/lub0", "start");
    assert.ok(a.ok, a.output);
    const b = await act(cls, "IPaddr", "192.0.2.102", "start");
    assert.ok(b.ok, b.output);
    assert.equal(addrs(lab, 1).map((x) => [x.local, x.prefixlen, x.label, x.broadcast]), [
      [lab.host(1).address, 24, "lub0", "192.0.2.255"],
      ["192.0.2.101", 24, "lub0:0", "192.0.2.255"],
      ["192.0.2.102", 24, "lub0:1", "192.0.2.255"],
    ]);
    const text = lab.execSync(1, ["ip", "addr", "show", "dev", "lub0"]);
    assert.match(text, /inet 192\.0\.2\.101\/24 brd 192\.0\.2\.255 scope global secondary lub0:0/);
    assert.match(text, /inet 192\.0\.2\.102\/24 brd 192\.0\.2\.255 scope global secondary lub0:1/);
    assert.ok(ping(lab, CLIENT, "192.0.2.101") && ping(lab, CLIENT, "192.0.2.102"));
    // lub0:0 freed is taken again first.
    assert.ok((await act(cls, "IPaddr", "192.0.2.101/24/lub0", "stop")).ok);
    const c = await act(cls, "IPaddr", "192.0.2.103/24", "start");
    assert.ok(c.ok, c.output);
    assert.is(has(lab, 1, "192.0.2.103")?.label, "lub0:0");
    for (const ip of ["192.0.2.102", "192.0.2.103"]) assert.ok((await act(cls, "IPaddr", ip, "stop")).ok);
    assert.equal(addrs(lab, 1).map((x) => x.local), [lab.host(1).address]);
  }),
);

testWhere(
  t,
  "IPaddr2 without nic or netmask: findif picks lub0 and its /24",
  REQS,
  withLab(async (lab) => {
    const cls = createIpaddr2Class({ netns: lab.host(2).ns, arpCount: 1 });
    for (const arg of ["192.0.2.104", "192.0.2.105/24", "192.0.2.106/24/192.0.2.255"]) {
      const r = await act(cls, "IPaddr2", arg, "start");
      assert.ok(r.ok, r.output);
      assert.match(r.output, /on lub0/);
    }
    assert.equal(addrs(lab, 2).map((x) => [x.local, x.prefixlen, x.broadcast, x.label]).slice(1), [
      ["192.0.2.104", 24, "192.0.2.255", "lub0"],
      ["192.0.2.105", 24, "192.0.2.255", "lub0"],
      ["192.0.2.106", 24, "192.0.2.255", "lub0"],
    ]);
    for (const arg of ["192.0.2.104", "192.0.2.105/24", "192.0.2.106/24/192.0.2.255"]) assert.ok((await act(cls, "IPaddr2", arg, "stop")).ok);
    assert.is(addrs(lab, 2).length, 1);
  }),
);

testWhere(
  t,
  "bad arguments and impossible placements: clear errors naming the resource, nothing changed",
  REQS,
  withLab(async (lab) => {
    const cls = createIpaddr2Class({ netns: lab.host(1).ns, arpCount: 1 });
    const ip1 = createIpaddrClass({ netns: lab.host(1).ns, arpCount: 1 });
    let r = await act(cls, "IPaddr2", "192.0.2.110/24/nosuch0", "start");
    assert.not.ok(r.ok);
    assert.is(r.output, "IPaddr2::192.0.2.110/24/nosuch0: start failed: no interface 'nosuch0' on this host");
    r = await act(ip1, "IPaddr", "203.0.113.5", "start");
    assert.not.ok(r.ok);
    assert.is(r.output, "IPaddr::203.0.113.5: start failed: cannot tell the interface: no interface has an IPv4 subnet containing 203.0.113.5; give it as 203.0.113.5/PREFIX/IFACE");
    r = await act(cls, "IPaddr2", "192.0.2.300", "start");
    assert.not.ok(r.ok);
    assert.match(r.output, /^IPaddr2::192\.0\.2\.300: start failed: bad argument .*'192\.0\.2\.300' is not an IPv4 address$/);
    r = await act(cls, "IPaddr2", "192.0.2.110/24/lub0/198.51.100.255", "start");
    assert.not.ok(r.ok);
    assert.match(r.output, /broadcast 198\.51\.100\.255 is not in 192\.0\.2\.110\/24/);
    // Stop and status of what cannot be placed: nothing there.
    r = await act(cls, "IPaddr2", "192.0.2.110/24/nosuch0", "stop");
    assert.ok(r.ok, r.output);
    r = await act(cls, "IPaddr2", "192.0.2.110/24/nosuch0", "status");
    assert.equal([r.ok, r.state], [false, "stopped"]);
    assert.equal(addrs(lab, 1).map((x) => x.local), [lab.host(1).address]);
  }),
);

testWhere(
  t,
  "stop cancels the rest of the gratuitous ARP burst",
  REQS,
  withLab(async (lab) => {
    const mac1 = mac(lab, 1);
    const cap = await ArpCapture.start(lab, CLIENT);
    try {
      const cls = createIpaddr2Class({ netns: lab.host(1).ns });
      assert.ok((await act(cls, "IPaddr2", "192.0.2.107/24", "start")).ok);
      const stop = await act(cls, "IPaddr2", "192.0.2.107/24", "stop");
      assert.ok(stop.ok, stop.output);
      assert.match(stop.output, /cancelled \d+ pending gratuitous ARP/);
      await sleep(1500);
      const n = cap.announcements("192.0.2.107", mac1);
      // The first request left before start returned; at most one reply raced the stop.
      assert.is(n.requests, 1, cap.lines().join("\n"));
      assert.ok(n.replies <= 1, cap.lines().join("\n"));
    } finally {
      cap.stop();
    }
  }),
);

t.run();
