// Sample `ip -j addr show` output for the unit tests (not shipped: *.test.* is
// left out of the package, and the runner only runs *.test.js).

/** `ip -j addr show` as iproute2 6.1 prints it (trimmed of lifetimes), on a made-up host. */
export const SAMPLE = JSON.stringify([
  {
    ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], mtu: 65536, operstate: "UNKNOWN", link_type: "loopback",
    address: "00:00:00:00:00:00", broadcast: "00:00:00:00:00:00",
    addr_info: [
      { family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host", label: "lo" },
      { family: "inet6", local: "::1", prefixlen: 128, scope: "host" },
    ],
  },
  {
    ifindex: 2, ifname: "eth0", flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], mtu: 1500, operstate: "UP", link_type: "ether",
    address: "52:54:00:12:34:56", broadcast: "ff:ff:ff:ff:ff:ff",
    addr_info: [
      { family: "inet", local: "192.0.2.1", prefixlen: 24, broadcast: "192.0.2.255", scope: "global", label: "eth0" },
      { family: "inet", local: "192.0.2.50", prefixlen: 24, broadcast: "192.0.2.255", scope: "global", secondary: true, label: "eth0:0" },
      { family: "inet", local: "198.51.100.200", prefixlen: 32, scope: "global", label: "eth0" },
      { family: "inet6", local: "fe80::5054:ff:fe12:3456", prefixlen: 64, scope: "link" },
    ],
  },
  {
    ifindex: 3, ifname: "eth1", flags: ["BROADCAST", "MULTICAST"], mtu: 1500, operstate: "DOWN", link_type: "ether",
    address: "52:54:00:ab:cd:ef", broadcast: "ff:ff:ff:ff:ff:ff",
    addr_info: [{ family: "inet", local: "198.51.100.5", prefixlen: 25, scope: "global", label: "eth1" }],
  },
  {
    ifindex: 4, ifname: "eth2", flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], mtu: 1500, operstate: "UP", link_type: "ether",
    address: "52:54:00:00:00:02", broadcast: "ff:ff:ff:ff:ff:ff",
    addr_info: [{ family: "inet", local: "198.51.100.130", prefixlen: 26, broadcast: "198.51.100.191", scope: "global", label: "eth2" }],
  },
  {
    ifindex: 5, ifname: "dummy0", flags: ["BROADCAST", "NOARP"], mtu: 1500, operstate: "DOWN", link_type: "ether",
    address: "aa:bb:cc:dd:ee:ff", broadcast: "ff:ff:ff:ff:ff:ff", addr_info: [],
  },
]);
