// Which MACs answer for an address, seen from the client: a broadcast ARP
// who-has every WATCH_PERIOD_MS, and two different MACs answering the same
// round is two servers holding the address at once.
//
// iputils arping (20221126, Debian 12) takes whole seconds for -i only
// (`-i 0.01` is refused: "invalid argument"), so one arping cannot ask every
// 10 ms. WATCHERS arpings at `-i 1` are started WATCH_PERIOD_MS apart
// instead, and only ask. The answers are read by tcpdump in the client's
// namespace, with the kernel's capture time of each frame (-tt): the replies
// to one round arrive within a millisecond of each other and rounds are
// WATCH_PERIOD_MS apart, whenever this process gets round to reading them
// (stamping lines when read made a stalled test see one handover as dozens
// of doubles). Only replies addressed to the client count: a gratuitous ARP
// reply, broadcast by the node taking the address, answers nobody. If an
// arping or tcpdump exits, that is recorded (exits), so a watcher that does
// not run cannot pass for a quiet one.

import type { ChildProcess } from "node:child_process";
import type { NetnsLab } from "./netns.js";

export const WATCHERS = 10;
export const WATCH_PERIOD_MS = 1000 / WATCHERS;
/** Replies to one broadcast round arrive within this much of each other. */
const SAME_ROUND_MS = 8;

export class ArpWatch {
  private readonly procs: ChildProcess[] = [];
  private timers: NodeJS.Timeout[] = [];
  /** Every moment two MACs answered one round. */
  readonly doubles: Array<{ at: number; macs: [string, string] }> = [];
  readonly macsSeen = new Set<string>();
  /** Replies seen (all rounds). */
  replies = 0;
  /** Watchers that exited while the watch was on, with their last output. */
  readonly exits: string[] = [];
  private stopped = false;
  /** Called for each double answer and each reply's MAC, as they happen. */
  onDouble: ((d: { at: number; macs: [string, string] }) => void) | null = null;
  onMac: ((mac: string) => void) | null = null;

  constructor(private readonly lab: NetnsLab, private readonly host: number, private readonly address: string, private readonly iface = "lub0") {}

  start(): void {
    const client = this.lab.mac(this.host);
    const sniff = this.lab.exec(this.host, ["tcpdump", "-l", "-n", "-e", "-tt", "-i", this.iface, "arp", "and", "ether", "dst", client]);
    this.procs.push(sniff);
    this.watchExit(sniff, "tcpdump");
    let last: { mac: string; at: number } | null = null;
    let buf = "";
    sniff.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // 1764093464.865123 fe:43:…:39 > 4a:…:01, ethertype ARP (0x0806), length 42: Reply 192.0.2.100 is-at fe:43:…:39, length 28
        const m = /^(\d+)\.(\d{6}) \S+ > \S+, .*: Reply (\S+) is-at ([0-9A-Fa-f:]+)/.exec(line);
        if (!m || m[3] !== this.address) continue;
        const mac = m[4]!.toLowerCase();
        const at = Number(m[1]) * 1000 + Number(m[2]) / 1000;
        this.replies++;
        this.macsSeen.add(mac);
        this.onMac?.(mac);
        if (last && last.mac !== mac && Math.abs(at - last.at) <= SAME_ROUND_MS) {
          const d = { at: Math.round(at), macs: [last.mac, mac] as [string, string] };
          this.doubles.push(d);
          this.onDouble?.(d);
        }
        last = { mac, at };
      }
    });
    for (let i = 0; i < WATCHERS; i++) {
      this.timers.push(
        setTimeout(() => {
          if (this.stopped) return;
          const p = this.lab.exec(this.host, ["arping", "-b", "-i", "1", "-I", this.iface, this.address]);
          this.procs.push(p);
          p.stdout!.resume();
          this.watchExit(p, "arping");
        }, i * WATCH_PERIOD_MS),
      );
    }
  }

  private watchExit(p: ChildProcess, what: string): void {
    let tail = "";
    p.stderr!.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-300)));
    p.once("exit", (code, sig) => {
      if (!this.stopped) this.exits.push(`${what} exited (${code ?? sig}): ${tail.trim()}`);
    });
  }

  /** Double answers at or after `from` (wall ms). */
  doublesSince(from: number, to = Infinity): Array<{ at: number; macs: [string, string] }> {
    return this.doubles.filter((d) => d.at >= from && d.at <= to);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  }
}
