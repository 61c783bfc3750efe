// lubdub check and a real Heartbeat 3.0.6 read the same /etc/ha.d and must
// agree on whether the node may start. Where lubdub is deliberately stricter
// (values Heartbeat lets through unchecked, features lubdub refuses rather
// than silently lacking), the case says so and why.

import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { REPO_ROOT } from "./support/paths.js";
import { HEARTBEAT, UNSHARE, testWhere } from "./support/require.js";
import { stockHeartbeatVerdict } from "./support/stock-heartbeat.js";

const t = suite("ha.cf: lubdub check vs stock heartbeat");
const LUBDUB = join(REPO_ROOT, "host/dist/cli/lubdub.js");
const MEDIA = "ucast lo 127.0.0.1";
const NODES = "node alpha bravo";
const OK = `${MEDIA}\n${NODES}\nauto_failback on`;
/** Parameter files for the stonith cases (read by both). */
const FILES = mkdtempSync(join(tmpdir(), "lubdub-stonith-cfg-"));
writeFileSync(join(FILES, "rpc.cfg"), "# the rack's RPC\n127.0.0.9 admin secret\n");
writeFileSync(join(FILES, "short.cfg"), "127.0.0.9 admin\n");

interface Case {
  name: string;
  hacf: string;
  authkeysMode?: number;
  /** Set when lubdub refuses what Heartbeat starts with: the reason. */
  stricter?: string;
}

const CASES: Case[] = [
  { name: "a plain two-node config", hacf: OK },
  { name: "the capture cluster's timings", hacf: `keepalive 1\nwarntime 3\ndeadtime 6\ninitdead 12\nudpport 694\n${OK}` },
  { name: "ms units, short initdead (warning only)", hacf: `keepalive 500ms\ndeadtime 1500ms\ninitdead 9\n${OK}` },
  { name: "us units", hacf: `keepalive 500000us\n${OK}` },
  { name: "warntime above deadtime", hacf: `keepalive 1\ndeadtime 3\nwarntime 5\ninitdead 12\n${OK}` },
  { name: "initdead below deadtime", hacf: `deadtime 20\ninitdead 10\n${OK}` },
  { name: "deadtime not above twice keepalive", hacf: `keepalive 2\ndeadtime 4\n${OK}` },
  { name: "zero warntime", hacf: `warntime 0\n${OK}` },
  { name: "a time with a bad suffix", hacf: `keepalive 1x\n${OK}` },
  { name: "a negative time", hacf: `keepalive -1\n${OK}` },
  { name: "deadping too small", hacf: `deadping 1\n${OK}` },
  { name: "this node missing from the node list", hacf: `${MEDIA}\nnode bravo charlie\nauto_failback on` },
  { name: "no node list", hacf: `${MEDIA}\nauto_failback on` },
  { name: "no media", hacf: `${NODES}\nauto_failback on` },
  { name: "an unknown directive", hacf: `frobnicate yes\n${OK}` },
  { name: "name=value syntax", hacf: `keepalive=2\n${OK}` },
  { name: "auto_failback with a bad value", hacf: `${MEDIA}\n${NODES}\nauto_failback maybe` },
  { name: "auto_failback unset (legacy)", hacf: `${MEDIA}\n${NODES}` },
  { name: "obsolete nice_failback", hacf: `${MEDIA}\n${NODES}\nnice_failback on` },
  { name: "a baud rate the serial plugin lacks", hacf: `baud 4800\n${OK}` },
  { name: "a fast baud rate", hacf: `baud 230400\n${OK}` },
  { name: "ucast without a peer", hacf: `ucast lo\n${NODES}\nauto_failback on` },
  { name: "ucast to a bad address", hacf: `ucast lo 999.1.1.1\n${NODES}\nauto_failback on` },
  { name: "mcast to a unicast address", hacf: `mcast lo 192.0.2.1 694 1 0\n${NODES}\nauto_failback on` },
  { name: "an unknown log facility", hacf: `logfacility local9\n${OK}` },
  { name: "a known log facility", hacf: `logfacility local0\n${OK}` },
  { name: "bad hbgenmethod", hacf: `hbgenmethod foo\n${OK}` },
  { name: "bad msgfmt", hacf: `msgfmt bogus\n${OK}` },
  { name: "msgfmt netstring", hacf: `msgfmt netstring\n${OK}` },
  { name: "comments, tabs, a repeated directive and node", hacf: `# two seconds\nkeepalive\t1 # one\nkeepalive 2\nnode alpha\n${OK}` },
  { name: "process tuning lubdub does not need", hacf: `realtime on\ncoredumps true\nuse_logd no\n${OK}` },
  { name: "authkeys readable by others", hacf: OK, authkeysMode: 0o644 },
  { name: "ping nodes", hacf: `ping 192.0.2.254 192.0.2.253\n${OK}` },
  { name: "a ping group", hacf: `ping_group uplinks 192.0.2.254 192.0.2.253\ndeadping 10\n${OK}` },
  { name: "ping to a bad address", hacf: `ping 999.1.1.1\n${OK}` },
  { name: "ping_group without addresses", hacf: `ping_group uplinks\n${OK}` },
  { name: "ping nodes with deadping too small", hacf: `ping 192.0.2.254\ndeadping 1\n${OK}` },
  { name: "a ping line without addresses", hacf: `ping\n${OK}`, stricter: "Heartbeat silently runs without ping nodes; an empty list directive is a mistake" },
  { name: "ping by host name", hacf: `ping localhost\n${OK}`, stricter: "ping nodes are given by IPv4 address; a name would hang liveness on name resolution" },
  { name: "ping_group with a bad address", hacf: `ping_group uplinks 192.0.2.254 999.1.1.1\n${OK}`, stricter: "Heartbeat silently leaves the bad address out of the group" },
  { name: "ping_group named like a cluster node", hacf: `ping_group bravo 192.0.2.254\n${OK}`, stricter: "the name would stand for two nodes in cl_status" },
  { name: "udpport out of range", hacf: `udpport 70000\n${OK}`, stricter: "Heartbeat accepts it unchecked; lubdub names the bad value" },
  { name: "stonith_host with a type lubdub lacks", hacf: `stonith_host * null alpha bravo\n${OK}`, stricter: "lubdub fences through baytech, external/NAME, fence_NAME, manual or its device; a type it cannot run must not look configured" },
  { name: "stonith_host baytech, a password with a blank", hacf: `stonith_host * baytech 127.0.0.9 admin pass word\n${OK}` },
  { name: "stonith_host baytech without a password", hacf: `stonith_host * baytech 127.0.0.9 admin\n${OK}` },
  { name: "stonith_host without a type", hacf: `stonith_host *\n${OK}` },
  { name: "stonith_host for the other node, unknown type", hacf: `stonith_host bravo nosuch x\n${OK}` },
  { name: "stonith_host for this node in capitals, unknown type", hacf: `stonith_host ALPHA nosuch x\n${OK}` },
  { name: "stonith_host with a missing external plugin", hacf: `stonith_host * external/nosuch a\n${OK}` },
  { name: "stonith_host with cluster-glue's external/ssh", hacf: `stonith_host * external/ssh alpha bravo\n${OK}` },
  { name: "stonith without a file", hacf: `stonith baytech\n${OK}` },
  { name: "stonith with a missing file", hacf: `stonith baytech ${join(FILES, "nosuch.cfg")}\n${OK}` },
  { name: "stonith with a parameter file", hacf: `stonith baytech ${join(FILES, "rpc.cfg")}\n${OK}` },
  { name: "stonith with a parameter file short of a value", hacf: `stonith baytech ${join(FILES, "short.cfg")}\n${OK}` },
  { name: "watchdog", hacf: `watchdog /dev/watchdog\n${OK}` },
];

testWhere(t, "every case gets the same verdict from both", ["root", HEARTBEAT, UNSHARE], async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-check-"));
  try {
    const disagreements: string[] = [];
    // A few at a time: each stock start takes about a second.
    const queue = [...CASES];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const stock = await stockHeartbeatVerdict({ hacf: c.hacf, authkeysMode: c.authkeysMode, node: "alpha" });
        const cdir = mkdtempSync(join(dir, "c-"));
        writeFileSync(join(cdir, "ha.cf"), c.hacf + "\n");
        writeFileSync(join(cdir, "authkeys"), "auth 1\n1 crc\n");
        writeFileSync(join(cdir, "haresources"), "");
        chmodSync(join(cdir, "authkeys"), c.authkeysMode ?? 0o600);
        const ours = spawnSync(process.execPath, [LUBDUB, "check", "--config-dir", cdir, "--node-name", "alpha"], { encoding: "utf8" });
        const lubdubStarts = ours.status === 0;
        const expected = c.stricter ? false : stock.started;
        const line = `${c.name}: heartbeat ${stock.started ? "starts" : "refuses"}, lubdub ${lubdubStarts ? "starts" : "refuses"}${c.stricter ? ` (stricter: ${c.stricter})` : ""}`;
        console.log(`  ${line}`);
        if (c.stricter && !stock.started) disagreements.push(`${c.name}: marked stricter but heartbeat refuses it too`);
        if (lubdubStarts !== expected) disagreements.push(`${line}\n    heartbeat: ${stock.problems.join(" | ")}\n    lubdub: ${ours.stdout.trim().split("\n").join(" | ")}`);
        if (!lubdubStarts && !/ha\.cf(:\d+)?: error|authkeys: error/.test(ours.stdout)) disagreements.push(`${c.name}: lubdub refused without naming the file`);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.equal(disagreements, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(FILES, { recursive: true, force: true });
  }
});

t.run();
