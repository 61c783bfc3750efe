// The stage for failover tests: two servers (hosts 1 and 2) and a client
// (host 3) on one bridge. Each server runs lubdubd (or a stock Heartbeat)
// with a haresources group of a floating IP and an HTTP service started by an
// LSB init script; the client probes the service every 10 ms, captures ARP
// with tcpdump, and watches that the floating IP never answers from two MACs.
//
// The init script reaches each server through `ip netns exec`'s own
// convention: /etc/netns/NS/init.d is mounted over /etc/init.d for processes
// in that namespace, so nothing is installed in the machine's /etc/init.d
// (the lab installs it and removes it on cleanup).

import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.js";
import { NetnsLab } from "./netns.js";
import { ArpWatch } from "./arp-watch.js";

export const VIP = "192.0.2.100";
export const SERVICE_PORT = 8080;
const HTTP_SERVICE = join(REPO_ROOT, "test/dist/fixtures/http-service.js");
const HTTP_PROBE = join(REPO_ROOT, "test/dist/fixtures/http-probe.js");

export interface ProbeResult {
  t: number;
  ok: boolean;
  node: string | null;
}

/** The LSB init script for the test service on one node. */
function initScript(node: string, runDir: string): string {
  const pid = join(runDir, `httpd-${node}.pid`);
  const log = join(runDir, `httpd-${node}.log`);
  return `#!/bin/sh
### BEGIN INIT INFO
# Provides:          httpd
# Short-Description: lubdub test HTTP service on the floating IP
### END INIT INFO
PIDFILE=${pid}
# Alive and not a zombie waiting for its new parent to reap it.
running() { [ -f "$PIDFILE" ] && p=$(cat "$PIDFILE") && [ -r /proc/$p/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$p/status; }
case "$1" in
  start)
    running && exit 0
    ${process.execPath} ${HTTP_SERVICE} ${VIP} ${SERVICE_PORT} ${node} >>${log} 2>&1 &
    echo $! > "$PIDFILE"
    # Ready when it listens (bound to the floating IP, so the IP must be up first).
    for i in $(seq 1 100); do
      grep -q "listening on" ${log} 2>/dev/null && tail -n 1 ${log} | grep -q "listening" && exit 0
      running || exit 1
      sleep 0.05
    done
    exit 1 ;;
  stop)
    if running; then
      kill "$(cat "$PIDFILE")"
      for i in $(seq 1 100); do running || break; sleep 0.05; done
    fi
    rm -f "$PIDFILE"; : > ${log}
    exit 0 ;;
  status)
    if running; then echo "httpd is running"; exit 0; fi
    echo "httpd is stopped"; exit 3 ;;
  *) echo "usage: $0 start|stop|status"; exit 2 ;;
esac
`;
}

export class FailoverLab {
  readonly lab: NetnsLab;
  private probe: ChildProcess | null = null;
  private probeBuf = "";
  readonly probes: ProbeResult[] = [];
  private tcpdump: ChildProcess | null = null;
  readonly arpLines: string[] = [];
  /** The two-MAC watcher (started by startClient). */
  arpWatch: ArpWatch | null = null;
  /** Every moment two MACs answered for the VIP within the same instant. */
  readonly doubleAnswers: string[] = [];
  readonly macsSeen = new Set<string>();

  constructor(readonly base: string) {
    this.lab = NetnsLab.create({ hosts: 3, topology: "bridge" });
    for (const i of [1, 2]) this.lab.installInitScript(i, "httpd", initScript(i === 1 ? "alpha" : "bravo", base));
  }

  mac(i: number): string {
    return this.lab.mac(i);
  }

  /** Starts the client: HTTP probe every 10 ms, tcpdump on ARP, the two-MAC watcher. */
  startClient(): void {
    this.probe = this.lab.exec(3, [process.execPath, HTTP_PROBE, VIP, String(SERVICE_PORT), "10"]);
    this.probe.stdout!.on("data", (d: Buffer) => {
      this.probeBuf += d.toString();
      let nl: number;
      while ((nl = this.probeBuf.indexOf("\n")) >= 0) {
        const line = this.probeBuf.slice(0, nl);
        this.probeBuf = this.probeBuf.slice(nl + 1);
        try {
          this.probes.push(JSON.parse(line) as ProbeResult);
        } catch {
          /* partial line */
        }
      }
    });
    this.tcpdump = this.lab.exec(3, ["tcpdump", "-l", "-n", "-e", "-i", "lub0", "arp"]);
    this.tcpdump.stdout!.on("data", (d: Buffer) => this.arpLines.push(...d.toString().split("\n").filter(Boolean)));
    // Broadcast a who-has for the VIP every 100 ms; two MACs answering one round is a split brain.
    // (This machine's arping takes whole seconds for -i, so staggered arpings; see arp-watch.ts.)
    const watch = new ArpWatch(this.lab, 3, VIP);
    watch.onDouble = (d) => this.doubleAnswers.push(`${new Date(d.at).toISOString()}: ${d.macs[0]} and ${d.macs[1]} answered one ARP round`);
    watch.onMac = (mac) => this.macsSeen.add(mac);
    watch.start();
    this.arpWatch = watch;
  }

  /** Resolves when the client has been answered by `node`, with the time of the first such answer. */
  async waitServedBy(node: string, timeoutMs: number, sinceMs = 0): Promise<number> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.probes.find((p) => p.ok && p.node === node && p.t >= sinceMs);
      if (hit) return hit.t;
      if (Date.now() > until) {
        const recent = this.probes.slice(-5).map((p) => `${p.ok ? p.node : "fail"}`).join(",");
        throw new Error(`client not served by ${node} within ${timeoutMs} ms (last probes: ${recent || "none"})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** ARP lines tcpdump printed that announce the VIP from `mac` (gratuitous: sender and target both the VIP, or a reply). */
  garpsFrom(mac: string): string[] {
    return this.arpLines.filter((l) => l.toLowerCase().startsWith(mac) || l.toLowerCase().includes(` ${mac} >`)).filter((l) => l.includes(VIP) && (/Request who-has 192\.0\.2\.100 tell 192\.0\.2\.100|Request who-has 192\.0\.2\.100 \(ff:ff:ff:ff:ff:ff\) tell 192\.0\.2\.100|Reply 192\.0\.2\.100 is-at/.test(l)));
  }

  /** Kills the test services (by their pid files) and everything the lab started. */
  cleanup(): void {
    this.arpWatch?.stop();
    for (const p of [this.probe, this.tcpdump]) p?.kill("SIGKILL");
    for (const node of ["alpha", "bravo"]) {
      try {
        const pid = Number(readFileSync(join(this.base, `httpd-${node}.pid`), "utf8").trim());
        if (pid > 0) process.kill(pid, "SIGKILL");
      } catch {
        /* not running */
      }
    }
    this.lab.cleanup();
  }
}

