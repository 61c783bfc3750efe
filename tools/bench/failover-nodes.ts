// The cluster nodes of the failover benchmark, whatever runs them: lubdubd
// (JSON log records with stable event names and millisecond timestamps) or
// Debian's stock Heartbeat 3.0.6 (a log file with one-second timestamps, so
// each line is stamped when it arrives: the file is watched with inotify and
// read as it grows). Both give the same markers: started, peer dead,
// acquiring and acquired (the takeover), released (the failback), lost
// links and late heartbeats.

import { type ChildProcess, spawnSync } from "node:child_process";
import { chmodSync, closeSync, cpSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, watch, type FSWatcher, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FailoverBenchLab } from "./failover-lab.js";

/** tools/dist/bench/ is three levels below the repository root. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const LUBDUBD = join(ROOT, "host/dist/daemon/lubdubd.js");
export const STOCK_HEARTBEAT_BIN = "/usr/libexec/heartbeat/heartbeat";
/** The package's configuration directory, whose scripts a stock node needs (rc.d, resource.d, shellfuncs). */
const STOCK_HA_D = "/etc/ha.d";

export type Impl = "lubdub" | "heartbeat" | "keepalived";
export type Marker = "started" | "dead" | "acquire" | "acquired" | "released" | "linkDead" | "late";

export interface Entry {
  /** Wall-clock ms: the record's own time (lubdubd) or when the line arrived (Heartbeat). */
  at: number;
  marker: Marker | null;
  text: string;
}

export interface ClusterNode {
  readonly node: string;
  readonly impl: Impl;
  readonly entries: Entry[];
  configure(hacf: string[], authkeys: string, haresources: string): void;
  start(): void;
  /** Resolves when its processes have exited (after a hard failure). */
  gone(): Promise<void>;
  /** Comes back after a hard failure, as a rebooted machine would; returns when its cable is plugged in. */
  revive(): Promise<void>;
  find(m: Marker, from: number): Entry | undefined;
  wait(m: Marker, ms: number, from: number): Promise<Entry>;
  count(m: Marker, from: number): number;
  tail(n?: number): string;
  /** The PID of the process the node was started as, while it runs. */
  readonly rootPid: number | null;
}

export abstract class BaseNode {
  readonly entries: Entry[] = [];
  protected readonly notes: string[] = [];
  private waiters: Array<() => void> = [];
  protected child: ChildProcess | null = null;
  protected exited = true;

  constructor(
    readonly node: string,
    readonly base: string,
    protected readonly lab: FailoverBenchLab,
    protected readonly host: number,
  ) {}

  protected push(e: Entry): void {
    this.entries.push(e);
  }

  protected wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  protected track(child: ChildProcess): void {
    this.child = child;
    this.exited = false;
    child.stderr!.on("data", (d: Buffer) => {
      if (this.notes.length < 200) this.notes.push(d.toString());
    });
    child.once("exit", () => {
      this.exited = true;
      this.wake();
    });
  }

  /** The PID of the process the node was started as (lubdubd, unshare, keepalived), while it runs. */
  get rootPid(): number | null {
    return this.child && !this.exited ? (this.child.pid ?? null) : null;
  }

  gone(): Promise<void> {
    const c = this.child;
    if (!c || this.exited) return Promise.resolve();
    return new Promise((r) => c.once("exit", () => r()));
  }

  find(m: Marker, from: number): Entry | undefined {
    for (let i = from; i < this.entries.length; i++) if (this.entries[i]!.marker === m) return this.entries[i];
    return undefined;
  }

  count(m: Marker, from: number): number {
    let n = 0;
    for (let i = from; i < this.entries.length; i++) if (this.entries[i]!.marker === m) n++;
    return n;
  }

  wait(m: Marker, ms: number, from: number): Promise<Entry> {
    const until = Date.now() + ms;
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.find(m, from);
        if (hit) return resolve(hit);
        if (Date.now() >= until || this.exited) {
          return reject(new Error(`${this.node}: no '${m}' within ${ms} ms${this.exited ? " (it exited)" : ""}; last lines:\n${this.tail(8)}\n${this.notes.join("").slice(-400)}`));
        }
        this.waiters.push(check);
        setTimeout(check, Math.max(1, Math.min(100, until - Date.now())));
      };
      check();
    });
  }

  tail(n = 20): string {
    return this.entries
      .slice(-n)
      .map((e) => `${new Date(e.at).toISOString().slice(11, 23)} ${e.text}`)
      .join("\n");
  }
}

const LUBDUB_MARKERS: Record<string, Marker> = {
  "node.started": "started",
  "node.dead": "dead",
  "rsc.acquire": "acquire",
  "rsc.acquired": "acquired",
  "rsc.released": "released",
  "link.dead": "linkDead",
  "heartbeat.late": "late",
};

/** One lubdubd in a lab namespace (started as test/src/support/agent-proc.ts does), its JSON log collected from stdout. */
export class LubdubNode extends BaseNode implements ClusterNode {
  readonly impl = "lubdub";

  configure(hacf: string[], authkeys: string, haresources: string): void {
    const etc = join(this.base, "etc");
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, "ha.cf"), hacf.join("\n") + "\n");
    writeFileSync(join(etc, "authkeys"), authkeys);
    chmodSync(join(etc, "authkeys"), 0o600);
    writeFileSync(join(etc, "haresources"), haresources);
  }

  start(): void {
    const argv = [process.execPath, LUBDUBD, "--config-dir", join(this.base, "etc"), "--state-dir", join(this.base, "state"), "--run-dir", join(this.base, "run"), "--node-name", this.node];
    const child = this.lab.exec(this.host, argv);
    this.track(child);
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const r = JSON.parse(line) as { event?: string; time?: string; msg?: string };
          this.push({ at: typeof r.time === "string" ? Date.parse(r.time) : NaN, marker: (r.event && LUBDUB_MARKERS[r.event]) || null, text: `${r.event}: ${r.msg}` });
        } catch {
          this.notes.push(line);
        }
      }
      this.wake();
    });
  }

  /** The agent starts first (it stops what its previous life left running before it joins), then the cable goes in. */
  async revive(): Promise<void> {
    const from = this.entries.length;
    this.start();
    await this.wait("started", 15_000, from);
    this.lab.linkUp(this.host);
  }
}

/** What Heartbeat 3.0.6 logs (heartbeat.c, hb_resource.c, ResourceManager), as markers. */
const STOCK_MARKERS: Array<[RegExp, Marker]> = [
  [/: is dead$/, "dead"],
  [/Taking over resource group|Acquiring resource group/, "acquire"],
  [/mach_down takeover complete/, "acquired"],
  [/foreign HA resource release completed/, "released"],
  [/Link \S+ dead\./, "linkDead"],
  [/Late heartbeat/, "late"],
  [/Starting heartbeat|Configuration validated/, "started"],
];

/**
 * A stock Heartbeat 3.0.6 node, run as test/src/support/stock-node.ts runs
 * one: its own /etc/ha.d (bind-mounted), hostname, /run and
 * /var/lib/heartbeat, in a PID namespace inside the lab namespace.
 */
export class StockNode extends BaseNode implements ClusterNode {
  readonly impl = "heartbeat";
  private readonly etc: string;
  private readonly logPath: string;
  private watcher: FSWatcher | null = null;
  private poller: NodeJS.Timeout | null = null;
  private fd: number | null = null;
  private offset = 0;
  private partial = "";

  constructor(node: string, base: string, lab: FailoverBenchLab, host: number, private readonly vipCidr: string) {
    super(node, base, lab, host);
    this.etc = join(base, "etc");
    this.logPath = join(base, "ha-log");
  }

  configure(hacf: string[], authkeys: string, haresources: string): void {
    mkdirSync(this.etc, { recursive: true });
    for (const name of readdirSync(STOCK_HA_D)) {
      if (["ha.cf", "authkeys", "haresources"].includes(name)) continue;
      cpSync(join(STOCK_HA_D, name), join(this.etc, name), { recursive: true });
    }
    writeFileSync(join(this.etc, "ha.cf"), [...hacf, `logfile ${this.logPath}`, "use_logd no"].join("\n") + "\n");
    writeFileSync(join(this.etc, "authkeys"), authkeys);
    chmodSync(join(this.etc, "authkeys"), 0o600);
    writeFileSync(join(this.etc, "haresources"), haresources);
    writeFileSync(this.logPath, "");
  }

  start(): void {
    const script = `
      set -u
      hostname "$1"
      mount --bind "$2" /etc/ha.d
      mount -t tmpfs tmpfs /run; mkdir -p /run/heartbeat /run/lock /run/resource-agents
      mount -t tmpfs tmpfs /var/lib/heartbeat
      ${STOCK_HEARTBEAT_BIN}
      while :; do sleep 1; done
    `;
    this.follow();
    this.track(this.lab.exec(this.host, ["unshare", "--mount", "--uts", "--pid", "--mount-proc", "--fork", "--kill-child=SIGKILL", "sh", "-c", script, "sh", this.node, this.etc]));
  }

  /** Reads the log as it grows; each line gets the time it was read. */
  private follow(): void {
    if (this.fd !== null) return;
    this.fd = openSync(this.logPath, "r");
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
        // "heartbeat[123]: 2026/01/01_12:00:00 WARN: node alpha: is dead"
        const text = this.partial.slice(0, nl).replace(/^.*?\d\d:\d\d:\d\d /, "");
        this.partial = this.partial.slice(nl + 1);
        this.push({ at, marker: STOCK_MARKERS.find(([re]) => re.test(text))?.[1] ?? null, text });
      }
      this.wake();
    };
    this.watcher = watch(this.logPath, read);
    // inotify is the fast path; the poll only covers events it might coalesce away.
    this.poller = setInterval(read, 50);
    this.poller.unref();
  }

  /** A reboot clears what the dead node held (its address, its service), then it comes up with its cable in. */
  async revive(): Promise<void> {
    const ns = this.lab.host(this.host).ns;
    const vip = this.vipCidr;
    spawnSync("ip", ["netns", "exec", ns, "sh", "-c", `/etc/init.d/httpd stop >/dev/null 2>&1; ip addr del ${vip} dev lub0 2>/dev/null; true`], { timeout: 10_000 });
    this.lab.linkUp(this.host);
    this.start();
  }

  close(): void {
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Why stock Heartbeat cannot run here, or null. */
export function stockMissing(): string | null {
  for (const [cmd, pkg] of [[STOCK_HEARTBEAT_BIN, "heartbeat"], ["unshare", "util-linux"]] as const) {
    if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) return `--impl heartbeat needs ${cmd} (Debian package ${pkg})`;
  }
  return null;
}
