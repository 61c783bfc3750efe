// The lubdub device as the agent keeps an eye on it (when ha.cf's fence
// device is `lubdub TTY`): its status for `lubdub status`, its events in the
// log, and this host's watchdog on the device.
//
// The device watchdog: armed after the agent has started, with lubdub.cf's
// `device_watchdog` timeout (default: ha.cf deadtime, so a hung host is cut
// when its peer would declare it dead anyway, never earlier; `off` leaves it
// unarmed). The device feeds it from every frame the host sends on that port,
// so the agent's heartbeats are what keep it fed: an agent that stops sending
// (hung, SIGSTOPped, the machine frozen) is power-cycled by the device.
// Every poll (hello) reads the device's status; the watchdog is armed again
// when the device rebooted (its boot count changed) or reports it off. On a
// clean stop it is disarmed before the serial port closes.
//
// One request at a time goes to the device: the fence device's client is
// shared (connect()), so fencing and the watchdog never race for a nonce.

import type { DeviceEvent, DeviceStatus, HostDeviceClient } from "../fencing/device/client.js";
import { type AgentLogger, logEvent } from "./log.js";

/** How often the device's status is read (and the watchdog checked). */
export const DEVICE_POLL_MS = 5000;
/** A clean stop waits this long at most for the disarm. */
export const DEVICE_DISARM_LIMIT_MS = 3000;
/** Device events kept for status. */
const MAX_EVENTS = 10;

export interface DeviceWatchOptions {
  node: string;
  /** The tty the device is on. */
  tty: string;
  /** How the link is held: "heartbeat medium" (the serial medium shares the tty) or "own tty". */
  via: string;
  connect: () => Promise<HostDeviceClient>;
  /** Watchdog timeout; null: not armed. */
  watchdogMs: number | null;
  pollMs?: number;
  log: AgentLogger;
}

export interface DeviceReport {
  tty: string;
  via: string;
  reachable: boolean;
  /** When the device last answered (ISO 8601), or null. */
  lastAnswer: string | null;
  error: string | null;
  status: DeviceStatus | null;
  /** This host's watchdog on the device, as the agent wants it and last saw it. */
  watchdog: { wantedMs: number | null; armed: boolean; deviceState: string | null };
  events: Array<DeviceEvent & { at: string }>;
}

export class DeviceWatch {
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private client: HostDeviceClient | null = null;
  private unsubscribe: (() => void) | null = null;
  private armed = false;
  private boot: number | null = null;
  private status: DeviceStatus | null = null;
  private reachable = false;
  private lastAnswer: string | null = null;
  private error: string | null = null;
  private readonly events: Array<DeviceEvent & { at: string }> = [];
  private polling: Promise<void> | null = null;

  constructor(private readonly o: DeviceWatchOptions) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.polling = this.poll().finally(() => {
        this.polling = null;
        this.schedule(this.o.pollMs ?? DEVICE_POLL_MS);
      });
    }, ms);
  }

  private async getClient(): Promise<HostDeviceClient> {
    const c = await this.o.connect();
    if (c !== this.client) {
      this.unsubscribe?.();
      this.client = c;
      this.unsubscribe = c.onEvent((e) => this.onEvent(e));
    }
    return c;
  }

  private onEvent(e: DeviceEvent): void {
    this.events.push({ ...e, at: new Date().toISOString() });
    if (this.events.length > MAX_EVENTS) this.events.shift();
    logEvent(this.o.log, "warn", "device.event", `device: ${e.event} ${e.host ?? ""}${e.by ? ` by ${e.by}` : ""}${e.reason ? `: ${e.reason}` : ""}`, { deviceEvent: e.event, host: e.host, by: e.by, reason: e.reason });
  }

  /** One hello; arms the watchdog when it is wanted and not (or no longer) armed. */
  private async poll(): Promise<void> {
    if (this.stopping) return;
    try {
      const c = await this.getClient();
      const st = await c.hello();
      if (this.stopping) return;
      this.status = st;
      this.lastAnswer = new Date().toISOString();
      if (!this.reachable) logEvent(this.o.log, "info", "device.reachable", `lubdub device on ${this.o.tty} answers (${st.outlets.length} outlets, boot ${st.boot ?? "?"})`, { tty: this.o.tty, boot: st.boot });
      this.reachable = true;
      this.error = st.ok ? null : (st.error ?? "not configured");
      const rebooted = this.boot !== null && st.boot !== null && st.boot !== this.boot;
      if (rebooted) logEvent(this.o.log, "warn", "device.rebooted", `lubdub device on ${this.o.tty} rebooted (boot ${this.boot} → ${st.boot})`, { tty: this.o.tty, boot: st.boot });
      this.boot = st.boot;
      const mine = this.mine(st);
      const off = mine !== null && (mine.state === "off" || mine.state === "gaveup");
      if (this.o.watchdogMs !== null && st.ok && (!this.armed || rebooted || off)) {
        if (this.armed) logEvent(this.o.log, "warn", "device.watchdog-rearm", `the device's watchdog for ${this.o.node} is ${rebooted ? "gone after a device reboot" : mine?.state}: arming it again`, { tty: this.o.tty });
        const r = await c.armWatchdog(this.o.watchdogMs);
        if (this.stopping) return;
        this.armed = r.ok;
        if (r.ok) logEvent(this.o.log, "info", "device.watchdog-armed", `device watchdog armed for ${this.o.node}: ${this.o.watchdogMs} ms without traffic from this host power-cycles it`, { tty: this.o.tty, timeoutMs: this.o.watchdogMs });
        else logEvent(this.o.log, "error", "device.watchdog-arm-failed", `arming the device watchdog failed: ${r.error}`, { tty: this.o.tty, error: r.error });
        if (r.ok) {
          const again = await c.hello();
          if (!this.stopping) this.status = again;
        }
      }
    } catch (e) {
      if (this.reachable || this.error !== (e as Error).message) {
        logEvent(this.o.log, "error", "device.unreachable", `lubdub device on ${this.o.tty}: ${(e as Error).message}`, { tty: this.o.tty });
      }
      this.reachable = false;
      this.error = (e as Error).message;
    }
  }

  private mine(st: DeviceStatus): { state: string } | null {
    return st.watchdogs.find((w) => w.host.toLowerCase() === this.o.node.toLowerCase()) ?? null;
  }

  /** Clean stop: no more polls, and the watchdog disarmed (bounded) — call before the serial port closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polling?.catch(() => undefined);
    if (this.armed) {
      const ac = new AbortController();
      const limit = setTimeout(() => ac.abort(), DEVICE_DISARM_LIMIT_MS);
      try {
        const c = await this.getClient();
        const r = await c.disarmWatchdog(ac.signal);
        if (r.ok) {
          this.armed = false;
          logEvent(this.o.log, "info", "device.watchdog-disarmed", `device watchdog disarmed for ${this.o.node} (clean stop)`, { tty: this.o.tty });
        } else {
          logEvent(this.o.log, "error", "device.watchdog-disarm-failed", `disarming the device watchdog failed: ${r.error}; the device will power-cycle this host when it stays silent`, { tty: this.o.tty, error: r.error });
        }
      } catch (e) {
        logEvent(this.o.log, "error", "device.watchdog-disarm-failed", `disarming the device watchdog failed: ${(e as Error).message}; the device will power-cycle this host when it stays silent`, { tty: this.o.tty });
      } finally {
        clearTimeout(limit);
      }
    }
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  report(): DeviceReport {
    const mine = this.status ? this.mine(this.status) : null;
    return {
      tty: this.o.tty, via: this.o.via, reachable: this.reachable, lastAnswer: this.lastAnswer, error: this.error, status: this.status,
      watchdog: { wantedMs: this.o.watchdogMs, armed: this.armed, deviceState: mine?.state ?? null },
      events: [...this.events],
    };
  }
}
