// The demo's client on the root path: runs in the client's network namespace
// and asks http://VIP:PORT/ every INTERVAL ms, printing one JSON line per try:
// which node answered ("served by NODE"), and the MAC address the client's
// ARP table holds for the VIP (/proc/net/arp is this namespace's own), that
// is, the MAC the answer came from.
//
//   node http-probe.js VIP PORT INTERVAL_MS WATCH_PID
//
// Ends by itself when WATCH_PID (the demo) is gone, so nothing outlives the demo.

import { readFileSync } from "node:fs";
import { get } from "node:http";

const [vip, portText, intervalText, watchText] = process.argv.slice(2);
const port = Number(portText);
const interval = Number(intervalText) || 300;
const watch = Number(watchText);
if (!vip || !Number.isInteger(port)) {
  process.stderr.write("usage: http-probe VIP PORT [INTERVAL_MS] [WATCH_PID]\n");
  process.exit(64);
}

function arpMac(): string | null {
  try {
    for (const line of readFileSync("/proc/net/arp", "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // IP address, HW type, Flags (0x2: complete), HW address, Mask, Device
      if (f[0] === vip && f[2] !== "0x0" && f[3] && f[3] !== "00:00:00:00:00:00") return f[3].toLowerCase();
    }
  } catch {
    // no /proc
  }
  return null;
}

function probe(): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: vip, port, path: "/", timeout: Math.max(200, interval + 200), agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(/served by (\S+)/.exec(body)?.[1] ?? null));
      res.on("error", () => resolve(null));
    });
    req.on("timeout", () => {
      req.destroy();
      resolve(null);
    });
    req.on("error", () => resolve(null));
  });
}

async function loop(): Promise<void> {
  for (;;) {
    const t = Date.now();
    const node = await probe();
    process.stdout.write(JSON.stringify({ t, node, mac: arpMac() }) + "\n");
    const wait = interval - (Date.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

if (Number.isInteger(watch) && watch > 0) {
  setInterval(() => {
    try {
      process.kill(watch, 0);
    } catch {
      process.exit(0);
    }
  }, 1000).unref();
}
process.on("SIGTERM", () => process.exit(0));
void loop();
