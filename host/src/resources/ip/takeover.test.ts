// The IPaddr and IPaddr2 classes against a stand-in `ip` and `arping` on
// PATH: which commands they run, and what they answer. The real thing, in
// network namespaces, is test/src/ip-takeover.test.ts.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createIpaddrClass, ipaddrClass } from "../class-ipaddr.js";
import { createIpaddr2Class, ipaddr2Class } from "../class-ipaddr2.js";
import type { ActionContext, ResourceSpec } from "../resource-class.js";
import { cancelAnnouncements, pendingAnnouncements } from "./garp.js";
import { SAMPLE } from "./ip-addr-sample.test-data.js";

const t = suite("ip takeover classes");

const dir = mkdtempSync(join(tmpdir(), "lubdub-ipclass-"));
const log = join(dir, "commands.log");
writeFileSync(join(dir, "sample.json"), SAMPLE);
writeFileSync(
  join(dir, "ip"),
  `#!/bin/sh
echo "ip $*" >> "${log}"
[ -f "${dir}/slow" ] && sleep 5
case "$*" in
  "-j addr show") cat "${dir}/sample.json" ;;
  *"addr add"*) [ -f "${dir}/fail-add" ] && { echo "RTNETLINK answers: Operation not permitted" >&2; exit 2; } ;;
esac
exit 0
`,
);
writeFileSync(
  join(dir, "arping"),
  `#!/bin/sh
echo "arping $*" >> "${log}"
for a; do last="$a"; done
echo "ARPING $last from $last"
sleep 1
`,
);
chmodSync(join(dir, "ip"), 0o755);
chmodSync(join(dir, "arping"), 0o755);
process.env.PATH = `${dir}:${process.env.PATH}`;

const CTX: ActionContext = { timeoutMs: 5000, env: {} };
// The classes may start an \`ip -batch\` ahead of time (ip-warm.ts); this stand-in ends without reading it, so each add and del runs on its own.
const commands = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((l) => l && !l.includes("-batch")) : []);
function spec(className: "IPaddr" | "IPaddr2", ...args: string[]): ResourceSpec {
  return { raw: `${className}::${args.join("::")}`, className, name: className, args, params: {}, path: null };
}
function reset(): void {
  rmSync(log, { force: true });
  rmSync(join(dir, "fail-add"), { force: true });
  rmSync(join(dir, "slow"), { force: true });
}

t.before.each(reset);
t.after(() => {
  for (const ip of ["192.0.2.10", "192.0.2.11", "198.51.100.10"]) cancelAnnouncements({ ip, netns: null });
  rmSync(dir, { recursive: true, force: true });
});

t("class names are haresources' IPaddr and IPaddr2", () => {
  assert.is(ipaddrClass.name, "IPaddr");
  assert.is(ipaddr2Class.name, "IPaddr2");
});

t("IPaddr start: findif, an eth0:N alias, then gratuitous ARP", async () => {
  const r = await ipaddrClass.run(spec("IPaddr", "192.0.2.10"), "start", CTX);
  assert.ok(r.ok, r.output);
  assert.is(r.exitCode, null);
  assert.equal(commands(), [
    "ip -j addr show",
    "ip -4 addr add 192.0.2.10/24 brd 192.0.2.255 dev eth0 label eth0:1",
    "arping -U -c 1 -I eth0 192.0.2.10",
  ]);
  assert.match(r.output, /^IPaddr::192\.0\.2\.10: started: added 192\.0\.2\.10\/24 brd 192\.0\.2\.255 on eth0 \(label eth0:1\), netmask and interface from 192\.0\.2\.1\/24 on eth0; first gratuitous ARP sent/);
  cancelAnnouncements({ ip: "192.0.2.10", netns: null });
});

t("IPaddr2 start: a plain secondary address; a label only when given as nic:label", async () => {
  const quiet = createIpaddr2Class({ arpCount: 0 });
  let r = await quiet.run(spec("IPaddr2", "192.0.2.10/24/eth0/192.0.2.255"), "start", CTX);
  assert.ok(r.ok, r.output);
  r = await quiet.run(spec("IPaddr2", "192.0.2.11/24/eth0:web"), "start", CTX);
  assert.ok(r.ok, r.output);
  assert.match(r.output, /gratuitous ARP disabled/);
  assert.equal(commands(), [
    "ip -j addr show",
    "ip -4 addr add 192.0.2.10/24 brd 192.0.2.255 dev eth0",
    "ip -j addr show",
    "ip -4 addr add 192.0.2.11/24 brd 192.0.2.255 dev eth0 label eth0:web",
  ]);
});

t("start brings a down interface up, as IPaddr2's add_interface does", async () => {
  const r = await createIpaddr2Class({ arpCount: 0 }).run(spec("IPaddr2", "198.51.100.10"), "start", CTX);
  assert.ok(r.ok, r.output);
  assert.equal(commands().slice(1), ["ip -4 addr add 198.51.100.10/25 brd 198.51.100.127 dev eth1", "ip link set dev eth1 up"]);
  assert.match(r.output, /brought eth1 up/);
});

t("start when already there: success, nothing added, no ARP", async () => {
  for (const cls of [ipaddrClass, ipaddr2Class]) {
    const r = await cls.run(spec(cls.name as "IPaddr", "192.0.2.50/24/eth0"), "start", CTX);
    assert.ok(r.ok, r.output);
    assert.match(r.output, /already running: 192\.0\.2\.50\/24 is on eth0:0/);
  }
  assert.equal(commands(), ["ip -j addr show", "ip -j addr show"]);
});

t("stop removes the address wherever it is; absent is success", async () => {
  let r = await ipaddr2Class.run(spec("IPaddr2", "192.0.2.50"), "stop", CTX);
  assert.ok(r.ok, r.output);
  assert.equal(commands(), ["ip -j addr show", "ip -4 addr del 192.0.2.50/24 dev eth0"]);
  assert.match(r.output, /stopped: removed 192\.0\.2\.50\/24 from eth0:0/);
  reset();
  r = await ipaddrClass.run(spec("IPaddr", "203.0.113.7/24/eth0"), "stop", CTX);
  assert.ok(r.ok, r.output);
  assert.match(r.output, /not running: 203\.0\.113\.7 is on no interface/);
  assert.equal(commands(), ["ip -j addr show"]);
});

t("status: running, stopped, or failed when only on another interface", async () => {
  let r = await ipaddrClass.run(spec("IPaddr", "192.0.2.50"), "status", CTX);
  assert.equal([r.ok, r.state], [true, "running"]);
  r = await ipaddr2Class.run(spec("IPaddr2", "192.0.2.10/24/eth0"), "status", CTX);
  assert.equal([r.ok, r.state], [false, "stopped"]);
  r = await ipaddr2Class.run(spec("IPaddr2", "192.0.2.50/24/eth2"), "status", CTX);
  assert.equal([r.ok, r.state], [false, "failed"]);
  assert.match(r.output, /192\.0\.2\.50 is on eth0, not on eth2 as configured/);
  // Loopback is not looked at unless named.
  r = await ipaddr2Class.run(spec("IPaddr2", "127.0.0.1"), "status", CTX);
  assert.equal([r.ok, r.state], [false, "stopped"]);
  r = await ipaddr2Class.run(spec("IPaddr2", "127.0.0.1/8/lo"), "status", CTX);
  assert.equal([r.ok, r.state], [true, "running"]);
});

t("bad arguments: clear errors naming the resource, for every action, nothing run", async () => {
  const cases: [string[], RegExp][] = [
    [[], /^IPaddr2::: (start|stop|status) failed: expects one argument ip\[\/netmask\[\/interface\[:label\]\]\[\/broadcast\]\], got 0$/],
    [["192.0.2.10", "extra"], /^IPaddr2::192\.0\.2\.10::extra: .* failed: expects one argument .*got 2$/],
    [["not-an-ip"], /^IPaddr2::not-an-ip: .* failed: bad argument .*'not-an-ip' is not an IPv4 address$/],
    [["192.0.2.10/33"], /'33' is not a netmask/],
    [["224.0.0.1"], /multicast/],
  ];
  for (const [args, re] of cases) {
    for (const action of ["start", "stop", "status"] as const) {
      const r = await ipaddr2Class.run(spec("IPaddr2", ...args), action, CTX);
      assert.not.ok(r.ok);
      assert.match(r.output, re);
      assert.match(r.output, new RegExp(`: ${action} failed: `));
      if (action === "status") assert.is(r.state, "failed");
    }
  }
  assert.equal(commands(), []);
});

t("start errors: no interface, no subnet, ip refusing", async () => {
  let r = await ipaddr2Class.run(spec("IPaddr2", "192.0.2.10/24/nosuch0"), "start", CTX);
  assert.not.ok(r.ok);
  assert.is(r.output, "IPaddr2::192.0.2.10/24/nosuch0: start failed: no interface 'nosuch0' on this host");
  r = await ipaddrClass.run(spec("IPaddr", "203.0.113.5"), "start", CTX);
  assert.not.ok(r.ok);
  assert.is(r.output, "IPaddr::203.0.113.5: start failed: cannot tell the interface: no interface has an IPv4 subnet containing 203.0.113.5; give it as 203.0.113.5/PREFIX/IFACE");
  writeFileSync(join(dir, "fail-add"), "");
  r = await ipaddr2Class.run(spec("IPaddr2", "192.0.2.10"), "start", CTX);
  assert.not.ok(r.ok);
  assert.is(r.output, "IPaddr2::192.0.2.10: start failed: ip -4 addr add 192.0.2.10/24 brd 192.0.2.255 dev eth0 failed (exit 2): RTNETLINK answers: Operation not permitted");
  assert.not.ok(commands().some((c) => c.startsWith("arping")));
});

t("every ip command has a deadline within the action's timeout", async () => {
  writeFileSync(join(dir, "slow"), "");
  const t0 = performance.now();
  const r = await ipaddr2Class.run(spec("IPaddr2", "192.0.2.10"), "status", { timeoutMs: 150, env: {} });
  assert.ok(performance.now() - t0 < 2000);
  assert.not.ok(r.ok);
  assert.ok(r.timedOut);
  assert.equal(r.state, "failed");
  assert.match(r.output, /^IPaddr2::192\.0\.2\.10: status failed: cannot read the interfaces: ip -j addr show: timed out after \d+ ms and was killed$/);
});

t("the gratuitous ARP options reach arping's schedule", async () => {
  const cls = createIpaddrClass({ arpCount: 2, arpIntervalMs: 100 });
  const r = await cls.run(spec("IPaddr", "192.0.2.10/24/eth0"), "start", CTX);
  assert.ok(r.ok, r.output);
  assert.match(r.output, /3 more in the background over 150 ms/);
  await new Promise((res) => setTimeout(res, 450));
  assert.equal(commands().filter((c) => c.startsWith("arping")), [
    "arping -U -c 1 -I eth0 192.0.2.10",
    "arping -A -q -c 1 -I eth0 192.0.2.10",
    "arping -U -q -c 1 -I eth0 192.0.2.10",
    "arping -A -q -c 1 -I eth0 192.0.2.10",
  ]);
  // stop cancels what is left (here: the lingering arping processes).
  const s = await cls.run(spec("IPaddr", "192.0.2.10/24/eth0"), "stop", CTX);
  assert.ok(s.ok, s.output);
  assert.match(s.output, /cancelled \d+ pending gratuitous ARP/);
});

t("probe: the status, and a start from the same listing; what status and then start would answer", async () => {
  const probe = ipaddr2Class.probe!;
  // Absent: stopped, then added and announced, from one `ip -j addr show`.
  let p = await probe(spec("IPaddr2", "192.0.2.10/24/eth0"), CTX);
  assert.equal([p.status.ok, p.status.state], [false, "stopped"], p.status.output);
  let started = await p.start!(CTX);
  assert.ok(started.ok, started.output);
  assert.match(started.output, /^IPaddr2::192\.0\.2\.10\/24\/eth0: started: added 192\.0\.2\.10\/24 brd 192\.0\.2\.255 on eth0, netmask and interface as given; first gratuitous ARP sent/);
  assert.equal(commands(), ["ip -j addr show", "ip -4 addr add 192.0.2.10/24 brd 192.0.2.255 dev eth0", "arping -U -c 1 -I eth0 192.0.2.10"]);
  cancelAnnouncements({ ip: "192.0.2.10", netns: null });
  // Present: running (the runner starts nothing then; a start from this look would say so too).
  reset();
  p = await probe(spec("IPaddr2", "192.0.2.50/24/eth0"), CTX);
  assert.equal([p.status.ok, p.status.state], [true, "running"]);
  assert.match((await p.start!(CTX)).output, /already running/);
  assert.equal(commands(), ["ip -j addr show"]);
  // Only on another interface than the one named: status failed, start adds it where it belongs (as start alone does).
  reset();
  p = await createIpaddr2Class({ arpCount: 0 }).probe!(spec("IPaddr2", "192.0.2.50/24/eth1"), CTX);
  assert.equal([p.status.ok, p.status.state], [false, "failed"]);
  started = await p.start!(CTX);
  assert.ok(started.ok, started.output);
  assert.equal(commands(), ["ip -j addr show", "ip -4 addr add 192.0.2.50/24 brd 192.0.2.255 dev eth1", "ip link set dev eth1 up"]);
  // Bad argument: the status fails, nothing run, no start offered (run(start) fails the same way).
  reset();
  p = await probe(spec("IPaddr2", "not-an-ip"), CTX);
  assert.equal([p.status.ok, p.status.state, p.start], [false, "failed", undefined]);
  assert.equal(commands(), []);
  // Cancelled: the start from the probe runs nothing.
  p = await probe(spec("IPaddr2", "192.0.2.10/24/eth0"), CTX);
  const ac = new AbortController();
  ac.abort();
  reset();
  assert.not.ok((await p.start!({ ...CTX, signal: ac.signal })).ok);
  assert.not.ok(commands().some((c) => c.includes("addr add")));
});

t("in a group (finishLater), start returns once arping runs; the confirmation of the first gratuitous ARP completes its output", async () => {
  const rests: Promise<string>[] = [];
  const r = await ipaddr2Class.run(spec("IPaddr2", "192.0.2.10/24/eth0"), "start", { ...CTX, finishLater: (p) => rests.push(p) });
  assert.ok(r.ok, r.output);
  assert.is(r.output, "IPaddr2::192.0.2.10/24/eth0: started: added 192.0.2.10/24 brd 192.0.2.255 on eth0, netmask and interface as given");
  assert.is(rests.length, 1);
  // arping was started before start returned (its process and the nine later packets are pending).
  assert.is(pendingAnnouncements({ ip: "192.0.2.10", netns: null }), 10);
  assert.match(await rests[0]!, /^; first gratuitous ARP sent \(\d+\.\d ms\); 9 more in the background over 900 ms$/);
  assert.ok(commands().includes("arping -U -c 1 -I eth0 192.0.2.10"), commands().join("\n"));
  cancelAnnouncements({ ip: "192.0.2.10", netns: null });
});

t.run();
