// A whole lubdub cluster on one machine, without root: two real lubdubd
// processes (alpha and bravo), a lubdub device (the Node simulator, or the Lua
// gateway build when lua5.1 with luaposix and bitop is installed) with both
// hosts' serial lines on its ports (socat pty pairs) and both hosts' "power"
// on its outlets 1 and 2, a UDP switch between the nodes on loopback
// addresses, and an HTTP service on a local port as the resource that moves.
//
// Power is real as far as the demo goes: when the device switches outlet 1
// off, the demo kills alpha's agent and service at once (a power loss); when
// it switches it on again, alpha "boots" (its agent starts). So a BayTech
// reboot typed at the device's console, and (once the agent arms it) the
// device's host watchdog, really take a node down and bring it back.
//
// As root (and when `ip netns` works), the network is real instead (see
// netns.ts): each node in a network namespace of its own on a bridge, a client
// in a third, and the resource a floating IP (IPaddr2) with an HTTP service
// started by an LSB init script, probed from the client. `--no-netns` keeps
// the loopback path.
//
// Everything started here is ended by PID in close(), and on exit.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { consoleCommand } from "./console-client.js";
import { DemoNet, haveNft, IFACE, netnsMissing, VIP, VIP_CIDR } from "./netns.js";
import { UdpSwitch } from "./switch.js";

/** The repository root (tools/dist/demo/cluster.js is three levels down). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const LUBDUBD_BIN = join(REPO_ROOT, "host/bin/lubdubd.js");
const LUBDUBD_DIST = join(REPO_ROOT, "host/dist/daemon/lubdubd.js");
const DEVICE_SIM_BIN = join(REPO_ROOT, "device/bin/lubdub-device-sim.js");
const DEVICE_LUA = join(REPO_ROOT, "device/dist/gateway.lua");
const HTTP_SERVICE = join(dirname(fileURLToPath(import.meta.url)), "http-service.js");
const HTTP_PROBE = join(dirname(fileURLToPath(import.meta.url)), "http-probe.js");
/** The nodes' udpport on the root path (each has a namespace of its own): Heartbeat's default. */
const NETNS_UDPPORT = 694;
const NETNS_HTTP_PORT = 80;
/** The LSB init script's name (/etc/init.d/httpd inside each node's namespace). */
const INIT_SCRIPT = "httpd";

export const NODE_NAMES = ["alpha", "bravo"] as const;
export type NodeName = (typeof NODE_NAMES)[number];

/** Timing of the demo cluster (ha.cf): quick, so that a failover is seen in seconds. */
export const KEEPALIVE = "250ms";
export const DEADTIME_S = 2;
export const WARNTIME_S = 1;
export const INITDEAD_S = 3;
/** How long an outlet stays off in a reboot or a watchdog cycle (device setting outlet.off_ms). */
export const OUTLET_OFF_MS = 1000;
/** How long a node takes to "boot" once its outlet is on again. */
export const BOOT_MS = 500;
export const CONSOLE_USER = "admin";
export const CONSOLE_PASSWORD = "demo";
export const GROUP_KEY = "demohttp";

export type DeviceChoice = "auto" | "sim" | "lua" | "none";

export interface DemoOptions {
  /** First of four ports: HTTP service, alpha's udpport, bravo's udpport, device console (TCP). */
  basePort?: number;
  device?: DeviceChoice;
  /** Fence through the device (auto: when this lubdubd drives stonith). */
  fencing?: "auto" | "on" | "off";
  /** Keep the working directory after close(). */
  keep?: boolean;
  /** auto: namespaces and a real floating IP when root and `ip netns` works; netns: insist; loopback: never. */
  network?: "auto" | "netns" | "loopback";
  dir?: string;
}

export interface DemoEvent {
  at: number;
  source: string;
  text: string;
  level: "info" | "warn" | "error";
}

export type AgentState = "running" | "stopped" | "hung" | "off" | "exited";

export interface NodeView {
  name: NodeName;
  power: boolean;
  agent: AgentState;
  pid: number | null;
  /** The agent's own status (control socket), null when it does not answer. */
  status: AgentStatusLike | null;
  udpport: number;
  tty: string | null;
  runDir: string;
}

/** The parts of lubdubd's status (host/src/control/status.ts) the demo reads. */
export interface AgentStatusLike {
  membership: {
    node: string;
    status: string;
    generation: number;
    peers: { name: string; status: string; links: { name: string; status: string }[] }[];
  };
  media: { kind: string; link: string; sent: number; received: number; note?: string }[];
  resources?: { phase: string; groups: { key: string; owner: string; holder: string | null; transition: string | null }[] };
  device?: unknown;
  [k: string]: unknown;
}

export interface DeviceView {
  impl: "sim" | "lua";
  running: boolean;
  outlets: { n: number; name: string; on: boolean; cycling: boolean }[];
  ports: { port: string; host: string; relayed: number; dropped: number; wd: string }[];
  consolePort: number;
}

export interface Snapshot {
  at: number;
  nodes: NodeView[];
  device: DeviceView | null;
  udp: { up: boolean; forwarded: number; dropped: number };
  serial: { available: boolean; cut: boolean };
  /** Who answers on the service port ("alpha", "bravo"), null for nobody. */
  servedBy: string | null;
  fencing: boolean;
  httpPort: number;
  network: NetworkView;
}

export interface NetworkView {
  mode: "netns" | "loopback";
  /** Why this mode (e.g. "root", "--no-netns", "not root"). */
  why: string;
  /** The service's URL as the client asks it. */
  url: string;
  /** Root path only: the floating IP, the nodes that have it on their interface, the client's view. */
  vip?: string;
  vipOn?: string[];
  /** When vipOn was read off the interfaces (ms since the epoch). */
  vipAskedAt?: number;
  /** The MAC the client's last answer came from (its ARP entry for the VIP). */
  servedMac?: string | null;
  hosts?: { name: string; ns: string; address: string; mac: string; link: boolean; linkSince: number }[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function haveCommand(cmd: string, args: string[] = ["-V"]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 5000 });
  return r.error === undefined && r.status !== null;
}

/** lua5.1 with the modules the gateway build needs. */
export function haveLuaGateway(): boolean {
  if (!existsSync(DEVICE_LUA)) return false;
  const r = spawnSync("lua5.1", ["-e", 'require "posix"; require "bit"'], { stdio: "ignore", timeout: 5000 });
  return r.error === undefined && r.status === 0;
}

/** Does this lubdubd drive ha.cf stonith lines, or refuse to start with them? */
export function agentDrivesFencing(): boolean {
  try {
    return !readFileSync(LUBDUBD_DIST, "utf8").includes("does not drive it yet");
  } catch {
    return false;
  }
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => resolve(false));
    s.bind({ port, address: "0.0.0.0", exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A base port whose four ports are free: `wanted` itself, or (when not insisted on) a later one. */
export async function pickBasePort(wanted: number, insist: boolean): Promise<number> {
  for (let i = 0; i < 40; i++) {
    const b = wanted + i * 10;
    if ((await tcpFree(b)) && (await udpFree(b + 1)) && (await udpFree(b + 2)) && (await tcpFree(b + 3))) return b;
    if (insist) throw new Error(`ports ${b}..${b + 3} are not all free (HTTP, two UDP heartbeat ports, device console)`);
  }
  throw new Error(`no four free ports from ${wanted} on`);
}

/** GET the service; the node name it answers with, or null. */
export function probeService(port: number, timeoutMs = 400): Promise<string | null> {
  return new Promise((resolve) => {
    const req = httpGet({ host: "127.0.0.1", port, path: "/", timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(/served by (\S+)/.exec(body)?.[1] ?? null));
      res.on("error", () => resolve(null));
    });
    req.on("timeout", () => {
      req.destroy();
      resolve(null);
    });
    req.on("error", () => resolve(null));
  });
}

/** One request on an agent's control socket (one JSON line each way). */
function control(runDir: string, req: object, timeoutMs: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(join(runDir, "lubdubd.sock"));
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error("no answer"));
    }, timeoutMs);
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    sock.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        sock.end();
        try {
          resolve(JSON.parse(buf.slice(0, nl)));
        } catch (e) {
          reject(e as Error);
        }
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Line-splitting of a child's output. */
function lines(stream: NodeJS.ReadableStream | null, each: (line: string) => void): void {
  let buf = "";
  stream?.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (l.trim()) each(l);
    }
  });
}

/** Agent log events not worth a line in the demo's event log. */
const QUIET_EVENTS = new Set([
  "config.warning", "rsc.garp-failed", "medium.open", "node.starting", "config.haresources-match", "fence.configured",
  "device.reachable", "rsc.negotiation-start", "fence.attempt", "fence.result",
]);

/** A socat null-modem cable between two pty links. */
class Cable {
  child: ChildProcess | null = null;
  constructor(readonly a: string, readonly b: string) {}

  async plug(): Promise<void> {
    rmSync(this.a, { force: true });
    rmSync(this.b, { force: true });
    const child = spawn("socat", [`pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], { stdio: "ignore" });
    this.child = child;
    const until = Date.now() + 5000;
    while (!(existsSync(this.a) && existsSync(this.b))) {
      if (child.exitCode !== null || Date.now() > until) throw new Error(`socat did not make ${this.a} and ${this.b}`);
      await sleep(15);
    }
  }

  pull(): void {
    const c = this.child;
    this.child = null;
    if (c?.pid !== undefined && c.exitCode === null) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }

  get plugged(): boolean {
    return this.child !== null;
  }
}

class DemoNode {
  child: ChildProcess | null = null;
  agent: AgentState = "stopped";
  power = true;
  status: AgentStatusLike | null = null;
  readonly dir: string;

  constructor(
    readonly name: NodeName,
    readonly index: number,
    base: string,
    readonly udpport: number,
    readonly tty: string | null,
    private readonly log: (source: string, text: string, level?: DemoEvent["level"]) => void,
    private readonly net: DemoNet | null = null,
  ) {
    this.dir = join(base, name);
  }

  /** Root path: whether this node's cable (its interface) is plugged in. */
  link = true;
  /** When the cable last changed (ms since the epoch). */
  linkSince = 0;

  /** Root path: pulls or plugs this node's cable. */
  setLink(up: boolean): void {
    if (!this.net || this.link === up) return;
    this.net.setLink(this.name, up);
    this.link = up;
    this.linkSince = Date.now();
  }

  get configDir(): string {
    return join(this.dir, "etc");
  }
  get runDir(): string {
    return join(this.dir, "run");
  }
  get stateDir(): string {
    return join(this.dir, "state");
  }
  get pidFile(): string {
    return join(this.dir, "http.pid");
  }

  start(): void {
    if (this.child) return;
    const argv = [process.execPath, LUBDUBD_BIN, "--config-dir", this.configDir, "--state-dir", this.stateDir, "--run-dir", this.runDir, "--node-name", this.name];
    const full = this.net ? this.net.exec(this.name, argv) : argv;
    const child = spawn(full[0]!, full.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.agent = "running";
    // Root path: a node that comes back starts with its cable out; it is
    // plugged in once the agent has stopped what its previous life left (the
    // floating IP still on its interface, the service), as the failover tests do.
    let plugTimer: NodeJS.Timeout | null = null;
    const plug = () => {
      if (plugTimer) clearTimeout(plugTimer);
      plugTimer = null;
      if (this.child === child && !this.link) {
        this.setLink(true);
        this.log("demo", `${this.name}'s cable plugged back in`);
      }
    };
    if (this.net && !this.link) plugTimer = setTimeout(plug, 10_000);
    lines(child.stdout, (l) => {
      let r: { event?: string; msg?: string; level?: number };
      try {
        r = JSON.parse(l);
      } catch {
        this.log(this.name, l);
        return;
      }
      if (r.event === "node.started" && plugTimer) plug();
      if (!r.event || QUIET_EVENTS.has(r.event)) return;
      if (r.event === "node.status" && !/status (active|dead)/.test(r.msg ?? "")) return;
      const level = (r.level ?? 30) >= 50 ? "error" : (r.level ?? 30) >= 40 ? "warn" : "info";
      if ((r.level ?? 30) < 30) return;
      this.log(this.name, `${r.event}: ${r.msg ?? ""}`, level);
    });
    // The demo's short initdead is on purpose (see the ha.cf comment): its warning is left out.
    lines(child.stderr, (l) => !/initdead .* may be too small/.test(l) && this.log(this.name, l, "warn"));
    child.once("exit", (code, signal) => {
      if (plugTimer) clearTimeout(plugTimer);
      if (this.child === child) {
        this.child = null;
        this.status = null;
        if (this.agent === "running" || this.agent === "hung") {
          this.agent = "exited";
          this.log(this.name, `lubdubd exited (${signal ?? code})`, signal === "SIGKILL" ? "warn" : code === 0 ? "info" : "error");
        }
      }
    });
  }

  /** SIGKILL the agent and its service: what a power loss or a kernel panic does. */
  async crash(state: AgentState): Promise<void> {
    const c = this.child;
    this.agent = state;
    // Root path: the node's cable goes dead with it (as in the failover tests).
    this.setLink(false);
    if (c?.pid !== undefined && c.exitCode === null) {
      const gone = new Promise<void>((r) => c.once("exit", () => r()));
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        // gone
      }
      await gone;
    }
    this.killService();
    this.status = null;
  }

  killService(): void {
    try {
      const pid = Number(readFileSync(this.pidFile, "utf8").trim());
      if (pid > 0) process.kill(pid, "SIGKILL");
    } catch {
      // no service running here
    }
    rmSync(this.pidFile, { force: true });
  }

  hang(): void {
    if (this.child?.pid !== undefined && this.agent === "running") {
      process.kill(this.child.pid, "SIGSTOP");
      this.agent = "hung";
    }
  }

  resume(): void {
    if (this.child?.pid !== undefined && this.agent === "hung") {
      process.kill(this.child.pid, "SIGCONT");
      this.agent = "running";
    }
  }

  /** SIGTERM (SIGKILL after graceMs); the service goes with it. */
  async stop(graceMs: number): Promise<void> {
    const c = this.child;
    if (c?.pid !== undefined && c.exitCode === null) {
      const gone = new Promise<void>((r) => c.once("exit", () => r()));
      this.agent = "stopped";
      try {
        process.kill(c.pid, "SIGCONT");
        process.kill(c.pid, "SIGTERM");
      } catch {
        // gone
      }
      const t = setTimeout(() => {
        try {
          process.kill(c.pid!, "SIGKILL");
        } catch {
          // gone
        }
      }, graceMs);
      await gone;
      clearTimeout(t);
    }
    this.killService();
  }

  killNow(): void {
    if (this.child?.pid !== undefined) {
      try {
        process.kill(this.child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    this.killService();
  }

  async poll(): Promise<void> {
    if (!this.child || this.agent !== "running") {
      this.status = null;
      return;
    }
    try {
      const r = await control(this.runDir, { cmd: "status" }, 400);
      this.status = r?.ok ? (r.status as AgentStatusLike) : null;
    } catch {
      this.status = null;
    }
  }

  view(): NodeView {
    return { name: this.name, power: this.power, agent: this.agent, pid: this.child?.pid ?? null, status: this.status, udpport: this.udpport, tty: this.tty, runDir: this.runDir };
  }
}

export class DemoCluster {
  readonly events: DemoEvent[] = [];
  readonly listeners: ((e: DemoEvent) => void)[] = [];
  readonly dir: string;
  nodes: DemoNode[] = [];
  httpPort = 0;
  fencing = false;
  deviceImpl: "sim" | "lua" | null = null;
  serialAvailable = false;
  serialCut = false;
  servedBy: string | null = null;
  notes: string[] = [];
  private device: ChildProcess | null = null;
  private deviceRunning = false;
  private deviceStatus: any = null;
  private consolePort = 0;
  private cables: Cable[] = [];
  private udp: UdpSwitch | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;
  private lastOutlets: boolean[] = [];
  private staggered: Promise<void> = Promise.resolve();
  private readonly secret = randomBytes(16).toString("hex");
  private readonly exitHook = () => this.killNow();
  /** Root path: the namespaces, the client's probe and what it saw. */
  net: DemoNet | null = null;
  private networkWhy = "";
  private probe: ChildProcess | null = null;
  private lastProbeAt = 0;
  private servedMac: string | null = null;
  private vipOn: string[] = [];
  /** When the interfaces were asked for vipOn (a cable plugged in since may have met an address already gone). */
  private vipAskedAt = 0;
  private udpCutHere = false;
  private nftDropped = 0;
  private nftOk = false;

  constructor(private readonly o: DemoOptions = {}) {
    this.dir = o.dir ?? mkdtempSync(join(tmpdir(), "lubdub-demo-"));
    mkdirSync(this.dir, { recursive: true });
  }

  log(source: string, text: string, level: DemoEvent["level"] = "info"): void {
    const e = { at: Date.now(), source, text: text.split(this.dir + "/").join(""), level };
    this.events.push(e);
    if (this.events.length > 500) this.events.splice(0, this.events.length - 500);
    for (const l of this.listeners) l(e);
  }

  node(name: string): DemoNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** The node that serves the resource (answers on the port), else the one whose agent says it holds it. */
  primary(): DemoNode | null {
    if (this.servedBy) return this.node(this.servedBy);
    for (const n of this.nodes) {
      const g = n.status?.resources?.groups.find((x) => x.key === GROUP_KEY);
      if (g?.holder === n.name) return n;
    }
    return null;
  }

  /** Sets everything up and starts it; resolves once processes are started (not yet a cluster). */
  async start(): Promise<void> {
    process.on("exit", this.exitHook);
    const want = this.o.network ?? "auto";
    if (want === "loopback") {
      this.networkWhy = "--no-netns";
    } else {
      const why = netnsMissing();
      if (why && want === "netns") throw new Error(`--netns: ${why}`);
      this.networkWhy = why ?? "root";
      if (!why) this.net = DemoNet.create([...NODE_NAMES, "client"]);
    }
    const base = await pickBasePort(this.o.basePort ?? 7940, this.o.basePort !== undefined);
    this.httpPort = this.net ? NETNS_HTTP_PORT : base;
    this.consolePort = base + 3;
    const choice = this.o.device ?? "auto";
    this.serialAvailable = choice !== "none" && haveCommand("socat");
    if (choice !== "none" && !this.serialAvailable) {
      this.notes.push("socat is not installed, so there is no serial link and no device: UDP only. Install it with: sudo apt-get install socat");
    }
    if (this.serialAvailable) {
      if (choice === "lua" || (choice === "auto" && haveLuaGateway())) this.deviceImpl = "lua";
      else this.deviceImpl = "sim";
      if (choice === "lua" && !haveLuaGateway()) throw new Error("--device lua: needs lua5.1 with luaposix and bitop (sudo apt-get install lua5.1 lua-posix lua-bitop) and device/dist/gateway.lua");
    }
    const wantFencing = this.o.fencing ?? "auto";
    this.fencing = this.deviceImpl !== null && (wantFencing === "on" || (wantFencing === "auto" && agentDrivesFencing()));
    if (this.deviceImpl && !this.fencing && wantFencing === "auto") {
      this.notes.push("this lubdubd does not drive fencing yet: the device relays the serial heartbeat and switches power from its console, but nobody fences");
    }

    // Cables: host end <-> device port, one socat each.
    const ttys: (string | null)[] = [null, null];
    if (this.deviceImpl) {
      for (let i = 0; i < 2; i++) {
        const c = new Cable(join(this.dir, `${NODE_NAMES[i]}-ttyS0`), join(this.dir, `device-port-${i === 0 ? "a" : "b"}`));
        await c.plug();
        this.cables.push(c);
        ttys[i] = c.a;
      }
    }
    const net = this.net;
    if (net) {
      this.nftOk = haveNft();
      if (!this.nftOk) this.notes.push("nft is not installed, so the u key cannot cut UDP: sudo apt-get install nftables");
      if (!haveCommand("arping", ["-V"])) this.notes.push("arping is not installed: the floating IP moves without a gratuitous ARP, so the client finds it late. sudo apt-get install iputils-arping");
      for (let i = 0; i < 2; i++) {
        const n = new DemoNode(NODE_NAMES[i]!, i, this.dir, NETNS_UDPPORT, ttys[i]!, (s, t, l) => this.log(s, t, l), net);
        this.writeConfig(n, net.host(NODE_NAMES[1 - i]!).address);
        this.nodes.push(n);
      }
    } else {
      // The switch first, so the agents' wildcard sockets come second.
      this.udp = new UdpSwitch([
        { listen: "127.0.0.2", port: base + 1 },
        { listen: "127.0.0.3", port: base + 2 },
      ]);
      await this.udp.open();
      for (let i = 0; i < 2; i++) {
        const n = new DemoNode(NODE_NAMES[i]!, i, this.dir, base + 1 + i, ttys[i]!, (s, t, l) => this.log(s, t, l));
        this.writeConfig(n, i === 0 ? "127.0.0.2" : "127.0.0.3");
        this.nodes.push(n);
      }
    }
    if (this.deviceImpl) await this.startDevice();
    // alpha first, bravo once alpha holds its group (or after initdead): two
    // nodes that start in the same instant each wait Heartbeat's RQSTDELAY
    // (10 s) for the other to be stable before taking their groups.
    this.nodes[0]!.start();
    this.staggered = (async () => {
      const until = Date.now() + (INITDEAD_S + 2) * 1000;
      while (!this.closed && Date.now() < until && this.servedBy === null) await sleep(100);
      if (!this.closed && !this.nodes[1]!.child && this.nodes[1]!.power) this.nodes[1]!.start();
    })();
    const dev = this.deviceImpl ? `, device (${this.deviceImpl}) console 127.0.0.1:${this.consolePort}` : "";
    if (net) {
      const [a, b, c] = [net.host("alpha"), net.host("bravo"), net.host("client")];
      this.log("demo", `started in network namespaces on a bridge: alpha ${a.address} (${a.mac}), bravo ${b.address} (${b.mac}), client ${c.address}; floating IP ${VIP}/${VIP_CIDR}, service http://${VIP}/` + dev);
      this.startProbe(net);
      this.notes.push(`ask the service yourself: ip netns exec ${c.ns} curl -s http://${VIP}/`);
    } else {
      this.log("demo", `started: alpha udp :${base + 1}, bravo udp :${base + 2}, service http://127.0.0.1:${base}/` + dev);
    }
    this.pollTimer = setInterval(() => void this.poll(), 300);
    this.notes.push(`ask an agent yourself: npx lubdub status --run-dir ${this.nodes[0]!.runDir}`);
  }

  /** Root path: the client asks http://VIP/ every 250 ms from its namespace. */
  private startProbe(net: DemoNet): void {
    const argv = net.exec("client", [process.execPath, HTTP_PROBE, VIP, String(NETNS_HTTP_PORT), "250", String(process.pid)]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.probe = child;
    lines(child.stdout, (l) => {
      let r: { t: number; node: string | null; mac: string | null };
      try {
        r = JSON.parse(l);
      } catch {
        return;
      }
      this.lastProbeAt = Date.now();
      this.setServed(r.node, r.node ? r.mac : null);
    });
    lines(child.stderr, (l) => this.log("client", l, "warn"));
    child.once("exit", (code, signal) => {
      if (this.probe === child) this.probe = null;
      if (!this.closed) this.log("client", `the client's probe exited (${signal ?? code})`, "error");
    });
  }

  private setServed(node: string | null, mac: string | null): void {
    if (node === this.servedBy && mac === this.servedMac) return;
    this.servedBy = node;
    this.servedMac = mac;
    if (this.closed) return;
    const who = mac ? this.net?.hosts.find((h) => h.mac === mac)?.name : undefined;
    this.log("client", node ? `http://${VIP}/ served by ${node}, answered from MAC ${mac ?? "?"}${who ? ` (${who}'s)` : ""}` : `http://${VIP}/ does not answer`, node ? "info" : "warn");
  }

  private writeConfig(n: DemoNode, sendTo: string): void {
    mkdirSync(join(n.configDir, "resource.d"), { recursive: true });
    mkdirSync(n.stateDir, { recursive: true });
    mkdirSync(n.runDir, { recursive: true });
    const hacf = [
      `# lubdub demo: node ${n.name}. Heartbeat 3.0.6 reads this file as it is.`,
      `keepalive ${KEEPALIVE}`,
      `warntime ${WARNTIME_S}`,
      `deadtime ${DEADTIME_S}`,
      `# short, so the demo is up in seconds; lubdub check warns that a real cluster wants 10 s or more`,
      `initdead ${INITDEAD_S}`,
      `udpport ${n.udpport}`,
      ...(this.net
        ? [`# to the peer across the bridge (each node is in a network namespace of its own)`, `ucast ${IFACE} ${sendTo}`]
        : [`# to the peer through the demo's UDP switch (see tools/demo/switch.ts)`, `ucast lo ${sendTo}`]),
      ...(n.tty ? ["baud 19200", `# the serial line to the device's port ${n.index === 0 ? "A" : "B"}, which relays it to the peer`, `serial ${n.tty}`] : []),
      ...(this.fencing && n.tty ? [`# fence the peer through the device on this node's serial line (outlets named after the nodes)`, `stonith_host * lubdub ${n.tty}`] : []),
      "auto_failback on",
      "node alpha bravo",
      "",
    ].join("\n");
    writeFileSync(join(n.configDir, "ha.cf"), hacf);
    writeFileSync(join(n.configDir, "authkeys"), `auth 1\n1 sha1 ${this.secret}\n`, { mode: 0o600 });
    chmodSync(join(n.configDir, "authkeys"), 0o600);
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    if (this.net) {
      // The floating IP (IPaddr2 built-in), then the service, by its init script.
      writeFileSync(join(n.configDir, "haresources"), `alpha ${VIP}/${VIP_CIDR}/${IFACE} ${INIT_SCRIPT}\n`);
      this.net.installInitScript(n.name, INIT_SCRIPT, `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ${INIT_SCRIPT}
# Short-Description: lubdub demo HTTP service on the floating IP ${VIP}, node ${n.name}
### END INIT INFO
PIDFILE=${q(n.pidFile)}
alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$1" in
start)
  alive && exit 0
  rm -f "$PIDFILE"
  ${q(process.execPath)} ${q(HTTP_SERVICE)} ${NETNS_HTTP_PORT} ${n.name} "$PIDFILE" ${process.pid} ${VIP} </dev/null >>${q(join(n.dir, "http.log"))} 2>&1 &
  child=$!
  i=0
  while [ $i -lt 50 ]; do
    [ -f "$PIDFILE" ] && exit 0
    kill -0 $child 2>/dev/null || exit 1
    sleep 0.1; i=$((i+1))
  done
  exit 1;;
stop)
  if alive; then
    pid=$(cat "$PIDFILE"); kill "$pid"
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  fi
  rm -f "$PIDFILE"; exit 0;;
status)
  if alive; then echo "${INIT_SCRIPT} is running"; exit 0; fi
  echo "${INIT_SCRIPT} is stopped"; exit 3;;
restart|force-reload) "$0" stop && exec "$0" start;;
*) echo "usage: $0 start|stop|status|restart" >&2; exit 2;;
esac
`);
      return;
    }
    writeFileSync(join(n.configDir, "haresources"), `alpha ${GROUP_KEY}::${this.httpPort}\n`);
    const script = `#!/bin/sh
# ${GROUP_KEY} PORT start|stop|status: the demo's service, one HTTP server on 127.0.0.1:PORT.
PORT=$1
PIDFILE=${q(n.pidFile)}
alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$2" in
start)
  alive && exit 0
  rm -f "$PIDFILE"
  ${q(process.execPath)} ${q(HTTP_SERVICE)} "$PORT" ${n.name} "$PIDFILE" ${process.pid} </dev/null >>${q(join(n.dir, "http.log"))} 2>&1 &
  child=$!
  i=0
  while [ $i -lt 50 ]; do
    [ -f "$PIDFILE" ] && exit 0
    if ! kill -0 $child 2>/dev/null; then echo "${GROUP_KEY}: port $PORT is taken: another node still serves it" >&2; exit 1; fi
    sleep 0.1; i=$((i+1))
  done
  exit 1;;
stop)
  if alive; then
    pid=$(cat "$PIDFILE"); kill "$pid"
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  fi
  rm -f "$PIDFILE"; exit 0;;
status)
  if alive; then echo running; else echo stopped; fi; exit 0;;
*) echo "usage: $0 PORT start|stop|status" >&2; exit 2;;
esac
`;
    writeFileSync(join(n.configDir, "resource.d", GROUP_KEY), script, { mode: 0o755 });
  }

  /**
   * The device's settings. Shorter than a real installation's so the demo moves
   * in seconds: outlets stay off 1 s in a reboot, a watchdog-cycled host is
   * watched again after 10 s, and a host fenced at its peer's request may
   * fence that peer after 3 s (fence.hold_ms; 10 min by default). With alpha
   * started first, alpha fences bravo at the end of initdead (bravo was not
   * heard yet), so without the short hold bravo could not fence alpha for
   * the rest of the tour.
   */
  private async startDevice(): Promise<void> {
    const settings: Record<string, string> = {
      "a.host": "alpha", "b.host": "bravo", "outlet.1": "alpha", "outlet.2": "bravo", "outlet.3": "switch", "outlet.4": "spare",
      "key.index": "1", "key.method": "sha1", "key.secret": this.secret,
      "console.user": CONSOLE_USER, "console.password": CONSOLE_PASSWORD,
      "outlet.off_ms": String(OUTLET_OFF_MS), "wd.grace_ms": "10000", "fence.hold_ms": "3000",
    };
    const cfg = Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join("");
    const esc = cfg.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
    const state = join(this.dir, "device.state");
    writeFileSync(state, `lubdub.cfg=${esc}\n`, { mode: 0o600 });
    const statusFile = join(this.dir, "device.status.json");
    rmSync(statusFile, { force: true });
    const args = ["--port-a", this.cables[0]!.b, "--port-b", this.cables[1]!.b, "--console-tcp", `127.0.0.1:${this.consolePort}`, "--state", state, "--status-file", statusFile, "--outlets", "4", "--hw-watchdog", "log"];
    const argv = this.deviceImpl === "lua" ? ["lua5.1", DEVICE_LUA, ...args] : [process.execPath, DEVICE_SIM_BIN, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.device = child;
    this.deviceRunning = true;
    lines(child.stdout, (l) => {
      try {
        const r = JSON.parse(l) as { event?: string; msg?: string; level?: number; outlet?: number };
        if ((r.event === "outlet-off" || r.event === "outlet-on") && typeof r.outlet === "number") this.setPower(r.outlet - 1, r.event === "outlet-on");
        if (!r.event || r.event === "status" || r.event === "port-open" || (r.level ?? 30) < 30) return;
        this.log("device", `${r.event}: ${r.msg ?? ""}`, (r.level ?? 30) >= 50 ? "error" : (r.level ?? 30) >= 40 ? "warn" : "info");
      } catch {
        // not a record
      }
    });
    lines(child.stderr, (l) => this.log("device", l, "warn"));
    child.once("exit", (code, signal) => {
      this.deviceRunning = false;
      if (!this.closed) this.log("device", `device exited (${signal ?? code})`, "error");
    });
    const until = Date.now() + 10000;
    while (!existsSync(statusFile)) {
      if (!this.deviceRunning) throw new Error(`the device (${this.deviceImpl}) did not start: $ ${argv.join(" ")}`);
      if (Date.now() > until) throw new Error(`the device (${this.deviceImpl}) was not ready in 10 s`);
      await sleep(20);
    }
    this.readDeviceStatus(statusFile);
    this.lastOutlets = this.outletStates();
  }

  private readDeviceStatus(file = join(this.dir, "device.status.json")): void {
    try {
      this.deviceStatus = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      // being rewritten; keep the last
    }
  }

  private outletStates(): boolean[] {
    const list: { on: boolean }[] = this.deviceStatus?.hal?.outlets ?? this.deviceStatus?.device?.outlets ?? [];
    return list.map((o) => o.on);
  }

  /**
   * Outlet n (1-based) of the device feeds node n. Called on the device's
   * outlet-off/outlet-on log lines as they arrive (a fence's "off" must take
   * the node down before its peer, told the fence is done, starts the
   * service), and from the status file as a fallback.
   */
  private setPower(i: number, on: boolean): void {
    const n = this.nodes[i];
    if (!n || n.power === on || this.closed) return;
    if (!on) {
      n.power = false;
      n.killNow();
      this.log("demo", `outlet ${i + 1} off: ${n.name} loses power`, "warn");
      void n.crash("off");
    } else {
      n.power = true;
      this.log("demo", `outlet ${i + 1} on: ${n.name} boots`);
      setTimeout(() => {
        if (n.power && !this.closed && !n.child) n.start();
      }, BOOT_MS);
    }
  }

  private powerFollowsOutlets(): void {
    const now = this.outletStates();
    for (let i = 0; i < this.nodes.length; i++) {
      const is = now[i];
      if (is !== undefined && is !== this.lastOutlets[i]) this.setPower(i, is);
    }
    this.lastOutlets = now;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      if (this.deviceImpl) {
        this.readDeviceStatus();
        this.powerFollowsOutlets();
      }
      await Promise.all(this.nodes.map((n) => n.poll()));
      if (this.net) {
        const net = this.net;
        const asked = Date.now();
        const on = await Promise.all(this.nodes.map((n) => net.holdsVip(n.name)));
        this.vipOn = this.nodes.filter((_, i) => on[i]).map((n) => n.name);
        this.vipAskedAt = asked;
        if (this.udpCutHere) this.nftDropped = await net.udpDropped();
        // A client whose probe went quiet has no answer.
        if (Date.now() - this.lastProbeAt > 2000) this.setServed(null, null);
        return;
      }
      const was = this.servedBy;
      this.servedBy = await probeService(this.httpPort);
      if (was !== this.servedBy) this.log("demo", this.servedBy ? `service http://127.0.0.1:${this.httpPort}/ served by ${this.servedBy}` : `service http://127.0.0.1:${this.httpPort}/ down`, this.servedBy ? "info" : "warn");
    } finally {
      this.polling = false;
    }
  }

  snapshot(): Snapshot {
    const ds = this.deviceStatus;
    let device: DeviceView | null = null;
    if (this.deviceImpl) {
      const names: Record<number, string> = { 1: "alpha", 2: "bravo", 3: "switch", 4: "spare" };
      const outs: any[] = ds?.device?.outlets ?? ds?.hal?.outlets ?? [];
      const hal: any[] = ds?.hal?.outlets ?? [];
      device = {
        impl: this.deviceImpl,
        running: this.deviceRunning,
        outlets: outs.map((o: any, i: number) => ({ n: o.n ?? i + 1, name: o.name || names[o.n ?? i + 1] || "", on: hal[i]?.on ?? o.on, cycling: !!o.cycling })),
        ports: (ds?.device?.ports ?? []).map((p: any) => ({ port: p.port, host: p.host, relayed: p.relayed ?? 0, dropped: p.dropped ?? 0, wd: String(p.wd ?? "") })),
        consolePort: this.consolePort,
      };
    }
    return {
      at: Date.now(),
      nodes: this.nodes.map((n) => n.view()),
      device,
      udp: this.net
        ? { up: !this.udpCutHere, forwarded: 0, dropped: this.nftDropped }
        : { up: this.udp?.up ?? false, forwarded: (this.udp?.forwarded[0] ?? 0) + (this.udp?.forwarded[1] ?? 0), dropped: (this.udp?.dropped[0] ?? 0) + (this.udp?.dropped[1] ?? 0) },
      serial: { available: this.deviceImpl !== null, cut: this.serialCut },
      servedBy: this.servedBy,
      fencing: this.fencing,
      httpPort: this.httpPort,
      network: this.networkView(),
    };
  }

  private networkView(): NetworkView {
    const net = this.net;
    if (!net) return { mode: "loopback", why: this.networkWhy, url: `http://127.0.0.1:${this.httpPort}/` };
    return {
      mode: "netns",
      why: this.networkWhy,
      url: `http://${VIP}/`,
      vip: `${VIP}/${VIP_CIDR}`,
      vipOn: this.vipOn,
      vipAskedAt: this.vipAskedAt,
      servedMac: this.servedMac,
      hosts: net.hosts.map((h) => {
        const n = this.nodes.find((x) => x.name === h.name);
        return { ...h, link: n?.link ?? true, linkSince: n?.linkSince ?? 0 };
      }),
    };
  }

  // ---- what the keys do ----

  /** Crash the node that serves the resource (agent and service killed at once). */
  async killPrimary(): Promise<string> {
    const p = this.primary();
    if (!p) return "nobody holds the service";
    this.log("demo", `killing ${p.name} (SIGKILL to lubdubd and its service)`, "warn");
    await p.crash("stopped");
    return `killed ${p.name}`;
  }

  /** Whether UDP can be cut here (the root path needs nft). */
  get udpCuttable(): boolean {
    return this.net ? this.nftOk : this.udp !== null;
  }

  get udpCut(): boolean {
    return this.net ? this.udpCutHere : this.udp !== null && !this.udp.up;
  }

  cutUdp(cut: boolean): string {
    if (this.net) {
      if (!this.nftOk) return "cutting UDP needs nft (nftables)";
      if (cut === this.udpCutHere) return cut ? "UDP cut" : "UDP restored";
      this.net.cutUdp("alpha", NETNS_UDPPORT, cut);
      this.udpCutHere = cut;
      if (!cut) this.nftDropped = 0;
      this.log("demo", cut ? `UDP link cut (nftables in alpha's namespace drops udp port ${NETNS_UDPPORT} both ways)` : "UDP link restored (nftables table deleted)", cut ? "warn" : "info");
      return cut ? "UDP cut" : "UDP restored";
    }
    if (!this.udp) return "no UDP switch";
    this.udp.up = !cut;
    this.log("demo", cut ? "UDP link cut (the switch drops every datagram)" : "UDP link restored", cut ? "warn" : "info");
    return cut ? "UDP cut" : "UDP restored";
  }

  /** Pulls (or plugs back) alpha's serial cable to the device. */
  async cutSerial(cut: boolean): Promise<string> {
    const c = this.cables[0];
    if (!c) return "no serial link (no socat)";
    if (cut && c.plugged) {
      c.pull();
      this.serialCut = true;
      this.log("demo", "serial cable alpha <-> device pulled", "warn");
    } else if (!cut && !c.plugged) {
      await c.plug();
      this.serialCut = false;
      this.log("demo", "serial cable alpha <-> device plugged back");
    }
    return cut ? "serial cut" : "serial restored";
  }

  /** SIGSTOP the agent of `name` (default: the primary). */
  hang(name?: string): string {
    const n = name ? this.node(name) : this.primary();
    if (!n || n.agent !== "running") return "no running agent to hang";
    n.hang();
    this.log("demo", `${n.name}'s lubdubd hung (SIGSTOP); its service keeps running`, "warn");
    return `hung ${n.name}`;
  }

  /** Reboot a node through the device's console (BayTech REBOOT n). */
  async powerCycle(name?: string): Promise<string> {
    if (!this.deviceImpl) return "no device";
    const n = name ? this.node(name) : this.primary() ?? this.nodes[0]!;
    this.log("demo", `console: REBOOT ${n.index + 1} (${n.name})`);
    try {
      await consoleCommand({ host: "127.0.0.1", port: this.consolePort, user: CONSOLE_USER, password: CONSOLE_PASSWORD }, `REBOOT ${n.index + 1}`, /ower applied to outlet|already off/, OUTLET_OFF_MS + 10000);
      return `power-cycled ${n.name}`;
    } catch (e) {
      this.log("demo", `console: ${(e as Error).message}`, "error");
      return "console failed";
    }
  }

  /** `lubdub standby` on the primary: hand the service over by hand. */
  async standby(): Promise<string> {
    const p = this.primary();
    if (!p || p.agent !== "running") return "no running primary";
    try {
      const r = await control(p.runDir, { cmd: "standby", set: "all" }, 2000);
      this.log("demo", `lubdub standby on ${p.name}: ${r?.ok ? "accepted" : r?.error ?? "refused"}`);
      return "standby";
    } catch (e) {
      return `standby: ${(e as Error).message}`;
    }
  }

  /** Bring everything back: links, hung agents, power, stopped agents. */
  async restore(): Promise<string> {
    if (this.udpCut) this.cutUdp(false);
    if (this.serialCut) await this.cutSerial(false);
    for (const n of this.nodes) {
      if (n.agent === "hung") {
        n.resume();
        this.log("demo", `${n.name}'s lubdubd resumed (SIGCONT)`);
      }
    }
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      if (!n.power && this.deviceImpl) {
        await consoleCommand({ host: "127.0.0.1", port: this.consolePort, user: CONSOLE_USER, password: CONSOLE_PASSWORD }, `on ${i + 1}`, /RPC-3>[\s\S]*(RPC-3>|already)/, 5000).catch(() => "");
      } else if (!n.child) {
        this.log("demo", `starting ${n.name}'s lubdubd`);
        n.power = true;
        n.start();
      }
    }
    return "restored";
  }

  dirKept(): boolean {
    return !!this.o.keep;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.staggered;
    await Promise.all(this.nodes.map((n) => n.stop(1500)));
    const d = this.device;
    if (d?.pid !== undefined && this.deviceRunning) {
      const gone = new Promise<void>((r) => d.once("exit", () => r()));
      process.kill(d.pid, "SIGTERM");
      const t = setTimeout(() => d.pid !== undefined && process.kill(d.pid, "SIGKILL"), 1500);
      await gone;
      clearTimeout(t);
    }
    for (const c of this.cables) c.pull();
    this.udp?.close();
    this.stopProbe();
    this.net?.cleanup();
    process.off("exit", this.exitHook);
    if (!this.o.keep) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort (process exit): SIGKILL by PID. */
  killNow(): void {
    for (const n of this.nodes) n.killNow();
    if (this.device?.pid !== undefined && this.deviceRunning) {
      try {
        process.kill(this.device.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    for (const c of this.cables) c.pull();
    this.stopProbe();
    this.net?.cleanup();
    if (!this.o.keep) rmSync(this.dir, { recursive: true, force: true });
  }

  private stopProbe(): void {
    const p = this.probe;
    this.probe = null;
    if (p?.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}
