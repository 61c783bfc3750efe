// What the three UDP media (ucast, bcast, mcast) share: finding an
// interface's addresses, one receiving socket per bind address and port shared
// by every medium of the process, a send socket per medium, size limits and
// send-error bursts.
//
// Receiving, and why it is shared. Heartbeat opens one receive socket per
// ha.cf line, bound to 0.0.0.0:udpport (SO_REUSEADDR, SO_REUSEPORT) and pinned
// to the line's interface with SO_BINDTODEVICE, so each socket sees exactly
// the datagrams that came in on its interface, from any sender. Node offers
// neither SO_BINDTODEVICE nor (before Node 22.12) SO_REUSEPORT, and several
// plain sockets bound to the same wildcard address would split the unicast
// traffic between them at random. So lubdub opens ONE socket per bind address
// and port for the whole process (0.0.0.0:udpport for ucast and bcast, the
// group address for mcast, as Heartbeat's mcast binds to the group) and hands
// each datagram to exactly one medium: the one that claims the sender best
// (a ucast line whose peer address is the sender, then a medium whose
// interface subnet contains the sender, then the first medium opened). Like
// Heartbeat, datagrams are accepted from any sender; authentication decides
// what they are worth. Datagrams this node sent itself (broadcast or
// multicast loop, a ucast line to its own address) are passed on too: the
// membership core recognises and drops its own messages by their `src`.
//
// Sending: each medium has its own socket on an ephemeral port (as
// Heartbeat's separate write socket), bound to the interface's IPv4 address
// when it has one, so the peer sees the source address it expects. IP_TOS
// low-delay and SO_DONTROUTE are not available from Node and are not set.

import { spawnSync } from "node:child_process";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { MAX_MESSAGE_BYTES } from "@lubdub/protocol/portable";
import { type Arrival, type Medium, type MediumStats, type OutgoingMessage, newMediumStats } from "./medium.js";

/** Heartbeat's default udpport when ha.cf and /etc/services say nothing. */
export const DEFAULT_UDP_PORT = 694;
/** Largest datagram Heartbeat accepts: its receiver reads at most MAXMSG - 1 bytes. */
export const MAX_DATAGRAM_BYTES = MAX_MESSAGE_BYTES - 1;
/** Largest payload one IPv4 UDP datagram can carry (65535 - 8 - 20). */
export const MAX_UDP_PAYLOAD_BYTES = 65507;
/** A UDP medium's close() resolves within this time, whatever the sockets do. */
export const UDP_CLOSE_TIMEOUT_MS = 1000;
/** While send errors go on without a success between them, they are reported again this often. */
export const SEND_ERROR_REPORT_INTERVAL_MS = 60_000;
/** Kernel receive buffer asked for on shared receive sockets. */
const RECEIVE_BUFFER_BYTES = 1 << 20;

/** Options every UDP medium takes besides its ha.cf arguments. */
export interface UdpMediumOptions {
  /** ha.cf udpport (ucast, bcast; mcast names its port on its own line). */
  udpport?: number;
  /** Datagrams longer than this are dropped and counted, in and out (default MAX_DATAGRAM_BYTES). */
  maxDatagramBytes?: number;
}

export interface InterfaceAddress {
  address: string;
  netmask: string;
  /** The IPv4 broadcast address (given by the kernel, or computed from the netmask). */
  broadcast: string;
}

export interface InterfaceInfo {
  name: string;
  /** IPv4 addresses, possibly none. */
  ipv4: InterfaceAddress[];
}

export function ipv4ToInt(a: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return null;
    n = n * 256 + b;
  }
  return n;
}

export function intToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function isIpv4(a: string): boolean {
  return ipv4ToInt(a) !== null;
}

function prefixToMask(prefix: number): string {
  return intToIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export function broadcastOf(address: string, netmask: string): string {
  const a = ipv4ToInt(address) ?? 0;
  const m = ipv4ToInt(netmask) ?? 0xffffffff;
  return intToIpv4(((a & m) | (~m >>> 0)) >>> 0);
}

/** Is `addr` inside the subnet of `iface`? */
export function inSubnet(addr: string, iface: InterfaceAddress): boolean {
  const a = ipv4ToInt(addr);
  const b = ipv4ToInt(iface.address);
  const m = ipv4ToInt(iface.netmask);
  if (a === null || b === null || m === null) return false;
  return ((a & m) >>> 0) === ((b & m) >>> 0);
}

interface IpAddrJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; broadcast?: string }[];
}

/**
 * An interface's IPv4 addresses. Node lists only interfaces that are up and
 * running, so for one that is down (or has no carrier) iproute2 is asked.
 * Returns null when the interface does not exist.
 */
export function resolveInterface(name: string): InterfaceInfo | null {
  const listed = networkInterfaces()[name];
  if (listed && listed.length > 0) {
    const ipv4 = listed
      .filter((a) => a.family === "IPv4")
      .map((a) => ({ address: a.address, netmask: a.netmask, broadcast: broadcastOf(a.address, a.netmask) }));
    // Node does not report the kernel's broadcast address; prefer iproute2's when it differs.
    const fromIp = ipAddrShow(name);
    if (fromIp) {
      for (const a of ipv4) {
        const k = fromIp.ipv4.find((x) => x.address === a.address);
        if (k) a.broadcast = k.broadcast;
      }
    }
    return { name, ipv4 };
  }
  return ipAddrShow(name);
}

function ipAddrShow(name: string): InterfaceInfo | null {
  let out;
  try {
    out = spawnSync("ip", ["-j", "-4", "addr", "show", "dev", name], { encoding: "utf8", timeout: 2000 });
  } catch {
    return null;
  }
  if (out.status !== 0 || !out.stdout) return null;
  let parsed: IpAddrJson[];
  try {
    parsed = JSON.parse(out.stdout) as IpAddrJson[];
  } catch {
    return null;
  }
  const entry = parsed.find((e) => e.ifname === name) ?? parsed[0];
  if (!entry) {
    // `ip -4` prints nothing for an interface without IPv4 addresses; check that it exists.
    const exists = spawnSync("ip", ["link", "show", "dev", name], { encoding: "utf8", timeout: 2000 });
    return exists.status === 0 ? { name, ipv4: [] } : null;
  }
  const ipv4: InterfaceAddress[] = [];
  for (const a of entry.addr_info ?? []) {
    if (a.family !== "inet" || !a.local || a.prefixlen === undefined) continue;
    const netmask = prefixToMask(a.prefixlen);
    ipv4.push({ address: a.local, netmask, broadcast: a.broadcast ?? broadcastOf(a.local, netmask) });
  }
  return { name, ipv4 };
}

/** A medium's claim on a datagram from `address`: higher wins, 0 never. */
export type Claim = (address: string) => number;

export const CLAIM_PEER = 3;
export const CLAIM_SUBNET = 2;
export const CLAIM_ANY = 1;

interface Listener {
  claim: Claim;
  deliver: (bytes: string, from: RemoteInfo) => void;
  error: (e: Error) => void;
}

/** One shared receive socket: bound once, handed out by reference. */
export class SharedReceiver {
  private readonly listeners: Listener[] = [];
  private refs = 0;

  private constructor(readonly key: string, readonly socket: Socket) {}

  private static readonly open = new Map<string, Promise<SharedReceiver>>();

  /** The receiver bound to address:port, opened on first use. */
  static async acquire(address: string, port: number): Promise<SharedReceiver> {
    const key = `${address}:${port}`;
    let p = SharedReceiver.open.get(key);
    if (!p) {
      p = SharedReceiver.bind(key, address, port);
      SharedReceiver.open.set(key, p);
      p.catch(() => SharedReceiver.open.delete(key));
    }
    const r = await p;
    r.refs++;
    return r;
  }

  private static bind(key: string, address: string, port: number): Promise<SharedReceiver> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: "udp4", reuseAddr: true });
      const r = new SharedReceiver(key, socket);
      const failed = (e: Error) => {
        socket.close();
        reject(new Error(`cannot bind UDP ${key}: ${e.message}`));
      };
      socket.once("error", failed);
      socket.bind({ address, port, exclusive: false }, () => {
        socket.off("error", failed);
        try {
          socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
        } catch {
          // the kernel's limit stands
        }
        socket.on("error", (e) => r.error(e));
        socket.on("message", (msg, rinfo) => r.dispatch(msg, rinfo));
        resolve(r);
      });
    });
  }

  add(l: Listener): void {
    this.listeners.push(l);
  }

  private dispatch(msg: Buffer, rinfo: RemoteInfo): void {
    let best: Listener | null = null;
    let bestClaim = 0;
    for (const l of this.listeners) {
      const c = l.claim(rinfo.address);
      if (c > bestClaim) {
        best = l;
        bestClaim = c;
      }
    }
    best?.deliver(msg.toString("latin1"), rinfo);
  }

  private error(e: Error): void {
    for (const l of this.listeners) l.error(new Error(`receive socket ${this.key}: ${e.message}`));
  }

  /** Drops one reference (and the listener); the socket closes with the last. */
  release(l: Listener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
    this.refs--;
    if (this.refs <= 0) {
      SharedReceiver.open.delete(this.key);
      try {
        this.socket.close();
      } catch {
        // already closed
      }
    }
  }
}

/** Where a UDP medium sends and how its sockets are set up. */
export interface UdpPlan {
  /** Receive socket bind address ("0.0.0.0" or a multicast group). */
  bindAddress: string;
  port: number;
  /** Destination address of every datagram. */
  destination: string;
  /** Source address for the send socket (the interface's), or null for any. */
  sourceAddress: string | null;
  claim: Claim;
  /** Extra set-up of the send socket once bound (broadcast, multicast options). */
  setupSend?: (s: Socket) => void;
  /** Extra set-up of the shared receive socket (multicast membership); undone by teardownReceive. */
  setupReceive?: (s: Socket) => void;
  teardownReceive?: (s: Socket) => void;
}

/**
 * The common body of ucast, bcast and mcast: subclasses work out a UdpPlan
 * from their ha.cf arguments when opened.
 */
export abstract class UdpMedium implements Medium {
  abstract readonly kind: string;
  readonly stats: MediumStats = newMediumStats();
  protected readonly maxDatagramBytes: number;
  private sendSocket: Socket | null = null;
  private receiver: SharedReceiver | null = null;
  private listener: Listener | null = null;
  private plan: UdpPlan | null = null;
  private onError: (e: Error) => void = () => {};
  /** Send errors since the last success, and when the burst was last reported. */
  private burstErrors = 0;
  private burstReportedAt = 0;
  private closed = false;

  constructor(readonly linkName: string, options: UdpMediumOptions = {}) {
    this.maxDatagramBytes = Math.min(options.maxDatagramBytes ?? MAX_DATAGRAM_BYTES, MAX_DATAGRAM_BYTES);
  }

  /** Works out addresses from the interface; throws an Error saying what is wrong. */
  protected abstract makePlan(): UdpPlan;

  protected describe(): string {
    return `${this.kind} ${this.linkName}`;
  }

  async open(onArrival: (a: Arrival) => void, onError: (e: Error) => void): Promise<void> {
    if (this.sendSocket) throw new Error(`${this.describe()}: already open`);
    this.closed = false;
    this.onError = onError;
    let plan: UdpPlan;
    try {
      plan = this.makePlan();
    } catch (e) {
      throw new Error(`${this.describe()}: ${(e as Error).message}`);
    }
    this.plan = plan;
    const send = await this.openSendSocket(plan);
    let receiver: SharedReceiver;
    try {
      receiver = await SharedReceiver.acquire(plan.bindAddress, plan.port);
    } catch (e) {
      send.close();
      throw new Error(`${this.describe()}: ${(e as Error).message}`);
    }
    const listener: Listener = {
      claim: plan.claim,
      deliver: (bytes, from) => this.arrive(onArrival, bytes, from),
      error: (e) => this.onError(new Error(`${this.describe()}: ${e.message}`)),
    };
    try {
      plan.setupReceive?.(receiver.socket);
    } catch (e) {
      receiver.release(listener);
      send.close();
      throw new Error(`${this.describe()}: ${(e as Error).message}`);
    }
    receiver.add(listener);
    this.sendSocket = send;
    this.receiver = receiver;
    this.listener = listener;
  }

  private openSendSocket(plan: UdpPlan): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: "udp4" });
      const failed = (e: Error) => {
        s.close();
        reject(new Error(`${this.describe()}: cannot open send socket: ${e.message}`));
      };
      s.once("error", failed);
      const ready = () => {
        s.off("error", failed);
        // Errors without a callback to take them (there should be none) are reported, never thrown.
        s.on("error", (e) => this.sendFailed(e));
        try {
          plan.setupSend?.(s);
        } catch (e) {
          s.close();
          reject(new Error(`${this.describe()}: ${(e as Error).message}`));
          return;
        }
        resolve(s);
      };
      if (plan.sourceAddress) s.bind({ address: plan.sourceAddress, port: 0 }, ready);
      else s.bind(0, ready);
    });
  }

  private arrive(onArrival: (a: Arrival) => void, bytes: string, from: RemoteInfo): void {
    if (bytes.length > this.maxDatagramBytes) {
      this.stats.droppedBytes += bytes.length;
      this.stats.droppedFrames++;
      return;
    }
    this.stats.received++;
    onArrival({ bytes, from: `${from.address}:${from.port}` });
  }

  send(msg: OutgoingMessage): void {
    const s = this.sendSocket;
    const plan = this.plan;
    if (!s || !plan || this.closed) {
      this.stats.sendErrors++;
      return;
    }
    const bytes = msg.datagram;
    const limit = Math.min(this.maxDatagramBytes, MAX_UDP_PAYLOAD_BYTES);
    if (bytes.length > limit) {
      this.sendFailed(new Error(`datagram of ${bytes.length} bytes is over the ${limit}-byte limit; dropped`));
      return;
    }
    try {
      s.send(Buffer.from(bytes, "latin1"), plan.port, plan.destination, (err) => {
        if (err) this.sendFailed(err);
        else this.sendOk();
      });
    } catch (e) {
      this.sendFailed(e as Error);
    }
  }

  private sendOk(): void {
    this.stats.sent++;
    this.burstErrors = 0;
  }

  private sendFailed(e: Error): void {
    this.stats.sendErrors++;
    this.burstErrors++;
    const now = Date.now();
    if (this.burstErrors === 1 || now - this.burstReportedAt >= SEND_ERROR_REPORT_INTERVAL_MS) {
      this.burstReportedAt = now;
      const count = this.burstErrors === 1 ? "" : ` (${this.burstErrors} failures since the last success)`;
      const to = this.plan ? ` to ${this.plan.destination}:${this.plan.port}` : "";
      this.onError(new Error(`${this.describe()}: send${to} failed: ${e.message}${count}`));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.sendSocket;
    const r = this.receiver;
    const l = this.listener;
    const plan = this.plan;
    this.sendSocket = null;
    this.receiver = null;
    this.listener = null;
    const done: Promise<void>[] = [];
    if (r && l) {
      try {
        plan?.teardownReceive?.(r.socket);
      } catch {
        // membership already gone with the interface
      }
      r.release(l);
    }
    if (s) {
      done.push(
        new Promise<void>((resolve) => {
          try {
            s.close(() => resolve());
          } catch {
            resolve();
          }
        }),
      );
    }
    await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, UDP_CLOSE_TIMEOUT_MS).unref())]);
  }
}

/** The interface named on an ha.cf line, or an Error saying it is missing or has no IPv4 address. */
export function interfaceWithAddress(name: string): { info: InterfaceInfo; addr: InterfaceAddress } {
  const info = resolveInterface(name);
  if (!info) throw new Error(`no interface ${name}`);
  const addr = info.ipv4[0];
  if (!addr) throw new Error(`interface ${name} has no IPv4 address`);
  return { info, addr };
}

/** Parses a port number as ha.cf writes it. */
export function parsePort(s: string, what: string): number {
  if (!/^\d{1,5}$/.test(s)) throw new Error(`${what} '${s}' is not a port number`);
  const n = Number(s);
  if (n < 1 || n > 65535) throw new Error(`${what} ${n} is out of range 1-65535`);
  return n;
}
