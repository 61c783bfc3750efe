import { suite } from "uvu";
import * as assert from "uvu/assert";
import { broadcastOf, checkAddress, findPlacement, findPresent, freeAliasLabel, type IfInfo, parseIpArgument, subnetContains } from "./address.js";
import { SAMPLE } from "./ip-addr-sample.test-data.js";
import { parseIpAddrJson } from "./ip-command.js";

const t = suite("ip address");

const parsed = parseIpAddrJson(SAMPLE);
if ("error" in parsed) throw new Error(parsed.error);
const IFACES: IfInfo[] = parsed;

function place(arg: string, ifaces: IfInfo[] = IFACES): unknown {
  const a = parseIpArgument(arg);
  if ("error" in a) return { parseError: a.error };
  const bad = checkAddress(a);
  if (bad) return { checkError: bad };
  const p = findPlacement(a, ifaces);
  return "error" in p ? { error: p.error } : [p.iface, p.prefix, p.broadcast];
}

function iface(name: string, addrs: [string, number, string?][], extra: Partial<IfInfo> = {}): IfInfo {
  return { name, index: 0, up: true, loopback: false, mac: null, addrs: addrs.map(([local, prefixlen, broadcast]) => ({ local, prefixlen, broadcast: broadcast ?? null, label: name, secondary: false })), ...extra };
}

t("the haresources forms: IP, IP/cidr, IP/cidr/nic, IP/cidr/nic/broadcast", () => {
  assert.equal(place("192.0.2.10"), ["eth0", 24, "192.0.2.255"]);
  assert.equal(place("192.0.2.10/24"), ["eth0", 24, "192.0.2.255"]);
  assert.equal(place("192.0.2.10/24/eth0"), ["eth0", 24, "192.0.2.255"]);
  assert.equal(place("192.0.2.10/24/eth0/192.0.2.255"), ["eth0", 24, "192.0.2.255"]);
  // A dotted netmask is taken too, as the agents' findif converts it.
  assert.equal(place("192.0.2.10/255.255.255.0/eth0"), ["eth0", 24, "192.0.2.255"]);
  // The wrapper's rule: a third field starting with a digit is the broadcast.
  assert.equal(place("192.0.2.10/24/192.0.2.255"), ["eth0", 24, "192.0.2.255"]);
});

t("findif: the interface whose subnet holds the IP, and its prefix", () => {
  // eth2 is 198.51.100.128/26; eth1 (198.51.100.0/25, down but configured) does not hold .140.
  assert.equal(place("198.51.100.140"), ["eth2", 26, "198.51.100.191"]);
  // eth1's address has no brd: the broadcast is computed.
  assert.equal(place("198.51.100.10"), ["eth1", 25, "198.51.100.127"]);
  // The interface cannot come without the netmask in the argument: the second field is the netmask.
  assert.equal(place("198.51.100.10/eth1"), { parseError: "'eth1' is not a netmask (a prefix length 1-32 or a dotted mask)" });
  // The longest prefix wins when several subnets hold the IP.
  const two = [iface("wide", [["198.51.100.1", 24]]), iface("narrow", [["198.51.100.5", 25]])];
  assert.equal(place("198.51.100.10", two), ["narrow", 25, "198.51.100.127"]);
  assert.equal(place("198.51.100.200", two), ["wide", 24, "198.51.100.255"]);
  // A given prefix narrower than the subnet: placed there, broadcast of the given prefix.
  assert.equal(place("192.0.2.10/28"), ["eth0", 28, "192.0.2.15"]);
  // Wider than any connected subnet: findif's `route list match IP/16` finds nothing either.
  assert.match(String((place("192.0.2.10/16") as { error: string }).error), /cannot tell the interface/);
  // An interface without a subnet for it, but with the prefix given: as given.
  assert.equal(place("203.0.113.5/24/eth0"), ["eth0", 24, "203.0.113.255"]);
  // /31 and /32 have no broadcast.
  assert.equal(place("192.0.2.10/31/eth0"), ["eth0", 31, null]);
  assert.equal(place("192.0.2.10/32/eth0"), ["eth0", 32, null]);
  // A /32 address does not make a subnet to place others in.
  assert.match(String((place("198.51.100.201") as { error: string }).error), /no interface has an IPv4 subnet containing 198\.51\.100\.201/);
});

t("loopback is used only when named", () => {
  assert.match(String((place("127.0.0.5") as { error: string }).error), /cannot tell the interface/);
  assert.equal(place("127.0.0.5/8/lo"), ["lo", 8, "127.255.255.255"]);
});

t("clear errors: no subnet, no such interface, nic without netmask nor subnet", () => {
  assert.equal(place("203.0.113.5"), { error: "cannot tell the interface: no interface has an IPv4 subnet containing 203.0.113.5; give it as 203.0.113.5/PREFIX/IFACE" });
  assert.equal(place("203.0.113.5/24"), { error: "cannot tell the interface: no interface has an IPv4 subnet containing 203.0.113.5/24; give it as 203.0.113.5/PREFIX/IFACE" });
  assert.equal(place("192.0.2.10/24/nosuch0"), { error: "no interface 'nosuch0' on this host" });
  const a = parseIpArgument("203.0.113.5");
  if ("error" in a) throw new Error(a.error);
  assert.equal(findPlacement({ ...a, iface: "eth2" }, IFACES), { error: "cannot tell the netmask: no IPv4 address on eth2 has a subnet containing 203.0.113.5; give it as 203.0.113.5/PREFIX/eth2" });
  assert.equal(findPlacement({ ...a, ip: "198.51.100.140", iface: "eth2" }, IFACES), { iface: "eth2", prefix: 26, broadcast: "198.51.100.191", how: "from 198.51.100.130/26 on eth2" });
});

t("bad arguments", () => {
  assert.equal(place("not-an-ip"), { parseError: "'not-an-ip' is not an IPv4 address" });
  assert.equal(place("192.0.2.10/33"), { parseError: "'33' is not a netmask (a prefix length 1-32 or a dotted mask)" });
  assert.equal(place("192.0.2.10/255.0.255.0"), { parseError: "'255.0.255.0' is not a netmask (a prefix length 1-32 or a dotted mask)" });
  assert.equal(place("0.1.2.3"), { checkError: "0.1.2.3 is in 0.0.0.0/8, which is not a host address" });
  assert.equal(place("224.0.0.18"), { checkError: "224.0.0.18 is a multicast or reserved address, not a host address" });
  assert.equal(place("192.0.2.0/24/eth0"), { checkError: "192.0.2.0 is the network address of 192.0.2.0/24" });
  assert.equal(place("192.0.2.255/24"), { checkError: "192.0.2.255 is the broadcast address of 192.0.2.255/24" });
  assert.equal(place("192.0.2.10/24/eth0/198.51.100.255"), { checkError: "broadcast 198.51.100.255 is not in 192.0.2.10/24" });
});

t("IPaddr2's nic:label form keeps the label apart", () => {
  const a = parseIpArgument("192.0.2.10/24/eth0:web");
  if ("error" in a) throw new Error(a.error);
  assert.is(a.iface, "eth0");
  assert.is(a.label, "web");
  assert.equal(findPlacement(a, IFACES), { iface: "eth0", prefix: 24, broadcast: "192.0.2.255", how: "as given" });
});

t("IPaddr alias labels: the first free IFACE:N, within 15 characters", () => {
  assert.is(freeAliasLabel("eth0", IFACES), "eth0:1");
  assert.is(freeAliasLabel("eth2", IFACES), "eth2:0");
  const gap = [iface("eth0", [["192.0.2.1", 24]])];
  gap[0]!.addrs.push({ local: "192.0.2.3", prefixlen: 24, broadcast: null, label: "eth0:1", secondary: true });
  assert.is(freeAliasLabel("eth0", gap), "eth0:0");
  assert.is(freeAliasLabel("enp0s31f6", []), "enp0s31f6:0");
  assert.equal(freeAliasLabel("verylongiface14", []), { error: "alias label verylongiface14:0 is longer than 15 characters (interface name too long for IPaddr aliases; use IPaddr2)" });
});

t("where the address is: named interface, or any but loopback", () => {
  assert.equal(findPresent("192.0.2.50", IFACES).map((p) => [p.iface, p.addr.label, p.addr.prefixlen]), [["eth0", "eth0:0", 24]]);
  assert.equal(findPresent("192.0.2.50", IFACES, "eth2"), []);
  assert.equal(findPresent("127.0.0.1", IFACES), []);
  assert.equal(findPresent("127.0.0.1", IFACES, "lo").length, 1);
  assert.equal(findPresent("203.0.113.1", IFACES), []);
});

t("subnet arithmetic", () => {
  assert.ok(subnetContains("192.0.2.1", 24, "192.0.2.254"));
  assert.not.ok(subnetContains("192.0.2.1", 24, "192.0.3.1"));
  assert.ok(subnetContains("10.0.0.1", 1, "127.255.255.255"));
  assert.not.ok(subnetContains("10.0.0.1", 1, "128.0.0.0"));
  assert.is(broadcastOf("10.1.2.3", 8), "10.255.255.255");
  assert.is(broadcastOf("203.0.113.77", 27), "203.0.113.95");
  assert.is(broadcastOf("255.255.255.1", 1), "255.255.255.255");
  assert.is(broadcastOf("203.0.113.77", 30), "203.0.113.79");
  assert.is(broadcastOf("203.0.113.77", 31), null);
});

t.run();
