import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseInterval } from "./interval.js";
import { defaultInitdead, parseHaCf } from "./hacf.js";

const t = suite("ha.cf");
const BASE = "ucast eth1 192.0.2.2\nnode alpha bravo\nauto_failback on\n";

function parse(text: string, node = "alpha") {
  const r = parseHaCf(text, "ha.cf", node);
  return { ...r, errors: r.diagnostics.filter((d) => d.severity === "error"), warnings: r.diagnostics.filter((d) => d.severity === "warning") };
}

t("time values: seconds, ms and us suffixes, decimals, rounding", () => {
  assert.is(parseInterval("2"), 2000);
  assert.is(parseInterval("1.5"), 1500);
  assert.is(parseInterval("500ms"), 500);
  assert.is(parseInterval("1500us"), 2);
  assert.is(parseInterval("0.0004"), 0);
  for (const bad of ["", "1x", "-1", "ms", "1 s", "1e3", "0x10"]) assert.is(parseInterval(bad), null, bad);
});

t("defaults are Heartbeat's", () => {
  const { config, errors } = parse(BASE);
  assert.equal(errors, []);
  assert.is(config.keepaliveMs, 1000);
  assert.is(config.deadtimeMs, 30000);
  assert.is(config.warntimeMs, 15000);
  assert.is(config.initdeadMs, 30000);
  assert.is(config.udpport, 694);
  assert.is(config.baud, 19200);
  assert.is(config.maxRexmitDelayMs, 250);
  assert.equal(config.nodes, ["alpha", "bravo"]);
  assert.equal(config.media, [{ kind: "ucast", iface: "eth1", peer: "192.0.2.2", port: 694, line: 1 }]);
});

t("initdead default follows deadtime", () => {
  assert.is(defaultInitdead(30000), 30000);
  assert.is(defaultInitdead(8000), 16000);
  assert.is(defaultInitdead(5000), 12000);
});

t("the capture cluster's settings", () => {
  const { config, errors, warnings } = parse("keepalive 1\nwarntime 3\ndeadtime 6\ninitdead 12\nudpport 694\nucast wpv0 192.0.2.1\nucast wpv0 192.0.2.2\nauto_failback on\nnode alpha\nnode bravo\n");
  assert.equal(errors, []);
  assert.equal(warnings, []);
  assert.equal([config.keepaliveMs, config.warntimeMs, config.deadtimeMs, config.initdeadMs], [1000, 3000, 6000, 12000]);
  assert.is(config.media.length, 2);
});

t("every medium kind with its arguments; udpport and baud apply", () => {
  const { config, errors } = parse("udpport 700\nbaud 38400\nbcast eth0 eth1\nmcast eth2 225.0.0.1 694 1 0\nserial /dev/ttyS0 /dev/ttyS1\n" + BASE);
  assert.equal(errors, []);
  assert.equal(config.media.map((m) => m.kind), ["bcast", "bcast", "mcast", "serial", "serial", "ucast"]);
  assert.equal(config.media[0], { kind: "bcast", iface: "eth0", port: 700, line: 3 });
  assert.equal(config.media[2], { kind: "mcast", iface: "eth2", group: "225.0.0.1", port: 694, ttl: 1, loop: false, line: 4 });
  assert.equal(config.media[3], { kind: "serial", device: "/dev/ttyS0", baud: 38400, line: 5 });
  assert.is((config.media[5] as { port: number }).port, 700);
});

// Each bad line and the line number and words its error must carry.
const BAD: Array<[string, string, number, RegExp]> = [
  ["unknown directive", "frobnicate yes", 1, /unknown directive 'frobnicate'/],
  ["name=value", "keepalive=2", 1, /without '='/],
  ["bad time", "keepalive 1x", 1, /keepalive: '1x' is not a time/],
  ["negative time", "keepalive -1", 1, /not a time/],
  ["zero warntime", "warntime 0", 1, /greater than zero/],
  ["two values", "keepalive 1 2", 1, /takes one value/],
  ["bad baud", "baud 4800", 1, /invalid baud rate '4800'/],
  ["bad udpport", "udpport 70000", 1, /not a UDP port/],
  ["ucast one arg", "ucast eth1", 1, /takes 2 values/],
  ["ucast bad ip", "ucast eth1 999.1.1.1", 1, /not an IPv4 address/],
  ["mcast not a group", "mcast eth1 10.0.0.1 694 1 0", 1, /not an IPv4 multicast group/],
  ["mcast ttl", "mcast eth1 225.0.0.1 694 9 0", 1, /ttl '9'/],
  ["mcast loop", "mcast eth1 225.0.0.1 694 1 2", 1, /loop '2'/],
  ["serial relative", "serial ttyS0", 1, /not a device path/],
  ["facility", "logfacility local9", 1, /unknown syslog facility 'local9'/],
  ["debug", "debug 300", 1, /debug level/],
  ["hbgenmethod", "hbgenmethod foo", 1, /'foo' is not one of file, time/],
  ["msgfmt", "msgfmt bogus", 1, /msgfmt/],
  ["auto_failback", "auto_failback maybe", 1, /'maybe' is not one of on, off, legacy/],
  ["crm on", "crm on", 1, /haresources mode only/],
  ["crm respawn", "crm respawn", 1, /haresources mode only/],
  ["autojoin", "autojoin any", 1, /autojoin none/],
  ["stonith_host without a type", "stonith_host *", 1, /stonith_host: needs a STONITH type after '\*'/],
  ["stonith_host for this node, unknown type", "stonith_host ALPHA null alpha bravo", 1, /stonith_host: unknown STONITH type 'null'/],
  ["stonith_host nothing", "stonith_host", 1, /stonith_host: needs a host/],
  ["stonith without a file", "stonith baytech", 1, /stonith: needs a STONITH type and a parameter file/],
  ["stonith unknown type", "stonith meatware /etc/ha.d/meat.cfg", 1, /stonith: unknown STONITH type 'meatware'/],
  ["watchdog relative", "watchdog watchdog", 1, /watchdog: 'watchdog' is not a device path/],
  ["ping without an address", "ping", 1, /ping: needs at least one value/],
  ["ping to a bad address", "ping 999.1.1.1", 1, /ping: '999\.1\.1\.1' is not an IPv4 address/],
  ["ping to a host name", "ping gateway.example", 1, /ping: 'gateway\.example' is not an IPv4 address/],
  ["ping to a multicast group", "ping 192.0.2.1 224.0.0.1", 1, /ping: '224\.0\.0\.1' is not a unicast address/],
  ["ping6 refused by name", "ping6 2001:db8::1", 1, /ping6: not supported/],
  ["ping_group without addresses", "ping_group g1", 1, /ping_group: needs a group name and at least one address/],
  ["ping_group bad name", "ping_group g/1 192.0.2.1", 1, /ping_group: 'g\/1' is not a valid name/],
  ["ping_group bad address", "ping_group g1 192.0.2.1 192.0.2", 1, /ping_group: '192\.0\.2' is not an IPv4 address/],
  ["ping_group named like a cluster node", "ping_group bravo 192.0.2.1", 1, /ping node 'bravo' has the name of a cluster node/],
  ["respawn without a program", "respawn hacluster", 1, /respawn: needs a user and a program/],
  ["respawn with nothing", "respawn", 1, /respawn: needs a user and a program/],
  ["respawn relative program", "respawn hacluster ipfail", 1, /respawn: 'ipfail' is not an absolute path/],
  ["respawn bad user name", "respawn -root /usr/lib/heartbeat/ipfail", 1, /respawn: '-root' is not a user name/],
  ["respawn user name too long", `respawn ${"u".repeat(33)} /bin/true`, 1, /is not a user name/],
  ["respawn shell syntax", "respawn nobody /bin/sh -c true;reboot", 1, /respawn: 'true;reboot' has shell syntax/],
  ["respawn shell variable", "respawn nobody /usr/bin/prog $HOME", 1, /'\$HOME' has shell syntax/],
  ["respawn quotes", "respawn nobody /usr/bin/prog 'a b'", 1, /has shell syntax/],
  ["respawn redirection", "respawn nobody /usr/bin/prog >/tmp/x", 1, /has shell syntax/],
  ["respawn tilde", "respawn nobody ~/prog", 1, /not an absolute path/],
  ["env without =", "env FOO", 1, /env: 'FOO' is not NAME=VALUE/],
  ["env bad name", "env 1FOO=bar", 1, /env: '1FOO=bar' is not NAME=VALUE/],
  ["env empty name", "env =bar", 1, /env: '=bar' is not NAME=VALUE/],
  ["env dash in name", "env MY-VAR=1", 1, /is not NAME=VALUE/],
  ["env without value", "env", 1, /env: needs at least one value/],
  ["non-ascii", "node alph\u00e9", 1, /non-ASCII/],
];

for (const [name, line, at, re] of BAD) {
  t(`bad: ${name}`, () => {
    const { errors } = parse(`${line}\n${BASE}`);
    const hit = errors.find((e) => re.test(e.message));
    assert.ok(hit, `${name}: expected ${re} in ${JSON.stringify(errors)}`);
    assert.is(hit!.line, at);
    assert.is(hit!.source, "ha.cf");
  });
}

t("ping and ping_group: one pseudo-node per ping address, one per group", () => {
  const r = parse(`ping 192.0.2.254 198.51.100.1\nping_group uplinks 203.0.113.1 203.0.113.2\ndeadping 10\n${BASE}`);
  assert.equal(r.errors, []);
  assert.equal(r.warnings, []);
  assert.equal(r.config.pingNodes, [
    { name: "192.0.2.254", addresses: ["192.0.2.254"], line: 1 },
    { name: "198.51.100.1", addresses: ["198.51.100.1"], line: 1 },
    { name: "uplinks", addresses: ["203.0.113.1", "203.0.113.2"], line: 2 },
  ]);
  assert.is(r.config.deadpingMs, 10000);
  assert.equal(parse(BASE).config.pingNodes, []);
  assert.is(parse(BASE).config.deadpingMs, 30000, "deadping defaults to deadtime");
});

t("ping: repeats, clashes, loopback, cluster peers and legacy mode", () => {
  let r = parse(`ping 192.0.2.254\nping 192.0.2.254\n${BASE}`);
  assert.equal(r.errors, []);
  assert.ok(r.warnings.some((w) => w.line === 2 && /already declared at line 1; ignored/.test(w.message)));
  assert.is(r.config.pingNodes.length, 1);
  r = parse(`ping_group g1 192.0.2.1\nping_group G1 192.0.2.2\n${BASE}`);
  assert.ok(r.errors.some((e) => e.line === 2 && /a ping node named 'G1' is already declared at line 1/.test(e.message)));
  r = parse(`ping_group g1 192.0.2.1 192.0.2.1\n${BASE}`);
  assert.equal(r.errors, []);
  assert.ok(r.warnings.some((w) => w.line === 1 && /lists an address twice/.test(w.message)));
  assert.equal(r.config.pingNodes[0]!.addresses, ["192.0.2.1"]);
  r = parse(`ping 127.0.0.1\n${BASE}`);
  assert.ok(r.warnings.some((w) => w.line === 1 && /loopback/.test(w.message)));
  r = parse(`ping 192.0.2.2\n${BASE}`);
  assert.ok(r.warnings.some((w) => w.line === 1 && /also a ucast peer/.test(w.message)));
  r = parse("ping 192.0.2.254\nucast eth1 192.0.2.2\nnode alpha bravo\nauto_failback legacy\n");
  assert.equal(r.errors, []);
  assert.ok(r.warnings.some((w) => w.line === 1 && /auto_failback legacy/.test(w.message)));
  const many = Array.from({ length: 33 }, (_, i) => `192.0.2.${i + 1}`).join(" ");
  r = parse(`ping ${many}\n${BASE}`);
  assert.ok(r.errors.some((e) => e.line === 1 && /at most 32 ping addresses/.test(e.message)));
  assert.is(r.config.pingNodes.length, 32);
});

t("respawn: user, program and arguments, in ha.cf order, with their lines", () => {
  const { config, errors, warnings } = parse(`respawn hacluster /usr/lib/heartbeat/ipfail\n${BASE}respawn  nobody\t/usr/local/bin/watcher -v --interval=5 a,b # comment\nrespawn svc$ /opt/x/bin/run\n`);
  assert.equal(errors, []);
  assert.equal(warnings, []);
  assert.equal(config.respawn, [
    { user: "hacluster", argv: ["/usr/lib/heartbeat/ipfail"], line: 1 },
    { user: "nobody", argv: ["/usr/local/bin/watcher", "-v", "--interval=5", "a,b"], line: 5 },
    { user: "svc$", argv: ["/opt/x/bin/run"], line: 6 },
  ]);
  // Whether the user exists or the program is there is not the parser's business.
  assert.equal(parse(`respawn no-such-user /no/such/program\n${BASE}`).errors, []);
  assert.equal(parse(BASE).config.respawn, []);
});

t("env: NAME=VALUE pairs, several per line; the last setting of a name wins", () => {
  const { config, errors, warnings } = parse(`env FOO=bar\nenv A=1 B= C=x=y\nenv FOO=baz\nenv __proto__=p\n${BASE}`);
  assert.equal(errors, []);
  assert.equal(config.env, { FOO: "baz", A: "1", B: "", C: "x=y", ["__proto__"]: "p" });
  assert.is(Object.getPrototypeOf(config.env), Object.prototype);
  assert.ok(warnings.some((w) => w.line === 3 && /env: FOO set again \(first at line 1\)/.test(w.message)));
  assert.equal(parse(BASE).config.env, {});
  // Values cannot hold '#': it starts a comment, as in Heartbeat.
  assert.equal(parse(`env X=a#b\n${BASE}`).config.env, { X: "a" });
});

t("contradictions name the line of the directive at fault", () => {
  let r = parse(`keepalive 2\ndeadtime 4\n${BASE}`);
  assert.ok(r.errors.some((e) => e.line === 2 && /more than twice keepalive/.test(e.message)));
  r = parse(`deadtime 20\ninitdead 10\n${BASE}`);
  assert.ok(r.errors.some((e) => e.line === 2 && /initdead \(10 s\) is smaller than deadtime \(20 s\)/.test(e.message)));
  r = parse(`deadtime 10\nwarntime 10\n${BASE}`);
  assert.equal(r.errors, []);
  assert.ok(r.warnings.some((w) => w.line === 2 && /warntime .* not less than deadtime/.test(w.message)));
  r = parse(`keepalive 500ms\ndeadtime 1500ms\ninitdead 9\n${BASE}`);
  assert.equal(r.errors, []);
  assert.ok(r.warnings.some((w) => w.line === 3 && /may be too small/.test(w.message)));
  r = parse(`deadping 1\n${BASE}`);
  assert.ok(r.errors.some((e) => e.line === 1 && /deadping/.test(e.message)));
});

t("the node list must hold this node; media and nodes must exist", () => {
  let r = parse("ucast eth1 192.0.2.2\nnode bravo charlie\nauto_failback on\n");
  assert.ok(r.errors.some((e) => e.line === 2 && /this node 'alpha' is not in the node list/.test(e.message)));
  r = parse("node alpha bravo\nauto_failback on\n");
  assert.ok(r.errors.some((e) => /no heartbeat media/.test(e.message)));
  r = parse("ucast eth1 192.0.2.2\nauto_failback on\n");
  assert.ok(r.errors.some((e) => /no nodes defined/.test(e.message)));
  r = parse(BASE, "ALPHA");
  assert.equal(r.errors, [], "node names compare without case, as Heartbeat's do");
});

t("comments, blank lines, CRLF, tabs and case of directive names", () => {
  const r = parse("# cluster\r\n\r\n\tKeepalive\t2   # seconds\r\nucast eth1 192.0.2.2\r\nnode alpha bravo\r\nauto_failback off\r\n");
  assert.equal(r.errors, []);
  assert.is(r.config.keepaliveMs, 2000);
  assert.is(r.config.autoFailback, "off");
});

t("obsolete and no-effect directives warn but start; legacy default warns", () => {
  let r = parse("nice_failback on\nrealtime on\ncoredumps true\nucast eth1 192.0.2.2\nnode alpha bravo\n");
  assert.equal(r.errors, []);
  assert.is(r.config.autoFailback, "off");
  assert.ok(r.warnings.some((w) => w.line === 1 && /obsolete/.test(w.message)));
  assert.ok(r.warnings.some((w) => w.line === 2 && /no effect/.test(w.message)));
  r = parse("ucast eth1 192.0.2.2\nnode alpha bravo\n");
  assert.ok(r.warnings.some((w) => /legacy/.test(w.message)));
  assert.is(r.config.autoFailback, "legacy");
});

t("duplicates: repeated scalars warn, the last wins; repeated nodes and media are merged", () => {
  const r = parse(`keepalive 1\nkeepalive 2\nnode alpha\n${BASE}ucast eth1 192.0.2.2\n`);
  assert.equal(r.errors, []);
  assert.is(r.config.keepaliveMs, 2000);
  assert.ok(r.warnings.some((w) => w.line === 2 && /set again \(first at line 1\)/.test(w.message)));
  assert.equal(r.config.nodes, ["alpha", "bravo"]);
  assert.is(r.config.media.length, 1);
});

t("never throws on random bytes", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const words = ["node", "ucast", "mcast", "keepalive", "deadtime", "#", "=", "\n", " ", "\t", "ms", "1", "eth0", "192.0.2.1", "\u0000", "\u00ff"];
  for (let i = 0; i < 3000; i++) {
    let s = "";
    for (let j = 0; j < 40; j++) s += rnd() < 0.8 ? words[Math.floor(rnd() * words.length)]! : String.fromCharCode(Math.floor(rnd() * 256));
    parseHaCf(s, "fuzz", "alpha");
  }
});

t("stonith_host: every node's line kept with its parameters as text (blanks inside the last one kept); which applies is resolved later", () => {
  const { config, errors, warnings } = parse(`${BASE}stonith_host * baytech 192.0.2.9 admin pass word # comment\nstonith_host bravo nosuch x\nstonith_host alpha fence_ipmilan ip=10.0.0.5 username=admin\n`);
  assert.equal(errors, []);
  assert.equal(config.stonith, [
    { kind: "stonith_host", host: "*", type: "baytech", params: "192.0.2.9 admin pass word ", line: 4 },
    { kind: "stonith_host", host: "bravo", type: "nosuch", params: "x", line: 5 },
    { kind: "stonith_host", host: "alpha", type: "fence_ipmilan", params: "ip=10.0.0.5 username=admin", line: 6 },
  ]);
  assert.ok(warnings.some((w) => w.line === 4 && /ends with blanks/.test(w.message)), "trailing blanks of a password are pointed out");
  assert.ok(warnings.some((w) => w.line === 5 && /unknown STONITH type 'nosuch' on bravo's line/.test(w.message)));
});

t("stonith_host for a host that is not a node: warned, never applies", () => {
  const { errors, warnings } = parse(`${BASE}stonith_host charlie lubdub /dev/ttyUSB0\n`);
  assert.equal(errors, []);
  assert.ok(warnings.some((w) => /'charlie' is not a cluster node/.test(w.message)));
});

t("stonith TYPE FILE and watchdog FILE", () => {
  const { config, errors } = parse(`${BASE}stonith baytech /etc/ha.d/rpc.cfg\nwatchdog /dev/watchdog\n`);
  assert.equal(errors, []);
  assert.equal(config.stonith, [{ kind: "stonith", type: "baytech", file: "/etc/ha.d/rpc.cfg", line: 4 }]);
  assert.equal(config.watchdog, { device: "/dev/watchdog", line: 5 });
});

t.run();
