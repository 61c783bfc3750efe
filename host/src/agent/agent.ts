// The imperative shell around the membership core: media in, effects out,
// one timer set to the core's next wakeup, a control socket for the CLI.

import { closeSync, openSync, readSync } from "node:fs";
import type { Server } from "node:net";
import { loadavg } from "node:os";
import type { Authkeys, Body } from "@lubdub/protocol";
import type { Effect } from "../membership/effects.js";
import { Membership, type MembershipConfig } from "../membership/membership.js";
import type { Medium } from "../media/medium.js";
import { controlSocketPath, serveControl, type ExtraRequestHandler } from "../control/socket.js";
import type { AgentStatus, ControlRequest, ControlResponse, FencingReport } from "../control/status.js";
import type { DeviceReport } from "./device-watch.js";
import { type AgentLogger, logEffect, logEvent } from "./log.js";
import { EV } from "../membership/effects.js";
import type { AutoFailback, GroupInfo } from "../failover/failover.js";
import type { GroupActions } from "../failover/group-actions.js";
import { NO_FENCING, ResourceShell, type FenceHook } from "./resources.js";
import type { LubdubCf } from "../config/lubdub-cf.js";
import { PingShell } from "./ping-shell.js";
import type { PingNodeSpec } from "../ping/ping-core.js";
import { Supervisor } from "../respawn/supervisor.js";
import type { RespawnDirective } from "../config/types.js";
import { nextGeneration, nodeUuid } from "./state-dir.js";

export const AGENT_VERSION = "0.1.0";
/** The timer never sleeps longer than this, so a clock oddity cannot stall the agent. */
const MAX_SLEEP_MS = 1000;
/**
 * Added to every timer delay. Node counts a setTimeout delay from the event
 * loop's clock, read in whole ms when the loop iteration began, so a timer
 * set for `due` can fire a ms or so before performance.now() reaches it; the
 * core then has nothing to do yet and the agent would wake again a ms later.
 * One more ms makes the timer fire just after `due` instead.
 */
const TIMER_SLACK_MS = 1;
/**
 * A timer that fires this many keepalives after it was due means the agent
 * was not running (SIGSTOP, a frozen VM, a stalled host): the peers'
 * heartbeats from that time are waiting unread in the sockets and tty, and
 * Node runs expired timers before it polls for input. Such a tick is put off
 * by one turn of the event loop (setImmediate runs after the poll phase) so
 * the core hears them before it looks for dead nodes. It is one loop turn,
 * not a delay: a peer that really is silent is still declared dead at once.
 */
const LATE_TIMER_KEEPALIVES = 1;
/** Media get this long to close on shutdown. */
const CLOSE_TIMEOUT_MS = 3000;

export interface AgentOptions {
  node: string;
  nodes: string[];
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadMs: number;
  maxRexmitDelayMs: number;
  keys: Authkeys;
  media: Medium[];
  stateDir: string;
  runDir: string;
  log: AgentLogger;
  /** Extra sequenced messages' consumer (resources, later). */
  onDeliver?: (e: Extract<Effect, { kind: "deliver" }>) => void;
  /** haresources groups and how to run them; without it the agent only does membership. */
  resources?: { groups: GroupInfo[]; mode: AutoFailback; actions: GroupActions; fence?: FenceHook; shutdownLimitMs: number; lubdub?: LubdubCf };
  /** ha.cf ping / ping_group nodes (ipfail behaviour when resources are managed). */
  ping?: { nodes: PingNodeSpec[]; deadpingMs: number };
  /** Digest of this node's haresources, compared with a lubdub peer's. */
  haresourcesDigest?: { digest: string; groups: number };
  /** ha.cf respawn clients and env values; started once communication is up. */
  respawn?: { clients: RespawnDirective[]; env: Record<string, string> };
  /** Control requests beyond status/standby/takeover (lubdub fence-confirm). */
  controlExtra?: ExtraRequestHandler;
  /** Fencing and the device, for status. */
  fencingReport?: () => FencingReport;
  deviceReport?: () => DeviceReport;
  kernelWatchdogReport?: () => { path: string; open: boolean; writes: number };
  /** A note on a medium in status ("through the lubdub device"). */
  mediumNote?: (m: Medium) => string | undefined;
  /** Called whenever heartbeats go out (the kernel watchdog is fed from here). */
  onSend?: () => void;
  /** Runs at a clean stop after the groups are released, before the media close (the device watchdog's disarm). */
  beforeMediaClose?: () => Promise<void>;
}

/**
 * The ld field of every message: the first line of /proc/loadavg, fresh each
 * time. Like Heartbeat, the file stays open and is read again from offset 0
 * (one pread), instead of open, fstat, read, read and close for each of the
 * tens of messages a second a short keepalive sends.
 */
class LoadavgReader {
  private fd: number | null = null;
  private readonly buf = Buffer.alloc(128);

  read(): string {
    try {
      this.fd ??= openSync("/proc/loadavg", "r");
      const s = this.buf.toString("latin1", 0, readSync(this.fd, this.buf, 0, this.buf.length, 0));
      const nl = s.indexOf("\n");
      return nl >= 0 ? s.slice(0, nl) : s;
    } catch {
      this.close();
      const l = loadavg();
      return `${l[0]!.toFixed(2)} ${l[1]!.toFixed(2)} ${l[2]!.toFixed(2)} 1/1 1`;
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing to do
    }
    this.fd = null;
  }
}

export class Agent {
  private core!: Membership;
  private timer: NodeJS.Timeout | null = null;
  /** When (agent clock, ms) the armed timer is meant for. */
  private timerDue = 0;
  /** A late tick is waiting for setImmediate; it reschedules when it runs. */
  private deferredTick = false;
  private control: Server | null = null;
  private readonly started = performance.now();
  private stopping = false;
  private shell: ResourceShell | null = null;
  private ping: PingShell | null = null;
  private respawn: Supervisor | null = null;
  private haresourcesMismatch: string | null = null;
  private readonly loadavg = new LoadavgReader();

  constructor(private readonly o: AgentOptions) {}

  private now(): number {
    return performance.now() - this.started;
  }

  async start(): Promise<void> {
    const o = this.o;
    const generation = nextGeneration(o.stateDir);
    const config: MembershipConfig = {
      node: o.node, uuid: nodeUuid(o.stateDir), nodes: o.nodes, links: o.media.map((m) => m.linkName),
      keepaliveMs: o.keepaliveMs, deadtimeMs: o.deadtimeMs, warntimeMs: o.warntimeMs, initdeadMs: o.initdeadMs,
      maxRexmitDelayMs: o.maxRexmitDelayMs, generation, keys: o.keys, ttl: 1 + o.nodes.length,
    };
    this.core = new Membership(config, { random: Math.random, wallSeconds: () => Math.floor(Date.now() / 1000), loadavg: () => this.loadavg.read() });
    if (o.resources && o.nodes.length === 2) {
      const peer = o.nodes.find((n) => n !== o.node)!;
      this.shell = new ResourceShell({
        config: { node: o.node, peer, groups: o.resources.groups, mode: o.resources.mode },
        actions: o.resources.actions, fence: o.resources.fence ?? NO_FENCING, log: o.log,
        send: (body) => this.send(body), now: () => this.now(), reschedule: () => this.stopping || this.schedule(),
        ...(o.resources.lubdub ? { lubdub: o.resources.lubdub } : {}),
      });
      // Nothing of ours may still run from an earlier life when we join.
      await this.shell.cleanSlate();
    }
    if (o.ping && o.ping.nodes.length > 0 && o.nodes.length === 2) {
      const peer = o.nodes.find((n) => n !== o.node)!;
      this.ping = new PingShell({
        node: o.node, peer, nodes: o.ping.nodes, deadpingMs: o.ping.deadpingMs, intervalMs: o.keepaliveMs, log: o.log, now: () => this.now(),
        send: (body) => this.send(body),
        giveUp: () => this.shell?.standby("all"),
        reschedule: () => this.stopping || this.schedule(),
      });
    }
    for (const m of o.media) {
      try {
        await m.open(
          (a) => this.apply(this.core.receive(this.now(), m.linkName, a.bytes, a.from)),
          (e) => logEvent(o.log, "warn", "medium.error", `${m.kind} ${m.linkName}: ${e.message}`, { link: m.linkName }),
        );
        logEvent(o.log, "info", "medium.open", `${m.kind} ${m.linkName} open`, { link: m.linkName, kind: m.kind });
      } catch (e) {
        // A medium that cannot open is logged and left out; the others carry on.
        logEvent(o.log, "error", "medium.open-failed", `${m.kind} ${m.linkName}: ${(e as Error).message}`, { link: m.linkName });
      }
    }
    this.control = await serveControl(controlSocketPath(o.runDir), (req) => this.handleControl(req), (e) => logEvent(o.log, "warn", "control.error", e.message), o.controlExtra);
    this.apply(this.core.start(this.now()));
    this.shell?.startMonitoring();
    this.ping?.start();
    this.schedule();
  }

  /** Sends a sequenced application message on every medium. */
  send(body: Body): void {
    this.apply(this.core.send(this.now(), body));
  }

  status(): AgentStatus {
    return {
      version: AGENT_VERSION, pid: process.pid, uptimeMs: Math.round(this.now()), keepaliveMs: this.o.keepaliveMs, deadtimeMs: this.o.deadtimeMs,
      membership: this.core.snapshot(),
      media: this.o.media.map((m) => {
        const note = this.o.mediumNote?.(m);
        return { kind: m.kind, link: m.linkName, ...m.stats, ...(note ? { note } : {}) };
      }),
      ...(this.shell ? { resources: this.shell.snapshot() } : {}),
      ...(this.ping ? { ping: this.ping.snapshot() } : {}),
      ...(this.haresourcesMismatch ? { warnings: [`haresources differs from ${this.haresourcesMismatch}'s`] } : {}),
      ...(this.respawn ? { respawn: this.respawn.snapshot() } : {}),
      ...(this.o.fencingReport ? { fencing: this.o.fencingReport() } : {}),
      ...(this.o.deviceReport ? { device: this.o.deviceReport() } : {}),
      ...(this.o.kernelWatchdogReport ? { kernelWatchdog: this.o.kernelWatchdogReport() } : {}),
    };
  }

  private handleControl(req: ControlRequest): ControlResponse {
    if (req.cmd === "status") return { ok: true, status: this.status() };
    if (!this.shell) return { ok: false, error: "no resource groups are managed here (haresources empty, or not a two-node cluster)" };
    if (req.cmd === "standby") {
      logEvent(this.o.log, "info", "control.standby", `operator asked for standby ${req.set}`, { set: req.set });
      this.shell.standby(req.set);
    } else {
      logEvent(this.o.log, "info", "control.takeover", `operator asked for takeover ${req.set}`, { set: req.set });
      this.shell.takeover(req.set);
    }
    return { ok: true, status: this.status() };
  }

  private apply(effects: Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "send":
          for (const m of this.o.media) m.send({ datagram: e.datagram, classic: e.classic });
          this.o.onSend?.();
          break;
        case "event":
          logEffect(this.o.log, e);
          if (e.event === EV.partitionReturn) this.shell?.partitionHealed();
          break;
        case "deliver":
          this.o.onDeliver?.(e);
          this.shell?.message(e.from, e.message.body);
          if (e.message.body.t === "lubdub-ping") this.ping?.peerReport(e.message.body);
          if (e.message.body.t === "lubdub-haresources") this.compareHaresources(e.from, e.message.body.digest, e.message.body.groups);
          break;
        case "peer-status":
          this.shell?.peerStatus(e.status);
          this.ping?.peerStatus(e.status);
          // A peer that (re)started has not seen our digest yet.
          if (e.status === "init" && this.o.haresourcesDigest && this.core.snapshot().status === "active") this.send({ t: "lubdub-haresources", ...this.o.haresourcesDigest });
          break;
        case "local-active":
          this.shell?.localActive(this.core.snapshot().peers.some((p) => p.heard && p.status !== "dead"));
          if (this.o.haresourcesDigest) this.send({ t: "lubdub-haresources", ...this.o.haresourcesDigest });
          // Heartbeat starts its respawn clients once communication is up.
          if (this.o.respawn && this.o.respawn.clients.length > 0 && !this.respawn) {
            this.respawn = new Supervisor({ clients: this.o.respawn.clients, env: this.o.respawn.env, log: this.o.log });
            this.respawn.start();
          }
          break;
        case "link-status":
          break; // logged through their events; resources will act on them
      }
    }
    if (!this.stopping) this.schedule();
  }

  /** Both nodes must run the same haresources; a difference is reported loudly (and shown in status). */
  private compareHaresources(peer: string, digest: string, groups: number): void {
    const mine = this.o.haresourcesDigest;
    if (!mine) return;
    this.haresourcesMismatch = digest === mine.digest ? null : peer;
    if (digest === mine.digest) {
      logEvent(this.o.log, "info", "config.haresources-match", `${peer}'s haresources is the same as ours (${groups} groups)`, { node: peer });
    } else {
      logEvent(this.o.log, "crit", "config.haresources-mismatch", `${peer}'s haresources differs from ours (${groups} groups there, ${mine.groups} here): failover may start the wrong resources; make both files the same`, { node: peer, peerDigest: digest, digest: mine.digest });
    }
  }

  /**
   * Arms the one timer for the earliest of the core's, the resource shell's
   * and the ping shell's next wakeup. Called after every input; most inputs
   * (a heartbeat received) leave the earliest wakeup where it was, and then
   * the armed timer is left alone.
   */
  private schedule(): void {
    if (this.deferredTick) return;
    const now = this.now();
    const due = Math.min(this.core.nextWakeup(), this.shell?.nextWakeup() ?? Infinity, this.ping?.nextWakeup() ?? Infinity, now + MAX_SLEEP_MS);
    if (this.timer && due === this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(this.onTimer, Math.ceil(Math.max(0, due - now)) + TIMER_SLACK_MS);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const late = this.now() - this.timerDue;
    if (late > LATE_TIMER_KEEPALIVES * this.o.keepaliveMs) {
      logEvent(this.o.log, "warn", "agent.resumed-late", `timer ran ${Math.round(late)} ms late (was this process paused?): reading waiting input before checking on the peers`, { lateMs: Math.round(late) });
      this.deferredTick = true;
      setImmediate(() => {
        this.deferredTick = false;
        this.tick();
      });
      return;
    }
    this.tick();
  };

  /** Feeds the clock to the core and the shells. */
  private readonly tick = (): void => {
    if (this.stopping) return;
    this.apply(this.core.tick(this.now()));
    this.shell?.tick();
    this.ping?.tick();
    if (this.ping && this.shell) this.ping.holding(this.shell.core.holding() !== "none");
  };

  async stop(): Promise<void> {
    if (this.shell && this.o.resources) {
      // Release every group first, while heartbeats still flow, and tell the
      // peer (shutdone) so it takes over at once; give the last messages a
      // moment to leave (and be retransmitted if lost) before going quiet.
      await this.shell.shutdown(this.o.resources.shutdownLimitMs);
      await new Promise((r) => setTimeout(r, Math.min(2 * this.o.keepaliveMs, 2000)));
    }
    await this.respawn?.stop();
    await this.ping?.stop();
    if (this.o.beforeMediaClose) {
      // Heartbeats still go out while it runs (the device watchdog is disarmed over the serial medium).
      try {
        await this.o.beforeMediaClose();
      } catch (e) {
        logEvent(this.o.log, "error", "node.stop-step-failed", `before closing the media: ${(e as Error).message}`);
      }
    }
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.control?.close();
    await Promise.race([
      Promise.allSettled(this.o.media.map((m) => m.close())),
      new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS)),
    ]);
    this.loadavg.close();
    logEvent(this.o.log, "info", "node.stopped", `${this.o.node} stopped`);
  }
}
