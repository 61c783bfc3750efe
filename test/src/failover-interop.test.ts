// Failover and failback between lubdubd and a stock Heartbeat 3.0.6 sharing
// one haresources: alpha (lubdubd) owns the web group (VIP + HTTP service),
// bravo (Debian's heartbeat) owns a second address. Hard failures and
// returns in both directions; the client watches the VIP throughout.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AgentProc, sleep, writeHaDir } from "./support/agent-proc.js";
import { FailoverLab, VIP } from "./support/failover-lab.js";
import { HEARTBEAT, UNSHARE, testWhere } from "./support/require.js";
import { StockNode } from "./support/stock-node.js";

const t = suite("failover with stock heartbeat");
const BRAVO_IP = "192.0.2.101";
const DEADTIME_MS = 2000;
// IPaddr2 (iproute2) rather than the IP shorthand: the stock IPaddr agent needs ifconfig, which a modern system lacks.
const HARESOURCES = `alpha IPaddr2::${VIP}/24/lub0 httpd\nbravo IPaddr2::${BRAVO_IP}/24/lub0\n`;
const AUTHKEYS = "auth 1\n1 sha1 mixed-failover-key\n";

function hacf(peer: string): string {
  return ["keepalive 200ms", "warntime 1", "deadtime 2", "initdead 10", "udpport 694", `ucast lub0 ${peer}`, "node alpha bravo", "auto_failback on"].join("\n");
}

function hasAddress(f: FailoverLab, host: number, ip: string): boolean {
  return f.lab.execSync(host, ["ip", "-o", "-4", "addr", "show", "dev", "lub0"]).includes(` ${ip}/`);
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

testWhere(t, "lubdubd ↔ heartbeat 3.0.6: failover and failback both ways, never on both nodes", ["root", "netns", HEARTBEAT, UNSHARE, { command: "arping", pkg: "iputils-arping" }, { command: "tcpdump", pkg: "tcpdump" }], async () => {
  const base = mkdtempSync(join(tmpdir(), "lubdub-mixed-failover-"));
  const f = new FailoverLab(base);
  const alpha = new AgentProc("alpha", join(base, "alpha"), f.lab, 1);
  const bravo = new StockNode("bravo", join(base, "bravo"), f.lab, 2);
  try {
    writeHaDir(alpha.configDir, { hacf: hacf(f.lab.host(2).address), authkeys: AUTHKEYS, haresources: HARESOURCES });
    bravo.configure(hacf(f.lab.host(1).address), AUTHKEYS, HARESOURCES);
    f.startClient();
    const startedAt = Date.now();
    bravo.start();
    alpha.start();
    await f.waitServedBy("alpha", 40000);
    const stable = alpha.records.find((r) => r.event === "rsc.stable");
    console.log(`  started together: alpha serves ${Date.now() - startedAt} ms after the start (${stable?.msg ?? "no rsc.stable"})`);
    await until("bravo's address on bravo", () => hasAddress(f, 2, BRAVO_IP), 40000);
    assert.not.ok(hasAddress(f, 1, BRAVO_IP));

    // 1. lubdubd fails hard: the stock node takes the web group.
    let t0 = Date.now();
    await alpha.kill9();
    f.lab.linkDown(1);
    const served = await f.waitServedBy("bravo", DEADTIME_MS + 15000, t0);
    console.log(`  stock heartbeat took over ${served - t0} ms after lubdubd's failure`);
    // 2. lubdubd returns: auto_failback on brings its group back through the standby protocol.
    let mark = alpha.records.length;
    alpha.start();
    await alpha.event("node.started", {}, 15000, mark);
    f.lab.linkUp(1);
    t0 = Date.now();
    await f.waitServedBy("alpha", 40000, t0);
    await until("bravo keeps its own address", () => hasAddress(f, 2, BRAVO_IP) && !hasAddress(f, 1, BRAVO_IP), 10000);

    // 3. The stock node fails hard: lubdubd takes bravo's group.
    mark = alpha.records.length;
    await bravo.kill();
    f.lab.linkDown(2);
    await alpha.event("node.dead", { node: "bravo" }, DEADTIME_MS + 5000, mark);
    await until("bravo's address on alpha", () => hasAddress(f, 1, BRAVO_IP), 10000);
    // 4. It returns (its stale address cleared, as a reboot would): lubdubd gives its group back.
    f.lab.execSync(2, ["ip", "addr", "flush", "dev", "lub0", "to", `${BRAVO_IP}/32`]);
    f.lab.execSync(2, ["sh", "-c", `/etc/init.d/httpd stop >/dev/null 2>&1; ip addr del ${VIP}/24 dev lub0 2>/dev/null; true`]);
    f.lab.linkUp(2);
    bravo.start();
    await until("bravo's address back on bravo", () => hasAddress(f, 2, BRAVO_IP) && !hasAddress(f, 1, BRAVO_IP), 40000);
    assert.ok(hasAddress(f, 1, VIP), "the web group stays with its owner");
    await sleep(1000);
    assert.equal(f.doubleAnswers, [], "the VIP answered from two MACs at once");
    const complaints = bravo.logLines().filter((l) => /^(ERROR|CRIT)/.test(l) && /message|auth|packet|resource/i.test(l) && !/ResourceManager.*listkeys/.test(l));
    assert.equal(complaints, [], "stock heartbeat complained");
  } catch (e) {
    console.log(`--- alpha:\n${alpha.records.slice(-30).map((r) => `${String(r.time).slice(17, 23)} ${r.event}: ${r.msg}`).join("\n")}\n--- bravo:\n${bravo.log().split("\n").slice(-70).join("\n")}`);
    throw e;
  } finally {
    await alpha.kill9();
    await bravo.kill();
    f.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

t.run();
