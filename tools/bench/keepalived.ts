// A keepalived node for the failover benchmark (--impl keepalived): Debian's
// keepalived 2.2 running one VRRPv3 instance per server, with the same
// floating IP and the same LSB-started service as the lubdub and Heartbeat
// runs, so the client, the failure and the revival are the benchmark's own.
//
// The equivalence with a Heartbeat-style profile keepalive K / deadtime D is
// "the same message rate": advert_int = K. VRRP has no deadtime knob; a
// backup declares the master gone after its Master_Down_Interval, 3 ×
// advert_int + skew, skew = (256 − priority) × advert_int / 256 (VRRPv3,
// RFC 5798), here (256 − 100) / 256 ≈ 0.61 adverts, so 3.61 × K: 3.61 s
// where Heartbeat waits deadtime 5 s at keepalive 1 s. keepalived takes
// advert_int in steps of 0.01 s for VRRPv3, so 0.01 s (10 ms) is its fastest.
//
//   vrrp_instance VI_1 { state BACKUP; priority 150 (alpha) | 100 (bravo);
//     advert_int K; version 3; unicast_peer { PEER }  (as Heartbeat's ucast);
//     virtual_ipaddress { 192.0.2.100/24 dev lub0 }
//     notify_master "NOTIFY master"; notify_backup/notify_fault/notify_stop "NOTIFY backup" }
//
// where NOTIFY runs `/etc/init.d/httpd start|stop` (the service is part of
// the takeover, as in haresources) and appends one line per completed call to
// a file the node follows. preempt is keepalived's default, so a revived
// alpha (higher priority) takes the address back: auto_failback on.
//
// Markers, from keepalived's console log (-l -D -n), stamped as lines
// arrive: dead = "Receive advertisement timeout" (the backup gives up on the
// master), acquire = "Entering MASTER STATE", released = "Entering BACKUP
// STATE" after a takeover; acquired = the notify script's `start` returning.

import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, rmSync, fstatSync, mkdirSync, openSync, readSync, watch, type FSWatcher, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FailoverBenchLab } from "./failover-lab.js";
import { BaseNode, type ClusterNode, type Marker } from "./failover-nodes.js";

export const KEEPALIVED_BIN = "keepalived";

const KEEPALIVED_MARKERS: Array<[RegExp, Marker]> = [
  [/Receive advertisement timeout/, "dead"],
  [/Entering MASTER STATE/, "acquire"],
  [/Entering BACKUP STATE(?! \(init\))/, "released"],
  [/Startup complete/, "started"],
];

/** The VRRP settings for a profile's keepalive, in keepalived's syntax (seconds, two decimals). */
export function advertInt(keepaliveMs: number): string {
  const cs = Math.max(1, Math.round(keepaliveMs / 10));
  return (cs / 100).toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
}

/** Master_Down_Interval of a VRRPv3 backup of `priority` at this advert interval, in ms (RFC 5798 6.1). */
export function masterDownMs(keepaliveMs: number, priority = 100): number {
  return 3 * keepaliveMs + ((256 - priority) * keepaliveMs) / 256;
}

export function keepalivedConf(o: { keepaliveMs: number; priority: number; self: string; peer: string; vipCidr: string; notify: string; iface: string }): string {
  return `global_defs {
  script_user root
  max_auto_priority
  vrrp_garp_master_repeat 5
  vrrp_garp_master_delay 5
}
vrrp_instance VI_1 {
  state BACKUP
  interface ${o.iface}
  virtual_router_id 51
  priority ${o.priority}
  advert_int ${advertInt(o.keepaliveMs)}
  version 3
  unicast_src_ip ${o.self}
  unicast_peer {
    ${o.peer}
  }
  virtual_ipaddress {
    ${o.vipCidr} dev ${o.iface}
  }
  notify_master "${o.notify} master"
  notify_backup "${o.notify} backup"
  notify_fault "${o.notify} backup"
  notify_stop "${o.notify} backup"
}
`;
}

/** One keepalived in a lab namespace, its console log collected from its output. */
export class KeepalivedNode extends BaseNode implements ClusterNode {
  readonly impl = "keepalived";
  private readonly conf: string;
  private readonly notifyLog: string;
  private fd: number | null = null;
  private offset = 0;
  private watcher: FSWatcher | null = null;
  private poller: NodeJS.Timeout | null = null;
  private partial = "";

  constructor(node: string, base: string, lab: FailoverBenchLab, host: number, private readonly vipCidr: string) {
    super(node, base, lab, host);
    this.conf = join(base, "keepalived.conf");
    this.notifyLog = join(base, "notify.log");
  }

  /** Reads the keepalive interval and the peer from the Heartbeat-style lines the benchmark gives every node. */
  configure(hacf: string[]): void {
    mkdirSync(this.base, { recursive: true });
    const ka = /^keepalive (\d+)ms$/.exec(hacf.find((l) => l.startsWith("keepalive ")) ?? "");
    const peer = /^ucast \S+ (\S+)$/.exec(hacf.find((l) => l.startsWith("ucast ")) ?? "");
    if (!ka || !peer) throw new Error(`keepalived node: no keepalive/ucast in ${hacf.join("; ")}`);
    const notify = join(this.base, "notify");
    writeFileSync(notify, `#!/bin/sh\ncase "$1" in master) /etc/init.d/httpd start >/dev/null 2>&1 ;; *) /etc/init.d/httpd stop >/dev/null 2>&1 ;; esac\necho "notify $1 done $?" >> ${this.notifyLog}\n`);
    chmodSync(notify, 0o755);
    const self = this.lab.host(this.host).address;
    writeFileSync(this.conf, keepalivedConf({ keepaliveMs: Number(ka[1]), priority: this.node === "alpha" ? 150 : 100, self, peer: peer[1]!, vipCidr: this.vipCidr, notify, iface: "lub0" }));
    writeFileSync(this.notifyLog, "");
  }

  start(): void {
    this.follow();
    const pid = (n: string) => join(this.base, `${n}.pid`);
    // A killed keepalived leaves its pid files, and a new one refuses to start ("daemon is already running").
    for (const n of ["keepalived", "vrrp", "checkers"]) rmSync(pid(n), { force: true });
    // Its console output is stdio: line-buffered through stdbuf, so each line arrives (and is stamped) when written.
    const child = this.lab.exec(this.host, ["stdbuf", "-oL", "-eL", KEEPALIVED_BIN, "-n", "-l", "-D", "-G", "-P", "-f", this.conf, "-p", pid("keepalived"), "-r", pid("vrrp"), "-c", pid("checkers")]);
    this.track(child);
    // -l logs to the console: stdout or stderr depending on the build; read both.
    const feed = (stream: NodeJS.ReadableStream) => {
      let buf = "";
      stream.on("data", (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        const at = Date.now();
        while ((nl = buf.indexOf("\n")) >= 0) {
          // "Wed Nov 25 16:46:06 2026: (VI_1) Entering MASTER STATE"
          const text = buf.slice(0, nl).replace(/^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}: /, "");
          buf = buf.slice(nl + 1);
          this.push({ at, marker: KEEPALIVED_MARKERS.find(([re]) => re.test(text))?.[1] ?? null, text });
        }
        this.wake();
      });
    };
    feed(child.stdout!);
    feed(child.stderr!);
  }

  /** The notify script's completions: "notify master done 0" is the takeover finished (acquired). */
  private follow(): void {
    if (this.fd !== null) return;
    this.fd = openSync(this.notifyLog, "r");
    const read = () => {
      if (this.fd === null) return;
      const size = fstatSync(this.fd).size;
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      const n = readSync(this.fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const at = Date.now();
      this.partial += buf.subarray(0, n).toString("utf8");
      let nl: number;
      while ((nl = this.partial.indexOf("\n")) >= 0) {
        const text = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        this.push({ at, marker: text.startsWith("notify master done") ? "acquired" : null, text });
      }
      this.wake();
    };
    this.watcher = watch(this.notifyLog, read);
    this.poller = setInterval(read, 20);
    this.poller.unref();
  }

  /** A reboot clears what the dead node held (its address, its service), then it comes up with its cable in. */
  async revive(): Promise<void> {
    const ns = this.lab.host(this.host).ns;
    spawnSync("ip", ["netns", "exec", ns, "sh", "-c", `/etc/init.d/httpd stop >/dev/null 2>&1; ip addr del ${this.vipCidr} dev lub0 2>/dev/null; true`], { timeout: 10_000 });
    this.lab.linkUp(this.host);
    const from = this.entries.length;
    this.start();
    await this.wait("started", 15_000, from);
  }

  close(): void {
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Why keepalived cannot run here, or null. */
export function keepalivedMissing(): string | null {
  return spawnSync("sh", ["-c", `command -v ${KEEPALIVED_BIN}`]).status === 0 ? null : "--impl keepalived needs keepalived (Debian package keepalived)";
}
