// The simulated cluster: two lubdub nodes (membership + failover + fencing
// policy + device client, wired the way host/src/agent/agent.ts and
// resources.ts wire them) and the lubdub device core, joined by simulated
// UDP media and by serial lines that run THROUGH the device's relay. One
// thread, one seeded generator, one event queue in virtual time.
//
// Machines are powered by the device's outlets: an outlet off is a machine
// down (its resources gone) until the outlet is on again and it has booted.
//
// Invariants, checked as the state they are about changes (so after every
// step):
//   safety        with fencing configured, no group runs (or is starting or
//                 stopping) on both machines while both are up;
//   liveness      obligations: after a heal, every group is held within a
//                 bound; after one clean failure of a node while fencing
//                 works for the other, every group is held by the survivor
//                 within deadtime + fence time + start time + slack;
//   no false death a node never declares its peer dead while a status of the
//                 peer's current process reached its core within deadtime.

import { createHmac } from "node:crypto";
import {
  Deframer, decodeClassicMessage, singleKey, type Authkeys, type Body, type DeviceKey,
} from "@lubdub/protocol";
import { Device } from "@lubdub/device/dist/node/core/device.js";
import type { Hal } from "@lubdub/device/dist/node/core/hal.js";
import { TICK_MS } from "@lubdub/device/dist/node/core/hal.js";
import {
  DeviceClientCore, Failover, FencePolicy, Membership, RQSTDELAY_MS, STANDBY_TIMEOUT_MS, STARTING_TIMEOUT_MS, STARTUP_DT_BONUS_MS,
  type AutoFailback, type DeviceClientEffect, type DeviceOpResult, type Effect, type FailoverEffect, type FencePolicyConfig, type GroupInfo,
  type PolicyEffect,
} from "./host-modules.js";
import { EventQueue } from "./queue.js";
import { Rng } from "./rng.js";

/** Test-only faults planted in the composition (never in host code): the simulator must catch them. */
export type PlantedBug = "no-fence-wait" | "no-release-before-start";
export const PLANTED_BUGS: readonly PlantedBug[] = ["no-fence-wait", "no-release-before-start"];

export interface SimOptions {
  seed: number;
  /** Simulated minutes. */
  minutes: number;
  plantBug?: PlantedBug | undefined;
  /** Lines of trace kept for a failure report. */
  traceLines?: number;
}

export interface Violation {
  kind: "safety" | "liveness" | "false-death";
  at: number;
  message: string;
}

export interface SimStats {
  simMs: number;
  events: number;
  faults: number;
  deaths: number;
  fences: number;
  fenceGiveUps: number;
  takeovers: number;
  obligations: number;
  obligationsMet: number;
  obligationsCancelled: number;
}

export interface SimResult {
  seed: number;
  violation: Violation | null;
  trace: string[];
  stats: SimStats;
  config: string;
}

const NODES = ["alpha", "bravo"] as const;
/** The agent's timer never sleeps longer (agent.ts MAX_SLEEP_MS) and fires 1 ms past its due time (TIMER_SLACK_MS). */
const MAX_SLEEP_MS = 1000;
const TIMER_SLACK_MS = 1;
const WALL_BASE_MS = 1_800_000_000_000;

type MediumKind = "udp" | "serial";
interface MediumSpec {
  name: string;
  kind: MediumKind;
}

interface UdpState {
  loss: number;
  dup: number;
  reorder: number;
  minDelay: number;
  maxDelay: number;
  /** Direction blocked: index of the sending machine. */
  cut: [boolean, boolean];
}

interface SerialDir {
  cut: boolean;
  loss: number;
  noise: number;
  busyUntil: number;
}

interface Config {
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadMs: number;
  media: MediumSpec[];
  mode: AutoFailback;
  groups: GroupInfo[];
  startMs: Map<string, number>;
  stopMs: Map<string, number>;
  fencing: boolean;
  policy: [FencePolicyConfig, FencePolicyConfig];
  offMs: number;
  holdMs: number;
  baud: number;
  bootMs: [number, number];
  respawnMs: [number, number];
}

/** Messages each sender put on the wire, by their exact bytes: who, which process, which seq, a status or not. */
interface WireMeta {
  src: number;
  gen: number;
  seq: number;
  status: boolean;
}

interface Job {
  id: number;
  op: "start" | "stop";
  keys: string[];
}

class Proc {
  gen: number;
  readonly startGlobal: number;
  alive = true;
  /** Set once cleanSlate is over and the cores run. */
  running = false;
  hungUntil = 0;
  deferred: (() => void)[] = [];
  membership!: Membership;
  failover: Failover | null = null;
  policy!: FencePolicy;
  /** The host's device client core (host/src/fencing/device/client-core.ts), on this process's clock. */
  client: DeviceClientCore | null = null;
  readonly clientOps = new Map<number, (r: DeviceOpResult) => void>();
  clientTimerDue = Infinity;
  readonly deframer = new Deframer();
  timerDue = -1;
  timerToken = 0;
  wallOffset = 0;
  // group actions, one job at a time
  jobs: Job[] = [];
  jobBusy = false;
  // fencing
  readonly fenceWaiters = new Map<number, ((r: string) => void)[]>();
  readonly fenceByNode = new Map<string, number>();
  /** Fence runs called off by the failover core (fence-abort), so their "bad" is no give-up. */
  readonly abortedRuns = new Set<number>();
  attemptAbort: (() => void) | null = null;
  stopping = false;
  shutdownComplete = false;
  // no-false-death bookkeeping, for the peer
  peerGen = -1;
  peerSeqs = new Set<number>();
  peerMaxSeq = 0;
  lastPeerStatus: number | null = null;
  constructor(gen: number, startGlobal: number) {
    this.gen = gen;
    this.startGlobal = startGlobal;
  }
}

class Machine {
  up = false;
  /** Outlet as the device switched it (the device switches it on when it starts). */
  powered = false;
  /** Start lubdubd again once the running one exits (set by a heal during a shutdown). */
  restartOnExit = false;
  epoch = 0;
  gen = 0;
  proc: Proc | null = null;
  /** Groups whose resources run here (started, starting or stopping). */
  readonly running = new Set<string>();
  /** Groups started and not being stopped. */
  readonly ready = new Set<string>();
  /** Serial line: host → device, device → host. */
  readonly tx: SerialDir = { cut: false, loss: 0, noise: 0, busyUntil: 0 };
  readonly rx: SerialDir = { cut: false, loss: 0, noise: 0, busyUntil: 0 };
  constructor(
    readonly idx: number,
    readonly name: string,
  ) {}
}

class StopRun extends Error {}

export class World {
  now = 0;
  readonly rng: Rng;
  readonly q = new EventQueue();
  readonly cfg: Config;
  readonly machines: [Machine, Machine];
  readonly udp = new Map<string, UdpState>();
  device!: Device;
  deviceDown = false;
  deviceKeyBad = false;
  readonly storage: Record<string, string> = {};
  private deviceEpoch = 0;
  readonly keys: Authkeys;
  readonly deviceKey: DeviceKey;
  private readonly wire = new Map<string, WireMeta>();
  private readonly trace: string[] = [];
  private traceAt = 0;
  violation: Violation | null = null;
  /** Bumped by every fault and heal: an obligation made before it no longer applies. */
  disturbances = 0;
  readonly stats: SimStats = { simMs: 0, events: 0, faults: 0, deaths: 0, fences: 0, fenceGiveUps: 0, takeovers: 0, obligations: 0, obligationsMet: 0, obligationsCancelled: 0 };
  private readonly lastHeld = new Map<string, number>();
  private lastGiveUp = -Infinity;

  constructor(readonly o: SimOptions) {
    this.rng = new Rng(o.seed);
    this.cfg = this.drawConfig(this.rng.fork(1));
    this.keys = singleKey("sha1", `sim-key-${o.seed}`, 1);
    this.deviceKey = { index: 1, method: "sha1", secret: `sim-key-${o.seed}` };
    this.machines = [new Machine(0, "alpha"), new Machine(1, "bravo")];
    for (const m of this.cfg.media) {
      if (m.kind === "udp") this.udp.set(m.name, { loss: 0, dup: 0, reorder: 0, minDelay: 0.2, maxDelay: 2, cut: [false, false] });
    }
    for (const g of this.cfg.groups) this.lastHeld.set(g.key, -Infinity);
  }

  // ---- configuration ---------------------------------------------------------

  private drawConfig(r: Rng): Config {
    const keepaliveMs = r.pick([500, 1000, 1000, 2000]);
    const deadtimeMs = Math.max(2000, keepaliveMs * r.int(3, 8));
    const media: MediumSpec[] = r.pick<MediumSpec[]>([
      [{ name: "eth0", kind: "udp" }, { name: "/dev/ttyS0", kind: "serial" }],
      [{ name: "eth0", kind: "udp" }, { name: "/dev/ttyS0", kind: "serial" }],
      [{ name: "eth0", kind: "udp" }],
      [{ name: "/dev/ttyS0", kind: "serial" }],
      [{ name: "eth0", kind: "udp" }, { name: "eth1", kind: "udp" }, { name: "/dev/ttyS0", kind: "serial" }],
    ]);
    const n = r.int(1, 4);
    const groups: GroupInfo[] = [];
    const startMs = new Map<string, number>();
    const stopMs = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const key = `g${i + 1}`;
      groups.push({ key, owner: i === 0 ? "alpha" : r.pick(NODES) });
      startMs.set(key, r.int(5, 2000));
      stopMs.set(key, r.int(5, 2000));
    }
    const policy = (delayMs: number): FencePolicyConfig => ({
      action: r.chance(0.8) ? "reboot" : "off", delayMs, totalTimeoutMs: r.int(20, 120) * 1000, attemptTimeoutMs: r.int(3, 12) * 1000,
      retryMinMs: r.int(500, 2000), retryMaxMs: r.int(2000, 10000), alert: [],
    });
    const action = r.chance(0.8) ? "reboot" : "off";
    const pa = policy(0);
    const pb = policy(r.pick([0, 0, 1000, 3000]));
    pa.action = action;
    pb.action = action;
    return {
      keepaliveMs, deadtimeMs, warntimeMs: Math.floor(deadtimeMs / 2), initdeadMs: deadtimeMs * 2, media,
      mode: r.pick<AutoFailback>(["on", "off", "legacy", "on", "off"]), groups, startMs, stopMs, fencing: r.chance(0.9), policy: [pa, pb],
      offMs: r.int(500, 8000), holdMs: r.pick([5000, 30000, 600000]), baud: r.pick([19200, 115200]), bootMs: [r.int(2000, 15000), r.int(2000, 15000)],
      respawnMs: [r.int(500, 5000), r.int(500, 5000)],
    };
  }

  describe(): string {
    const c = this.cfg;
    return `keepalive ${c.keepaliveMs} deadtime ${c.deadtimeMs} initdead ${c.initdeadMs} media ${c.media.map((m) => m.name).join(",")} mode ${c.mode} ` +
      `groups ${c.groups.map((g) => `${g.key}@${g.owner}`).join(",")} fencing ${c.fencing ? `${c.policy[0].action} delay ${c.policy[0].delayMs}/${c.policy[1].delayMs} total ${c.policy[0].totalTimeoutMs}/${c.policy[1].totalTimeoutMs}` : "none"} ` +
      `off_ms ${c.offMs} hold_ms ${c.holdMs} baud ${c.baud}`;
  }

  // ---- trace and invariants -------------------------------------------------------

  note(who: string, text: string): void {
    const n = this.o.traceLines ?? 40;
    const line = `${(this.now / 1000).toFixed(3).padStart(10)} ${who.padEnd(6)} ${text}`;
    if (this.trace.length < n) this.trace.push(line);
    else {
      this.trace[this.traceAt] = line;
      this.traceAt = (this.traceAt + 1) % n;
    }
  }

  traceLines(): string[] {
    return [...this.trace.slice(this.traceAt), ...this.trace.slice(0, this.traceAt)];
  }

  fail(kind: Violation["kind"], message: string): never {
    if (!this.violation) {
      this.violation = { kind, at: this.now, message };
      this.note("CHECK", `${kind} VIOLATION: ${message}`);
    }
    throw new StopRun();
  }

  private groupOn(m: Machine, key: string, why: string): void {
    m.running.add(key);
    const other = this.machines[1 - m.idx]!;
    if (this.cfg.fencing && m.up && other.up && other.running.has(key)) {
      this.fail("safety", `group ${key} runs on both ${m.name} (${why}) and ${other.name} (${other.ready.has(key) ? "started" : "starting or stopping"})`);
    }
  }

  private isHeld(key: string): boolean {
    for (const m of this.machines) if (m.up && m.ready.has(key)) return true;
    return false;
  }

  /** Every group must be held by `deadline`, unless something happens meanwhile. */
  obligation(boundMs: number, why: string, strictAtEnd = false): void {
    const made = this.disturbances;
    const since = this.now;
    this.stats.obligations++;
    this.at(this.now + boundMs, () => {
      if (this.disturbances !== made) {
        this.stats.obligationsCancelled++;
        return;
      }
      const missing = this.cfg.groups.filter((g) => !this.isHeld(g.key) && (strictAtEnd || (this.lastHeld.get(g.key) ?? -Infinity) < since)).map((g) => g.key);
      if (missing.length > 0) {
        if (this.lastGiveUp >= since - 600_000 && this.cfg.fencing) {
          // Fencing gave up (the policy's documented end: alert, no takeover until the peer is back or an operator confirms).
          this.stats.obligationsCancelled++;
          return;
        }
        this.fail("liveness", `${missing.join(", ")} not held ${boundMs} ms after ${why} (${(since / 1000).toFixed(3)} s)`);
      }
      this.stats.obligationsMet++;
    });
  }

  disturb(what: string): void {
    this.disturbances++;
    this.stats.faults++;
    this.note("FAULT", what);
  }

  // ---- time ------------------------------------------------------------------------

  at(t: number, run: () => void): void {
    this.q.push(t, run);
  }

  run(untilMs: number): void {
    try {
      for (;;) {
        const t = this.q.peekAt();
        if (t > untilMs) break;
        const e = this.q.pop()!;
        if (e.at > this.now) this.now = e.at;
        this.stats.events++;
        e.run();
      }
      this.now = untilMs;
    } catch (e) {
      if (!(e instanceof StopRun)) {
        this.violation ??= { kind: "safety", at: this.now, message: `simulator error: ${(e as Error).stack ?? e}` };
      }
    }
    this.stats.simMs = this.now;
  }

  // ---- the device ------------------------------------------------------------------

  startDevice(): void {
    const epoch = ++this.deviceEpoch;
    const rng = this.rng.fork(100 + epoch);
    const hal: Hal = {
      now: () => this.now,
      writePort: (port, bytes) => this.serialSend(this.machines[port]!, "rx", bytes),
      writeConsole: () => undefined,
      closeConsole: () => undefined,
      outletCount: () => 2,
      setOutlet: (n, on) => this.setOutlet(n, on),
      enableWatchdog: () => undefined,
      kickWatchdog: () => undefined,
      load: (k) => (Object.prototype.hasOwnProperty.call(this.storage, k) ? this.storage[k]! : null),
      save: (k, v) => {
        this.storage[k] = v;
      },
      hmac: (method, key, data) =>
        method === "sha1" || method === "md5" ? createHmac(method, Buffer.from(key, "latin1")).update(Buffer.from(data, "latin1")).digest("hex") : null,
      random: () => rng.next(),
      log: (level, event, text) => {
        if (event === "outlet" || event === "fence" || event === "boot" || (event === "refused" && level >= 30)) this.note("device", `${event}: ${text}`);
      },
    };
    if (this.storage["lubdub.cfg"] === undefined) {
      this.storage["lubdub.cfg"] = [
        "a.host=alpha", "b.host=bravo", "outlet.1=alpha", "outlet.2=bravo", "key.index=1", "key.method=sha1", `key.secret=${this.deviceKey.secret}`,
        `fence.hold_ms=${this.cfg.holdMs}`, `outlet.off_ms=${this.cfg.offMs}`, `a.baud=${this.cfg.baud}`, `b.baud=${this.cfg.baud}`,
      ].join("\n");
    }
    this.device = new Device(hal);
    this.deviceDown = false;
    this.device.start();
    const tick = () => {
      if (this.deviceEpoch !== epoch || this.deviceDown) return;
      this.device.tick();
      this.at(this.now + TICK_MS, tick);
    };
    this.at(this.now + TICK_MS, tick);
  }

  stopDevice(): void {
    this.deviceDown = true;
    this.deviceEpoch++;
  }

  setDeviceKey(good: boolean): void {
    this.deviceKeyBad = !good;
    this.device.core.changeSetting("key.secret", good ? this.deviceKey.secret : "not-the-cluster-key");
  }

  private setOutlet(n: number, on: boolean): void {
    const m = this.machines[n - 1];
    if (!m) return;
    if (m.powered === on) return;
    m.powered = on;
    if (!on) this.machineDown(m, "outlet off");
    else this.boot(m);
  }

  /** The machine boots after its boot time (if its outlet is still on then). */
  boot(m: Machine): void {
    if (m.up || !m.powered) return;
    const epoch = ++m.epoch;
    this.at(this.now + this.cfg.bootMs[m.idx]!, () => {
      if (m.epoch !== epoch || !m.powered || m.up) return;
      m.up = true;
      this.note(m.name, "machine up");
      this.startProc(m);
    });
  }

  machineDown(m: Machine, why: string): void {
    m.epoch++;
    if (m.proc) m.proc.alive = false;
    m.proc = null;
    const wasUp = m.up;
    m.up = false;
    m.running.clear();
    m.ready.clear();
    m.tx.busyUntil = m.rx.busyUntil = 0;
    if (wasUp) this.note(m.name, `machine down (${why})`);
  }

  // ---- links -------------------------------------------------------------------------

  private remember(bytes: string, meta: WireMeta): void {
    this.wire.set(bytes, meta);
    if (this.wire.size > 20000) {
      let k = 0;
      for (const key of this.wire.keys()) {
        this.wire.delete(key);
        if (++k >= 10000) break;
      }
    }
  }

  private udpSend(from: Machine, link: string, bytes: string): void {
    const u = this.udp.get(link)!;
    const to = this.machines[1 - from.idx]!;
    if (u.cut[from.idx]) return;
    const r = this.rng;
    if (u.loss > 0 && r.next() < u.loss) return;
    const copies = u.dup > 0 && r.next() < u.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay = u.minDelay + r.next() * (u.maxDelay - u.minDelay);
      if (u.reorder > 0 && r.next() < u.reorder) delay += r.next() * 300;
      const epoch = to.epoch;
      this.at(this.now + delay, () => {
        if (to.epoch !== epoch || !to.up) return;
        const p = to.proc;
        if (p && p.running) this.input(p, () => this.receive(to, p, link, bytes));
      });
    }
  }

  /** Bytes on a serial line: `tx` host → device, `rx` device → host. In order, at the line's rate. */
  serialSend(m: Machine, dir: "tx" | "rx", bytes: string): void {
    const d = m[dir];
    if (d.cut) return;
    if (dir === "rx" && !m.up) return;
    const r = this.rng;
    if (d.loss > 0 && r.next() < d.loss) return;
    if (d.noise > 0 && r.next() < d.noise) {
      // A burst of line noise: a few bytes lost or replaced somewhere in the frame.
      const at = r.int(0, bytes.length - 1);
      bytes = bytes.slice(0, at) + (r.chance(0.5) ? "\x00\xff~" : "") + bytes.slice(at + r.int(1, 8));
    }
    const ms = (bytes.length * 10 * 1000) / this.cfg.baud;
    const t = Math.max(this.now, d.busyUntil) + ms;
    d.busyUntil = t;
    if (dir === "tx") {
      const epoch = this.deviceEpoch;
      this.at(t, () => {
        if (this.deviceDown || this.deviceEpoch !== epoch) return;
        this.device.portData(m.idx, bytes);
      });
    } else {
      const epoch = m.epoch;
      this.at(t, () => {
        if (m.epoch !== epoch || !m.up) return;
        const p = m.proc;
        if (p && p.running) this.input(p, () => this.serialIn(m, p, bytes));
      });
    }
  }

  private serialIn(m: Machine, p: Proc, bytes: string): void {
    for (const ev of p.deframer.push(bytes)) {
      if (ev.frame === null) continue;
      const f = ev.frame;
      if (f.indexOf("\nt=ldev-") >= 0) {
        const d = f.startsWith(">>>") ? decodeClassicMessage(f, 0, 0) : null;
        if (d && d.ok && p.client) this.applyC(m, p, p.client.receive(this.local(p), d.message));
        continue;
      }
      if (this.cfg.media.some((x) => x.kind === "serial")) this.receive(m, p, "/dev/ttyS0", f);
    }
  }

  // ---- processes -------------------------------------------------------------------------

  local(p: Proc): number {
    return this.now - p.startGlobal;
  }

  /** An input for a process: now, or when it runs again if it is stopped (SIGSTOP). */
  input(p: Proc, f: () => void): void {
    if (!p.alive) return;
    if (p.hungUntil > this.now) p.deferred.push(f);
    else f();
  }

  startProc(m: Machine): void {
    const p = new Proc(++m.gen, this.now);
    m.proc = p;
    this.note(m.name, `lubdubd starts (generation ${p.gen})`);
    // cleanSlate: whatever of ours still runs from an earlier life is stopped first.
    const stale = [...this.cfg.groups].reverse().map((g) => g.key).filter((k) => m.running.has(k));
    let t = this.now;
    for (const k of stale) {
      m.ready.delete(k);
      t += this.cfg.stopMs.get(k)!;
      const epoch = m.epoch;
      this.at(t, () => {
        if (m.epoch === epoch) m.running.delete(k);
      });
    }
    if (stale.length > 0) this.note(m.name, `stale groups stopped before joining: ${stale.join(",")}`);
    this.at(t, () => {
      if (!p.alive) return;
      this.input(p, () => this.beginProc(m, p));
    });
  }

  private beginProc(m: Machine, p: Proc): void {
    const c = this.cfg;
    const rng = this.rng.fork(1000 + m.idx * 100000 + p.gen);
    p.membership = new Membership({
      node: m.name, uuid: m.name.padEnd(16, "-").slice(0, 16), nodes: [...NODES], links: c.media.map((x) => x.name),
      keepaliveMs: c.keepaliveMs, deadtimeMs: c.deadtimeMs, warntimeMs: c.warntimeMs, initdeadMs: c.initdeadMs, maxRexmitDelayMs: 250,
      generation: p.gen, keys: this.keys, ttl: 3,
    }, {
      random: () => rng.next(),
      wallSeconds: () => Math.floor((WALL_BASE_MS + this.now + p.wallOffset) / 1000),
      loadavg: () => "0.00 0.00 0.00 1/100 1",
    });
    if (c.groups.length > 0) p.failover = new Failover({ node: m.name, peer: NODES[1 - m.idx]!, groups: c.groups, mode: c.mode });
    p.policy = new FencePolicy(c.policy[m.idx]!);
    if (c.fencing) {
      p.client = new DeviceClientCore({ name: m.name, session: `${p.gen}`, key: this.deviceKey });
    }
    p.running = true;
    this.applyM(m, p, p.membership.start(this.local(p)));
  }

  /** Arms the process's one timer at the earliest wakeup of its cores (agent.ts schedule()). */
  private schedule(m: Machine, p: Proc): void {
    if (!p.alive || !p.running) return;
    const now = this.local(p);
    const pw = p.policy.nextWakeup();
    const due = Math.min(p.membership.nextWakeup(), p.failover ? p.failover.nextWakeup() : Infinity, pw ?? Infinity, now + MAX_SLEEP_MS);
    if (p.timerDue === due) return;
    p.timerDue = due;
    const token = ++p.timerToken;
    this.at(this.now + Math.ceil(Math.max(0, due - now)) + TIMER_SLACK_MS, () => {
      if (p.timerToken !== token) return;
      this.input(p, () => {
        if (p.timerToken !== token || !p.alive) return;
        p.timerDue = -1;
        const t = this.local(p);
        this.applyM(m, p, p.membership.tick(t));
        if (p.failover) this.applyF(m, p, p.failover.tick(this.local(p)));
        this.applyP(m, p, p.policy.tick(this.local(p)));
        this.schedule(m, p);
      });
    });
  }

  private receive(m: Machine, p: Proc, link: string, bytes: string): void {
    const meta = this.wire.get(bytes);
    if (meta && meta.status && meta.src !== m.idx) this.sawStatus(p, meta);
    this.applyM(m, p, p.membership.receive(this.local(p), link, bytes));
  }

  /** No-false-death bookkeeping: the first arrival of each status of the peer's newest process. */
  private sawStatus(p: Proc, meta: WireMeta): void {
    if (meta.gen < p.peerGen) return;
    if (meta.gen > p.peerGen) {
      p.peerGen = meta.gen;
      p.peerSeqs.clear();
      p.peerMaxSeq = 0;
    } else if (p.peerSeqs.has(meta.seq) || meta.seq < p.peerMaxSeq - 400) return;
    p.peerSeqs.add(meta.seq);
    if (meta.seq > p.peerMaxSeq) p.peerMaxSeq = meta.seq;
    if (p.peerSeqs.size > 1000) for (const s of p.peerSeqs) if (s < p.peerMaxSeq - 400) p.peerSeqs.delete(s);
    p.lastPeerStatus = this.local(p);
  }

  private applyM(m: Machine, p: Proc, effects: Effect[]): void {
    for (const e of effects) {
      if (!p.alive) return;
      switch (e.kind) {
        case "send": {
          const meta: WireMeta = { src: m.idx, gen: p.gen, seq: e.seq ?? -1, status: e.type === "status" };
          for (const md of this.cfg.media) {
            if (md.kind === "udp") {
              this.remember(e.datagram, meta);
              this.udpSend(m, md.name, e.datagram);
            } else {
              this.remember(e.classic, meta);
              this.serialSend(m, "tx", e.classic);
            }
          }
          break;
        }
        case "event":
          if (e.level !== "debug" && (e.event.startsWith("node.") || e.event === "comm.up")) this.note(m.name, `${e.event}: ${e.msg}`);
          if (e.event === "node.partition-return" && p.failover) this.applyF(m, p, p.failover.partitionHealed(this.local(p)));
          break;
        case "deliver":
          if (p.failover) this.applyF(m, p, p.failover.message(this.local(p), e.from, e.message.body));
          break;
        case "peer-status":
          if (e.status === "dead") {
            this.stats.deaths++;
            const t = this.local(p);
            if (p.lastPeerStatus !== null && t - p.lastPeerStatus <= this.cfg.deadtimeMs) {
              this.fail("false-death", `${m.name} declared ${e.node} dead at ${t} ms (its clock) though a status of ${e.node} reached it at ${p.lastPeerStatus} ms, within deadtime ${this.cfg.deadtimeMs} ms`);
            }
          }
          if (p.failover) this.applyF(m, p, p.failover.peerStatus(this.local(p), e.status));
          break;
        case "local-active":
          if (p.failover) {
            const alive = p.membership.snapshot().peers.some((x) => x.heard && x.status !== "dead");
            this.applyF(m, p, p.failover.localActive(this.local(p), alive));
          }
          break;
        case "link-status":
          break;
      }
    }
    this.schedule(m, p);
  }

  private applyF(m: Machine, p: Proc, effects: FailoverEffect[]): void {
    for (const e of effects) {
      if (!p.alive) return;
      switch (e.kind) {
        case "send":
          this.applyM(m, p, p.membership.send(this.local(p), e.body as Body));
          break;
        case "event":
          if (e.level !== "debug") this.note(m.name, `${e.event}: ${e.msg}`);
          if (e.event === "rsc.takeover") this.stats.takeovers++;
          break;
        case "groups":
          this.enqueueJob(m, p, { id: e.id, op: e.op, keys: e.keys });
          break;
        case "fence":
          this.fenceRequest(m, p, e.id, e.node);
          break;
        case "fence-abort":
          // As the agent does (host/src/agent/resources.ts): the core ignores the answer; stop the retries too.
          if (this.cfg.fencing && p.fenceByNode.has(e.node)) {
            p.abortedRuns.add(p.fenceByNode.get(e.node)!);
            this.applyP(m, p, p.policy.abort(this.local(p), e.node, e.reason));
          }
          break;
        case "shutdown-complete":
          p.shutdownComplete = true;
          break;
      }
    }
    this.schedule(m, p);
  }

  // ---- group actions (ResourceShell.runGroups: one job at a time) -----------------------

  private enqueueJob(m: Machine, p: Proc, job: Job): void {
    if (job.op === "start") for (const k of job.keys) this.groupOn(m, k, "starting");
    p.jobs.push(job);
    if (!p.jobBusy) this.nextJob(m, p);
  }

  private nextJob(m: Machine, p: Proc): void {
    const job = p.jobs.shift();
    if (!job || !p.alive) {
      p.jobBusy = false;
      return;
    }
    p.jobBusy = true;
    const epoch = m.epoch;
    const ordered = job.op === "start" ? job.keys : [...job.keys].reverse();
    const early = job.op === "stop" && this.o.plantBug === "no-release-before-start";
    if (early) {
      // PLANTED BUG: the stop is reported done before the groups are down.
      const id = job.id;
      this.at(this.now, () => p.alive && this.input(p, () => p.failover && this.applyF(m, p, p.failover.groupsDone(this.local(p), id, []))));
    }
    let i = 0;
    const step = () => {
      if (m.epoch !== epoch) return;
      if (i >= ordered.length) {
        if (!early) this.input(p, () => p.failover && this.applyF(m, p, p.failover.groupsDone(this.local(p), job.id, [])));
        if (p.alive) this.input(p, () => this.nextJob(m, p));
        return;
      }
      const k = ordered[i++]!;
      if (job.op === "start") {
        this.groupOn(m, k, "starting");
        this.at(this.now + this.cfg.startMs.get(k)!, () => {
          if (m.epoch !== epoch) return;
          if (m.running.has(k)) {
            m.ready.add(k);
            this.lastHeld.set(k, this.now);
          }
          step();
        });
      } else {
        m.ready.delete(k);
        this.at(this.now + this.cfg.stopMs.get(k)!, () => {
          if (m.epoch !== epoch) return;
          m.running.delete(k);
          step();
        });
      }
    };
    step();
  }

  // ---- fencing (createFenceHook over FencePolicy, device client as LubdubDevice) ---------

  private fenceRequest(m: Machine, p: Proc, id: number, node: string): void {
    this.stats.fences++;
    const answer = (r: string) => {
      this.at(this.now, () => this.input(p, () => p.failover && this.applyF(m, p, p.failover.fenceDone(this.local(p), id, r as "OK"))));
    };
    if (this.o.plantBug === "no-fence-wait") {
      // PLANTED BUG: take over at once; the fence runs in the background.
      answer("OK");
      if (!this.cfg.fencing) return;
      this.fenceHook(m, p, node, () => undefined);
      return;
    }
    if (!this.cfg.fencing) return answer("n_stnth");
    this.fenceHook(m, p, node, answer);
  }

  private fenceHook(m: Machine, p: Proc, node: string, cb: (r: string) => void): void {
    const running = p.fenceByNode.get(node);
    if (running !== undefined) {
      p.fenceWaiters.get(running)!.push(cb);
      return;
    }
    const { run, effects } = p.policy.start(this.local(p), node);
    p.fenceByNode.set(node, run);
    p.fenceWaiters.set(run, [cb]);
    this.applyP(m, p, effects);
  }

  /** The device client core's effects: frames onto the serial line, settled operations, its one timer. */
  private applyC(m: Machine, p: Proc, effects: DeviceClientEffect[]): void {
    for (const e of effects) {
      if (!p.alive) return;
      if (e.kind === "send") this.serialSend(m, "tx", e.frame);
      else if (e.kind === "settled") {
        const k = p.clientOps.get(e.op);
        p.clientOps.delete(e.op);
        k?.(e.result);
      }
    }
    const client = p.client;
    if (!client || !p.alive) return;
    const due = client.nextWakeup();
    if (due === Infinity || due >= p.clientTimerDue) return;
    p.clientTimerDue = due;
    this.at(p.startGlobal + due, () => {
      if (p.clientTimerDue === due) p.clientTimerDue = Infinity;
      // At least `due`: startGlobal + due - startGlobal may round below it.
      this.input(p, () => this.applyC(m, p, client.tick(Math.max(this.local(p), due))));
    });
  }

  private applyP(m: Machine, p: Proc, effects: PolicyEffect[]): void {
    for (const e of effects) {
      if (!p.alive) return;
      switch (e.kind) {
        case "log":
          this.note(m.name, `${e.event}: ${e.msg}`);
          break;
        case "attempt": {
          // LubdubDevice.fence: the device client core's fence-node operation.
          const client = p.client!;
          const { run, attempt } = e;
          const { id, effects } = client.submit(this.local(p), { kind: "fence-node", target: e.node, action: e.action, reason: `peer ${e.node} declared dead`, where: "lubdub device" });
          let live = true;
          p.attemptAbort = () => {
            live = false;
            this.applyC(m, p, client.abort(this.local(p), id));
          };
          p.clientOps.set(id, (r) => {
            if (r.kind !== "outcome") return;
            if (r.failure !== null && r.failure.kind !== "aborted") client.nonce = null; // LubdubDevice drops its client after a failed exchange
            if (!live) return;
            p.attemptAbort = null;
            this.applyP(m, p, p.policy.attemptDone(this.local(p), run, attempt, r.outcome));
          });
          this.applyC(m, p, effects);
          break;
        }
        case "cancel":
          p.attemptAbort?.();
          p.attemptAbort = null;
          break;
        case "alert":
          break;
        case "finish": {
          if (p.abortedRuns.delete(e.run)) {
            // Called off because the peer came back: not a give-up.
          } else if (e.result === "bad" || e.result === "badhost") {
            this.stats.fenceGiveUps++;
            this.lastGiveUp = this.now;
          }
          const ws = p.fenceWaiters.get(e.run) ?? [];
          p.fenceWaiters.delete(e.run);
          p.fenceByNode.delete(e.node);
          for (const w of ws) w(e.result);
          break;
        }
      }
    }
    this.schedule(m, p);
  }

  // ---- what faults and operators do ----------------------------------------------------

  /** kill -9 of lubdubd; the respawner starts it again later (resources keep running meanwhile). */
  killProc(m: Machine, respawn: boolean): void {
    if (!m.proc) return;
    m.proc.alive = false;
    m.proc = null;
    this.note(m.name, "lubdubd killed");
    if (respawn) this.respawnLater(m);
  }

  respawnLater(m: Machine): void {
    const epoch = m.epoch;
    this.at(this.now + this.cfg.respawnMs[m.idx]!, () => {
      if (m.epoch === epoch && m.up && !m.proc) this.startProc(m);
    });
  }

  /** SIGSTOP for ms, then SIGCONT: what arrived meanwhile is handled in a burst. */
  hang(m: Machine, ms: number): void {
    const p = m.proc;
    if (!p || !p.alive) return;
    p.hungUntil = Math.max(p.hungUntil, this.now + ms);
    this.at(p.hungUntil, () => this.resume(p));
  }

  resume(p: Proc): void {
    if (!p.alive || p.hungUntil > this.now) return;
    p.hungUntil = 0;
    const work = p.deferred;
    p.deferred = [];
    for (const f of work) {
      if (!p.alive) return;
      if (p.hungUntil > this.now) {
        p.deferred.push(f);
        continue;
      }
      f();
    }
  }

  /** SIGTERM: release, say shutdone, linger as agent.stop() does, exit; maybe start again later. */
  shutdown(m: Machine, restart: boolean): void {
    const p = m.proc;
    if (!p || !p.running || p.stopping) return;
    p.stopping = true;
    this.note(m.name, "SIGTERM");
    this.input(p, () => {
      if (p.failover) this.applyF(m, p, p.failover.shutdown(this.local(p)));
      else p.shutdownComplete = true;
    });
    const linger = Math.min(2 * this.cfg.keepaliveMs, 2000);
    const limit = this.now + 120_000;
    const wait = () => {
      if (!p.alive) return;
      if (!p.shutdownComplete && this.now < limit) return this.at(this.now + 100, wait);
      this.at(this.now + linger, () => {
        if (!p.alive || m.proc !== p) return;
        p.alive = false;
        m.proc = null;
        this.note(m.name, "lubdubd exited");
        if (restart || m.restartOnExit) this.respawnLater(m);
        m.restartOnExit = false;
      });
    };
    this.at(this.now + 100, wait);
  }

  /** A node runs standby / takeover from the command line. */
  command(m: Machine, what: "standby" | "takeover", set: "all" | "local" | "foreign"): void {
    const p = m.proc;
    if (!p || !p.running || !p.failover) return;
    this.note(m.name, `operator: ${what} ${set}`);
    this.input(p, () => p.failover && this.applyF(m, p, what === "standby" ? p.failover.standbyCommand(this.local(p), set) : p.failover.takeoverCommand(this.local(p), set)));
  }

  /** Whether the device would carry out a fence request of `m` now. */
  fencingWorks(m: Machine): boolean {
    if (!this.cfg.fencing) return true;
    if (this.deviceDown || this.deviceKeyBad || m.tx.cut || m.rx.cut || m.tx.loss > 0 || m.rx.loss > 0 || m.tx.noise > 0 || m.rx.noise > 0) return false;
    return this.device.core.ports[m.idx]!.hold <= this.now;
  }

  /** The tight bound after one clean failure: deadtime + fence + start + slack. */
  tightBound(survivor: Machine, victimHeld: boolean): number {
    const c = this.cfg;
    const frame = (500 * 10 * 1000) / c.baud;
    const transit = frame * 2 + 350;
    const pol = c.policy[survivor.idx]!;
    const fence = c.fencing ? pol.delayMs + 6 * frame + 2 * TICK_MS : 0;
    let starts = 0;
    for (const g of c.groups) starts += c.startMs.get(g.key)!;
    let stops = 0;
    for (const g of c.groups) stops += c.stopMs.get(g.key)!;
    return (victimHeld ? c.deadtimeMs : 0) + transit + fence + starts + stops + 1000;
  }

  /** Generous bound after a heal: boot, initdead, negotiation, hand-offs, a fence retry. */
  calmBound(): number {
    const c = this.cfg;
    let actions = 0;
    for (const g of c.groups) actions += c.startMs.get(g.key)! + c.stopMs.get(g.key)!;
    const pol = Math.max(c.policy[0].retryMaxMs + c.policy[0].attemptTimeoutMs + c.policy[0].delayMs, c.policy[1].retryMaxMs + c.policy[1].attemptTimeoutMs + c.policy[1].delayMs);
    return Math.max(...c.bootMs) + Math.max(...c.respawnMs) + actions + c.initdeadMs + STARTUP_DT_BONUS_MS + c.deadtimeMs + STARTING_TIMEOUT_MS + RQSTDELAY_MS +
      STANDBY_TIMEOUT_MS + 2 * actions + pol + c.offMs + 10_000;
  }
}
