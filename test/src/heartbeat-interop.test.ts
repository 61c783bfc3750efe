// lubdubd and a stock Heartbeat 3.0.6 form one cluster: for each auth method
// (crc, md5, sha1), alpha runs lubdubd and bravo runs Debian's heartbeat in
// its own namespace. Each must see the other active on every link, neither
// may complain about the other's messages, cl_status and lubdub cl-status
// must print the same things, and each must declare the other dead when it
// is killed, and see it come back.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AgentProc, writeHaDir } from "./support/agent-proc.js";
import { NetnsLab } from "./support/netns.js";
import { PtyPair } from "./support/pty.js";
import { HEARTBEAT, SOCAT, UNSHARE, testWhere } from "./support/require.js";
import { StockNode } from "./support/stock-node.js";

const t = suite("interop with stock heartbeat");
const DEADTIME_MS = 4000;
const SLACK_MS = 4000;
/** Stock log lines that are about its environment, not about lubdub's messages. */
const ENVIRONMENT_NOISE = /core|Core|Logging daemon|lock ourselves into memory|rc\.d|may be too small|legacy|Initial dead time|write socket priority|resource.d|haresources|No Previous generation|ResourceManager|pclose/;

const CASES: Array<{ method: string; authkeys: string; serial: boolean }> = [
  { method: "crc", authkeys: "auth 1\n1 crc\n", serial: false },
  { method: "md5", authkeys: "auth 2\n2 md5 interop-md5-key\n", serial: false },
  { method: "sha1", authkeys: "auth 3\n1 crc\n3 sha1 interop-sha1-key\n", serial: true },
];

function hacf(media: string[]): string {
  return ["keepalive 500ms", "warntime 2", "deadtime 4", "initdead 8", "udpport 694", ...media, "node alpha bravo", "auto_failback on"].join("\n");
}

for (const c of CASES) {
  testWhere(t, `${c.method}${c.serial ? " over ucast and serial" : " over ucast"}: one cluster, both ways`, ["root", "netns", HEARTBEAT, UNSHARE, SOCAT], async () => {
    const base = mkdtempSync(join(tmpdir(), `lubdub-interop-${c.method}-`));
    const lab = NetnsLab.create({ hosts: 2 });
    const pty = c.serial ? await PtyPair.open({ dir: base, names: ["ttyA", "ttyB"] }) : null;
    const alpha = new AgentProc("alpha", join(base, "alpha"), lab, 1);
    const bravo = new StockNode("bravo", join(base, "bravo"), lab, 2);
    try {
      writeHaDir(alpha.configDir, { hacf: hacf([...(pty ? [`serial ${pty.a}`] : []), `ucast lub0 ${lab.host(2).address}`]), authkeys: c.authkeys });
      bravo.configure(hacf([...(pty ? [`serial ${pty.b}`] : []), `ucast lub0 ${lab.host(1).address}`]), c.authkeys);
      bravo.start();
      alpha.start();

      await alpha.event("node.status", { node: "bravo", status: "active" }, 20000);
      await bravo.waitLog(/Status update for node alpha: status active/, 20000);
      await alpha.event("link.up", { node: "bravo", link: "lub0" });
      await bravo.waitLog(/Link alpha:lub0 up/, 10000);
      if (pty) {
        await alpha.event("link.up", { node: "bravo", link: pty.a }, 15000);
        await bravo.waitLog(new RegExp(`Link alpha:${pty.b.replace(/[/.]/g, "\\$&")} up`), 15000);
      }

      // The stock node's view, through the real cl_status.
      assert.equal(bravo.clStatus(["nodestatus", "alpha"]), { code: 0, out: "active\n" });
      assert.equal(bravo.clStatus(["hblinkstatus", "alpha", "lub0"]), { code: 0, out: "up\n" });
      // The same questions asked of lubdub answer in the same format.
      for (const args of [["hbstatus"], ["nodestatus", "%PEER"], ["hblinkstatus", "%PEER", "lub0"], ["nodetype", "%PEER"], ["listnodes"], ["listhblinks", "%PEER"]]) {
        const theirs = bravo.clStatus(args.map((a) => (a === "%PEER" ? "alpha" : a)));
        const ours = alpha.cli(["cl-status", ...args.map((a) => (a === "%PEER" ? "bravo" : a))]);
        const norm = (s: string) => s.split("\n").map((l) => l.replace(pty?.a ?? "\0", "TTY").replace(pty?.b ?? "\0", "TTY")).sort().join("\n");
        assert.is(ours.code, theirs.code, `cl-status ${args.join(" ")}: exit code`);
        assert.is(norm(ours.out), norm(theirs.out), `cl-status ${args.join(" ")}: output`);
      }

      // Neither side complained about the other's messages.
      const complaints = bravo.logLines().filter((l) => /^(ERROR|WARN|CRIT)/.test(l) && !ENVIRONMENT_NOISE.test(l));
      assert.equal(complaints, [], "stock heartbeat complained");
      const ourComplaints = alpha.records.filter((r) => typeof r.event === "string" && /^(msg\.|rexmit\.invalid)/.test(r.event));
      assert.equal(ourComplaints.map((r) => r.msg), [], "lubdubd complained");

      // lubdubd killed: the stock node declares it dead after deadtime, then sees it restart.
      let from = bravo.logLines().length;
      await alpha.kill9();
      await bravo.waitLog(/node alpha: is dead/, DEADTIME_MS + SLACK_MS, from);
      from = bravo.logLines().length;
      const mark = alpha.records.length;
      alpha.start();
      await bravo.waitLog(/Heartbeat restart on node alpha|Status update for node alpha: status (init|up|active)/, 20000, from);
      await bravo.waitLog(/Status update for node alpha: status active/, 20000, from);
      await alpha.event("node.status", { node: "bravo", status: "active" }, 20000, mark);

      // The stock node killed: lubdubd declares it dead after deadtime.
      const m2 = alpha.records.length;
      await bravo.kill();
      await alpha.event("node.dead", { node: "bravo" }, DEADTIME_MS + SLACK_MS, m2);
      assert.is(await alpha.stop(), 0);
    } catch (e) {
      // What each side last said, so a failure here can be understood from CI output.
      console.log(`--- stock bravo log (last 40 lines):\n${bravo.logLines().slice(-40).join("\n")}`);
      console.log(`--- lubdubd alpha log (last 30 records):\n${alpha.records.slice(-30).map((r) => `${r.event}: ${r.msg}`).join("\n")}`);
      throw e;
    } finally {
      await alpha.kill9();
      await bravo.kill();
      await pty?.close(false);
      lab.cleanup();
      rmSync(base, { recursive: true, force: true });
    }
  });
}

t.run();
