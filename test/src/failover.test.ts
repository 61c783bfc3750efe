// lubdub doing its job: a floating IP and an HTTP service on exactly one of
// two servers, seen from a client that asks every 10 ms and watches that the
// IP never answers from two MACs at once.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AgentProc, sleep, writeHaDir } from "./support/agent-proc.js";
import { FailoverLab, VIP } from "./support/failover-lab.js";
import { testWhere } from "./support/require.js";

const t = suite("failover");
const REQS = ["root", "netns", { command: "arping", pkg: "iputils-arping" }, { command: "tcpdump", pkg: "tcpdump" }] as const;
const KEEPALIVE_MS = 200;
const DEADTIME_MS = 2000;
const AUTHKEYS = "auth 1\n1 sha1 failover-test-key\n";

interface Extra {
  /** More haresources lines. */
  haresources?: string;
  /** lubdub.cf text. */
  lubdubCf?: string;
  /** More ha.cf lines. */
  hacf?: string[];
}

function configure(f: FailoverLab, agent: AgentProc, peerHost: number, mode: "on" | "off" | "legacy", extra: Extra): void {
  writeHaDir(agent.configDir, {
    hacf: ["keepalive 200ms", "warntime 1", "deadtime 2", "initdead 10", `ucast lub0 ${f.lab.host(peerHost).address}`, "node alpha bravo", `auto_failback ${mode}`, ...(extra.hacf ?? [])].join("\n"),
    authkeys: AUTHKEYS,
    haresources: `alpha ${VIP}/24/lub0 httpd\n${extra.haresources ?? ""}`,
  });
  if (extra.lubdubCf) writeFileSync(join(agent.configDir, "lubdub.cf"), extra.lubdubCf);
  agent.privateResourceState = true;
}

async function cluster(mode: "on" | "off" | "legacy", body: (f: FailoverLab, alpha: AgentProc, bravo: AgentProc) => Promise<void>, extra: Extra = {}): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), `lubdub-failover-${mode}-`));
  const f = new FailoverLab(base);
  const alpha = new AgentProc("alpha", join(base, "alpha"), f.lab, 1);
  const bravo = new AgentProc("bravo", join(base, "bravo"), f.lab, 2);
  try {
    configure(f, alpha, 2, mode, extra);
    configure(f, bravo, 1, mode, extra);
    f.startClient();
    alpha.start();
    bravo.start();
    await f.waitServedBy("alpha", 30000);
    await Promise.all([alpha.pastStartup(), bravo.pastStartup()]); // failures are timed against deadtime
    await body(f, alpha, bravo);
    assert.equal(f.doubleAnswers, [], "the VIP answered from two MACs at once");
  } catch (e) {
    console.log(`--- alpha:\n${alpha.records.slice(-25).map((r) => `${String(r.time).slice(17, 23)} ${r.event}: ${r.msg}`).join("\n")}\n--- bravo:\n${bravo.records.slice(-25).map((r) => `${String(r.time).slice(17, 23)} ${r.event}: ${r.msg}`).join("\n")}`);
    throw e;
  } finally {
    await alpha.kill9();
    await bravo.kill9();
    f.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
}

/** A hard failure of alpha: its agent SIGKILLed and its cable cut. Returns when bravo serves. */
async function killAlpha(f: FailoverLab, alpha: AgentProc): Promise<{ killedAt: number; servedAt: number }> {
  const killedAt = Date.now();
  await alpha.kill9();
  f.lab.linkDown(1);
  const servedAt = await f.waitServedBy("bravo", DEADTIME_MS + 10000, killedAt);
  return { killedAt, servedAt };
}

/** Alpha comes back: the agent starts (and cleans up what its previous life left) before the cable is plugged in. */
async function reviveAlpha(f: FailoverLab, alpha: AgentProc): Promise<void> {
  const mark = alpha.records.length;
  alpha.start();
  await alpha.event("node.started", {}, 15000, mark);
  // node.started comes after the agent stopped what its previous life left running.
  f.lab.linkUp(1);
}

testWhere(t, "auto_failback on: hard failure moves the VIP within deadtime + 1 s with a gratuitous ARP; the primary takes it back", [...REQS], () =>
  cluster("on", async (f, alpha, bravo) => {
    const { killedAt, servedAt } = await killAlpha(f, alpha);
    console.log(`  on: bravo answered ${servedAt - killedAt} ms after alpha's failure (deadtime ${DEADTIME_MS} ms)`);
    assert.ok(servedAt - killedAt <= DEADTIME_MS + 1000, `took ${servedAt - killedAt} ms`);
    const bravoMac = f.mac(2);
    await sleep(300);
    assert.ok(f.garpsFrom(bravoMac).length > 0, `no gratuitous ARP from bravo (${bravoMac}) seen by the client:\n${f.arpLines.slice(-10).join("\n")}`);
    // lubdub.cf set IPaddr's announcements to 3 at 100 ms: exactly 3 unsolicited requests.
    await sleep(1000);
    const requests = f.garpsFrom(bravoMac).filter((l) => /Request who-has 192\.0\.2\.100 (\(ff:ff:ff:ff:ff:ff\) )?tell 192\.0\.2\.100/.test(l));
    assert.is(requests.length, 3, requests.join("\n"));
    assert.equal(bravo.cli(["cl-status", "nodestatus", "alpha"]).out, "dead\n");
    await reviveAlpha(f, alpha);
    const back = Date.now();
    await f.waitServedBy("alpha", 30000, back);
    await sleep(1000);
    const last = f.probes.slice(-20);
    assert.ok(last.every((p) => p.ok && p.node === "alpha"), JSON.stringify(last.slice(-3)));
    const st = alpha.status();
    assert.is(st.resources.groups[0].holder, "alpha");
  }, { lubdubCf: "arp IPaddr count=3 interval=100ms\n" }),
);

testWhere(t, "auto_failback off: the service stays on the backup when the primary returns", [...REQS], () =>
  cluster("off", async (f, alpha, bravo) => {
    await killAlpha(f, alpha);
    await reviveAlpha(f, alpha);
    await alpha.event("node.status", { node: "bravo", status: "active" }, 20000);
    await sleep(4000);
    const last = f.probes.slice(-50);
    assert.ok(last.every((p) => p.ok && p.node === "bravo"), JSON.stringify(last.filter((p) => p.node !== "bravo").slice(0, 3)));
    assert.is(bravo.status().resources.groups[0].holder, "bravo");
  }),
);

testWhere(t, "standby and takeover move the group both ways; SIGTERM hands over without waiting for deadtime", [...REQS], () =>
  cluster("off", async (f, alpha, bravo) => {
    await alpha.event("rsc.stable", {}, 20000);
    await bravo.event("rsc.stable", {}, 20000);
    let mark = Date.now();
    assert.is(alpha.cli(["standby"]).code, 0);
    await f.waitServedBy("bravo", 10000, mark);
    mark = Date.now();
    assert.is(alpha.cli(["takeover", "all"]).code, 0);
    await f.waitServedBy("alpha", 10000, mark);
    mark = Date.now();
    assert.is(alpha.cli(["standby", "local"]).code, 0);
    await f.waitServedBy("bravo", 10000, mark);
    mark = Date.now();
    const records = alpha.records.length;
    assert.is(bravo.cli(["standby", "foreign"]).code, 0);
    await f.waitServedBy("alpha", 10000, mark);
    await alpha.event("standby.done", {}, 10000, records); // both sides settled
    // SIGTERM on the holder: released and taken over well inside deadtime.
    const before = Date.now();
    alpha.signal("SIGTERM");
    const servedAt = await f.waitServedBy("bravo", DEADTIME_MS, before);
    console.log(`  SIGTERM: bravo answered ${servedAt - before} ms after alpha was told to stop`);
    if (process.env.LUBDUB_TRACE) {
      for (const a of [alpha, bravo]) console.log(a.records.filter((r) => Date.parse(r.time as string) >= before - 50).map((r) => `${a.node} ${String(r.time).slice(17, 23)} ${r.event}: ${r.msg}`).join("\n"));
    }
    assert.is(await alpha.stop(), 0);
    assert.is(bravo.records.find((r) => r.event === "node.dead" && r.node === "alpha" && Date.parse(r.time as string) < servedAt), undefined, "bravo waited for deadtime");
  }),
);

testWhere(t, "legacy: the primary always gets its group back", [...REQS], () =>
  cluster("legacy", async (f, alpha) => {
    await killAlpha(f, alpha);
    await reviveAlpha(f, alpha);
    await f.waitServedBy("alpha", 30000, Date.now());
  }),
);

const OCF_IP = "192.0.2.102";

testWhere(t, "real OCF agents from resource-agents (IPaddr2, Dummy) in a group fail over", [...REQS, { path: "/usr/lib/ocf/resource.d/heartbeat/Dummy", what: "resource-agents" }], () =>
  cluster(
    "on",
    async (f, alpha, bravo) => {
      const onHost = (h: number) => f.lab.execSync(h, ["ip", "-o", "-4", "addr", "show", "dev", "lub0"]).includes(` ${OCF_IP}/`);
      await bravo.event("rsc.acquired", { keys: `ocf:heartbeat:IPaddr2::ip=${OCF_IP}::cidr_netmask=24::nic=lub0` }, 30000);
      assert.ok(onHost(2) && !onHost(1));
      const before = Date.now();
      bravo.signal("SIGTERM");
      await alpha.event("rsc.acquired", { keys: `ocf:heartbeat:IPaddr2::ip=${OCF_IP}::cidr_netmask=24::nic=lub0` }, 10000);
      console.log(`  OCF group moved to alpha ${Date.now() - before} ms after bravo's SIGTERM`);
      assert.ok(onHost(1) && !onHost(2));
      const g = alpha.status().resources.groups.find((x: { key: string }) => x.key.startsWith("ocf:"));
      assert.is(g.holder, "alpha");
      assert.is(alpha.records.find((r) => r.event === "rsc.action-failed"), undefined);
    },
    { haresources: `bravo ocf:heartbeat:IPaddr2::ip=${OCF_IP}::cidr_netmask=24::nic=lub0 ocf:heartbeat:Dummy\n` },
  ),
);

testWhere(t, "monitoring: a killed service is restarted here, and after 2 restarts the group moves", [...REQS], () =>
  cluster(
    "on",
    async (f, alpha, bravo) => {
      const killService = () => {
        const pid = Number(readFileSync(join(f.base, "httpd-alpha.pid"), "utf8").trim());
        process.kill(pid, "SIGKILL");
        return Date.now();
      };
      for (let i = 1; i <= 2; i++) {
        const mark = alpha.records.length;
        const at = killService();
        await alpha.event("rsc.monitor-restarted", {}, 15000, mark);
        await f.waitServedBy("alpha", 10000, at);
      }
      const at = killService();
      await alpha.event("rsc.monitor-giving-up", {}, 15000);
      await f.waitServedBy("bravo", 15000, at);
      // auto_failback is on, but alpha declines the group it just gave up.
      await sleep(5000);
      assert.ok(f.probes.slice(-20).every((p) => p.ok && p.node === "bravo"));
      assert.is(bravo.status().resources.groups[0].holder, "bravo");
    },
    { lubdubCf: "monitor * interval=1s timeout=5s restarts=2 window=5min\n" },
  ),
);

testWhere(t, "ping node (ipfail): the holder that loses the ping node while its peer still reaches it hands the group over", [...REQS, { command: "nft", pkg: "nftables" }], () =>
  cluster(
    "off",
    async (f, alpha, bravo) => {
      const client = f.lab.host(3).address;
      await alpha.event("ping.up", {}, 20000);
      await bravo.event("ping.up", {}, 20000);
      await alpha.event("rsc.stable", {}, 20000);
      await sleep(1000);
      // alpha can no longer reach the ping node (the client's host); bravo still can.
      f.lab.execSync(1, ["nft", "add", "table", "inet", "lubdub_ipfail"]);
      f.lab.execSync(1, ["nft", "add", "chain", "inet", "lubdub_ipfail", "out", "{ type filter hook output priority 0 ; }"]);
      f.lab.execSync(1, ["nft", "add", "rule", "inet", "lubdub_ipfail", "out", "ip", "daddr", client, "icmp", "type", "echo-request", "drop"]);
      const cut = Date.now();
      await alpha.event("ping.dead", {}, 10000);
      const served = await f.waitServedBy("bravo", 40000, cut);
      console.log(`  ipfail: bravo serves ${served - cut} ms after alpha lost the ping node (deadping 2 s + hysteresis)`);
      assert.ok(served - cut >= 10000, "handed over before the hysteresis elapsed");
      assert.equal(alpha.cli(["cl-status", "nodetype", client]).out, "ping\n");
      assert.equal(alpha.cli(["cl-status", "listnodes", "-p"]).out, `${client}\n`);
      assert.equal(bravo.cli(["cl-status", "nodestatus", client]), { code: 0, out: "ping\n" });
    },
    { hacf: [`ping ${"192.0.2.3"}`] },
  ),
);

t.run();
