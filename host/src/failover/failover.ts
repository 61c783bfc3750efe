// Who runs which resource group: Heartbeat 3.0.6's haresources resource
// manager as a deterministic state machine. It is fed membership facts (we
// went active, the peer died, the peer's sequenced messages in order), the
// results of group actions and fencing, local commands (standby, takeover,
// shutdown) and the clock; it answers with effects: messages to send, groups
// to start or stop, a node to fence, log events.
//
// The one rule everything here serves: a group never runs on both nodes. A
// node starts a group only when (a) the peer says it does not hold it, or
// (b) the peer released it and said so (standby `done`, `shutdone`,
// ip-request-resp), or (c) the peer was declared dead and fenced (or no
// fencing is configured, which is the operator's choice, as in Heartbeat).
//
// Modes (ha.cf auto_failback): "on" and "off" negotiate with starting /
// resource / ask_resources (Heartbeat's nice_failback); "legacy" uses
// ip-request per group and no standby.

import type { Body, ResourceSet, StandbyPhase, StonithResult, TakeoverSet } from "@lubdub/protocol";

export type AutoFailback = "on" | "off" | "legacy";

/** Heartbeat's RQSTDELAY: how long to wait for a stable peer before taking our own groups anyway. */
export const RQSTDELAY_MS = 10_000;
/** Heartbeat cancels a standby request the peer does not answer within this. */
export const STANDBY_TIMEOUT_MS = 10_000;
/** A `starting` that gets no `resource` back from a live peer is sent again after this. */
export const STARTING_TIMEOUT_MS = 2 * RQSTDELAY_MS;
/** A group handed away because it kept failing here is not taken back for this long (no ping-pong). */
export const FAILED_GROUP_HOLDOFF_MS = 5 * 60_000;

export interface GroupInfo {
  key: string;
  /** Preferred node (the haresources line's first word). */
  owner: string;
}

export interface FailoverConfig {
  node: string;
  peer: string;
  groups: GroupInfo[];
  mode: AutoFailback;
}

export type Phase = "init" | "starting" | "bothstarting" | "rscrcvd" | "stable" | "shutdown" | "stopped";

export type FailoverEffect =
  | { kind: "send"; body: Body }
  /** Start (left to right) or stop (right to left) these groups; answer with groupsDone(id, ok). */
  | { kind: "groups"; id: number; op: "start" | "stop"; keys: string[]; reason: string }
  /** Fence the node; answer with fenceDone(id, result). No STONITH configured: answer "n_stnth" at once. */
  | { kind: "fence"; id: number; node: string }
  /**
   * The fence `id` is no longer wanted (the peer is alive again): stop it, no
   * further attempts. Its answer, if one still comes, is ignored. An attempt
   * already sent to the device cannot be recalled and may still take effect.
   */
  | { kind: "fence-abort"; id: number; node: string; reason: string }
  | { kind: "event"; level: "debug" | "info" | "warn" | "error" | "crit"; event: string; msg: string; fields: Record<string, string | number | boolean | null> }
  /** Graceful shutdown finished: everything released and shutdone sent. */
  | { kind: "shutdown-complete" };

/** Stable event names an operator can grep for. */
export const FEV = {
  starting: "rsc.negotiation-start",
  stable: "rsc.stable",
  acquire: "rsc.acquire",
  acquired: "rsc.acquired",
  release: "rsc.release",
  released: "rsc.released",
  actionFailed: "rsc.action-failed",
  takeover: "rsc.takeover",
  standbyStart: "standby.start",
  standbyIgnored: "standby.ignored",
  standbyTimeout: "standby.timeout",
  standbyDone: "standby.done",
  fence: "fence.request",
  fenced: "fence.result",
  fenceFailed: "fence.failed",
  fenceCancel: "fence.cancel",
  peerBack: "rsc.peer-back",
  shutdownStart: "shutdown.start",
  shutdownDone: "shutdown.done",
  peerShutdown: "rsc.peer-shutdown",
  partition: "rsc.partition-reset",
  unexpected: "rsc.unexpected-message",
  monitorFailover: "rsc.monitor-failover",
  monitorStuck: "rsc.monitor-no-failover",
} as const;

interface Standby {
  /** R gives groups away, T takes them. */
  role: "R" | "T";
  /** The set from R's point of view, as on the wire. */
  set: ResourceSet;
  phase: StandbyPhase;
  deadline: number;
}

export interface HoldState {
  key: string;
  owner: string;
  /** Where it runs as far as this node knows. */
  holder: string | null;
  /** "starting" / "stopping" while an action runs here. */
  transition: "starting" | "stopping" | null;
  since: number;
}

export interface FailoverSnapshot {
  phase: Phase;
  mode: AutoFailback;
  iHold: ResourceSet;
  otherHolds: ResourceSet | null;
  otherStable: boolean;
  standby: { role: "R" | "T"; set: ResourceSet; phase: StandbyPhase } | null;
  groups: HoldState[];
}

function setOf(local: boolean, foreign: boolean): ResourceSet {
  return local ? (foreign ? "all" : "local") : foreign ? "foreign" : "none";
}
function hasLocal(s: ResourceSet | null): boolean {
  return s === "local" || s === "all";
}
function hasForeign(s: ResourceSet | null): boolean {
  return s === "foreign" || s === "all";
}
/** The same groups seen from the other node: its local is our foreign. */
function mirror(s: ResourceSet): ResourceSet {
  return s === "local" ? "foreign" : s === "foreign" ? "local" : s;
}

export class Failover {
  private phase: Phase = "init";
  /** Groups running here (or being started). */
  private readonly held = new Set<string>();
  private readonly transitions = new Map<string, "starting" | "stopping">();
  private readonly since = new Map<string, number>();
  private otherHolds: ResourceSet | null = null;
  private otherStable = false;
  /**
   * The peer sent `starting` and has not reported stable since: it is
   * negotiating, holds nothing it did not report, and takes only its own
   * groups until it is stable.
   */
  private peerNegotiating = false;
  private peerAlive = false;
  /** The peer said shutdone (everything released) and has not come back since: it need not be fenced. */
  private peerShutDone = false;
  /** The peer is known to be down: fenced (or fencing not configured), or it said shutdone. Not alive alone is not enough. */
  private peerDown = false;
  private standby: Standby | null = null;
  private rqstDeadline: number | null = null;
  /** Bumped whenever the peer's process we were dealing with is gone; stale continuations check it. */
  private peerEpoch = 0;
  /** Groups that failed here (monitoring), and until when we decline to take them back. */
  private readonly failedHere = new Map<string, number>();
  /** Legacy mode: our groups we asked the peer for, and when to ask again. */
  private readonly ipRequests = new Map<string, number>();
  private nextId = 1;
  /** What each outstanding group action or fence is for. */
  private readonly pending = new Map<number, (r: string[] | StonithResult) => void>();
  /** Fences issued and not yet answered (their continuations are in `pending`). */
  private readonly fences = new Set<number>();
  /** Group actions issued and not yet answered (a subset of `pending`). */
  private readonly groupActions = new Set<number>();
  private out: FailoverEffect[] = [];
  private now = 0;

  constructor(private readonly c: FailoverConfig) {
    for (const g of c.groups) this.since.set(g.key, 0);
  }

  // ---- inputs -------------------------------------------------------------

  /** Communication is up and this node went active: start negotiating. */
  localActive(now: number, peerAlive: boolean): FailoverEffect[] {
    return this.run(now, () => {
      this.peerAlive = peerAlive;
      if (this.phase !== "init") return;
      this.localActiveInternal();
    });
  }

  /** The peer's status changed (membership's view). */
  peerStatus(now: number, status: "init" | "up" | "active" | "dead"): FailoverEffect[] {
    return this.run(now, () => {
      if (status === "dead") {
        if (!this.peerAlive && this.otherHolds === null) return;
        this.peerAlive = false;
        this.peerGone("dead");
        return;
      }
      if (status === "init" && this.peerAlive) {
        // A restart faster than deadtime: the new process holds nothing and will negotiate anew.
        this.peerEpoch++;
        this.forgetPeerReport(null);
        this.standby = null;
        // Ask the new process again for what we asked its predecessor.
        for (const k of this.ipRequests.keys()) this.ipRequests.set(k, this.now);
      }
      if (!this.peerAlive) {
        // The peer (re)appeared: until it reports, assume it holds nothing and is not stable.
        this.peerAlive = true;
        this.peerShutDone = false;
        this.forgetPeerReport(null);
        const wasFencing = this.abortFence("peer is back");
        // Legacy: this node was waiting for that fence to take every group,
        // its own included. The peer is back instead, so ask for our own
        // groups as at a start with the peer alive (it answers weown=no for
        // what it does not hold; the owner always gets its groups in legacy).
        // Found by the simulator: npm run sim -- --seed 472 --minutes 3.
        if (wasFencing && this.c.mode === "legacy" && this.phase === "stable") this.legacyRequestOwn();
        // Heartbeat answers a returning peer's `starting` with its full
        // resource report. A peer that comes back without negotiating (it came
        // up alone and is stable, or we declared it dead and it never
        // stopped) sends no `starting`: re-announce what we hold, so its view
        // of who holds each group does not stay empty. While negotiating,
        // `starting` and its answers do this already.
        if (this.phase === "stable" && this.c.mode !== "legacy" && !this.standby) {
          this.event("info", FEV.peerBack, `${this.c.peer} is back: telling it what this node holds`, { holds: this.iHold() });
          this.sendFullResource(true);
        }
      }
    });
  }

  /** A sequenced message from the peer, in order. */
  message(now: number, from: string, body: Body): FailoverEffect[] {
    return this.run(now, () => {
      if (from !== this.c.peer || this.phase === "stopped") return;
      // From a peer declared dead (membership hands on what arrives before its
      // status says it is back): stale, and acting on it could start a group
      // it still holds. Its return (status, partition) restarts negotiation.
      if (!this.peerAlive && body.t !== "shutdone") return;
      switch (body.t) {
        case "starting":
          return this.onStarting();
        case "resource":
          return this.onResource(body.rscHold, body.full, body.info);
        case "ask_resources":
          return this.onAskResources(body.rscHold, body.phase);
        case "hb_takeover":
          return this.onHbTakeover(body.rscHold);
        case "ip-request":
          return this.onIpRequest(body.ipaddr);
        case "ip-request-resp":
          if (body.dest === this.c.node) return this.onIpRequestResp(body.ipaddr, body.weown);
          return;
        case "shutdone":
          return this.onShutdone();
        default:
          return;
      }
    });
  }

  /** The partition the membership just healed: both sides may hold everything. */
  partitionHealed(now: number): FailoverEffect[] {
    return this.run(now, () => {
      this.abortFence("peer is back");
      if (this.shuttingDown()) {
        // Releasing everything already; shutdone tells the peer. No new negotiation.
        this.peerAlive = true;
        this.peerShutDone = false;
        return;
      }
      // Heartbeat restarts itself here; lubdub does the same to its resources:
      // release everything, then negotiate afresh as at start.
      this.event("crit", FEV.partition, `${this.c.peer} returned after a partition: releasing all groups and negotiating again`, {});
      this.standby = null;
      const keys = [...this.held];
      this.phase = "init";
      this.forgetPeerReport(null);
      this.peerAlive = true;
      this.peerShutDone = false;
      const restart = () => {
        // SIGTERM may have come while the groups were stopping: then stay down.
        if (this.shuttingDown()) return;
        this.localActiveInternal();
      };
      if (keys.length === 0) return restart();
      this.groups("stop", keys, "partition", () => restart());
    });
  }

  /** A group action finished; `failed` lists the groups whose action failed (empty: all fine). */
  groupsDone(now: number, id: number, failed: string[] = []): FailoverEffect[] {
    return this.run(now, () => {
      const k = this.pending.get(id);
      if (!k) return;
      this.pending.delete(id);
      k(failed);
    });
  }

  fenceDone(now: number, id: number, result: StonithResult): FailoverEffect[] {
    return this.run(now, () => {
      const k = this.pending.get(id);
      if (!k) return;
      this.pending.delete(id);
      k(result);
    });
  }

  /** `lubdub standby SET`: give SET (this node's view) to the peer. */
  standbyCommand(now: number, set: ResourceSet): FailoverEffect[] {
    return this.run(now, () => this.beginStandby(set, "operator"));
  }

  /** `lubdub takeover SET`: ask the peer to hand SET (this node's view) over. */
  takeoverCommand(now: number, set: TakeoverSet): FailoverEffect[] {
    return this.run(now, () => {
      if (this.c.mode === "legacy") return this.event("warn", FEV.standbyIgnored, "takeover needs auto_failback on or off (legacy mode has no standby protocol)", {});
      if (!this.peerAlive) return this.event("warn", FEV.standbyIgnored, `takeover ignored: ${this.c.peer} is not alive`, {});
      this.event("info", FEV.takeover, `asking ${this.c.peer} to hand over ${set}`, { set });
      this.send({ t: "hb_takeover", rscHold: set });
    });
  }

  /**
   * Monitoring says a group keeps failing here: hand its set to the peer
   * (standby), and decline to take it back for a while. Returns no hand-off
   * when the peer cannot take it; the caller keeps restarting it here.
   */
  groupFailed(now: number, key: string): FailoverEffect[] {
    return this.run(now, () => {
      if (!this.held.has(key) || this.transitions.has(key)) return;
      const local = this.localKeys().includes(key);
      if (this.c.mode === "legacy" || !this.peerAlive || !this.otherStable || this.phase !== "stable" || this.standby) {
        this.event("crit", FEV.monitorStuck, `group ${key} keeps failing but ${this.c.peer} cannot take it now (${!this.peerAlive ? "not alive" : this.c.mode === "legacy" ? "legacy mode has no hand-off" : "in flux"}): it stays here`, { key });
        return;
      }
      this.failedHere.set(key, now + FAILED_GROUP_HOLDOFF_MS);
      this.event("crit", FEV.monitorFailover, `group ${key} keeps failing here: handing it to ${this.c.peer}`, { key });
      this.beginStandby(local ? "local" : "foreign", `monitor: ${key} keeps failing`);
    });
  }

  /**
   * SIGTERM: release everything, tell the peer, then say shutdone. As in
   * Heartbeat (shutdown_in_progress), a node shutting down takes nothing new:
   * no negotiation, no ip-request, no acquisition on a late reply. Group
   * actions already running are waited for (a start that is still running
   * is stopped once it is done), and shutdone is sent only when no action of
   * this node is running and nothing is held.
   */
  shutdown(now: number): FailoverEffect[] {
    return this.run(now, () => {
      if (this.shuttingDown()) return;
      this.phase = "shutdown";
      this.standby = null;
      this.rqstDeadline = null;
      this.ipRequests.clear();
      this.event("info", FEV.shutdownStart, "shutting down: releasing every group", { held: [...this.held].join(" ") });
      if (this.c.mode !== "legacy") this.send({ t: "resource", rscHold: "none", full: { isStable: false }, info: "shutdown" });
      this.continueShutdown();
    });
  }

  tick(now: number): FailoverEffect[] {
    return this.run(now, () => {
      if (this.rqstDeadline !== null && now >= this.rqstDeadline && this.phase !== "stable" && this.phase !== "shutdown" && this.phase !== "stopped") {
        if ((this.phase === "starting" || this.phase === "bothstarting") && this.peerAlive) {
          // The peer is alive and has not said what it holds (our `starting`
          // was sent while it could not hear us, or its answer was lost):
          // silence is not "holds nothing" — it may run our groups since it
          // took them over. Ask again; only its answer, or its death and
          // fencing, lets this node take anything.
          this.rqstDeadline = now + STARTING_TIMEOUT_MS;
          this.event("warn", FEV.starting, `${this.c.peer} has not said what it holds: asking again`, {});
          this.send({ t: "starting" });
        } else {
          this.rqstDeadline = null;
          this.event("info", FEV.stable, "no stable peer report in time: taking our own groups", {});
          this.goStable("timeout");
        }
      }
      for (const [k, due] of this.ipRequests) {
        if (this.held.has(k) || this.shuttingDown()) {
          this.ipRequests.delete(k);
          continue;
        }
        if (due > now) continue;
        if (!this.peerAlive) {
          this.ipRequests.delete(k);
          continue;
        }
        this.ipRequests.set(k, now + RQSTDELAY_MS);
        this.send({ t: "ip-request", ipaddr: k });
      }
      const sb = this.standby;
      if (sb && sb.role === "R" && now >= sb.deadline && (sb.phase === "me" || sb.phase === "done")) {
        this.event("warn", FEV.standbyTimeout, sb.phase === "me" ? "no reply to standby request; standby request cancelled" : `${this.c.peer} never confirmed the hand-over; standby closed`, { set: sb.set });
        this.standby = null;
        this.reconcile();
      }
    });
  }

  nextWakeup(): number {
    let t = Infinity;
    if (this.rqstDeadline !== null) t = Math.min(t, this.rqstDeadline);
    if (this.standby) t = Math.min(t, this.standby.deadline);
    for (const [k, due] of this.ipRequests) if (!this.held.has(k)) t = Math.min(t, due);
    return t;
  }

  /** What this node holds (or is starting), as `rsc_hold` words say it. */
  holding(): ResourceSet {
    return this.iHold();
  }

  snapshot(): FailoverSnapshot {
    return {
      phase: this.phase, mode: this.c.mode, iHold: this.iHold(), otherHolds: this.otherHolds, otherStable: this.otherStable,
      standby: this.standby ? { role: this.standby.role, set: this.standby.set, phase: this.standby.phase } : null,
      groups: this.c.groups.map((g) => ({
        key: g.key, owner: g.owner,
        holder: this.held.has(g.key) ? this.c.node : this.peerHolds(g.key) ? this.c.peer : null,
        transition: this.transitions.get(g.key) ?? null, since: this.since.get(g.key) ?? 0,
      })),
    };
  }

  // ---- negotiation (auto_failback on/off) -------------------------------

  private localActiveInternal(): void {
    if (this.shuttingDown()) return;
    if (!this.peerAlive) return this.aloneAtStart();
    if (this.c.mode === "legacy") return this.legacyRequestOwn();
    this.phase = "starting";
    this.rqstDeadline = this.now + STARTING_TIMEOUT_MS;
    this.send({ t: "starting" });
    this.event("info", FEV.starting, "communications up: asking the peer what it holds", {});
  }

  private onStarting(): void {
    if (this.c.mode === "legacy") return;
    // The peer (re)started negotiation: it holds nothing we know of until it
    // reports, and a standby exchange with its previous process is void.
    this.otherStable = false;
    this.peerNegotiating = true;
    if (this.standby) {
      this.event("warn", FEV.standbyTimeout, `${this.c.peer} restarted during a standby exchange; exchange abandoned`, { set: this.standby.set });
      this.standby = null;
    }
    if (this.phase === "starting") this.phase = "bothstarting";
    this.sendFullResource(null);
  }

  private onResource(set: ResourceSet, full: { isStable: boolean } | null, info: string | null): void {
    if (full === null) {
      // The incremental script form ("I now also hold"): mach_down or standby bookkeeping.
      this.otherHolds = setOf(hasLocal(this.otherHolds) || hasLocal(set), hasForeign(this.otherHolds) || hasForeign(set));
      return;
    }
    this.otherHolds = set;
    this.otherStable = full.isStable;
    if (full.isStable) this.peerNegotiating = false;
    if (info === "shutdown") return; // releasing everything; shutdone follows
    if (this.phase === "starting" || this.phase === "bothstarting") {
      this.phase = "rscrcvd";
      this.rqstDeadline = this.now + RQSTDELAY_MS;
    }
    if (this.phase === "rscrcvd" && full.isStable) this.goStable("peer-stable");
    else if (this.phase === "rscrcvd" && this.peerNegotiating && !hasForeign(set)) {
      // Both nodes are starting (a simultaneous start, or both reset after a
      // partition) and the peer holds none of our groups. Heartbeat waits
      // RQSTDELAY here for a stable report that cannot come while both wait;
      // a negotiating peer takes only its own groups until it is stable, so
      // taking ours now overlaps nothing. Our stable report then lets the
      // peer (lubdub or Heartbeat) finish at once too.
      this.goStable("both-starting");
    }
    else if (this.phase === "stable") {
      this.reconcile();
      this.maybeAutoFailback();
    }
  }

  /**
   * Liveness: groups nobody runs are taken up. With the peer gone, every
   * group; with a stable peer that reports not holding ours (it restarted
   * faster than deadtime, or gave them up), our own. Never during a standby
   * hand-off, whose own messages say who starts what, nor while shutting down.
   */
  private reconcile(): void {
    if (this.phase !== "stable" || this.standby) return;
    let want: string[];
    if (!this.peerAlive) {
      // Only once it is known down (fenced): a dead peer whose fence is still running, or failed, may hold them.
      if (!this.peerDown) return;
      want = [...this.localKeys(), ...this.foreignKeys()];
    }
    else if (this.otherStable && this.otherHolds !== null && !hasForeign(this.otherHolds)) want = this.localKeys().filter((k) => (this.failedHere.get(k) ?? 0) <= this.now);
    else return;
    want = want.filter((k) => !this.held.has(k));
    if (want.length === 0) return;
    this.acquire(want, "req_our_resources", () => {
      if (this.c.mode !== "legacy") this.sendFullResource(true, "req_our_resources()");
    });
  }

  /** Stable: take our own groups unless the peer holds them, tell the peer, maybe fail back. */
  private goStable(why: "peer-stable" | "timeout" | "both-starting"): void {
    this.phase = "stable";
    this.rqstDeadline = null;
    // Our groups are "foreign" in the peer's report when it holds them.
    const peerHasOurs = this.peerAlive && hasForeign(this.otherHolds);
    const want = peerHasOurs ? [] : this.localKeys().filter((k) => !this.held.has(k));
    this.sendFullResource(true);
    const says = {
      "peer-stable": "resource negotiation complete",
      timeout: "local resource transition completed (peer did not report stable in time)",
      "both-starting": `resource negotiation complete (${this.c.peer} is starting too and holds none of our groups)`,
    }[why];
    this.event("info", FEV.stable, says, { peerHolds: this.otherHolds ?? "unknown", why });
    if (want.length > 0) {
      this.acquire(want, "req_our_resources", () => this.sendFullResource(true, "req_our_resources()"));
    }
    this.maybeAutoFailback();
  }

  /** auto_failback on: hand the peer's groups back once it is stable. */
  private maybeAutoFailback(): void {
    if (this.c.mode !== "on" || this.phase !== "stable" || !this.peerAlive || !this.otherStable || this.standby) return;
    if (this.foreignKeys().some((k) => this.held.has(k))) this.beginStandby("foreign", "auto_failback");
  }

  private beginStandby(set: ResourceSet, why: string): void {
    if (this.c.mode === "legacy") return this.event("warn", FEV.standbyIgnored, "standby is only implemented with auto_failback on or off", {});
    if (this.phase !== "stable" || !this.peerAlive || !this.otherStable || this.standby || this.transitions.size > 0) {
      const why = !this.peerAlive ? `${this.c.peer} is not alive` : this.transitions.size > 0 || this.standby ? "a resource transition is in progress" : "other side is in flux";
      return this.event("warn", FEV.standbyIgnored, `standby (${set}) ignored: ${why}`, { set });
    }
    const keys = this.keysOf(set).filter((k) => this.held.has(k));
    if (keys.length === 0) return this.event("info", FEV.standbyIgnored, `standby (${set}): nothing of that set runs here`, { set });
    this.standby = { role: "R", set, phase: "me", deadline: this.now + STANDBY_TIMEOUT_MS };
    this.event("info", FEV.standbyStart, `giving ${set} groups to ${this.c.peer} (${why})`, { set, why });
    this.send({ t: "ask_resources", rscHold: set, phase: "me" });
  }

  private onAskResources(set: ResourceSet, phase: StandbyPhase): void {
    if (this.c.mode === "legacy") return;
    const s = this.standby;
    if (phase === "me") {
      // The peer wants to give `set` (its view) to us.
      if (this.phase !== "stable" || s || this.transitions.size > 0) {
        return this.event("warn", FEV.standbyIgnored, `standby request from ${this.c.peer} ignored: this side is in flux`, { set });
      }
      const refused = this.keysOf(mirror(set)).filter((k) => (this.failedHere.get(k) ?? 0) > this.now);
      if (refused.length > 0) {
        return this.event("warn", FEV.standbyIgnored, `standby request from ${this.c.peer} declined: ${refused.join(", ")} failed here recently`, { set });
      }
      this.standby = { role: "T", set, phase: "other", deadline: Infinity };
      this.send({ t: "ask_resources", rscHold: set, phase: "other" });
      return;
    }
    if (phase === "other" && s && s.role === "R" && s.phase === "me") {
      // The taker is ready: release, then say done.
      s.phase = "other";
      s.deadline = Infinity;
      const keys = this.order(this.keysOf(s.set).filter((k) => this.held.has(k)));
      const remaining = setOf(this.localKeys().some((k) => this.held.has(k) && !keys.includes(k)), this.foreignKeys().some((k) => this.held.has(k) && !keys.includes(k)));
      this.send({ t: "resource", rscHold: remaining, full: { isStable: false }, info: "standby" });
      this.groups("stop", keys, "standby", () => {
        if (this.standby !== s) {
          // Abandoned (the peer restarted): say what we hold now, so it can take what is free.
          if (this.phase === "stable" && this.peerAlive && this.c.mode !== "legacy") this.sendFullResource(true);
          return;
        }
        s.phase = "done";
        s.deadline = this.now + STANDBY_TIMEOUT_MS;
        // From here the taker may start them: count them as its until it reports.
        this.otherHolds = setOf(hasLocal(this.otherHolds) || hasForeign(s.set), hasForeign(this.otherHolds) || hasLocal(s.set));
        this.send({ t: "ask_resources", rscHold: s.set, phase: "done" });
      });
      return;
    }
    if (phase === "done" && s && s.role === "T" && s.phase === "other" && s.set === set) {
      s.phase = "done";
      // The giver released everything in `set` (its view): start what it gave us.
      const ours = mirror(set);
      const keys = this.keysOf(ours).filter((k) => !this.held.has(k));
      // What the peer held of those is no longer its.
      this.otherHolds = setOf(hasLocal(this.otherHolds) && !hasLocal(set), hasForeign(this.otherHolds) && !hasForeign(set));
      const finish = () => {
        if (this.standby !== s) return; // cancelled meanwhile (peer gone, shutdown)
        this.send({ t: "ask_resources", rscHold: set, phase: "done" });
        this.sendFullResource(true);
        this.standby = null;
        this.event("info", FEV.standbyDone, `took over ${ours} groups from ${this.c.peer}`, { set: ours });
      };
      if (keys.length === 0) return finish();
      this.acquire(keys, "standby", finish);
      return;
    }
    if (phase === "done" && s && s.role === "R" && s.phase === "done" && s.set === set) {
      this.standby = null;
      this.sendFullResource(true);
      this.event("info", FEV.standbyDone, `handed ${s.set} groups to ${this.c.peer}`, { set: s.set });
      return;
    }
    this.event("debug", FEV.unexpected, `ask_resources ${set} ${phase} from ${this.c.peer} not expected now`, { set, phase });
  }

  private onHbTakeover(set: TakeoverSet): void {
    // The peer wants `set` (its view); we give the matching groups (our view).
    const give: ResourceSet = set === "failback" ? "foreign" : mirror(set);
    this.beginStandby(give, `hb_takeover ${set} from ${this.c.peer}`);
  }

  // ---- the peer leaves ----------------------------------------------------

  private onShutdone(): void {
    // The peer released everything before saying this: its groups are free now.
    this.peerEpoch++;
    this.ipRequests.clear();
    this.event("info", FEV.peerShutdown, `${this.c.peer} shut down and released its groups: taking over now`, {});
    this.peerAlive = false;
    this.peerShutDone = true;
    this.peerDown = true;
    this.forgetPeerReport("none");
    this.standby = null;
    this.takeEverything("shutdone");
  }

  /** The peer was declared dead: fence it (when configured), then take its groups. */
  private peerGone(why: string): void {
    this.peerEpoch++;
    this.ipRequests.clear();
    // Only a peer that said shutdone is known to hold nothing: a "resource
    // none" report is stale as soon as it is sent (the peer may acquire its
    // own groups right after, and that report may be lost).
    const knewItHeldNothing = this.peerShutDone && this.otherHolds === "none";
    this.peerDown = knewItHeldNothing;
    this.forgetPeerReport(null);
    this.standby = null;
    if (this.phase === "shutdown" || this.phase === "stopped") return;
    if (knewItHeldNothing) {
      // It said it released everything (shutdone) or held nothing: no one to fence.
      this.send({ t: "stonith", node: this.c.peer, result: "unneeded" });
      this.takeEverything("mach_down");
      return;
    }
    // A negotiation in progress is over: its timeout must not take our own
    // groups while the fence runs (or after it failed).
    this.rqstDeadline = null;
    const id = this.nextId++;
    this.event("warn", FEV.fence, `${this.c.peer} is ${why}: fencing before takeover`, { node: this.c.peer });
    this.fences.add(id);
    this.pending.set(id, (r) => {
      this.fences.delete(id);
      const result = r as StonithResult;
      if (this.peerAlive) return; // it came back while we were fencing: negotiation takes over
      if (result === "bad" || result === "badhost") {
        this.event("crit", FEV.fenceFailed, `fencing ${this.c.peer} failed (${result}): NOT taking over its groups`, { node: this.c.peer, result });
        this.send({ t: "stonith", node: this.c.peer, result });
        return;
      }
      this.peerDown = true;
      this.event("info", FEV.fenced, `fencing ${this.c.peer}: ${result}`, { node: this.c.peer, result });
      this.send({ t: "stonith", node: this.c.peer, result });
      this.takeEverything("mach_down");
    });
    this.out.push({ kind: "fence", id, node: this.c.peer });
  }

  /**
   * The peer is alive again while it is being fenced: the fence is called off
   * (no further attempts; its late answer is void) and negotiation takes over.
   * An attempt already in flight on the device cannot be recalled: it may
   * still power the peer off, and the peer's silence then counts as a death
   * like any other. True if there was a fence to call off.
   */
  private abortFence(reason: string): boolean {
    const any = this.fences.size > 0;
    for (const id of this.fences) {
      this.pending.delete(id);
      this.event("warn", FEV.fenceCancel, `fencing ${this.c.peer} called off: ${reason}`, { node: this.c.peer, reason });
      this.out.push({ kind: "fence-abort", id, node: this.c.peer, reason });
    }
    this.fences.clear();
    return any;
  }

  /** What the peer reported is void (it restarted, returned, died or shut down): `holds` is what we know instead. */
  private forgetPeerReport(holds: ResourceSet | null): void {
    this.otherHolds = holds;
    this.otherStable = false;
    this.peerNegotiating = false;
  }

  /** No peer: this node holds every group. */
  private takeEverything(reason: string): void {
    if (this.phase === "shutdown" || this.phase === "stopped") return;
    const wasStable = this.phase === "stable";
    this.phase = "stable";
    this.rqstDeadline = null;
    const local = this.localKeys().filter((k) => !this.held.has(k));
    const foreign = this.foreignKeys().filter((k) => !this.held.has(k));
    if (local.length + foreign.length === 0) {
      if (!wasStable) this.sendFullResource(true);
      return;
    }
    this.acquire([...local, ...foreign], reason, () => {
      if (this.c.mode === "legacy" || this.shuttingDown()) return;
      this.sendFullResource(true, "req_our_resources()");
      if (foreign.length > 0) this.send({ t: "resource", rscHold: "foreign", full: null, info: "mach_down" });
    });
  }

  private aloneAtStart(): void {
    // Heartbeat: communication came up with the peer already dead (initdead
    // passed). Not hearing it proves nothing (a cut cable, a hung peer that
    // holds groups): it is fenced first, as any dead peer (Heartbeat's
    // mark_node_dead path), and the groups are taken only after that.
    this.event("info", FEV.stable, `${this.c.peer} did not come up: fencing it, then taking every group`, {});
    this.phase = "stable";
    this.rqstDeadline = null;
    this.peerGone("not heard since start");
  }

  // ---- legacy (auto_failback legacy) ---------------------------------------

  private legacyRequestOwn(): void {
    this.phase = "stable";
    for (const k of this.localKeys()) {
      if (this.held.has(k)) continue;
      this.ipRequests.set(k, this.now + RQSTDELAY_MS);
      this.send({ t: "ip-request", ipaddr: k });
    }
  }

  private onIpRequest(key: string): void {
    if (this.c.mode !== "legacy") return;
    const g = this.c.groups.find((x) => x.key === key);
    if (!g) return this.event("warn", FEV.unexpected, `ip-request for unknown group '${key}' from ${this.c.peer}`, { key });
    const reply = (weown: boolean) => this.send({ t: "ip-request-resp", dest: this.c.peer, ipaddr: key, weown, ok: "OK" });
    if (this.held.has(key) && this.transitions.get(key) === "stopping") return; // already on its way out; the asker retries
    // Shutting down: every group is being released, and shutdone hands them over.
    if (this.shuttingDown() && this.held.has(key)) return;
    if (!this.held.has(key)) return reply(false);
    const epoch = this.peerEpoch;
    this.groups("stop", [key], "ip-request", () => {
      // Only the process that asked may take it; a new one will ask again.
      if (this.peerEpoch === epoch) reply(true);
    });
  }

  private onIpRequestResp(key: string, _weown: boolean): void {
    // Only what we asked for: a reply meant for an earlier process of ours is void.
    if (this.shuttingDown() || !this.ipRequests.has(key) || this.held.has(key)) return;
    this.ipRequests.delete(key);
    this.acquire([key], "ip-request-resp", () => undefined);
  }

  // ---- group actions --------------------------------------------------------

  private acquire(keys: string[], reason: string, then: () => void): void {
    // A node shutting down takes nothing new (every caller checks; this is the backstop).
    if (this.shuttingDown()) return;
    for (const k of keys) this.held.add(k);
    this.groups("start", this.order(keys), reason, then);
  }

  /** Issues one group action; `then` runs when it finishes (whatever the outcome). */
  private groups(op: "start" | "stop", keys: string[], reason: string, then: () => void): void {
    const id = this.nextId++;
    this.groupActions.add(id);
    for (const k of keys) this.transitions.set(k, op === "start" ? "starting" : "stopping");
    this.event("info", op === "start" ? FEV.acquire : FEV.release, `${op === "start" ? "acquiring" : "releasing"} ${keys.join(", ")} (${reason})`, { keys: keys.join(" "), reason });
    this.pending.set(id, (r) => {
      this.groupActions.delete(id);
      const failed = Array.isArray(r) ? r.filter((k) => keys.includes(k)) : [];
      for (const k of keys) {
        this.transitions.delete(k);
        this.since.set(k, this.now);
        if (op === "stop") this.held.delete(k);
      }
      const good = keys.filter((k) => !failed.includes(k));
      if (op === "start" && failed.length > 0) {
        // A failed start leaves its group released (the runner rolled it back).
        for (const k of failed) this.held.delete(k);
        this.event("error", FEV.actionFailed, `starting ${failed.join(", ")} failed: released`, { keys: failed.join(" ") });
      } else if (op === "stop" && failed.length > 0) {
        this.event("crit", FEV.actionFailed, `stopping ${failed.join(", ")} failed: it may still run here`, { keys: failed.join(" ") });
      }
      if (good.length > 0) {
        this.event("info", op === "start" ? FEV.acquired : FEV.released, `${good.join(", ")} ${op === "start" ? "running here" : "released"}`, { keys: good.join(" ") });
      }
      then();
      if (!(op === "start" && failed.length > 0)) this.reconcile(); // a failed start is not retried in a loop
      this.continueShutdown();
    });
    this.out.push({ kind: "groups", id, op, keys, reason });
  }

  // ---- shutdown -----------------------------------------------------------------

  private shuttingDown(): boolean {
    return this.phase === "shutdown" || this.phase === "stopped";
  }

  /** Shutdown's next step: wait for running actions, release what is held, then say shutdone. */
  private continueShutdown(): void {
    if (this.phase !== "shutdown" || this.groupActions.size > 0) return;
    const keys = this.order([...this.held]);
    if (keys.length > 0) {
      // Shutting down always completes: a group that fails to stop is logged, not retried forever.
      this.groups("stop", keys, "shutdown", () => undefined);
      return;
    }
    this.send({ t: "shutdone" });
    this.phase = "stopped";
    this.event("info", FEV.shutdownDone, "all groups released; shutdown notice sent", {});
    this.out.push({ kind: "shutdown-complete" });
  }

  // ---- helpers ----------------------------------------------------------------

  private run(now: number, f: () => void): FailoverEffect[] {
    this.now = now;
    this.out = [];
    f();
    return this.out;
  }

  private send(body: Body): void {
    this.out.push({ kind: "send", body });
  }

  private sendFullResource(stable: boolean | null, info: string | null = null): void {
    // After `resource none info=shutdown` the peer hears nothing but shutdone.
    if (this.shuttingDown()) return;
    const isStable = stable ?? this.phase === "stable";
    this.send({ t: "resource", rscHold: this.iHold(), full: { isStable }, info });
  }

  private event(level: "debug" | "info" | "warn" | "error" | "crit", event: string, msg: string, fields: Record<string, string | number | boolean | null>): void {
    this.out.push({ kind: "event", level, event, msg, fields });
  }

  private iHold(): ResourceSet {
    return setOf(this.localKeys().some((k) => this.held.has(k)), this.foreignKeys().some((k) => this.held.has(k)));
  }

  private localKeys(): string[] {
    return this.c.groups.filter((g) => g.owner === this.c.node).map((g) => g.key);
  }

  private foreignKeys(): string[] {
    return this.c.groups.filter((g) => g.owner !== this.c.node).map((g) => g.key);
  }

  private keysOf(set: ResourceSet): string[] {
    return [...(hasLocal(set) ? this.localKeys() : []), ...(hasForeign(set) ? this.foreignKeys() : [])];
  }

  /** haresources order, so groups start and stop in a predictable order. */
  private order(keys: string[]): string[] {
    return this.c.groups.map((g) => g.key).filter((k) => keys.includes(k));
  }

  private peerHolds(key: string): boolean {
    if (!this.peerAlive || this.otherHolds === null) return false;
    const g = this.c.groups.find((x) => x.key === key);
    if (!g) return false;
    // The peer's "local" are the groups it owns.
    return g.owner === this.c.peer ? hasLocal(this.otherHolds) : hasForeign(this.otherHolds);
  }
}
