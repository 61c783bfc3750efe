// Which MACs answer for an address, seen from the client: a broadcast ARP
// who-has every WATCH_PERIOD_MS, and two different MACs answering the same
// round is two servers holding the address at once.
//
// iputils arping (20221126, Debian 12) takes whole seconds for -i only
// (`-i 0.01` is refused: "invalid argument"), so one arping cannot ask every
// 10 ms. WATCHERS arpings at `-i 1` are started WATCH_PERIOD_MS apart
// instead; each round's replies arrive within a millisecond of each other,
// rounds are WATCH_PERIOD_MS apart; lines are stamped when read, so a test
// that blocks this event loop (a synchronous CLI call) for longer than a
// round can make two rounds look like one. Only "Unicast reply" lines count.
// If an arping exits, that is recorded
// (exits), so a watcher that does not run cannot pass for a quiet one.

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
    let last: { mac: string; at: number } | null = null;
    for (let i = 0; i < WATCHERS; i++) {
      this.timers.push(
        setTimeout(() => {
          if (this.stopped) return;
          const p = this.lab.exec(this.host, ["arping", "-b", "-i", "1", "-I", this.iface, this.address]);
          this.procs.push(p);
          let buf = "";
          let tail = "";
          p.stderr!.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-300)));
          p.once("exit", (code, sig) => {
            if (!this.stopped) this.exits.push(`arping exited (${code ?? sig}): ${tail.trim()}`);
          });
          p.stdout!.on("data", (d: Buffer) => {
            buf += d.toString();
            let nl: number;
            while ((nl = buf.indexOf("\n")) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              // Only answers to a request ("Unicast reply"); a gratuitous ARP reply, broadcast by the node
              // taking the address, reaches every arping at once as a "Broadcast reply" and is no answer.
              const m = /^Unicast reply from \S+ \[([0-9A-Fa-f:]+)\]/.exec(line);
              if (!m) continue;
              const mac = m[1]!.toLowerCase();
              const at = Date.now();
              this.replies++;
              this.macsSeen.add(mac);
              this.onMac?.(mac);
              if (last && last.mac !== mac && at - last.at <= SAME_ROUND_MS) {
                const d = { at, macs: [last.mac, mac] as [string, string] };
                this.doubles.push(d);
                this.onDouble?.(d);
              }
              last = { mac, at };
            }
          });
        }, i * WATCH_PERIOD_MS),
      );
    }
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
