import { suite } from "uvu";
import * as assert from "uvu/assert";
import { describeFailure, inNetns, ipArgv, parseIpAddrJson, runCommand } from "./ip-command.js";
import { SAMPLE } from "./ip-addr-sample.test-data.js";

const t = suite("ip-command");


t("parses interfaces, flags, MACs and IPv4 addresses only", () => {
  const r = parseIpAddrJson(SAMPLE);
  if ("error" in r) throw new Error(r.error);
  assert.equal(r.map((i) => [i.name, i.index, i.up, i.loopback, i.mac]), [
    ["lo", 1, true, true, null],
    ["eth0", 2, true, false, "52:54:00:12:34:56"],
    ["eth1", 3, false, false, "52:54:00:ab:cd:ef"],
    ["eth2", 4, true, false, "52:54:00:00:00:02"],
    ["dummy0", 5, false, false, "aa:bb:cc:dd:ee:ff"],
  ]);
  assert.equal(r[1]!.addrs, [
    { local: "192.0.2.1", prefixlen: 24, broadcast: "192.0.2.255", label: "eth0", secondary: false },
    { local: "192.0.2.50", prefixlen: 24, broadcast: "192.0.2.255", label: "eth0:0", secondary: true },
    { local: "198.51.100.200", prefixlen: 32, broadcast: null, label: "eth0", secondary: false },
  ]);
  assert.equal(r[4]!.addrs, []);
});

t("an address without a label takes the interface's name", () => {
  const r = parseIpAddrJson(JSON.stringify([{ ifindex: 7, ifname: "br0", flags: ["UP"], addr_info: [{ family: "inet", local: "203.0.113.9", prefixlen: 24 }] }]));
  if ("error" in r) throw new Error(r.error);
  assert.is(r[0]!.addrs[0]!.label, "br0");
});

t("what is not `ip -j addr show` JSON is an error, never a throw", () => {
  for (const bad of ["", "not json", "{}", "42"]) {
    const r = parseIpAddrJson(bad);
    assert.ok("error" in r, bad);
  }
  // Junk entries are skipped.
  const r = parseIpAddrJson(JSON.stringify([null, 3, { ifname: 5 }, { ifname: "x", addr_info: [{ family: "inet" }, null] }]));
  if ("error" in r) throw new Error(r.error);
  assert.equal(r.map((i) => [i.name, i.addrs.length]), [["x", 0]]);
});

t("ip and other commands inside a namespace", () => {
  assert.equal(ipArgv(["-j", "addr", "show"]), ["ip", "-j", "addr", "show"]);
  assert.equal(ipArgv(["addr", "show"], "ns1"), ["ip", "-n", "ns1", "addr", "show"]);
  assert.equal(inNetns(["arping", "-U"], "ns1"), ["ip", "netns", "exec", "ns1", "arping", "-U"]);
  assert.equal(inNetns(["arping", "-U"]), ["arping", "-U"]);
});

t("runCommand: exit codes, output, timeout kill and spawn errors, never rejecting", async () => {
  const ok = await runCommand(["sh", "-c", "echo out; echo err >&2"], { timeoutMs: 5000 });
  assert.ok(ok.ok);
  assert.is(ok.stdout, "out\n");
  assert.is(ok.stderr, "err\n");
  const bad = await runCommand(["sh", "-c", "echo 'RTNETLINK answers: File exists' >&2; exit 2"], { timeoutMs: 5000 });
  assert.not.ok(bad.ok);
  assert.is(bad.exitCode, 2);
  assert.is(describeFailure(bad), "sh -c echo 'RTNETLINK answers: File exists' >&2; exit 2 failed (exit 2): RTNETLINK answers: File exists");
  const slow = await runCommand(["sleep", "10"], { timeoutMs: 50 });
  assert.ok(slow.timedOut);
  assert.not.ok(slow.ok);
  assert.ok(slow.durationMs < 2000);
  assert.match(describeFailure(slow, 50), /timed out after 50 ms/);
  const missing = await runCommand(["lubdub-no-such-command"], { timeoutMs: 1000 });
  assert.not.ok(missing.ok);
  assert.ok(missing.spawnError);
  const ac = new AbortController();
  const p = runCommand(["sleep", "10"], { timeoutMs: 5000, signal: ac.signal });
  ac.abort();
  const aborted = await p;
  assert.ok(aborted.aborted);
  const none = await runCommand(["true"], { timeoutMs: 0 });
  assert.ok(none.timedOut);
});

t.run();
