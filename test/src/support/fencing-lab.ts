// The stage for fencing tests: the failover lab (two servers and a client on
// one bridge, a floating IP and an HTTP service, the client's probes and its
// two-MAC watcher) plus a lubdub device (the simulator) between the servers'
// serial ports, each server's power on one of its outlets.
//
// Cables: each server's serial port is one end of a socat pty pair whose
// other end this test holds (a CableTap); the tap copies bytes to and from
// the device's host port. The tap can cut the heartbeat path through the
// device: it then drops the heartbeats the device relays from the other
// server (device -> server), while every byte from the server still reaches
// the device (so the device's watchdog is fed and fence requests and their
// answers pass) — as a device whose relay has failed while it still answers.
// unplug() closes the server's end of the cable (the pty goes away).
//
// Power: how a power cut is modelled. The test watches the device's log
// (its outlet on/off records). Outlet N off: the server behind it loses its
// network at once (lub0 set down in its namespace), its lubdubd is killed
// with SIGKILL (also when stopped with SIGSTOP) and its HTTP service with it.
// Outlet on: the server "boots": the floating addresses a previous life left
// on lub0 are removed, lub0 comes up and lubdubd is started again. Nothing
// else about the server changes (its disk: config and state dirs, survive).

import { execFile } from "node:child_process";
import { closeSync, constants, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { controlSocketPath, requestControl } from "../../../host/dist/control/socket.js";
import { AgentProc, LUBDUB, writeHaDir } from "./agent-proc.js";
import { DeviceProc } from "./device-proc.js";
import { FailoverLab } from "./failover-lab.js";
import { PtyPair } from "./pty.js";

export const NODES = ["alpha", "bravo"] as const;
export const FENCE_SECRET = "fencing-lab-key";

/** One server's serial cable through the test: server tty <-> tap <-> the device's host port (pumped in a worker thread). */
export class CableTap {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(12));
  private stopped: Promise<void> | null = null;
  private fds: number[] = [];

  private constructor(
    private readonly pair: PtyPair,
    private readonly worker: Worker,
  ) {}

  /** Drop the heartbeats the device relays to this server. */
  get cut(): boolean {
    return Atomics.load(this.ctl, 0) === 1;
  }
  set cut(v: boolean) {
    Atomics.store(this.ctl, 0, v ? 1 : 0);
  }
  /** Relayed frames dropped while cut. */
  get dropped(): number {
    return Atomics.load(this.ctl, 1);
  }

  /** The tty the server opens. */
  get tty(): string {
    return this.pair.a;
  }

  static async open(dir: string, name: string, deviceHostPort: string): Promise<CableTap> {
    const pair = await PtyPair.open({ dir, names: [`${name}-tty`, `${name}-tap`] });
    const flags = constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK;
    const hostFd = openSync(pair.b, flags);
    const devFd = openSync(deviceHostPort, flags);
    const tap = new CableTap(pair, null as unknown as Worker);
    tap.fds = [hostFd, devFd];
    const worker = new Worker(new URL("./cable-tap-worker.js", import.meta.url), { workerData: { hostFd, devFd, ctl: tap.ctl } });
    (tap as unknown as { worker: Worker }).worker = worker;
    worker.unref();
    return tap;
  }

  private stopPump(): Promise<void> {
    if (!this.stopped) {
      Atomics.store(this.ctl, 2, 1);
      this.stopped = new Promise<void>((resolve) => {
        const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 1000);
        this.worker.once("message", () => {
          clearTimeout(t);
          void this.worker.terminate().then(() => resolve());
        });
      }).then(() => {
        for (const fd of this.fds.splice(0)) {
          try {
            closeSync(fd);
          } catch {
            // closed
          }
        }
      });
    }
    return this.stopped;
  }

  /** Pulls the cable out of the server: its tty goes away. */
  async unplug(): Promise<void> {
    await this.stopPump();
    await this.pair.close(false);
  }

  async close(): Promise<void> {
    await this.stopPump();
    await this.pair.close(false);
  }
}

export interface FencingLabOptions {
  /** ha.cf lines beyond the common ones. */
  hacf?: string[];
  haresources: string;
  lubdubCf: string;
  /** Device settings beyond the common ones. */
  settings?: Record<string, string>;
  keepalive?: string;
  deadtime?: string;
  autoFailback?: "on" | "off";
  /** More ha.cf lines for one node. */
  hacfFor?: (node: string) => string[];
}

export interface PowerEvent {
  host: number;
  on: boolean;
  /** When this process read the device's record. */
  at: number;
  /** The time in the device's record: when the outlet switched. */
  deviceAt: number;
  /** When the model had carried it out (off: link down, lubdubd and the service killed; on: the boot begun). */
  doneAt: number;
  msg: string;
}

export class FencingLab {
  readonly f: FailoverLab;
  readonly agents: AgentProc[] = [];
  taps: CableTap[] = [];
  dev!: DeviceProc;
  readonly power: PowerEvent[] = [];
  /** Whether each server (index 0: alpha) has power. */
  readonly powered = [true, true];
  private watcher: NodeJS.Timeout | null = null;
  private seen = 0;
  private udpCut = false;
  private readonly killed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];

  constructor(
    readonly base: string,
    private readonly o: FencingLabOptions,
  ) {
    this.f = new FailoverLab(base);
    this.agents.push(new AgentProc("alpha", join(base, "alpha"), this.f.lab, 1), new AgentProc("bravo", join(base, "bravo"), this.f.lab, 2));
  }

  async start(): Promise<void> {
    this.dev = await DeviceProc.start({
      dir: join(this.base, "device"),
      baud: 115200,
      settings: {
        "a.host": "alpha", "b.host": "bravo", "key.index": "1", "key.method": "sha1", "key.secret": FENCE_SECRET,
        "outlet.1": "alpha", "outlet.2": "bravo", "outlet.off_ms": "500", "wd.grace_ms": "5000", "fence.hold_ms": "20000",
        ...(this.o.settings ?? {}),
      },
      outlets: 2,
      console: false,
    });
    this.taps = [await CableTap.open(this.base, "alpha", this.dev.hostA), await CableTap.open(this.base, "bravo", this.dev.hostB)];
    for (const i of [0, 1]) this.configure(i);
    this.watcher = setInterval(() => this.watchPower(), 2);
    this.f.startClient();
    for (const a of this.agents) a.start();
  }

  private configure(i: number): void {
    const agent = this.agents[i]!;
    const peer = this.f.lab.host(2 - i).address;
    writeHaDir(agent.configDir, {
      hacf: [
        `keepalive ${this.o.keepalive ?? "100ms"}`, `deadtime ${this.o.deadtime ?? "1"}`, "warntime 500ms", "initdead 3", "baud 115200",
        `serial ${this.taps[i]!.tty}`, `ucast lub0 ${peer}`, "node alpha bravo", `auto_failback ${this.o.autoFailback ?? "off"}`,
        `stonith_host * lubdub ${this.taps[i]!.tty}`, ...(this.o.hacf ?? []), ...(this.o.hacfFor?.(NODES[i]!) ?? []),
      ].join("\n"),
      authkeys: `auth 1\n1 sha1 ${FENCE_SECRET}\n`,
      haresources: this.o.haresources,
    });
    writeFileText(join(agent.configDir, "lubdub.cf"), this.o.lubdubCf);
    agent.privateResourceState = true;
  }

  /** The power model: reacts to the device's outlet records as they are printed. */
  private watchPower(): void {
    const recs = this.dev.records;
    for (; this.seen < recs.length; this.seen++) {
      const r = recs[this.seen]!;
      if (r.event !== "outlet" || typeof r.msg !== "string") continue;
      const m = /^outlet (\d+) (on|off) by/.exec(r.msg);
      if (!m) continue;
      const host = Number(m[1]);
      const on = m[2] === "on";
      const ev: PowerEvent = { host, on, at: Date.now(), deviceAt: Date.parse(String(r.time)), doneAt: 0, msg: r.msg };
      this.power.push(ev);
      if (host >= 1 && host <= 2) {
        if (on) this.powerOn(host);
        else this.powerOff(host);
      }
      ev.doneAt = Date.now();
    }
  }

  private powerOff(host: number): void {
    if (!this.powered[host - 1]) return;
    this.powered[host - 1] = false;
    const ns = this.f.lab.host(host);
    try {
      this.f.lab.execSync(host, ["ip", "link", "set", ns.iface, "down"]);
    } catch {
      // the namespace is going away
    }
    const agent = this.agents[host - 1]!;
    this.killed[host - 1] = agent.kill9();
    const node = NODES[host - 1];
    try {
      const pid = Number(readFileSync(join(this.base, `httpd-${node}.pid`), "utf8").trim());
      if (pid > 0) process.kill(pid, "SIGKILL");
    } catch {
      // not running
    }
  }

  private powerOn(host: number): void {
    if (this.powered[host - 1]) return;
    this.powered[host - 1] = true;
    const ns = this.f.lab.host(host);
    for (const vip of ["192.0.2.100", "192.0.2.101"]) {
      try {
        this.f.lab.execSync(host, ["ip", "addr", "del", `${vip}/24`, "dev", ns.iface]);
      } catch {
        // not there
      }
    }
    this.f.lab.execSync(host, ["ip", "link", "set", ns.iface, "up"]);
    const agent = this.agents[host - 1]!;
    void this.killed[host - 1]!.then(() => agent.start());
  }

  /** Cuts (or restores) the UDP heartbeats between the servers (nft in both namespaces; the client still reaches both). */
  cutUdp(cut: boolean): void {
    if (cut === this.udpCut) return;
    this.udpCut = cut;
    for (const h of [1, 2]) {
      if (cut) {
        this.f.lab.execSync(h, ["nft", "add", "table", "inet", "lubdub_cut"]);
        this.f.lab.execSync(h, ["nft", "add", "chain", "inet", "lubdub_cut", "in", "{ type filter hook input priority 0 ; }"]);
        this.f.lab.execSync(h, ["nft", "add", "rule", "inet", "lubdub_cut", "in", "udp", "dport", "694", "drop"]);
        this.f.lab.execSync(h, ["nft", "add", "chain", "inet", "lubdub_cut", "out", "{ type filter hook output priority 0 ; }"]);
        this.f.lab.execSync(h, ["nft", "add", "rule", "inet", "lubdub_cut", "out", "udp", "dport", "694", "drop"]);
      } else {
        this.f.lab.execSync(h, ["nft", "delete", "table", "inet", "lubdub_cut"]);
      }
    }
  }

  /** Cuts (or restores) the heartbeat path through the device. */
  cutSerial(cut: boolean): void {
    for (const t of this.taps) t.cut = cut;
  }

  /**
   * `lubdub ARGS` for one agent without blocking this process: the client's
   * ARP watcher timestamps replies as they are read, and a synchronous CLI
   * call (a Node start, some 100 ms) would hold them back and hand them over
   * together, an old holder's last reply and a new one's first in the same
   * instant, as if both had answered one round.
   */
  cli(i: number, args: string[]): Promise<{ code: number; out: string }> {
    const [cmd, ...rest] = args;
    return new Promise((resolve) => {
      execFile(process.execPath, [LUBDUB, cmd!, "--run-dir", this.agents[i]!.runDir, ...rest], { encoding: "utf8", timeout: 10000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, out: stdout + stderr });
      });
    });
  }

  /** lubdub standby (all groups to the peer), through the control socket. */
  async standby(i: number): Promise<void> {
    const r = await requestControl(controlSocketPath(this.agents[i]!.runDir), { cmd: "standby", set: "all" }, 5000);
    if (!r.ok) throw new Error(`${this.agents[i]!.node}: standby: ${r.error}`);
  }

  /** What `lubdub status --json` shows for one agent, asked on its control socket from here (no process to start, nothing blocks). */
  async status(i: number): Promise<any> {
    const r = await requestControl(controlSocketPath(this.agents[i]!.runDir), { cmd: "status" }, 5000);
    if (!r.ok) throw new Error(`${this.agents[i]!.node}: status: ${r.error}`);
    return r.status;
  }

  /**
   * Waits until both agents run, see each other active and are stable with
   * the groups held as `want` says (group key prefix -> node).
   */
  async settled(want: Record<string, string>, timeoutMs = 20000, o: { unsureOf?: number } = {}): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      let ok = true;
      for (const [i, a] of this.agents.entries()) {
        try {
          const st = await this.status(i);
          const r = st.resources;
          const peerActive = st.membership.peers.every((p: { status: string }) => p.status === "active");
          // unsureOf: that agent may not know who holds a group (null), but must not think it is anyone else.
          const held = Object.entries(want).every(([k, n]) => r.groups.some((g: { key: string; holder: string | null; transition: unknown }) => g.key.startsWith(k) && (g.holder === n || (i === o.unsureOf && g.holder === null)) && !g.transition));
          if (!(peerActive && r.phase === "stable" && held)) {
            ok = false;
            last = `${a.node}: peers ${st.membership.peers.map((p: { status: string }) => p.status).join(",")}, phase ${r.phase}, groups ${JSON.stringify(r.groups.map((g: { key: string; holder: string | null }) => [g.key.slice(0, 14), g.holder]))}`;
          }
        } catch (e) {
          ok = false;
          last = `${a.node}: ${(e as Error).message.slice(0, 200)}`;
        }
      }
      if (ok) {
        // Settled includes advertising plain deadtime (failures are timed against it).
        await Promise.all(this.agents.map((a) => a.pastStartup()));
        return;
      }
      if (Date.now() > until) throw new Error(`not settled as ${JSON.stringify(want)} in ${timeoutMs} ms (${last})\n${this.describe()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The device log records from `from` on with this event. */
  deviceEvents(event: string, from = 0): string[] {
    return this.dev.records.slice(from).filter((r) => r.event === event).map((r) => String(r.msg));
  }

  /** Last log lines of both agents and the device, for a failure. */
  describe(n = 25): string {
    const fmt = (a: AgentProc) => a.records.slice(-n).map((r) => `${String(r.time).slice(11, 23)} ${r.event}: ${r.msg}`).join("\n");
    const service = NODES.map((node) => {
      let log = "";
      try {
        log = readFileSync(join(this.base, `httpd-${node}.log`), "utf8").trim().split("\n").slice(-3).join(" | ");
      } catch {
        log = "(no log)";
      }
      return `--- ${node}'s service: ${log}`;
    }).join("\n");
    const probes = this.f.probes.slice(-8).map((p) => `${new Date(p.t).toISOString().slice(11, 23)} ${p.ok ? p.node : "-"}`).join(", ");
    return `--- alpha:\n${fmt(this.agents[0]!)}\n--- bravo:\n${fmt(this.agents[1]!)}\n--- device:\n${this.dev?.describe(n) ?? ""}\n--- power: ${JSON.stringify(this.power.slice(-6))}\n${service}\n--- probes: ${probes}`;
  }

  async cleanup(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    for (const a of this.agents) await a.kill9();
    for (const t of this.taps) await t.close().catch(() => undefined);
    await this.dev?.stop().catch(() => undefined);
    this.f.cleanup();
  }
}

function writeFileText(path: string, text: string): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
