// Agent benchmark: what one running lubdubd costs the machine it runs on.
//
// Two nodes, alpha and bravo, each in its own network namespace, joined by a
// veth pair (ucast) and by a socat pty pair (serial): two media, keepalive
// 100 ms. Once each sees the other active on both links, alpha (the measured
// node) is sampled for the window (default 300 s, --seconds N):
//
//   CPU  utime+stime from /proc/PID/stat (all threads), in clock ticks
//        (getconf CLK_TCK), read at the start and the end of the window,
//        as a percentage of one core over the wall-clock window;
//   RSS  VmRSS from /proc/PID/status once a second: min, median, max, final,
//        and the kernel's peak (VmHWM) at the end;
//   messages sent and received per medium (lubdub status --json, read at the
//        start and the end of the window only, so asking costs nothing).
//
// bravo is measured the same way as a second sample. The result is invalid
// (the benchmark says so and exits non-zero) when either node declared the
// other dead at any time, a daemon exited, or a medium carried nothing.
//
// --impl heartbeat runs the same pair with Debian's stock Heartbeat 3.0.6
// instead (each node in its own mount/UTS/PID namespaces, as the interop tests
// run it); CPU and RSS are then summed over every `heartbeat` process in the
// node's PID namespace. --impl can be given twice to run both, one after the
// other. --settle N waits N s (default 5) between "both active on both links"
// and the window; --node-arg OPTION passes an option to alpha's node (e.g.
// --cpu-prof). docs/benchmarks.md has the setup, results and findings.

import { type ChildProcess, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Benchmark, BenchOptions, BenchReport, DEFAULT_SECONDS, machine } from "./harness.js";
import { BenchLab, labMissing } from "./lab.js";

/** tools/dist/bench/ is three levels below the repository root. */
const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");
export const LUBDUBD = join(ROOT, "host/dist/daemon/lubdubd.js");
/**
 * What the benchmark starts: the `lubdubd` command's own entry point, which
 * sets the agent's V8 tuning and then loads LUBDUBD (the tests start LUBDUBD
 * directly).
 */
export const LUBDUBD_BIN = join(ROOT, "host/bin/lubdubd.js");
export const LUBDUB = join(ROOT, "host/dist/cli/lubdub.js");
export const STOCK_HEARTBEAT_BIN = "/usr/libexec/heartbeat/heartbeat";

/** The measuring window when --seconds is not given. */
export const AGENT_DEFAULT_SECONDS = 300;
/** Time between "both nodes see each other on every link" and the start of the window. */
export const DEFAULT_SETTLE_SECONDS = 5;
/** How long the pair gets to find each other (initdead is 10 s). */
const READY_TIMEOUT_MS = 30_000;
/** The project's aim for one agent at keepalive 100 ms with two media. */
export const AIM = { cpuPercent: 0.5, rssMiB: 50 };

/**
 * The cluster's ha.cf, without media and logging. baud 115200: a sha1 status
 * frame in the classic format is about 200 bytes, so ten a second are about
 * 2,000 bytes/s, more than the 1,920 bytes/s a 19200-baud line (8N1) carries.
 */
export const HACF_COMMON = ["keepalive 100ms", "deadtime 1", "warntime 500ms", "initdead 10", "udpport 694", "baud 115200"];
export const HACF_TAIL = ["node alpha bravo", "auto_failback on"];
export const AUTHKEYS = "auth 1\n1 sha1 lubdub-agent-benchmark\n";
const NODES = ["alpha", "bravo"] as const;

export type Impl = "lubdubd" | "heartbeat";

export interface RssStats {
  min: number;
  median: number;
  max: number;
  final: number;
}

export interface MediumRate {
  kind: string;
  link: string;
  sent: number;
  received: number;
  sentPerSec: number;
  receivedPerSec: number;
  sendErrors: number;
  droppedFrames: number;
  droppedBytes: number;
}

export interface NodeResult {
  node: string;
  /** alpha is the measured node; bravo is reported as a second sample. */
  measured: boolean;
  /** The processes measured (one for lubdubd; every `heartbeat` process for the stock node). */
  pids: number[];
  /** Their /proc/PID/comm. */
  comms: string[];
  cpuTicks: number;
  cpuSeconds: number;
  /** CPU time over wall time of the window, in % of one core. */
  cpuPercent: number;
  /** Summed over the measured processes, in KiB (1024 bytes) as /proc reports it. */
  rssKiB: RssStats;
  /** Sum of VmHWM (peak RSS) at the end of the window, KiB. */
  hwmKiB: number;
  /** The final RSS split as the kernel counts it: anonymous (heap, stacks) and file-backed (the node binary, libraries; shared with other processes), KiB. */
  rssAnonKiB: number;
  rssFileKiB: number;
  /**
   * Proportional set size at the end (/proc/PID/smaps_rollup): pages shared
   * with other processes count in part. Lower than RSS for the stock node's
   * six forked processes, which share most of their pages; note that both
   * nodes run on one machine here, so pages shared between alpha and bravo
   * (the same node binary or heartbeat libraries) are split between them too.
   */
  pssKiB: number;
  rssSamples: number;
  /** Per medium over the window (lubdubd only; null for the stock node). */
  media: MediumRate[] | null;
  /** Times this node declared its peer dead, over the whole run (start-up included). */
  deaths: number;
  linkDeaths: number;
  lateHeartbeats: number;
  /** Log records at warn level or above (lubdubd), or WARN/ERROR/CRIT lines (stock), over the whole run. */
  warnings: number;
  /** Log records (lubdubd) or log lines (stock) written during the window. */
  logLinesInWindow: number;
  /** The first of them: event names (lubdubd) or lines (stock), at most 20. */
  windowLog: string[];
  /** CPU % of one core in each fifth of the window, to show warm-up (JIT) and drift. */
  cpuPercentByFifth: number[];
}

export interface AgentRun {
  impl: Impl;
  /** Wall-clock length of the window, seconds. */
  windowSeconds: number;
  nodes: NodeResult[];
  valid: boolean;
  problems: string[];
  meetsAim: { cpu: boolean; rss: boolean } | null;
}

export interface AgentReport extends BenchReport {
  kernel: string;
  clockTicksPerSecond: number;
  settleSeconds: number;
  hacf: string[];
  aim: typeof AIM;
  runs: AgentRun[];
}

// ---------------------------------------------------------------- /proc

export function clockTicks(): number {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number((r.stdout ?? "").trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

/** utime + stime of a process (all its threads), in clock ticks. */
export function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, "latin1");
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** A field of /proc/PID/status in KiB (VmRSS, VmHWM). */
export function statusKiB(pid: number, field: string, file = "status"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/${file}`, "latin1"));
  if (!m) throw new Error(`/proc/${pid}/${file} has no ${field}`);
  return Number(m[1]);
}

export function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, "latin1").trim();
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntil(what: string, ms: number, pred: () => boolean, detail: () => string): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`${what} not within ${ms / 1000} s; ${detail()}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------- nodes

/** One cluster node under measurement, whatever runs it. */
interface BenchNode {
  readonly name: string;
  readonly base: string;
  start(lab: BenchLab, index: 0 | 1, media: string[]): void;
  /** Resolves when the node sees its peer active on both links. */
  ready(peer: string, links: string[]): Promise<void>;
  /** The PIDs to measure now. */
  pids(): number[];
  /** Media counters now (lubdubd), or null. */
  media(): MediumRate[] | null;
  counts(): { deaths: number; linkDeaths: number; lateHeartbeats: number; warnings: number; logLines: number };
  /** What was logged after the first `from` lines: event names (lubdubd) or log lines (stock). */
  logSince(from: number): string[];
  /** Why it is no longer running, or null. */
  gone(): string | null;
  stop(): Promise<void>;
}

interface LogRecord {
  event?: string;
  level?: number;
  node?: string;
  status?: string;
  link?: string;
  msg?: string;
}

class LubdubdNode implements BenchNode {
  private child: ChildProcess | null = null;
  private readonly events = new Map<string, number>();
  private readonly active = new Set<string>();
  private readonly linksUp = new Set<string>();
  private readonly last: string[] = [];
  private stderr = "";
  private warnings = 0;
  private lines = 0;
  private readonly eventLog: string[] = [];
  private exit: string | null = null;

  constructor(readonly name: string, readonly base: string, private readonly nodeArgs: string[] = []) {}

  private get runDir(): string {
    return join(this.base, "run");
  }

  start(lab: BenchLab, index: 0 | 1, media: string[]): void {
    const etc = join(this.base, "etc");
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, "ha.cf"), [...HACF_COMMON, ...media, ...HACF_TAIL].join("\n") + "\n");
    writeFileSync(join(etc, "authkeys"), AUTHKEYS);
    chmodSync(join(etc, "authkeys"), 0o600);
    writeFileSync(join(etc, "haresources"), "");
    const argv = [process.execPath, ...this.nodeArgs, LUBDUBD_BIN, "--config-dir", etc, "--state-dir", join(this.base, "state"), "--run-dir", this.runDir, "--node-name", this.name];
    const child = lab.exec(index, argv);
    this.child = child;
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        this.record(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    child.once("exit", (code, signal) => (this.exit = `exited (${signal ?? code})`));
  }

  private record(line: string): void {
    let r: LogRecord;
    try {
      r = JSON.parse(line) as LogRecord;
    } catch {
      this.stderr = (this.stderr + line + "\n").slice(-2000);
      return;
    }
    const ev = r.event ?? "";
    this.lines++;
    this.eventLog.push(ev || r.msg || "?");
    this.events.set(ev, (this.events.get(ev) ?? 0) + 1);
    if ((r.level ?? 0) >= 40) this.warnings++;
    if (ev === "node.status" && r.node) {
      if (r.status === "active") this.active.add(r.node);
      else this.active.delete(r.node);
    }
    if (ev === "node.dead" && r.node) this.active.delete(r.node);
    if (ev === "link.up" && r.link) this.linksUp.add(`${r.node}:${r.link}`);
    if (ev === "link.dead" && r.link) this.linksUp.delete(`${r.node}:${r.link}`);
    this.last.push(ev);
    if (this.last.length > 10) this.last.shift();
  }

  async ready(peer: string, links: string[]): Promise<void> {
    await waitUntil(`${this.name}: ${peer} active on ${links.join(" and ")}`, READY_TIMEOUT_MS,
      () => this.active.has(peer) && links.every((l) => this.linksUp.has(`${peer}:${l}`)) && this.exit === null,
      () => `last events ${this.last.join(", ") || "none"}; ${this.exit ?? "running"}; stderr: ${this.stderr.trim().slice(-400) || "none"}`);
    // `ip netns exec` execs node in place: the PID we spawned must now be node running lubdubd.
    const pid = this.child!.pid!;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0");
    const c = comm(pid);
    if (c !== basename(process.execPath).slice(0, 15) || !cmdline.some((a) => a.endsWith("lubdubd.js"))) {
      throw new Error(`${this.name}: PID ${pid} is '${c}' (${cmdline.join(" ")}), not node running lubdubd`);
    }
  }

  pids(): number[] {
    return [this.child!.pid!];
  }

  media(): MediumRate[] {
    const r = spawnSync(process.execPath, [LUBDUB, "status", "--json", "--run-dir", this.runDir], { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`${this.name}: lubdub status failed (${r.status}): ${(r.stderr || "").trim()}`);
    const st = JSON.parse(r.stdout) as { media: Array<{ kind: string; link: string; sent: number; received: number; sendErrors: number; droppedFrames: number; droppedBytes: number }> };
    return st.media.map((m) => ({
      kind: m.kind, link: m.link, sent: m.sent, received: m.received, sentPerSec: 0, receivedPerSec: 0,
      sendErrors: m.sendErrors, droppedFrames: m.droppedFrames, droppedBytes: m.droppedBytes,
    }));
  }

  counts() {
    const n = (e: string) => this.events.get(e) ?? 0;
    return { deaths: n("node.dead"), linkDeaths: n("link.dead"), lateHeartbeats: n("heartbeat.late"), warnings: this.warnings, logLines: this.lines };
  }

  logSince(from: number): string[] {
    return this.eventLog.slice(from);
  }

  gone(): string | null {
    return this.exit;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  }
}

/** Debian's heartbeat with its own /etc/ha.d, hostname, /run and PID namespace (as test/src/support/stock-node.ts). */
class StockNode implements BenchNode {
  private child: ChildProcess | null = null;
  private readonly logPath: string;
  private exit: string | null = null;

  constructor(readonly name: string, readonly base: string) {
    this.logPath = join(base, "ha-log");
  }

  start(lab: BenchLab, index: 0 | 1, media: string[]): void {
    const etc = join(this.base, "etc");
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, "ha.cf"), [...HACF_COMMON, ...media, ...HACF_TAIL, `logfile ${this.logPath}`].join("\n") + "\n");
    writeFileSync(join(etc, "authkeys"), AUTHKEYS);
    chmodSync(join(etc, "authkeys"), 0o600);
    writeFileSync(join(etc, "haresources"), "");
    const script = `
      set -u
      hostname "$1"
      mount --bind "$2" /etc/ha.d
      mount -t tmpfs tmpfs /run; mkdir -p /run/heartbeat /run/lock
      mount -t tmpfs tmpfs /var/lib/heartbeat
      ${STOCK_HEARTBEAT_BIN}
      while :; do sleep 1; done
    `;
    const child = lab.exec(index, ["unshare", "--mount", "--uts", "--pid", "--mount-proc", "--fork", "--kill-child=SIGKILL", "sh", "-c", script, "sh", this.name, etc], { stdio: ["ignore", "ignore", "ignore"] });
    this.child = child;
    child.once("exit", (code, signal) => (this.exit = `exited (${signal ?? code})`));
  }

  private lines(): string[] {
    try {
      return readFileSync(this.logPath, "utf8").split("\n").filter(Boolean).map((l) => l.replace(/^.*heartbeat: \[\d+\]: /, ""));
    } catch {
      return [];
    }
  }

  async ready(peer: string, links: string[]): Promise<void> {
    const has = (re: RegExp) => this.lines().some((l) => re.test(l));
    const esc = (s: string) => s.replace(/[/.]/g, "\\$&");
    await waitUntil(`stock ${this.name}: ${peer} active on ${links.join(" and ")}`, READY_TIMEOUT_MS,
      () => has(new RegExp(`Status update for node ${peer}: status active`)) && links.every((l) => has(new RegExp(`Link ${peer}:${esc(l)} up`))),
      () => `last log lines:\n${this.lines().slice(-8).join("\n")}`);
  }

  /** Every `heartbeat` process in this node's PID namespace. */
  pids(): number[] {
    const pid = this.child?.pid;
    if (!pid) throw new Error("stock node not started");
    const inner = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0]);
    const ns = readlinkSync(`/proc/${inner}/ns/pid`);
    const out: number[] = [];
    for (const e of readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (readlinkSync(`/proc/${e}/ns/pid`) === ns && comm(Number(e)) === "heartbeat") out.push(Number(e));
      } catch {
        // gone meanwhile
      }
    }
    return out.sort((a, b) => a - b);
  }

  media(): null {
    return null;
  }

  counts() {
    const lines = this.lines();
    const n = (re: RegExp) => lines.filter((l) => re.test(l)).length;
    return { deaths: n(/node \S+: is dead/), linkDeaths: n(/^info: Link \S+ dead/), lateHeartbeats: n(/Late heartbeat/), warnings: n(/^(WARN|ERROR|CRIT)/), logLines: lines.length };
  }

  logSince(from: number): string[] {
    return this.lines().slice(from).map((l) => l.slice(0, 160));
  }

  gone(): string | null {
    return this.exit;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGKILL"); // unshare --kill-child: the whole PID namespace goes
    await gone;
  }
}

// ---------------------------------------------------------------- one run

interface Sampler {
  node: BenchNode;
  pids: number[];
  comms: string[];
  ticks0: number;
  /** Ticks and window time (s) at each once-a-second sample. */
  ticks: number[];
  at: number[];
  logLines0: number;
  rss: number[];
  media0: MediumRate[] | null;
}

/** CPU % in each fifth of the window, from the once-a-second samples. */
function byFifth(s: Sampler, ticksPerSec: number): number[] {
  const last = s.at.length - 1;
  const out: number[] = [];
  for (let k = 0; k < 5; k++) {
    const i = Math.round((k * last) / 5);
    const j = Math.round(((k + 1) * last) / 5);
    const dt = s.at[j]! - s.at[i]!;
    out.push(dt > 0 ? (100 * (s.ticks[j]! - s.ticks[i]!)) / ticksPerSec / dt : 0);
  }
  return out;
}

function sumOver(pids: number[], f: (pid: number) => number): number {
  return pids.reduce((s, p) => s + f(p), 0);
}

async function runPair(impl: Impl, seconds: number, args: AgentArgs, ticksPerSec: number, log: (s: string) => void): Promise<AgentRun> {
  const settle = args.settle;
  const base = mkdtempSync(join(tmpdir(), "lubdub-bench-agent-"));
  let lab: BenchLab | null = null;
  const nodes: BenchNode[] = NODES.map((n) => (impl === "lubdubd" ? new LubdubdNode(n, join(base, n), n === "alpha" ? args.nodeArgs : []) : new StockNode(n, join(base, n))));
  try {
    lab = await BenchLab.create(base);
    const [ha, hb] = lab.hosts;
    nodes[0]!.start(lab, 0, [`ucast ${ha.iface} ${hb.address}`, `serial ${ha.tty}`]);
    nodes[1]!.start(lab, 1, [`ucast ${hb.iface} ${ha.address}`, `serial ${hb.tty}`]);
    const t0 = Date.now();
    await Promise.all([nodes[0]!.ready("bravo", [ha.iface, ha.tty]), nodes[1]!.ready("alpha", [hb.iface, hb.tty])]);
    log(`${impl}: both nodes active on both links after ${((Date.now() - t0) / 1000).toFixed(1)} s; settling ${settle} s, then measuring ${seconds} s`);
    await sleep(settle * 1000);

    const samplers: Sampler[] = nodes.map((node) => {
      const pids = node.pids();
      if (pids.length === 0) throw new Error(`${node.name}: no process to measure`);
      return { node, pids, comms: pids.map(comm), ticks0: 0, ticks: [], at: [], logLines0: 0, rss: [], media0: node.media() };
    });
    const rssNow = (s: Sampler) => sumOver(s.pids, (p) => statusKiB(p, "VmRSS"));
    for (const s of samplers) {
      s.ticks0 = sumOver(s.pids, cpuTicks);
      s.logLines0 = s.node.counts().logLines;
    }
    const w0 = performance.now();
    const sample = (s: Sampler) => {
      s.rss.push(rssNow(s));
      s.ticks.push(sumOver(s.pids, cpuTicks));
      s.at.push((performance.now() - w0) / 1000);
    };
    for (const s of samplers) sample(s);
    const problems: string[] = [];
    let lastReport = w0;
    for (let i = 1; i <= Math.ceil(seconds); i++) {
      await sleep(Math.max(0, w0 + Math.min(i, seconds) * 1000 - performance.now()));
      const down = nodes.map((n) => n.gone()).find((g) => g !== null);
      if (down) {
        problems.push(`a node ${down} during the window`);
        break;
      }
      for (const s of samplers) sample(s);
      if (performance.now() - lastReport >= 60_000) {
        lastReport = performance.now();
        log(`${impl}: ${Math.round((lastReport - w0) / 1000)} s of ${seconds} s`);
      }
    }
    const results: NodeResult[] = [];
    let windowSeconds = 0;
    const ticks1: number[] = [];
    const wall = () => (performance.now() - w0) / 1000;
    if (problems.length === 0) {
      for (const s of samplers) ticks1.push(sumOver(s.pids, cpuTicks));
      windowSeconds = wall();
      for (const [k, s] of samplers.entries()) {
        const after = s.node.pids();
        if (after.join(",") !== s.pids.join(",")) problems.push(`${s.node.name}: measured processes changed during the window (${s.pids.join(",")} → ${after.join(",")})`);
        const ticks = ticks1[k]! - s.ticks0;
        const { logLines, ...counts } = s.node.counts();
        const media1 = s.node.media();
        const media = media1 && s.media0
          ? media1.map((m, j) => {
            const m0 = s.media0![j]!;
            const sent = m.sent - m0.sent;
            const received = m.received - m0.received;
            return { ...m, sent, received, sentPerSec: sent / windowSeconds, receivedPerSec: received / windowSeconds, sendErrors: m.sendErrors - m0.sendErrors, droppedFrames: m.droppedFrames - m0.droppedFrames, droppedBytes: m.droppedBytes - m0.droppedBytes };
          })
          : null;
        for (const m of media ?? []) if (m.received === 0 || m.sent === 0) problems.push(`${s.node.name}: ${m.kind} ${m.link} carried nothing (sent ${m.sent}, received ${m.received})`);
        results.push({
          node: s.node.name, measured: k === 0, pids: s.pids, comms: s.comms,
          cpuTicks: ticks, cpuSeconds: ticks / ticksPerSec, cpuPercent: (100 * ticks) / ticksPerSec / windowSeconds,
          rssKiB: { min: Math.min(...s.rss), median: median(s.rss), max: Math.max(...s.rss), final: s.rss[s.rss.length - 1]! },
          hwmKiB: sumOver(s.pids, (p) => statusKiB(p, "VmHWM")),
          rssAnonKiB: sumOver(s.pids, (p) => statusKiB(p, "RssAnon")), rssFileKiB: sumOver(s.pids, (p) => statusKiB(p, "RssFile")),
          pssKiB: sumOver(s.pids, (p) => statusKiB(p, "Pss", "smaps_rollup")), rssSamples: s.rss.length,
          media, ...counts, logLinesInWindow: logLines - s.logLines0, windowLog: s.node.logSince(s.logLines0).slice(0, 20), cpuPercentByFifth: byFifth(s, ticksPerSec),
        });
      }
    } else {
      windowSeconds = wall();
    }
    for (const n of nodes) {
      const d = n.counts().deaths;
      if (d > 0) problems.push(`${n.name} declared its peer dead ${d} time${d === 1 ? "" : "s"}`);
    }
    const a = results.find((r) => r.measured);
    return {
      impl, windowSeconds, nodes: results, valid: problems.length === 0, problems,
      meetsAim: a ? { cpu: a.cpuPercent <= AIM.cpuPercent, rss: a.rssKiB.max / 1024 <= AIM.rssMiB } : null,
    };
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    lab?.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

interface AgentArgs {
  impls: Impl[];
  settle: number;
  /** Extra options for the measured lubdubd's node (alpha), e.g. --cpu-prof. */
  nodeArgs: string[];
}

function parseAgentArgs(rest: string[]): AgentArgs {
  const impls: Impl[] = [];
  let settle = DEFAULT_SETTLE_SECONDS;
  const nodeArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (flag === "--impl") {
      const v = inline ?? rest[++i];
      if (v !== "lubdubd" && v !== "heartbeat") throw new Error("--impl needs lubdubd or heartbeat");
      if (!impls.includes(v)) impls.push(v);
    } else if (flag === "--settle") {
      const n = Number(inline ?? rest[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error("--settle needs a number of seconds ≥ 0");
      settle = n;
    } else if (flag === "--node-arg") {
      const v = inline ?? rest[++i];
      if (!v) throw new Error("--node-arg needs an option for node, e.g. --node-arg=--cpu-prof");
      nodeArgs.push(v);
    } else throw new Error(`agent: unknown argument '${a}' (known: --impl lubdubd|heartbeat, --settle SECONDS, --node-arg OPTION)`);
  }
  return { impls: impls.length ? impls : ["lubdubd"], settle, nodeArgs };
}

/**
 * The common option parser always fills in its 2 s default, which is far too
 * short a window here: without an explicit --seconds the window is 300 s.
 */
export function windowSeconds(options: BenchOptions, argv: readonly string[]): number {
  const given = options.seconds !== DEFAULT_SECONDS || argv.some((a) => a === "--seconds" || a.startsWith("--seconds="));
  return given ? options.seconds : AGENT_DEFAULT_SECONDS;
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

function tally(xs: string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, v]) => (v > 1 ? `${k} ×${v}` : k)).join(", ");
}

export function formatAgentTable(runs: AgentRun[]): string[] {
  const head = ["run", "node", "CPU % core", "CPU s", "window s", "RSS MiB min/med/max/final", "peak", "msgs/s sent/recv per medium", "deaths"];
  const rows = [head];
  for (const r of runs) {
    for (const n of r.nodes) {
      rows.push([
        r.impl + (n.pids.length > 1 ? ` (${n.pids.length} procs)` : ""),
        n.node + (n.measured ? "*" : ""),
        n.cpuPercent.toFixed(3),
        n.cpuSeconds.toFixed(2),
        r.windowSeconds.toFixed(0),
        [n.rssKiB.min, n.rssKiB.median, n.rssKiB.max, n.rssKiB.final].map(mib).join("/"),
        mib(n.hwmKiB),
        n.media ? n.media.map((m) => `${m.kind} ${m.sentPerSec.toFixed(1)}/${m.receivedPerSec.toFixed(1)}`).join(", ") : "n/a",
        String(n.deaths),
      ]);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 2 || i >= 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd());
}

export async function runAgent(options: BenchOptions, argv: readonly string[] = process.argv.slice(2)): Promise<AgentReport> {
  const args = parseAgentArgs(options.rest);
  const seconds = windowSeconds(options, argv);
  const why = labMissing();
  if (why) throw new Error(`agent benchmark cannot run here: ${why}`);
  if (args.impls.includes("heartbeat")) {
    for (const cmd of [STOCK_HEARTBEAT_BIN, "unshare"]) {
      if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) throw new Error(`--impl heartbeat needs ${cmd} (Debian packages heartbeat, util-linux)`);
    }
  }
  const say = options.json ? (s: string) => process.stderr.write(s + "\n") : (s: string) => console.log(s);
  const ticks = clockTicks();
  const runs: AgentRun[] = [];
  for (const impl of args.impls) runs.push(await runPair(impl, seconds, args, ticks, say));

  const report: AgentReport = {
    benchmark: "agent",
    ...machine(),
    kernel: release(),
    clockTicksPerSecond: ticks,
    seconds,
    settleSeconds: args.settle,
    rounds: 1,
    date: new Date().toISOString(),
    hacf: [...HACF_COMMON, "ucast lub0 PEER", "serial TTY", ...HACF_TAIL],
    aim: AIM,
    runs,
    cases: [],
    notes: [
      "alpha (*) is the measured node; bravo runs the same way and is reported as a second sample",
      `CPU: utime+stime of all threads (/proc/PID/stat, ${ticks} ticks/s) over the wall-clock window, in % of one core; RSS: VmRSS once a second (MiB = 1024 KiB), peak = VmHWM`,
      `aim for lubdubd at keepalive 100 ms with two media: CPU ≤ ${AIM.cpuPercent} % of one core, RSS ≤ ${AIM.rssMiB} MiB`,
      ...runs.flatMap((r) => (r.valid ? [] : [`${r.impl} run INVALID: ${r.problems.join("; ")}`])),
    ],
    sink: 0,
  };
  if (!options.json) {
    console.log(`\nagent: Node ${report.node}, ${report.cpu} (${report.cores} cores), kernel ${report.kernel}; window ${seconds} s after ${args.settle} s settling`);
    console.log(`ha.cf: ${report.hacf.join("; ")}\n`);
    if (runs.some((r) => r.nodes.length > 0)) for (const l of formatAgentTable(runs)) console.log(l);
    console.log("");
    for (const r of runs) {
      for (const n of r.nodes) {
        console.log(`${r.impl} ${n.node}: CPU % by fifth of the window ${n.cpuPercentByFifth.map((x) => x.toFixed(2)).join(" ")}; RSS anon ${mib(n.rssAnonKiB)} + file ${mib(n.rssFileKiB)} MiB, PSS ${mib(n.pssKiB)} MiB; ${n.logLinesInWindow} log lines in the window${n.windowLog.length ? ` (${tally(n.windowLog)})` : ""}, ${n.warnings} warnings, ${n.lateHeartbeats} late heartbeats, ${n.linkDeaths} links lost over the run`);
      }
    }
    for (const r of runs) {
      const a = r.nodes.find((n) => n.measured);
      if (r.impl === "lubdubd" && a && r.meetsAim) {
        console.log(`\nlubdubd (alpha): CPU ${a.cpuPercent.toFixed(3)} % ${r.meetsAim.cpu ? "meets" : "MISSES"} ≤ ${AIM.cpuPercent} %; RSS max ${mib(a.rssKiB.max)} MiB ${r.meetsAim.rss ? "meets" : "MISSES"} ≤ ${AIM.rssMiB} MiB`);
      }
    }
  }
  const invalid = runs.filter((r) => !r.valid);
  if (invalid.length) {
    // The numbers are printed for diagnosis, but the run does not count.
    if (options.json) console.log(JSON.stringify(report, null, 2));
    throw new Error(`result INVALID: ${invalid.map((r) => `${r.impl}: ${r.problems.join("; ")}`).join(" | ")}`);
  }
  return report;
}

export const agentBenchmark: Benchmark = {
  name: "agent",
  describe: "CPU and RSS of one running lubdubd (keepalive 100 ms, ucast + serial) over 5 minutes; --impl heartbeat for stock Heartbeat",
  run: (o) => runAgent(o),
};
