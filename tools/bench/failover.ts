// Failover benchmark: how long a client goes without its service when the
// primary fails hard.
//
// Three network namespaces on one bridge (failover-lab.ts): alpha and bravo
// run lubdubd with
//
//   haresources  alpha IPaddr2::192.0.2.100/24/lub0 httpd
//   ha.cf        keepalive K, deadtime D, ucast lub0 PEER, auto_failback on
//
// where httpd is an LSB init script starting a small Node HTTP server bound
// to the floating IP (failover-service.ts), and the client probes
// http://192.0.2.100:8080/ every 10 ms on a new connection (failover-probe.ts).
//
// One run: alpha serves; at the failure time alpha's cable is cut (its
// interface goes down) and every process in its namespace (the agent, the
// service, any arping) is SIGKILLed. Measured, all on the wall clock of this
// one machine:
//
//   (a) failure → declared dead: bravo's `node.dead` log record for alpha;
//   (b) declared dead → answering: the first successful probe answered by
//       bravo (the moment the answer arrived);
//   (c) failure → answering: (a) + (b).
//
// and, to see where (b) goes: dead → rsc.acquire (the fencing hook and the
// decision), rsc.acquire ("acquiring") → the floating IP added on bravo (`ip -ts monitor
// address` in bravo's namespace: both resources' statuses at once, IPaddr2's
// from one interface listing, then `ip addr add` through an `ip -batch` that
// was waiting), the IP added → the service process starting (arping started,
// the init script's start), the service's own start-up (Node's start-up
// to listening, as the service reports it), ready → rsc.acquired ("acquired": the init
// script noticing, its exit, the agent taking note), and the first probe
// refused by bravo (the address has moved, the service is not up yet).
//
// Between runs alpha comes back: its agent starts first (it stops what its
// previous life left behind before joining), then its cable is plugged in;
// auto_failback on gives the group back to alpha, and the next run starts once
// the client has been served by alpha again, the cluster has settled, and
// alpha's agent is older than its start-up deadtime bonus (REVIVED_MIN_AGE_MS).
//
// The init script waits for the service's "listening" line through a FIFO
// with shell built-ins only, so its readiness check adds no polling delay
// (the tests' script polls every 50 ms). Options (after the common ones):
//
//   --runs N              runs per profile (default 20)
//   --profile P           100/500, 10/50 or both (default both): keepalive/deadtime in ms
//   --service S           node (default): the init script starts a Node HTTP server
//                         (failover-service.ts, tens of ms to start); c: the same
//                         answers from a small C server built with cc (about 1 ms to
//                         start), which shows the agent's own share; both: one, then the other
//   --impl I              lubdub (default), heartbeat (Debian's stock Heartbeat 3.0.6 on
//                         both nodes, run as the interop tests run it; see failover-nodes.ts),
//                         keepalived (Debian's keepalived, VRRPv3 with advert_int = keepalive;
//                         see keepalived.ts), a comma-separated list, both (lubdub,heartbeat)
//                         or all (the three, one after the other in one run)
//   --svg FILE            also write a chart (failover-chart.ts) of failure → dead and
//                         failure → answering per system and profile
//   --idle-minutes M      before the runs of each profile, leave the pair idle M minutes
//                         and count deaths and late heartbeats (default 0: no idle check)
//
// With --impl heartbeat the markers come from Heartbeat's log, stamped when
// each line arrives (its own timestamps have whole seconds), and a revived
// alpha first loses what it held (address, service), as a rebooted machine
// would, then comes up with its cable in.
//
// LUBDUB_BENCH_TRACE=1 prints both nodes' log records around each failure.

import { type ChildProcess, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Benchmark, type BenchOptions, type BenchReport, machine } from "./harness.js";
import { FailoverBenchLab } from "./failover-lab.js";
import { buildCService, cServiceMissing } from "./failover-service-c.js";
import { type ClusterNode, type Impl, LubdubNode, StockNode, stockMissing } from "./failover-nodes.js";
import { KeepalivedNode, keepalivedMissing, masterDownMs } from "./keepalived.js";
import { peakRssMiB, sampleUsage, type Usage } from "./failover-usage.js";
import { type ChartPanel, renderChart } from "./failover-chart.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export { LUBDUBD } from "./failover-nodes.js";
const SERVICE = join(HERE, "failover-service.js");
const PROBE = join(HERE, "failover-probe.js");

export const VIP = "192.0.2.100";
export const SERVICE_PORT = 8080;
export const PROBE_INTERVAL_MS = 10;
export const DEFAULT_RUNS = 20;
const AUTHKEYS = "auth 1\n1 sha1 lubdub-failover-benchmark\n";
const HARESOURCES = `alpha IPaddr2::${VIP}/24/lub0 httpd\n`;
/** How long the pair gets to come up and serve (initdead is 10 s). */
const READY_TIMEOUT_MS = 30_000;
/** After the client is served again, before the next failure: gratuitous ARP bursts (IPaddr2: 5 × 200 ms) end, ARP locktime (1 s) passes. */
const SETTLE_MS = 1500;
/**
 * A freshly started node advertises deadtime + 2 s for its first 5 s (as
 * Heartbeat 3.0.6 does; host/src/membership/limits.ts), so a failure sooner
 * than that after alpha's revival would be detected late. The next failure
 * comes no earlier than this after alpha's agent started.
 */
const REVIVED_MIN_AGE_MS = 6000;
/** How long each daemon's CPU time is sampled while the pair is idle. */
const USAGE_WINDOW_MS = 10_000;

export type ServiceKind = "node" | "c";

export interface Profile {
  name: string;
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
}

export const PROFILES: Record<string, Profile> = {
  "1000/5000": { name: "1000/5000", keepaliveMs: 1000, deadtimeMs: 5000, warntimeMs: 3000 },
  "100/500": { name: "100/500", keepaliveMs: 100, deadtimeMs: 500, warntimeMs: 300 },
  "10/50": { name: "10/50", keepaliveMs: 10, deadtimeMs: 50, warntimeMs: 30 },
};

/** The project's aims (ms), and what Heartbeat 3.0.6 and keepalived did in this harness on the development machine (medians). */
export const AIMS = { deadToAnswerMs: 20, medianFailToAnswerMs: { "100/500": 550, "10/50": 70 } as Record<string, number> };
export const REFERENCE = {
  heartbeat_100_500: { failToAnswerMs: 811, deadToAnswerMs: "240–450" },
  keepalived_vrrp3: { advert_0_1s_failToAnswerMs: 352, advert_0_01s_failToAnswerMs: 67 },
};

export interface RunResult {
  run: number;
  /** Wall-clock ms since the epoch. */
  failAt: number;
  /** How long `ip link set down` took (the cut happened inside that window; failAt is its start). */
  linkDownMs: number;
  /** Processes killed in alpha's namespace. */
  killed: number;
  deadAt: number;
  answerAt: number;
  failToDeadMs: number;
  deadToAnswerMs: number;
  failToAnswerMs: number;
  /** Breakdown of dead → answering; null where a marker was not seen. */
  deadToAcquireMs: number | null;
  acquireToIpMs: number | null;
  ipToGarpMs: number | null;
  ipToServiceStartMs: number | null;
  serviceStartToReadyMs: number | null;
  readyToAcquiredMs: number | null;
  acquireToAcquiredMs: number | null;
  readyToAnswerMs: number | null;
  deadToRefusedMs: number | null;
  /** Probes sent between the failure and the first answer by bravo that failed. */
  failedProbes: number;
  /** Time from alpha's revival (agent start) to the client being served by alpha again. */
  failbackMs: number;
}

export interface Stat {
  min: number;
  median: number;
  max: number;
  n: number;
}

export interface IdleResult {
  minutes: number;
  deaths: number;
  linkDeaths: number;
  lateHeartbeats: number;
  failedProbes: number;
  probes: number;
}

export interface ProfileResult {
  /** What ran the cluster: lubdubd, or Debian's stock Heartbeat 3.0.6. */
  impl: Impl;
  profile: string;
  /** Which service the init script starts: the Node HTTP server, or the C one. */
  service: ServiceKind;
  keepaliveMs: number;
  deadtimeMs: number;
  hacf: string[];
  runs: RunResult[];
  stats: Record<string, Stat>;
  /** node.dead records nobody caused: alpha declaring bravo dead, or bravo declaring alpha dead outside a failure. */
  falseDeaths: number;
  idle: IdleResult | null;
  /** Each node's daemon, sampled while the pair was idle (alpha holding the group) before the runs. */
  usage: { alpha: Usage; bravo: Usage; bravoPeakRssMiB: number } | null;
  /** For keepalived: the backup's Master_Down_Interval at this advert interval (its "deadtime"). */
  effectiveDeadtimeMs: number;
  meetsAim: { deadToAnswer: boolean; medianFailToAnswer: boolean };
}

export interface FailoverReport extends BenchReport {
  kernel: string;
  probeIntervalMs: number;
  haresources: string;
  aims: typeof AIMS;
  reference: typeof REFERENCE;
  profiles: ProfileResult[];
}

// ------------------------------------------------------------------ helpers

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function stat(xs: number[]): Stat {
  if (xs.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 };
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs), n: xs.length };
}

/** The LSB init script of the benchmark's service on one node: shell built-ins only on the start path. */
export function initScript(node: string, base: string, serviceCmd: string): string {
  const pid = join(base, `httpd-${node}.pid`);
  const fifo = join(base, `httpd-${node}.fifo`);
  const log = join(base, `httpd-${node}.log`);
  return `#!/bin/sh
### BEGIN INIT INFO
# Provides:          httpd
# Short-Description: lubdub failover benchmark HTTP service on the floating IP
### END INIT INFO
# Ready when the service says it listens (bound to the floating IP, so the IP
# must be up first); the line comes through a FIFO, so there is no polling.
PIDFILE=${pid}
FIFO=${fifo}
LOG=${log}
# Alive and not a zombie waiting for its new parent to reap it.
running() {
  [ -f "$PIDFILE" ] && read -r p < "$PIDFILE" && [ -r "/proc/$p/stat" ] || return 1
  read -r _ _ st _ < "/proc/$p/stat" 2>/dev/null && [ "$st" != Z ]
}
case "$1" in
  start)
    running && exit 0
    ${serviceCmd} ${VIP} ${SERVICE_PORT} ${node} >"$FIFO" 2>>"$LOG" &
    echo $! > "$PIDFILE"
    if read -r line < "$FIFO"; then
      echo "$line" >> "$LOG"
      case "$line" in listening*) exit 0 ;; esac
    fi
    exit 1 ;;
  stop)
    if running; then
      kill "$p"
      i=0
      while running && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
    fi
    rm -f "$PIDFILE"
    exit 0 ;;
  status)
    if running; then echo "httpd is running"; exit 0; fi
    echo "httpd is stopped"; exit 3 ;;
  *) echo "usage: $0 start|stop|status"; exit 2 ;;
esac
`;
}

export function hacfLines(p: Profile, peer: string): string[] {
  return [`keepalive ${p.keepaliveMs}ms`, `deadtime ${p.deadtimeMs}ms`, `warntime ${p.warntimeMs}ms`, "initdead 10", "udpport 694", `ucast lub0 ${peer}`, "node alpha bravo", "auto_failback on"];
}

interface Probe {
  t: number;
  at: number;
  ok: boolean;
  node: string | null;
  err: string | null;
}

/** The client: probes, and `ip -ts monitor address` on bravo for when the floating IP arrives there. */
class Client {
  readonly probes: Probe[] = [];
  /** Wall-clock times the floating IP was added on bravo. */
  readonly ipAdded: number[] = [];
  /** Gratuitous ARP for the floating IP seen by the client: when, and from which MAC. */
  readonly garps: Array<{ at: number; mac: string }> = [];

  constructor(private readonly lab: FailoverBenchLab) {}

  start(): void {
    const probe = this.lab.exec(3, [process.execPath, PROBE, VIP, String(SERVICE_PORT), String(PROBE_INTERVAL_MS)]);
    lines(probe, (line) => {
      try {
        this.probes.push(JSON.parse(line) as Probe);
      } catch {
        // partial line
      }
    });
    if (spawnSync("sh", ["-c", "command -v tcpdump"]).status === 0) {
      const dump = this.lab.exec(3, ["tcpdump", "-l", "-n", "-tt", "-e", "-i", "lub0", "arp"]);
      lines(dump, (line) => {
        // 1764000000.123456 aa:bb:cc:dd:ee:ff > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.100 tell 192.0.2.100, length 28
        const m = /^(\d+\.\d+) ([0-9a-f:]{17}) > /.exec(line);
        const gratuitous = line.includes(`who-has ${VIP} tell ${VIP}`) || line.includes(`who-has ${VIP} (ff:ff:ff:ff:ff:ff) tell ${VIP}`) || line.includes(`Reply ${VIP} is-at`);
        if (m && gratuitous) this.garps.push({ at: Number(m[1]) * 1000, mac: m[2]! });
      });
    }
    const mon = this.lab.exec(2, ["ip", "-ts", "monitor", "address"]);
    lines(mon, (line) => {
      // [2026-01-01T12:00:00.123456] 2: lub0    inet 192.0.2.100/24 ...   (local time, no zone)
      const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d*\]\s+\d+:\s+\S+\s+inet (\S+)\//.exec(line);
      if (m && m[2] === VIP) this.ipAdded.push(new Date(m[1]!).getTime());
    });
  }

  firstAnswer(node: string, since: number): Probe | undefined {
    return this.probes.find((p) => p.ok && p.node === node && p.t >= since);
  }

  async servedBy(node: string, ms: number, since: number): Promise<Probe> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.firstAnswer(node, since);
      if (hit) return hit;
      if (Date.now() > until) {
        const recent = this.probes.slice(-5).map((p) => (p.ok ? p.node : p.err)).join(",");
        throw new Error(`client not served by ${node} within ${ms} ms (last probes: ${recent || "none"})`);
      }
      await sleep(5);
    }
  }
}

function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

/** The service's last "listening" line after `since`: when its process started and when it listened. */
function serviceTimes(base: string, node: string, since: number): { started: number; ready: number } | null {
  let text = "";
  try {
    text = readFileSync(join(base, `httpd-${node}.log`), "utf8");
  } catch {
    return null;
  }
  let out: { started: number; ready: number } | null = null;
  for (const m of text.matchAll(/started=([\d.]+) ready=([\d.]+)/g)) {
    const started = Number(m[1]);
    if (started >= since) out = { started, ready: Number(m[2]) };
  }
  return out;
}

// ------------------------------------------------------------------ one profile

const INTERVALS: Array<[keyof RunResult, string]> = [
  ["failToDeadMs", "(a) failure → declared dead"],
  ["deadToAnswerMs", "(b) declared dead → answering"],
  ["failToAnswerMs", "(c) failure → answering"],
  ["linkDownMs", "    `ip link set down` itself"],
  ["deadToAcquireMs", "    dead → acquiring (fencing hook)"],
  ["acquireToIpMs", "    acquiring → IP added"],
  ["ipToGarpMs", "    IP added → first gratuitous ARP seen"],
  ["ipToServiceStartMs", "    IP added → service process starts"],
  ["serviceStartToReadyMs", "    service start-up → listening"],
  ["readyToAcquiredMs", "    listening → acquired"],
  ["acquireToAcquiredMs", "    acquiring → acquired"],
  ["deadToRefusedMs", "    dead → first probe refused by bravo"],
  ["readyToAnswerMs", "    listening → first answer"],
  ["failedProbes", "    failed probes per failover"],
  ["failbackMs", "    revival → served by alpha again"],
];

function r1(n: number | null): number | null {
  return n === null || !Number.isFinite(n) ? null : Math.round(n * 10) / 10;
}

async function runProfile(impl: Impl, p: Profile, service: ServiceKind, runs: number, idleMinutes: number, say: (s: string) => void): Promise<ProfileResult> {
  const base = mkdtempSync(join(tmpdir(), "lubdub-failover-bench-"));
  chmodSync(base, 0o755);
  const serviceCmd = service === "c" ? buildCService(base) : `${process.execPath} ${SERVICE}`;
  let lab: FailoverBenchLab | null = null;
  let alpha: ClusterNode | null = null;
  let bravo: ClusterNode | null = null;
  try {
    lab = FailoverBenchLab.create();
    const l = lab;
    for (const node of ["alpha", "bravo"]) {
      const r = spawnSync("mkfifo", [join(base, `httpd-${node}.fifo`)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
    }
    l.installInitScript(1, "httpd", initScript("alpha", base, serviceCmd));
    l.installInitScript(2, "httpd", initScript("bravo", base, serviceCmd));
    const make = (node: string, host: number): ClusterNode =>
      impl === "lubdub" ? new LubdubNode(node, join(base, node), l, host) : impl === "heartbeat" ? new StockNode(node, join(base, node), l, host, `${VIP}/24`) : new KeepalivedNode(node, join(base, node), l, host, `${VIP}/24`);
    alpha = make("alpha", 1);
    bravo = make("bravo", 2);
    const a = alpha;
    const b = bravo;
    a.configure(hacfLines(p, l.host(2).address), AUTHKEYS, HARESOURCES);
    b.configure(hacfLines(p, l.host(1).address), AUTHKEYS, HARESOURCES);
    const client = new Client(l);
    client.start();
    const startedAt = Date.now();
    a.start();
    b.start();
    await client.servedBy("alpha", READY_TIMEOUT_MS, 0);
    await sleep(Math.max(SETTLE_MS, startedAt + REVIVED_MIN_AGE_MS - Date.now()));
    const bravoMac = l.mac(2);
    const servicePids = (): ReadonlySet<number> => {
      const out = new Set<number>();
      for (const n of ["alpha", "bravo"]) {
        try {
          out.add(Number(readFileSync(join(base, `httpd-${n}.pid`), "utf8").trim()));
        } catch {
          // not running
        }
      }
      return out;
    };
    let usage: ProfileResult["usage"] = null;
    if (a.rootPid !== null && b.rootPid !== null) {
      const [ua, ub] = await Promise.all([sampleUsage(impl, a.rootPid, USAGE_WINDOW_MS, servicePids), sampleUsage(impl, b.rootPid, USAGE_WINDOW_MS, servicePids)]);
      usage = { alpha: ua, bravo: ub, bravoPeakRssMiB: 0 };
      say(`  ${p.name}: idle ${USAGE_WINDOW_MS / 1000} s: alpha ${ua.procs} processes, ${ua.rssMiB} MiB, ${ua.cpuPct} % CPU; bravo ${ub.procs} processes, ${ub.rssMiB} MiB, ${ub.cpuPct} % CPU`);
    }

    let idle: IdleResult | null = null;
    if (idleMinutes > 0) {
      say(`  ${p.name}: idle for ${idleMinutes} min…`);
      const [ma, mb, mp] = [a.entries.length, b.entries.length, client.probes.length];
      await sleep(idleMinutes * 60_000);
      const probes = client.probes.slice(mp);
      idle = {
        minutes: idleMinutes,
        deaths: a.count("dead", ma) + b.count("dead", mb),
        linkDeaths: a.count("linkDead", ma) + b.count("linkDead", mb),
        lateHeartbeats: a.count("late", ma) + b.count("late", mb),
        failedProbes: probes.filter((x) => !x.ok).length,
        probes: probes.length,
      };
      say(`  ${p.name}: idle ${idleMinutes} min: ${idle.deaths} deaths, ${idle.linkDeaths} link deaths, ${idle.lateHeartbeats} late heartbeats, ${idle.failedProbes} of ${idle.probes} probes failed`);
    }

    const results: RunResult[] = [];
    const [startA, startB] = [a.entries.length, b.entries.length];
    for (let run = 1; run <= runs; run++) {
      const mark = b.entries.length;
      const ipSeen = client.ipAdded.length;

      const failAt = Date.now();
      l.linkDown(1);
      const linkDownMs = Date.now() - failAt;
      const killed = l.killAllIn(1);
      await a.gone();

      const answer = await client.servedBy("bravo", p.deadtimeMs + 15_000, failAt);
      const dead = await b.wait("dead", 5000, mark);
      const acquired = await b.wait("acquired", 15_000, mark);
      const acquire = b.find("acquire", mark);
      // tcpdump and ip monitor report through pipes; give their lines time to arrive.
      await sleep(200);
      const ipAt = client.ipAdded.slice(ipSeen).find((t) => t >= failAt) ?? null;
      const garpAt = client.garps.find((g) => g.at >= failAt && g.mac === bravoMac)?.at ?? null;
      const svc = serviceTimes(base, "bravo", failAt);
      const refused = client.probes.find((x) => x.t >= failAt && x.err === "ECONNREFUSED");
      const failedProbes = client.probes.filter((x) => x.t >= failAt && x.t <= answer.t && !x.ok).length;
      const deadAt = dead.at;
      const answerAt = answer.at;
      if (process.env.LUBDUB_BENCH_TRACE) {
        for (const n of [a, b]) say(n.entries.filter((x) => x.at >= failAt - 1500 && x.at <= answerAt + 50).map((x) => `  ${n.node} ${new Date(x.at).toISOString().slice(11, 23)} ${x.text}`).join("\n"));
        say(`  failure at ${new Date(failAt).toISOString().slice(11, 23)}, answer at ${new Date(answerAt).toISOString().slice(11, 23)}`);
      }
      const nul = (x: number | null | undefined, y: number | null | undefined) => (x == null || y == null || !Number.isFinite(x) || !Number.isFinite(y) ? null : r1(y - x));

      // Revival (lubdubd: the agent first, which stops what its previous life left, then the cable).
      const reviveAt = Date.now();
      await a.revive();
      const back = await client.servedBy("alpha", READY_TIMEOUT_MS, reviveAt);
      await b.wait("released", 15_000, mark);
      await sleep(Math.max(SETTLE_MS, reviveAt + REVIVED_MIN_AGE_MS - Date.now()));

      const r: RunResult = {
        run,
        failAt,
        linkDownMs,
        killed,
        deadAt,
        answerAt,
        failToDeadMs: deadAt - failAt,
        deadToAnswerMs: answerAt - deadAt,
        failToAnswerMs: answerAt - failAt,
        deadToAcquireMs: nul(deadAt, acquire?.at),
        acquireToIpMs: nul(acquire?.at, ipAt),
        ipToGarpMs: nul(ipAt, garpAt),
        ipToServiceStartMs: nul(ipAt, svc?.started),
        serviceStartToReadyMs: nul(svc?.started, svc?.ready),
        readyToAcquiredMs: nul(svc?.ready, acquired.at),
        acquireToAcquiredMs: nul(acquire?.at, acquired.at),
        readyToAnswerMs: nul(svc?.ready, answerAt),
        deadToRefusedMs: nul(deadAt, refused?.at),
        failedProbes,
        failbackMs: back.at - reviveAt,
      };
      results.push(r);
      say(`  ${p.name} run ${run}/${runs}: dead after ${r.failToDeadMs} ms, answering ${r.deadToAnswerMs} ms later (acquire→acquired ${r.acquireToAcquiredMs ?? "?"} ms, service start-up ${r.serviceStartToReadyMs ?? "?"} ms); total ${r.failToAnswerMs} ms`);
    }
    if (usage && b.rootPid !== null) usage.bravoPeakRssMiB = peakRssMiB(impl, b.rootPid, servicePids());
    // One death of alpha per run is ours; any other (alpha declaring bravo dead included) is false.
    // (keepalived: a revived alpha's own advertisement timeout is how it preempts bravo, not a death; only bravo's count.)
    const falseDeaths = (impl === "keepalived" ? 0 : a.count("dead", startA)) + b.count("dead", startB) - results.length;

    const stats: Record<string, Stat> = {};
    for (const [k] of INTERVALS) stats[k] = stat(results.map((x) => x[k] as number | null).filter((x): x is number => x !== null));
    return {
      impl,
      profile: p.name,
      service,
      keepaliveMs: p.keepaliveMs,
      deadtimeMs: p.deadtimeMs,
      hacf: hacfLines(p, "PEER"),
      runs: results,
      stats,
      falseDeaths,
      idle,
      usage,
      effectiveDeadtimeMs: impl === "keepalived" ? Math.round(masterDownMs(p.keepaliveMs)) : p.deadtimeMs,
      meetsAim: {
        deadToAnswer: stats["deadToAnswerMs"]!.median <= AIMS.deadToAnswerMs,
        medianFailToAnswer: stats["failToAnswerMs"]!.median <= (AIMS.medianFailToAnswerMs[p.name] ?? Infinity),
      },
    };
  } catch (e) {
    for (const n of [alpha, bravo]) if (n) say(`--- ${n.node}:\n${n.tail()}`);
    throw e;
  } finally {
    lab?.cleanup();
    for (const n of [alpha, bravo]) if (n instanceof StockNode || n instanceof KeepalivedNode) n.close();
    rmSync(base, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ options, report

export interface FailoverArgs {
  runs: number;
  profiles: Profile[];
  services: ServiceKind[];
  impls: Impl[];
  idleMinutes: number;
  /** Where to write the chart, or null. */
  svg: string | null;
}

export function parseFailoverArgs(rest: readonly string[]): FailoverArgs {
  const out: FailoverArgs = { runs: DEFAULT_RUNS, profiles: [PROFILES["100/500"]!, PROFILES["10/50"]!], services: ["node"], impls: ["lubdub"], idleMinutes: 0, svg: null };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const eq = a.indexOf("=");
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      const v = eq > 0 ? a.slice(eq + 1) : rest[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--runs") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error("--runs needs a whole number ≥ 1");
      out.runs = n;
    } else if (flag === "--profile") {
      const v = value();
      if (v === "both") out.profiles = [PROFILES["100/500"]!, PROFILES["10/50"]!];
      else if (v.split(",").every((x) => PROFILES[x])) out.profiles = v.split(",").map((x) => PROFILES[x]!);
      else throw new Error(`--profile: 1000/5000, 100/500, 10/50, a comma-separated list, or both (100/500,10/50) (got '${v}')`);
    } else if (flag === "--service") {
      const v = value();
      if (v === "both") out.services = ["node", "c"];
      else if (v === "node" || v === "c") out.services = [v];
      else throw new Error(`--service: node, c or both (got '${v}')`);
    } else if (flag === "--impl") {
      const v = value();
      const known: Impl[] = ["lubdub", "heartbeat", "keepalived"];
      if (v === "both") out.impls = ["lubdub", "heartbeat"];
      else if (v === "all") out.impls = known;
      else if (v.split(",").every((x) => (known as string[]).includes(x))) out.impls = v.split(",") as Impl[];
      else throw new Error(`--impl: lubdub, heartbeat, keepalived, a comma-separated list, both or all (got '${v}')`);
    } else if (flag === "--idle-minutes") {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0) throw new Error("--idle-minutes needs a number ≥ 0");
      out.idleMinutes = n;
    } else if (flag === "--svg") {
      out.svg = value();
    } else throw new Error(`unknown failover option '${a}' (--runs N, --profile 100/500|10/50|both, --service node|c|both, --impl lubdub|heartbeat|keepalived|both|all, --idle-minutes M, --svg FILE)`);
  }
  return out;
}

/** Why the benchmark cannot run here, or null. */
export function failoverMissing(): string | null {
  if (!process.getuid || process.getuid() !== 0) return "needs root";
  for (const [cmd, pkg] of [["ip", "iproute2"], ["arping", "iputils-arping"], ["stdbuf", "coreutils"], ["mkfifo", "coreutils"]] as const) {
    if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) return `needs '${cmd}' (Debian package ${pkg})`;
  }
  const probe = `lubdub-b-${process.pid}-probe`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0) return `cannot create network namespaces (${(add.stderr || add.error?.message || "").trim()})`;
  spawnSync("ip", ["netns", "delete", probe]);
  return null;
}

function fmt(n: number): string {
  return Number.isFinite(n) ? (Number.isInteger(n) ? String(n) : n.toFixed(1)) : "–";
}

export function formatProfile(p: ProfileResult): string[] {
  const rows = [["interval (ms)", "min", "median", "max"], ...INTERVALS.map(([k, label]) => {
    const s = p.stats[k]!;
    return [label, fmt(s.min), fmt(s.median), fmt(s.max)];
  })];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
}

export async function runFailover(options: BenchOptions): Promise<FailoverReport> {
  const args = parseFailoverArgs(options.rest);
  const why = failoverMissing() ?? (args.services.includes("c") ? cServiceMissing() : null) ?? (args.impls.includes("heartbeat") ? stockMissing() : null) ?? (args.impls.includes("keepalived") ? keepalivedMissing() : null);
  if (why) throw new Error(`failover benchmark cannot run here: ${why}`);
  const say = options.json ? (s: string) => process.stderr.write(s + "\n") : (s: string) => console.log(s);
  const profiles: ProfileResult[] = [];
  for (const p of args.profiles) {
    for (const service of args.services) {
      for (const impl of args.impls) {
        say(`\nfailover ${impl}, ${p.name}, ${service} service: keepalive ${p.keepaliveMs} ms, deadtime ${p.deadtimeMs} ms, ${args.runs} runs`);
        profiles.push(await runProfile(impl, p, service, args.runs, args.idleMinutes, say));
      }
    }
  }
  const report: FailoverReport = {
    benchmark: "failover",
    ...machine(),
    kernel: release(),
    seconds: 0,
    rounds: args.runs,
    date: new Date().toISOString(),
    probeIntervalMs: PROBE_INTERVAL_MS,
    haresources: HARESOURCES.trim(),
    aims: AIMS,
    reference: REFERENCE,
    profiles,
    cases: [],
    notes: [
      "failure = alpha's interface set down, then every process in alpha's namespace SIGKILLed; times are wall clock (one machine), failure time = just before the link goes down",
      `answering = the first probe answered by bravo (arrival time); the client probes every ${PROBE_INTERVAL_MS} ms, which adds 0–${PROBE_INTERVAL_MS} ms`,
      `aims: declared dead → answering ≤ ${AIMS.deadToAnswerMs} ms; median failure → answering ≤ 550 ms at 100/500, ≤ 70 ms at 10/50`,
      ...profiles.map((p) => `${p.impl} ${p.profile} (${p.service} service): ${p.falseDeaths} false deaths during the runs${p.idle ? `; idle ${p.idle.minutes} min: ${p.idle.deaths} deaths, ${p.idle.linkDeaths} link deaths, ${p.idle.lateHeartbeats} late heartbeats` : ""}`),
    ],
    sink: 0,
  };
  if (args.svg) {
    writeFileSync(args.svg, chartOf(profiles, report));
    say(`chart written to ${args.svg}`);
  }
  if (!options.json) {
    console.log(`\nfailover: Node ${report.node}, ${report.cpu} (${report.cores} cores), kernel ${report.kernel}; haresources: ${report.haresources}`);
    for (const p of profiles) {
      console.log(`\n${p.impl}, profile ${p.profile}, ${p.service} service (keepalive ${p.keepaliveMs} ms, deadtime ${p.deadtimeMs} ms), ${p.runs.length} runs:`);
      for (const l of formatProfile(p)) console.log(l);
      const aim = AIMS.medianFailToAnswerMs[p.profile];
      if (p.usage) console.log(`daemon while idle: alpha (holding) ${p.usage.alpha.rssMiB} MiB, ${p.usage.alpha.cpuPct} % CPU; bravo ${p.usage.bravo.rssMiB} MiB, ${p.usage.bravo.cpuPct} % CPU; bravo's peak RSS ${p.usage.bravoPeakRssMiB} MiB`);
      if (p.impl === "lubdub" && aim !== undefined) console.log(`dead → answering median ${fmt(p.stats["deadToAnswerMs"]!.median)} ms ${p.meetsAim.deadToAnswer ? "meets" : "MISSES"} ≤ ${AIMS.deadToAnswerMs} ms; failure → answering median ${fmt(p.stats["failToAnswerMs"]!.median)} ms ${p.meetsAim.medianFailToAnswer ? "meets" : "MISSES"} ≤ ${aim} ms; ${p.falseDeaths} false deaths`);
      else console.log(`${p.falseDeaths} false deaths`);
    }
    if (new Set(profiles.map((p) => p.impl)).size > 1) {
      console.log("\nmin / median / max in ms:\n");
      for (const l of comparisonMarkdown(profiles)) console.log(l);
    }
  }
  return report;
}

const IMPL_NAMES: Record<Impl, string> = { lubdub: "lubdub", heartbeat: "Heartbeat 3.0.6", keepalived: "keepalived 2.2 (VRRPv3)" };

function profileTitle(p: { profile: string; keepaliveMs: number; deadtimeMs: number }): string {
  return `keepalive ${p.keepaliveMs} ms / deadtime ${p.deadtimeMs} ms (keepalived: advert_int ${p.keepaliveMs / 1000} s)`;
}

function chartOf(profiles: ProfileResult[], report: { cpu: string; cores: number; date: string }): string {
  const byProfile = new Map<string, ProfileResult[]>();
  for (const p of profiles) byProfile.set(`${p.profile} ${p.service}`, [...(byProfile.get(`${p.profile} ${p.service}`) ?? []), p]);
  const panels: ChartPanel[] = [...byProfile.values()].map((ps) => ({
    title: `${profileTitle(ps[0]!)}, ${ps[0]!.service} service`,
    groups: ps.map((p) => ({
      name: IMPL_NAMES[p.impl].replace(/ \(.*\)$/, ""),
      bars: [
        { label: "failure → declared dead", ...p.stats["failToDeadMs"]! },
        { label: "failure → service answering", ...p.stats["failToAnswerMs"]! },
      ],
    })),
  }));
  const runs = profiles[0]?.runs.length ?? 0;
  return renderChart("Hard failure of the primary: what the client sees", panels, `${runs} runs each, one run of the benchmark, ${report.date.slice(0, 10)}; ${report.cores} cores (${report.cpu}), shared with other work`);
}

/** One markdown table per profile: rows are the measures, columns the systems. */
export function comparisonMarkdown(profiles: ProfileResult[]): string[] {
  const out: string[] = [];
  const groups = new Map<string, ProfileResult[]>();
  for (const p of profiles) groups.set(`${p.profile} ${p.service}`, [...(groups.get(`${p.profile} ${p.service}`) ?? []), p]);
  const cell = (s: Stat | undefined, bold = false) => (s && s.n ? `${fmt(s.min)} / ${bold ? "**" : ""}${fmt(s.median)}${bold ? "**" : ""} / ${fmt(s.max)}` : "–");
  for (const ps of groups.values()) {
    out.push(`| ${profileTitle(ps[0]!)}, ${ps[0]!.service} service | ${ps.map((p) => IMPL_NAMES[p.impl]).join(" | ")} |`);
    out.push(`|---|${ps.map(() => "---:").join("|")}|`);
    const row = (label: string, f: (p: ProfileResult) => string) => out.push(`| ${label} | ${ps.map(f).join(" | ")} |`);
    row("detection bound (deadtime; keepalived: 3 × advert + skew)", (p) => `${p.effectiveDeadtimeMs}`);
    row("**failure → declared dead**", (p) => cell(p.stats["failToDeadMs"], true));
    row("**failure → answering**", (p) => cell(p.stats["failToAnswerMs"], true));
    row("declared dead → answering", (p) => cell(p.stats["deadToAnswerMs"]));
    row("address added → gratuitous ARP at the client", (p) => cell(p.stats["ipToGarpMs"]));
    row("runs with a gratuitous ARP seen", (p) => `${p.stats["ipToGarpMs"]!.n} of ${p.runs.length}`);
    row("failed probes per failover", (p) => cell(p.stats["failedProbes"]));
    row("revival → served by alpha again", (p) => cell(p.stats["failbackMs"]));
    row("RSS idle, holder / backup (MiB)", (p) => (p.usage ? `${p.usage.alpha.rssMiB} / ${p.usage.bravo.rssMiB}` : "–"));
    row("backup's peak RSS after the runs (MiB)", (p) => (p.usage ? `${p.usage.bravoPeakRssMiB}` : "–"));
    row("CPU idle, holder / backup (% of a core)", (p) => (p.usage ? `${p.usage.alpha.cpuPct} / ${p.usage.bravo.cpuPct}` : "–"));
    row("daemon processes, holder / backup", (p) => (p.usage ? `${p.usage.alpha.procs} / ${p.usage.bravo.procs}` : "–"));
    row("false deaths during the runs", (p) => `${p.falseDeaths}`);
    out.push("");
  }
  return out;
}

export const failoverBenchmark: Benchmark = {
  name: "failover",
  describe: "hard failure of the primary → service answering on the backup, as a client probing every 10 ms sees it (--runs, --profile, --service, --idle-minutes)",
  run: (o) => runFailover(o),
};
