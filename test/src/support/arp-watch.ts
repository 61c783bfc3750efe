// Which MACs answer for an address, seen from the client: a broadcast ARP
// who-has every WATCH_PERIOD_MS, and two different MACs answering the same
// round is two servers holding the address at once.
//
// iputils arping (20221126, Debian 12) takes whole seconds for -i only
// (`-i 0.01` is refused: "invalid argument"), so one arping cannot ask every
// 10 ms. WATCHERS arpings at `-i 1` are started WATCH_PERIOD_MS apart
// instead. Two MACs in one round means one arping printing two different
// MACs for one request: its replies arrive within a millisecond of each
// other, its next request is a second later. So doubles are judged per arping
// (two MACs from the same arping within SAME_ROUND_MS), which stays right
// when the lines of several arpings arrive together. When this process's
// event loop was held up (a blocking call in a test) for longer than
// LAG_MS, the lines read right after it may span several requests of one
// arping; they are not paired (a split brain lasts longer than one round
// and shows in the next ones). If an arping exits, that is recorded
// (exits), so a watcher that does not run cannot pass for a quiet one.

import type { ChildProcess } from "node:child_process";
import type { NetnsLab } from "./netns.js";

export const WATCHERS = 10;
export const WATCH_PERIOD_MS = 1000 / WATCHERS;
/** Replies to one request of one arping are read within this much of each other (its requests are 1 s apart). */
const SAME_ROUND_MS = 300;
/** An event-loop stall longer than this makes the lines read right after it unpairable. */
const LAG_MS = 100;
const TICK_MS = 10;

export class ArpWatch {
  private readonly procs: ChildProcess[] = [];
  private timers: NodeJS.Timeout[] = [];
  private ticker: NodeJS.Timeout | null = null;
  /** When the last event-loop stall was noticed (timers run before I/O, so its lines are read right after). */
  private lagSeenAt = -Infinity;
  /** Replies read right after a stall and so not paired. */
  unpaired = 0;
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
    let tick = Date.now();
    this.ticker = setInterval(() => {
      const now = Date.now();
      if (now - tick > LAG_MS) this.lagSeenAt = now;
      tick = now;
    }, TICK_MS);
    this.ticker.unref();
    for (let i = 0; i < WATCHERS; i++) {
      let last: { mac: string; at: number } | null = null;
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
              const m = /reply from \S+ \[([0-9A-Fa-f:]+)\]/.exec(line);
              if (!m) continue;
              const mac = m[1]!.toLowerCase();
              const at = Date.now();
              this.replies++;
              this.macsSeen.add(mac);
              this.onMac?.(mac);
              if (at - this.lagSeenAt < 3 * TICK_MS) {
                this.unpaired++;
                last = null;
                continue;
              }
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
    if (this.ticker) clearInterval(this.ticker);
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  }
}
