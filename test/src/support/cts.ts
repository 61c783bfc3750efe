// The CTS-style scenario suite's stage (after Heartbeat's cts/CTStests.py):
// the failover lab (two servers and a client on a bridge, an LSB-started
// HTTP service on the floating IP, a client probing every 10 ms, tcpdump,
// the two-MAC watcher) with real lubdubd agents on fast settings, and the
// faults the scenarios inject: a crashed machine, a stopped agent, a cut
// medium (ucast by nftables on the heartbeat port only, so the client still
// reaches the servers; serial by pulling the socat null-modem cable), random
// loss, a flapping path.
//
// Every wait is bounded. Where time is the behaviour under test (the service
// coming back), the bound is stated from the settings: deadtime plus
// TAKEOVER_ALLOWANCE_MS for the takeover itself (IP, gratuitous ARP, init
// script, the client's next probe), as in the failover acceptance (deadtime
// + 1 s), with half a second more for a shared 2-core CI machine.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { AgentProc, LUBDUB, sleep, writeHaDir } from "./agent-proc.js";
import { FailoverLab, type ProbeResult, VIP } from "./failover-lab.js";
import { PtyPair } from "./pty.js";
import type { ArpWatch } from "./arp-watch.js";

export const AUTHKEYS = "auth 1\n1 sha1 cts-scenario-key\n";
export const UDPPORT = 694;
/** Takeover after the peer is declared dead: address, gratuitous ARP, init script start, the client's next probe; generous for 2 shared cores. */
export const TAKEOVER_ALLOWANCE_MS = 1500;
/** A hand-over without a death (standby, takeover, SIGTERM): release on one side, start on the other. */
export const HANDOVER_BOUND_MS = 4000;
/** How long a fresh pair gets to serve (initdead, both agents' start-up, the service's start). */
export const READY_MS = 30_000;

export interface Timing {
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadS: number;
}

/** The suite's default: fast, but ten keepalives per deadtime so a loaded CI machine causes no false death. */
export const FAST: Timing = { keepaliveMs: 100, deadtimeMs: 1000, warntimeMs: 500, initdeadS: 3 };
/** For the loss scenario: at 30 % loss, ten silent keepalives in a row (0.3^10 ≈ 6e-6 per window) before a false death. */
export const LOSSY: Timing = { keepaliveMs: 200, deadtimeMs: 2000, warntimeMs: 1000, initdeadS: 4 };

export interface CtsOptions {
  timing?: Timing;
  /** Heartbeat media: ucast over the bridge, and/or serial over a socat pty pair (default ucast only). */
  serial?: boolean;
  ucast?: boolean;
  autoFailback?: "on" | "off" | "legacy";
  /** Don't start the agents (the scenario starts them itself). */
  noStart?: boolean;
  /** More ha.cf lines. */
  hacf?: string[];
  lubdubCf?: string;
}

export class Cts {
  readonly f: FailoverLab;
  readonly alpha: AgentProc;
  readonly bravo: AgentProc;
  readonly timing: Timing;
  pty: PtyPair | null = null;
  /** The client's two-MAC watcher (FailoverLab's, started with the client). */
  get watch(): ArpWatch {
    if (!this.f.arpWatch) throw new Error("client not started");
    return this.f.arpWatch;
  }
  private lossy = new Set<number>();
  private cut = new Set<number>();

  private constructor(readonly base: string, readonly o: CtsOptions) {
    this.timing = o.timing ?? FAST;
    this.f = new FailoverLab(base);
    this.alpha = new AgentProc("alpha", join(base, "alpha"), this.f.lab, 1);
    this.bravo = new AgentProc("bravo", join(base, "bravo"), this.f.lab, 2);
  }

  /** The bound within which the client must be served again after the holder fails. */
  get failoverBoundMs(): number {
    return this.timing.deadtimeMs + TAKEOVER_ALLOWANCE_MS;
  }

  agent(i: 1 | 2): AgentProc {
    return i === 1 ? this.alpha : this.bravo;
  }

  private hacf(peerHost: number, me: 1 | 2): string {
    const t = this.timing;
    const lines = [`keepalive ${t.keepaliveMs}ms`, `warntime ${t.warntimeMs}ms`, `deadtime ${t.deadtimeMs}ms`, `initdead ${t.initdeadS}`, `udpport ${UDPPORT}`];
    if (this.o.ucast !== false) lines.push(`ucast lub0 ${this.f.lab.host(peerHost).address}`);
    if (this.pty) lines.push(`serial ${me === 1 ? this.pty.a : this.pty.b}`);
    lines.push("node alpha bravo", `auto_failback ${this.o.autoFailback ?? "on"}`, ...(this.o.hacf ?? []));
    return lines.join("\n");
  }

  private async setUp(): Promise<void> {
    if (this.o.serial) this.pty = await PtyPair.open({ dir: this.base, names: ["ttyA", "ttyB"] });
    for (const [a, me, peer] of [[this.alpha, 1, 2], [this.bravo, 2, 1]] as const) {
      writeHaDir(a.configDir, { hacf: this.hacf(peer, me), authkeys: AUTHKEYS, haresources: `alpha ${VIP}/24/lub0 httpd\n` });
      if (this.o.lubdubCf) writeFileSync(join(a.configDir, "lubdub.cf"), this.o.lubdubCf);
      a.privateResourceState = true;
    }
    this.f.startClient();
    if (this.o.noStart) return;
    this.alpha.start();
    this.bravo.start();
    await this.f.waitServedBy("alpha", READY_MS);
    await this.alpha.event("rsc.stable", {}, READY_MS);
    await this.bravo.event("node.status", { node: "alpha", status: "active" }, READY_MS);
    // The scenarios time failures against deadtime.
    await Promise.all([this.alpha.pastStartup(), this.bravo.pastStartup()]);
  }

  /** Runs a scenario on a fresh pair, prints both logs when it fails, and always undoes everything. */
  static async run(name: string, o: CtsOptions, body: (c: Cts) => Promise<void>): Promise<void> {
    const base = mkdtempSync(join(tmpdir(), `lubdub-cts-${name}-`));
    const c = new Cts(base, o);
    const t0 = Date.now();
    try {
      await c.setUp();
      await body(c);
      console.log(`  ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      for (const a of [c.alpha, c.bravo]) console.log(`--- ${a.node}:\n${a.records.slice(-30).map((r) => `${String(r.time).slice(11, 23)} ${r.event}: ${r.msg}`).join("\n")}\n${a.stderr.join("").slice(-600)}`);
      console.log(`--- probes: ${c.f.probes.slice(-12).map((p) => `${new Date(p.t).toISOString().slice(17, 23)} ${p.ok ? p.node : "fail"}`).join(", ")}`);
      throw e;
    } finally {
      await Promise.all([c.alpha.kill9(), c.bravo.kill9()]);
      await c.pty?.close(false).catch(() => undefined);
      c.f.cleanup();
      rmSync(base, { recursive: true, force: true });
    }
  }

  // ------------------------------------------------------------ faults

  /** A crashed machine: its cable out, then every process in its namespace SIGKILLed by PID (agent, service, arping; all the test's). */
  async crash(i: 1 | 2): Promise<void> {
    this.f.lab.linkDown(i);
    const gone = this.agent(i).kill9();
    const ns = this.f.lab.host(i).ns;
    const r = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 10_000 });
    for (const pid of (r.stdout ?? "").split("\n").map(Number).filter((n) => n > 0 && n !== process.pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await gone;
  }

  /** Kills a node's test service by its pid file. */
  killService(node: string): void {
    try {
      const pid = Number(readFileSync(join(this.base, `httpd-${node}.pid`), "utf8").trim());
      if (pid > 0) process.kill(pid, "SIGKILL");
    } catch {
      // not running
    }
  }

  /** The crashed machine boots: its agent starts (and cleans up its previous life) before the cable goes back in. */
  async revive(i: 1 | 2): Promise<void> {
    const a = this.agent(i);
    const mark = a.records.length;
    a.start();
    await a.event("node.started", {}, 15000, mark);
    this.f.lab.linkUp(i);
  }

  private nft(i: number, ...args: string[]): string {
    return this.f.lab.execSync(i, ["nft", ...args]);
  }

  /** Cuts the ucast medium at host i (heartbeat port only, both ways): the client still reaches the host. */
  cutUcast(i: number): void {
    if (this.cut.has(i)) return;
    this.nft(i, "add", "table", "inet", "lubdub_cts_cut");
    this.nft(i, "add", "chain", "inet", "lubdub_cts_cut", "in", "{ type filter hook input priority 0 ; }");
    this.nft(i, "add", "chain", "inet", "lubdub_cts_cut", "out", "{ type filter hook output priority 0 ; }");
    this.nft(i, "add", "rule", "inet", "lubdub_cts_cut", "in", "udp", "dport", String(UDPPORT), "drop");
    this.nft(i, "add", "rule", "inet", "lubdub_cts_cut", "out", "udp", "dport", String(UDPPORT), "drop");
    this.cut.add(i);
  }

  healUcast(i: number): void {
    if (!this.cut.delete(i)) return;
    this.nft(i, "delete", "table", "inet", "lubdub_cts_cut");
  }

  /** Drops `percent` of the heartbeat packets host i sends, at random (nftables numgen; the kernel here may have no netem). */
  lossOut(i: number, percent: number): void {
    this.nft(i, "add", "table", "inet", "lubdub_cts_loss");
    this.nft(i, "add", "chain", "inet", "lubdub_cts_loss", "out", "{ type filter hook output priority 0 ; }");
    this.nft(i, "add", "rule", "inet", "lubdub_cts_loss", "out", "udp", "dport", String(UDPPORT), "numgen", "random", "mod", "100", "<", String(percent), "counter", "drop");
    this.lossy.add(i);
  }

  /** Removes the loss; returns how many packets it dropped. */
  clearLoss(i: number): number {
    if (!this.lossy.delete(i)) return 0;
    const rules = this.nft(i, "list", "table", "inet", "lubdub_cts_loss");
    this.nft(i, "delete", "table", "inet", "lubdub_cts_loss");
    return Number(/packets (\d+)/.exec(rules)?.[1] ?? 0);
  }

  /** Pulls the serial cable (socat gone). */
  async cutSerial(): Promise<void> {
    await this.pty?.close(false);
  }

  /** A new cable on the same paths. */
  async healSerial(): Promise<void> {
    this.pty = await PtyPair.open({ dir: this.base, names: ["ttyA", "ttyB"] });
  }

  /** `lubdub ARGS` for an agent without blocking this event loop (the ARP watcher stamps replies as it reads them). */
  cli(a: AgentProc, args: string[]): Promise<{ code: number; out: string }> {
    const [cmd, ...rest] = args;
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [LUBDUB, cmd!, "--run-dir", a.runDir, ...rest], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      p.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
      p.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, out });
      });
    });
  }

  // ------------------------------------------------------------ what the client saw

  /** Successful answers since `from` (wall ms). */
  answers(from: number, to = Infinity): ProbeResult[] {
    return this.f.probes.filter((p) => p.ok && p.t >= from && p.t <= to);
  }

  /** How often the answering node changed since `from`: one per move; more means two nodes answered in turn. */
  switches(from: number, to = Infinity): number {
    let n = 0;
    let last: string | null = null;
    for (const p of this.answers(from, to)) {
      if (last !== null && p.node !== last) n++;
      last = p.node;
    }
    return n;
  }

  /** The longest stretch without a successful answer between `from` and `to`, ms. */
  longestGap(from: number, to: number): number {
    let prev = from;
    let gap = 0;
    for (const p of this.answers(from, to)) {
      gap = Math.max(gap, p.t - prev);
      prev = p.t;
    }
    return Math.max(gap, to - prev);
  }

  /** The client was served by `node` only, without a gap longer than `maxGapMs`, from `from` to now. */
  assertUninterrupted(node: string, from: number, maxGapMs = 1000): void {
    const to = Date.now() - 300; // the last probes may still be in flight
    const a = this.answers(from, to);
    assert.ok(a.length > 0, "no answers at all");
    const others = a.filter((p) => p.node !== node);
    assert.equal(others.slice(0, 3), [], `answered by another node than ${node}`);
    const gap = this.longestGap(from, to);
    assert.ok(gap <= maxGapMs, `the client went ${gap} ms without an answer (allowed ${maxGapMs} ms)`);
  }

  /** No two MACs answered for the VIP in one ARP round since `from`, and the answering node changed at most `moves` times. */
  assertSingleServer(from: number, moves: number): void {
    assert.equal(this.watch.exits, [], "the two-MAC watcher stopped");
    assert.ok(this.watch.replies > 0, "the two-MAC watcher saw no replies at all");
    assert.equal(this.watch.doublesSince(from).map((d) => `${new Date(d.at).toISOString().slice(11, 23)} ${d.macs.join(" and ")}`), [], "the VIP answered from two MACs at once");
    const s = this.switches(from);
    assert.ok(s <= moves, `the answering node changed ${s} times for ${moves} move(s): two nodes answered in turn`);
  }

  /** Whether host i has the VIP on its interface. */
  hasVip(i: number): boolean {
    return this.f.lab.execSync(i, ["ip", "-o", "-4", "addr", "show", "dev", "lub0"]).includes(` ${VIP}/`);
  }

  deaths(a: AgentProc, from = 0): number {
    return a.records.slice(from).filter((r) => r.event === "node.dead").length;
  }
}


export { sleep };
