// lubdubd refuses to start on a bad /etc/ha.d and says where the problem is;
// lubdub check gives the same verdict and exit codes.

import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AgentProc, LUBDUB, LUBDUBD, writeHaDir } from "./support/agent-proc.js";
import { testWhere } from "./support/require.js";

const t = suite("lubdubd configuration");
const dir = mkdtempSync(join(tmpdir(), "lubdub-cfg-"));
const GOOD = "keepalive 1\ndeadtime 10\nucast eth0 192.0.2.2\nnode alpha bravo\nauto_failback on\n";

function daemon(configDir: string) {
  return spawnSync(process.execPath, [LUBDUBD, "--config-dir", configDir, "--state-dir", join(dir, "state"), "--run-dir", join(dir, "run"), "--node-name", "alpha"], { encoding: "utf8", timeout: 10000 });
}
function check(configDir: string) {
  return spawnSync(process.execPath, [LUBDUB, "check", "--config-dir", configDir, "--node-name", "alpha"], { encoding: "utf8", timeout: 10000 });
}

const BAD: Array<[string, string, RegExp]> = [
  ["unknown directive", `${GOOD}frobnicate on\n`, /ha\.cf:6: error: unknown directive 'frobnicate'/],
  ["initdead below deadtime", `initdead 5\n${GOOD}`, /ha\.cf:1: error: initdead \(5 s\) is smaller than deadtime \(10 s\)/],
  ["this node not listed", GOOD.replace("node alpha bravo", "node bravo charlie"), /ha\.cf:4: error: this node 'alpha' is not in the node list/],
  ["bad baud", `baud 4800\n${GOOD}`, /ha\.cf:1: error: baud: invalid baud rate '4800'/],
  ["stonith with a missing password", `${GOOD}stonith_host * baytech 192.0.2.9 admin\n`, /ha\.cf:6: error: stonith_host: baytech needs ipaddr login password/],
];

t("fencing and the kernel watchdog: lubdub check accepts them; lubdubd refuses a watchdog it cannot open, saying why", () => {
  for (const name of ["stonith_host * baytech 192.0.2.9 admin pw", "watchdog /dev/watchdog"]) {
    const d = join(dir, `pending-${name.split(" ")[0]}`);
    writeHaDir(d, { hacf: `${GOOD}${name}\n`, authkeys: "auth 1\n1 crc\n" });
    assert.is(check(d).status, 0, name);
  }
  // (fencing itself runs in the fencing-* tests; a real /dev/watchdog is never opened here)
  const d = join(dir, "watchdog-missing");
  writeHaDir(d, { hacf: `${GOOD}watchdog /nonexistent/watchdog\n`, authkeys: "auth 1\n1 crc\n" });
  const r = daemon(d);
  assert.is(r.status, 65, r.stderr);
  assert.match(r.stderr, /ha\.cf:6: watchdog \/nonexistent\/watchdog: cannot open: ENOENT \(no such device: load a watchdog driver, e\.g\. modprobe softdog\); not started/);
});

for (const [name, hacf, re] of BAD) {
  t(`refused: ${name}`, () => {
    const d = join(dir, name.replace(/\W+/g, "-"));
    writeHaDir(d, { hacf, authkeys: "auth 1\n1 crc\n" });
    const r = daemon(d);
    assert.is(r.status, 65, r.stderr);
    assert.match(r.stderr, re);
    assert.match(r.stderr, "not started");
    const c = check(d);
    assert.is(c.status, 65);
    assert.match(c.stdout, re);
  });
}

const BAD_HARESOURCES: Array<[string, string, RegExp]> = [
  ["unknown node", "alpha 192.0.2.10\ncharlie 192.0.2.20\n", /haresources:2: error: .*charlie/],
  ["resource that resolves nowhere", "alpha 192.0.2.10 no-such-script-anywhere\n", /haresources:1: error: .*no-such-script-anywhere/],
  ["bad IP shorthand", "alpha 192.0.2.300/24\n", /haresources:1: error: /],
  ["ocf without an agent", "alpha ocf:heartbeat\n", /haresources:1: error: /],
];

for (const [name, text, re] of BAD_HARESOURCES) {
  t(`haresources refused: ${name}`, () => {
    const d = join(dir, `hr-${name.replace(/\W+/g, "-")}`);
    writeHaDir(d, { hacf: GOOD, authkeys: "auth 1\n1 crc\n", haresources: text });
    const r = daemon(d);
    assert.is(r.status, 65, r.stderr);
    assert.match(r.stderr, re);
    const c = check(d);
    assert.is(c.status, 65);
    assert.match(c.stdout, re);
  });
}

t("authkeys readable by others is refused with that reason", () => {
  const d = join(dir, "authkeys-0644");
  writeHaDir(d, { hacf: GOOD, authkeys: "auth 1\n1 sha1 key\n" });
  chmodSync(join(d, "authkeys"), 0o644);
  const r = daemon(d);
  assert.is(r.status, 65);
  assert.match(r.stderr, /authkeys: error: mode 0644 .*chmod 600/);
});

t("a bad authkeys line names its line", () => {
  const d = join(dir, "authkeys-bad");
  writeHaDir(d, { hacf: GOOD, authkeys: "auth 1\n1 sha1 key\n2 rot13 key\n" });
  const r = check(d);
  assert.is(r.status, 65);
  assert.match(r.stdout, /authkeys:3: error:/);
});

t("missing config dir: exit 66 from check, 65 from the daemon, naming the file", () => {
  const r = check(join(dir, "nope"));
  assert.is(r.status, 66);
  assert.match(r.stdout, /nope\/ha\.cf: error: cannot read: file not found/);
  assert.is(daemon(join(dir, "nope")).status, 65);
});

t("bad command-line arguments exit 64", () => {
  const r = spawnSync(process.execPath, [LUBDUBD, "--bogus"], { encoding: "utf8" });
  assert.is(r.status, 64);
  assert.match(r.stderr, "unknown option");
});

t("a good config passes check and describes itself", () => {
  const d = join(dir, "good");
  writeHaDir(d, { hacf: GOOD, authkeys: "auth 1\n1 md5 key\n" });
  writeFileSync(join(d, "haresources"), "");
  const c = check(d);
  assert.is(c.status, 0, c.stdout);
  assert.match(c.stdout, "nodes: alpha, bravo");
  assert.match(c.stdout, "medium: ucast eth0 → 192.0.2.2:694");
  assert.match(c.stdout, "signing with key 1 (md5)");
});

testWhere(t, "respawn: a client starts as its user once communication is up and stops with the agent", ["root"], async () => {
  const d = join(dir, "respawn");
  const a = new AgentProc("alpha", d, null, 1);
  writeHaDir(a.configDir, {
    hacf: "keepalive 200ms\ndeadtime 1\ninitdead 1\nucast lo 127.0.0.1\nudpport 6994\nnode alpha bravo\nauto_failback on\nrespawn nobody /bin/sleep 1000\nenv GREETING=hello\n",
    authkeys: "auth 1\n1 crc\n",
  });
  a.start();
  try {
    await a.event("respawn.started", {}, 15000);
    const st = a.status();
    const client = st.respawn.clients ? st.respawn.clients[0] : st.respawn[0];
    const pid = client.pid as number;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const nobody = spawnSync("id", ["-u", "nobody"], { encoding: "utf8" }).stdout.trim();
    assert.match(status, new RegExp(`\\nUid:\\s+${nobody}\\s`));
    assert.match(readFileSync(`/proc/${pid}/environ`, "latin1"), "HA_GREETING=hello");
    assert.is(await a.stop(), 0);
    assert.not.ok(existsSync(`/proc/${pid}/status`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, "utf8")), "the client outlived the agent");
  } finally {
    await a.kill9();
  }
});

t.after(() => rmSync(dir, { recursive: true, force: true }));
t.run();
