import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compareHaresources, groupsOf, haresourcesDigest, parseHaresources, type ParseHaresourcesOptions } from "./haresources.js";
import { looksLikeIp, parseIpArgument } from "./ip-argument.js";
import { resolveResource } from "./resolve.js";

const t = suite("haresources");

// A made-up machine: which paths are executable is a set, not a disk.
const EXEC = new Set(["/cfg/resource.d/Filesystem", "/cfg/resource.d/apache", "/cfg/resource.d/Delay", "/init/nfs-server", "/init/apache", "/ocf/resource.d/heartbeat/Dummy", "/ocf/resource.d/acme/Thing"]);
const DIRS: ParseHaresourcesOptions = { configDir: "/cfg", initDir: "/init", ocfRoot: "/ocf", isExecutable: (p) => EXEC.has(p) };

function parse(text: string, nodes: string[] | null = ["alpha", "bravo"]) {
  const r = parseHaresources(text, "haresources", { ...DIRS, ...(nodes ? { nodes } : {}) });
  return { ...r, errors: r.diagnostics.filter((d) => d.severity === "error"), warnings: r.diagnostics.filter((d) => d.severity === "warning") };
}

t("one group: owner, key as written, resources in order with their classes", () => {
  const { groups, errors, warnings } = parse("alpha 192.0.2.10 Filesystem::/dev/sda1::/data::ext4 nfs-server ocf:heartbeat:Dummy::state=/run/d::fake=x\n");
  assert.equal(errors, []);
  assert.equal(warnings, []);
  assert.is(groups.length, 1);
  const g = groups[0]!;
  assert.is(g.owner, "alpha");
  assert.is(g.key, "192.0.2.10");
  assert.is(g.line, 1);
  assert.equal(
    g.resources.map((r) => [r.className, r.name, r.args, r.params, r.path]),
    [
      ["IPaddr", "IPaddr", ["192.0.2.10"], {}, null],
      ["heartbeat", "Filesystem", ["/dev/sda1", "/data", "ext4"], {}, "/cfg/resource.d/Filesystem"],
      ["lsb", "nfs-server", [], {}, "/init/nfs-server"],
      ["ocf", "Dummy", [], { state: "/run/d", fake: "x" }, "/ocf/resource.d/heartbeat/Dummy"],
    ],
  );
  assert.is(g.resources[3]!.provider, "heartbeat");
  assert.match(g.resources[3]!.instance!, /^Dummy_[0-9a-f]{8}$/);
});

t("comments, blank lines, continuation (joined with nothing in between), tabs, CRLF", () => {
  const text = [
    "# a comment",
    "",
    "   # an indented comment",
    "alpha\t192.0.2.10 \\",
    "\tFilesystem::/dev/sda1::/data::ext4 \\",
    "  apache   ",
    "bravo 192.0.2.2\\",
    "0 apache\r",
    "alpha Delay::1 ocf:heartbeat:\\",
    "Dummy",
    "",
  ].join("\n");
  const { groups, errors } = parse(text);
  assert.equal(errors, []);
  assert.equal(
    groups.map((g) => [g.owner, g.key, g.line, g.resources.map((r) => r.raw)]),
    [
      ["alpha", "192.0.2.10", 4, ["192.0.2.10", "Filesystem::/dev/sda1::/data::ext4", "apache"]],
      ["bravo", "192.0.2.20", 7, ["192.0.2.20", "apache"]],
      ["alpha", "Delay::1", 9, ["Delay::1", "ocf:heartbeat:Dummy"]],
    ],
  );
  // resource.d comes before init.d, as in ResourceManager.
  assert.is(groups[0]!.resources[2]!.className, "heartbeat");
});

t("the node is matched without regard to case and takes ha.cf's spelling; without a node list it is kept as written", () => {
  assert.is(parse("ALPHA apache\n", ["Alpha", "bravo"]).groups[0]!.owner, "Alpha");
  assert.is(parse("ALPHA apache\n", null).groups[0]!.owner, "ALPHA");
  assert.equal(groupsOf(parse("alpha apache\nbravo Delay\nAlpha Filesystem\n").groups, "ALPHA").map((g) => g.key), ["apache", "Filesystem"]);
});

t("IP shorthand in all its forms is IPaddr::that", () => {
  const forms = ["192.0.2.10", "192.0.2.10/24", "192.0.2.10/255.255.255.0", "192.0.2.10/24/eth0", "192.0.2.10/24/eth0:web", "192.0.2.10/24/eth0/192.0.2.255", "192.0.2.10/24/192.0.2.255"];
  const { groups, errors } = parse(forms.map((f, i) => `${i % 2 ? "alpha" : "bravo"} ${f}`).join("\n"));
  assert.equal(errors, []);
  assert.equal(groups.map((g) => [g.resources[0]!.className, g.resources[0]!.args]), forms.map((f) => ["IPaddr", [f]]));
  assert.equal(parseIpArgument("192.0.2.10/255.255.255.0/eth0:web/192.0.2.255"), { ip: "192.0.2.10", bits: 24, iface: "eth0", label: "web", broadcast: "192.0.2.255" });
  assert.equal(parseIpArgument("192.0.2.10/24/192.0.2.255"), { ip: "192.0.2.10", bits: 24, iface: null, label: null, broadcast: "192.0.2.255" });
  // Heartbeat's isip: a digit first and three dots.
  assert.ok(looksLikeIp("10.0.0.1"));
  assert.ok(looksLikeIp("1x.y.z.w"));
  assert.not.ok(looksLikeIp("10.0.0"));
  assert.not.ok(looksLikeIp("web.example.org.x"));
});

t("IPaddr and IPaddr2 written out are built-ins, whatever resource.d holds", () => {
  const { groups, errors } = parse("alpha IPaddr::192.0.2.10/24/eth0 IPaddr2::192.0.2.11/24/eth0:web/192.0.2.255\n");
  assert.equal(errors, []);
  assert.equal(groups[0]!.resources.map((r) => [r.className, r.path, r.args]), [["IPaddr", null, ["192.0.2.10/24/eth0"]], ["IPaddr2", null, ["192.0.2.11/24/eth0:web/192.0.2.255"]]]);
});

t("bad lines: every one is an error naming its file:line", () => {
  const table: [string, RegExp][] = [
    ["charlie apache", /unknown node 'charlie': not in ha.cf's node list \(alpha, bravo\)/],
    ["alpha", /node 'alpha' is given no resources/],
    ["alpha nosuch", /'nosuch' resolves to nothing/],
    ["alpha 192.0.2.300", /bad IP shorthand: '192.0.2.300' is not an IPv4 address/],
    ["alpha 192.0.2.1/33", /bad IP shorthand: '33' is not a netmask/],
    ["alpha 192.0.2.1/255.0.255.0", /bad IP shorthand: '255.0.255.0' is not a netmask/],
    ["alpha 192.0.2.1/24/eth0/192.0.2.256", /bad IP shorthand: '192.0.2.256' is not an IPv4 broadcast/],
    ["alpha 192.0.2.1/24/averyveryverylongname0", /bad IP shorthand: 'averyveryverylongname0' is not a network interface name/],
    ["alpha 192.0.2.1/24/eth0/192.0.2.255/x", /too many '\/' fields/],
    ["alpha 192.0.2.1::foo", /bad IP shorthand/],
    ["alpha 1a.b.c.d", /bad IP shorthand: '1a.b.c.d' is not an IPv4 address/],
    ["alpha IPaddr", /IPaddr takes one argument/],
    ["alpha IPaddr2::192.0.2.1::eth0", /IPaddr2 takes one argument/],
    ["alpha IPaddr2::192.0.2.1/0", /'0' is not a netmask/],
    ["alpha ocf:heartbeat", /provider or agent missing/],
    ["alpha ocf::Dummy", /provider or agent missing/],
    ["alpha ocf:heartbeat:", /provider or agent missing/],
    ["alpha ocf:a:b:c", /provider or agent missing/],
    ["alpha ocf:heartbeat:Nope", /no OCF agent \/ocf\/resource.d\/heartbeat\/Nope/],
    ["alpha ocf:heartbeat:Dummy::state", /OCF parameter 'state' is not name=value/],
    ["alpha ocf:heartbeat:Dummy::=x", /OCF parameter '=x' is not name=value/],
    ["alpha ocf:heartbeat:Dummy::9a=x", /OCF parameter '9a=x' is not name=value/],
    ["alpha ocf:heartbeat:Dummy::a-b=x", /OCF parameter 'a-b=x' is not name=value/],
    ["alpha ocf:heartbeat:Dummy::", /OCF parameter '' is not name=value/],
    ["alpha ocf:heartbeat:Dummy::a=1::a=2", /OCF parameter 'a' given twice/],
    ["alpha ocf:heart/beat:Dummy", /not an OCF provider name/],
    ["alpha Filesystem::", /argument 1 is empty/],
    ["alpha Filesystem::a::::b", /argument 2 is empty/],
    ["alpha ::x", /no resource name before '::'/],
    ["alpha a:b", /is not a resource name \(':' separates/],
    ["alpha ../init/apache", /'..\/init\/apache' is not a resource name/],
    ["alpha apache \\ ", /a '\\' followed by blanks is not a line continuation/],
    ["alpha apache \u00e9t\u00e9", /control or non-ASCII/],
    ["alpha " + "x".repeat(1025), /longer than 1024 characters/],
  ];
  for (const [line, want] of table) {
    const text = `# first line\n${line}\n`;
    const { errors, groups } = parse(text);
    assert.ok(errors.length >= 1, `no error for: ${line}`);
    assert.is(errors[0]!.line, 2, `line of: ${line}`);
    assert.is(errors[0]!.source, "haresources");
    assert.match(errors[0]!.message, want, `message for ${line}: ${errors[0]!.message}`);
    assert.equal(groups, [], `group kept for: ${line}`);
  }
});

t("duplicate group key; a key used again inside another group", () => {
  let r = parse("alpha apache Delay\nbravo apache Filesystem\n");
  assert.equal(r.errors.map((e) => [e.line, /duplicate group key 'apache' \(first at line 1\)/.test(e.message)]), [[2, true]]);
  assert.equal(r.groups.map((g) => g.line), [1]);
  r = parse("alpha Delay\nbravo apache Delay\n");
  assert.is(r.errors.length, 1);
  assert.is(r.errors[0]!.line, 2);
  assert.match(r.errors[0]!.message, /'Delay' is the key of the group at line 1/);
  assert.equal(r.groups.map((g) => g.key), ["Delay"]);
  // Same resource (not a key) in two groups: allowed, but said.
  r = parse("alpha apache Filesystem::/dev/sdb1::/srv::xfs\nbravo Delay Filesystem::/dev/sdb1::/srv::xfs\n");
  assert.equal(r.errors, []);
  assert.is(r.warnings.length, 1);
  assert.is(r.warnings[0]!.line, 2);
});

t("continuation quirks: comments on continuation lines, continuation at end of file, error lines inside a continued line", () => {
  let r = parse("alpha apache \\\n  Delay # comment\n");
  assert.equal(r.errors.map((e) => e.line), [2]);
  assert.match(r.errors[0]!.message, /comment on a continuation line/);
  r = parse("alpha apache \\\n");
  assert.equal(r.errors.map((e) => e.line), [1]);
  assert.match(r.errors[0]!.message, /ends with a line continuation/);
  r = parse("alpha apache \\\n Delay \\\n  nosuch\n");
  assert.equal(r.errors.map((e) => e.line), [3]);
  // A comment ends the line before any backslash after it.
  r = parse("alpha apache # not continued \\\nbravo Delay\n");
  assert.equal(r.errors, []);
  assert.is(r.groups.length, 2);
});

t("a missing or oversized file; an empty file has no groups", () => {
  assert.equal(parse("").groups, []);
  assert.equal(parse("# nothing\n\n").errors, []);
  const big = parse("#".repeat((1 << 20) + 1));
  assert.is(big.errors[0]!.line, 0);
});

t("resolve: order built-in, resource.d, init.d; ocf path under OCF_ROOT", () => {
  const r = (w: string) => {
    const x = resolveResource(w, DIRS);
    return "spec" in x ? [x.spec.className, x.spec.path] : x.error;
  };
  assert.equal(r("apache"), ["heartbeat", "/cfg/resource.d/apache"]);
  assert.equal(r("nfs-server"), ["lsb", "/init/nfs-server"]);
  assert.equal(r("IPaddr2::10.0.0.1"), ["IPaddr2", null]);
  assert.equal(r("ocf:acme:Thing"), ["ocf", "/ocf/resource.d/acme/Thing"]);
  assert.equal(r("Delay::5::2"), ["heartbeat", "/cfg/resource.d/Delay"]);
});

t("compare and digest: equal meaning, equal digest; differences named by group", () => {
  const a = parse("alpha 192.0.2.10 apache\nbravo Delay::1\n").groups;
  const same = parse("# other comments\nALPHA   192.0.2.10 \\\n apache\nbravo Delay::1\n").groups;
  assert.equal(compareHaresources(a, same), []);
  assert.is(haresourcesDigest(a), haresourcesDigest(same));
  assert.match(haresourcesDigest(a), /^[0-9a-f]{40}$/);

  const b = parse("bravo 192.0.2.10 apache Filesystem::/dev/sda1::/d::ext4\nalpha ocf:heartbeat:Dummy\n").groups;
  const d = compareHaresources(a, b, "alpha", "bravo");
  assert.equal(
    d.map((x) => [x.key, x.lineA, x.lineB]),
    [
      ["192.0.2.10", 1, 1],
      ["192.0.2.10", 1, 1],
      ["Delay::1", 2, null],
      ["ocf:heartbeat:Dummy", null, 2],
    ],
  );
  assert.match(d[0]!.message, /preferred node is alpha on alpha \(line 1\) but bravo on bravo/);
  assert.match(d[1]!.message, /resource 3 is '\(nothing\)' on alpha .* but 'Filesystem::\/dev\/sda1::\/d::ext4' on bravo/);
  assert.match(d[2]!.message, /'Delay::1' is in alpha's haresources \(line 2\) but not in bravo's/);
  assert.is.not(haresourcesDigest(a), haresourcesDigest(b));

  // The IP shorthand and IPaddr:: are the same resource (when not the key).
  const c1 = parse("alpha apache 192.0.2.10\n").groups;
  const c2 = parse("alpha apache IPaddr::192.0.2.10\n").groups;
  assert.equal(compareHaresources(c1, c2), []);
  // Same text, but the script is found in a different place: a difference.
  const other = parseHaresources("alpha apache\n", "h", { ...DIRS, isExecutable: (p) => p === "/init/apache" }).groups;
  const cl = compareHaresources(parse("alpha apache\n").groups, other);
  assert.is(cl.length, 1);
  assert.match(cl[0]!.message, /'apache' is heartbeat on here but lsb on peer/);
  // Group order.
  const o = compareHaresources(parse("alpha apache\nbravo Delay\n").groups, parse("bravo Delay\nalpha apache\n").groups);
  assert.equal(o.map((x) => x.key), [""]);
  assert.match(o[0]!.message, /different order/);
});

t.run();
