// `npm run demo -- --script`: a scripted failover tour of the demo cluster.
// Each step does something to the cluster and waits for what a working
// cluster does about it; the tour passes (exit 0) when every step saw it
// happen in time and the service never ran on both nodes at once.

import { DEADTIME_S, type DemoCluster, INITDEAD_S, OUTLET_OFF_MS, type Snapshot } from "./cluster.js";

export interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Seconds a failover may take here: deadtime, the fence, the start, and a loaded CI machine. */
const FAILOVER_S = DEADTIME_S + 12;

function peerOf(s: Snapshot, node: string) {
  return s.nodes.find((n) => n.name === node)?.status?.membership.peers[0] ?? null;
}
function linkUp(s: Snapshot, node: string, kind: "udp" | "serial"): boolean | null {
  const p = peerOf(s, node);
  if (!p) return null;
  const l = (p.links as { link?: string; up?: boolean; status?: string }[]).find((x) => (kind === "serial") === (x.link ?? "").includes("/"));
  if (!l) return null;
  return l.up ?? l.status === "up";
}
function bothActive(s: Snapshot): boolean {
  return s.nodes.every((n) => n.status?.membership.status === "active" && peerOf(s, n.name)?.status === "active");
}
function allLinksUp(s: Snapshot): boolean {
  return s.nodes.every((n) => linkUp(s, n.name, "udp") === true && (!s.serial.available || linkUp(s, n.name, "serial") === true));
}
/** Nodes whose agent says it holds a group right now. */
function holders(s: Snapshot): string[] {
  return s.nodes.filter((n) => n.status?.resources?.groups.some((g) => g.holder === n.name && g.transition === null)).map((n) => n.name);
}
/**
 * Root path: `node` serves, has the floating IP on its interface (and no
 * other plugged-in node has it), and the client's answer came from its MAC. Loopback: it serves.
 */
function servedBy(s: Snapshot, node: string): boolean {
  if (s.servedBy !== node) return false;
  const nw = s.network;
  if (nw.mode !== "netns") return true;
  const mac = nw.hosts?.find((h) => h.name === node)?.mac;
  // A node killed with its cable pulled may still have the address on its dead interface.
  const others = (nw.hosts ?? []).filter((h) => h.name !== node && h.link && nw.vipOn?.includes(h.name));
  return !!nw.vipOn?.includes(node) && others.length === 0 && nw.servedMac === mac;
}
/**
 * Root path: the floating IP on two interfaces that are both plugged in. A
 * cable plugged in after the interfaces were read does not count with that
 * reading: a rebooted node clears its old address before its cable goes back
 * in, and the reading may predate both.
 */
function vipTwice(s: Snapshot): boolean {
  const nw = s.network;
  const askedAt = nw.vipAskedAt ?? 0;
  return nw.mode === "netns" && (nw.vipOn?.length ?? 0) > 1 && (nw.hosts ?? []).filter((h) => nw.vipOn!.includes(h.name)).every((h) => h.link && h.linkSince <= askedAt);
}

export async function runTour(c: DemoCluster, say: (line: string) => void): Promise<boolean> {
  const results: StepResult[] = [];
  let doubleHold = "";
  let twiceBefore = false;
  const watch = setInterval(() => {
    const s = c.snapshot();
    const h = holders(s);
    if (h.length > 1 && !doubleHold) doubleHold = `at ${new Date().toISOString()} both ${h.join(" and ")} said they held the service`;
    // Two samples in a row: a node being powered off right now may lag its fence by a poll.
    const twice = vipTwice(s);
    if (twice && twiceBefore && !doubleHold) doubleHold = `at ${new Date().toISOString()} the floating IP was on both ${s.network.vipOn!.join(" and ")}, both plugged in`;
    twiceBefore = twice;
  }, 200);

  const wait = async (pred: (s: Snapshot) => boolean, seconds: number): Promise<boolean> => {
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      if (pred(c.snapshot())) return true;
      await sleep(100);
    }
    return pred(c.snapshot());
  };
  const step = async (name: string, body: () => Promise<string | true>): Promise<boolean> => {
    const t0 = Date.now();
    say(`… ${name}`);
    let r: string | true;
    try {
      r = await body();
    } catch (e) {
      r = (e as Error).message;
    }
    const res = { name, ok: r === true, ms: Date.now() - t0, detail: r === true ? "" : r };
    results.push(res);
    say(`${res.ok ? "PASS" : "FAIL"} ${name} (${(res.ms / 1000).toFixed(1)} s)${res.detail ? `: ${res.detail}` : ""}`);
    return res.ok;
  };
  const describe = () => {
    const s = c.snapshot();
    const nw = s.network;
    const ip = nw.mode === "netns" ? `floating IP on ${nw.vipOn?.join(" and ") || "nobody"}, answered from ${nw.servedMac ?? "no MAC"}; ` : "";
    return `served by ${s.servedBy ?? "nobody"}; ${ip}` + s.nodes.map((n) => `${n.name} ${n.power ? "on" : "off"} ${n.agent} ${n.status?.membership.status ?? "?"}`).join(", ");
  };
  const settled = (primary: string) => (s: Snapshot) => servedBy(s, primary) && bothActive(s) && allLinksUp(s);

  let ok = await step("cluster up: both nodes active over every link, alpha serves", async () =>
    (await wait(settled("alpha"), INITDEAD_S + 16)) || describe());

  if (ok) {
    ok = await step("UDP cut: the serial link through the device keeps the peer alive, no failover", async () => {
      if (!c.udpCuttable) {
        say("  skipped: nothing here can cut UDP (install nftables)");
        return true;
      }
      c.cutUdp(true);
      if (!(await wait((s) => linkUp(s, "alpha", "udp") === false, DEADTIME_S + 5))) return "alpha never saw the UDP link die; " + describe();
      if (!c.snapshot().serial.available) return "no serial link (no socat): skipped";
      await sleep((DEADTIME_S + 1) * 1000);
      const s = c.snapshot();
      if (s.servedBy !== "alpha" || !bothActive(s)) return describe();
      c.cutUdp(false);
      return (await wait((x) => allLinksUp(x), DEADTIME_S + 5)) || "UDP did not come back; " + describe();
    });
  }
  if (ok) {
    const what = c.snapshot().network.mode === "netns" ? "kill the primary (SIGKILL, cable pulled): bravo takes the floating IP, the client is answered from bravo's MAC" : "kill the primary: bravo takes the service";
    ok = await step(what, async () => {
      await c.killPrimary();
      return (await wait((s) => servedBy(s, "bravo"), FAILOVER_S)) || describe();
    });
  }
  if (ok) {
    ok = await step("alpha comes back and takes its service back (auto_failback on)", async () => {
      if (!c.fencing) await c.restore(); // else the device power-cycled it and it boots by itself
      return (await wait(settled("alpha"), FAILOVER_S + OUTLET_OFF_MS / 1000 + 10)) || describe();
    });
  }
  if (ok && c.snapshot().device) {
    ok = await step("power-cycle bravo through the device console (BayTech REBOOT 2): it goes down and comes back", async () => {
      const r = await c.powerCycle("bravo");
      if (r !== "power-cycled bravo") return r;
      return (await wait(settled("alpha"), FAILOVER_S)) || describe();
    });
  }
  if (ok) {
    if (c.fencing) {
      ok = await step("hang the primary's agent: the device's watchdog power-cycles alpha, bravo serves", async () => {
        const h = c.hang("alpha");
        if (h !== "hung alpha") return h;
        return (await wait((s) => servedBy(s, "bravo"), FAILOVER_S + OUTLET_OFF_MS / 1000)) || describe();
      });
      if (ok) ok = await step("alpha reboots and takes its service back", async () => (await wait(settled("alpha"), FAILOVER_S + 10)) || describe());
    } else {
      ok = await step("hang the standby's agent: alpha declares bravo dead and keeps serving; resumed, bravo rejoins", async () => {
        const h = c.hang("bravo");
        if (h !== "hung bravo") return h;
        if (!(await wait((s) => peerOf(s, "alpha")?.status === "dead", DEADTIME_S + 5))) return describe();
        await c.restore();
        return (await wait(settled("alpha"), FAILOVER_S)) || describe();
      });
    }
  }
  clearInterval(watch);
  if (doubleHold) {
    results.push({ name: "the service never ran on both nodes", ok: false, ms: 0, detail: doubleHold });
    say(`FAIL the service never ran on both nodes: ${doubleHold}`);
  }
  const passed = results.filter((r) => r.ok).length;
  const good = ok && !doubleHold;
  say(`${good ? "tour passed" : "tour FAILED"}: ${passed} of ${results.length} steps`);
  return good;
}
