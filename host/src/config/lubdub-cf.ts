// /etc/ha.d/lubdub.cf: what lubdub adds to a Heartbeat configuration, kept out
// of ha.cf and haresources so both stay readable by a stock Heartbeat. The
// file is optional; without it lubdub behaves as Heartbeat does.
//
//   # restart the web group locally up to 3 times in 10 minutes, then fail it over
//   monitor 192.0.2.100 interval=10s timeout=30s restarts=3 window=10min
//   monitor * interval=30s            # every group
//   # gratuitous ARP after an IP takeover (IPaddr or IPaddr2; defaults as Heartbeat's agents)
//   arp IPaddr2 count=5 interval=200ms refresh_after=10s refresh_count=2
//
//   # fencing (ha.cf stonith_host / stonith): time limits, retries, alert, plugin directories
//   fencing timeout=5min attempt_timeout=60s retry=2s retry_max=30s action=reboot alert=/usr/local/sbin/fence-alert
//   fencing external_dir=/usr/lib/stonith/plugins/external agents_dir=/usr/sbin
//   # bravo waits 10 s before fencing alpha: in a race, alpha wins
//   fencing_delay bravo 10s
//   # the lubdub device's watchdog for this host (when stonith_host … lubdub TTY is
//   # configured): armed after start with this timeout; default: ha.cf deadtime;
//   # off: never armed
//   device_watchdog 10s
//
// Times take Heartbeat's forms (10, 10s, 500ms) plus "min" and "h".

import type { Diagnostic } from "@lubdub/protocol";

export const LUBDUB_CF = "lubdub.cf";
export const MONITOR_DEFAULT_RESTARTS = 3;
export const MONITOR_DEFAULT_WINDOW_MS = 10 * 60_000;
/** A status check that takes longer than this counts as a failure, unless timeout= says otherwise. */
export const MONITOR_DEFAULT_TIMEOUT_MS = 20_000;
/** Checking more often than this would only load the machine. */
export const MONITOR_MIN_INTERVAL_MS = 1000;
const MAX_LUBDUB_CF_BYTES = 64 * 1024;

export interface MonitorSpec {
  /** A group key from haresources, or "*" for every group. */
  key: string;
  intervalMs: number;
  timeoutMs: number;
  /** Local restarts allowed within `windowMs` before the group fails over. */
  restarts: number;
  windowMs: number;
  line: number;
}

/** Gratuitous ARP settings for one built-in IP class; unset fields keep the class defaults. */
export interface ArpSpec {
  className: "IPaddr" | "IPaddr2";
  count?: number;
  intervalMs?: number;
  refreshAfterMs?: number;
  refreshCount?: number;
  line: number;
}

/** Bounds for arp options (the announcer checks them too). */
const MAX_ARP_COUNT = 100;
const MAX_ARP_INTERVAL_MS = 10_000;
const MAX_ARP_REFRESH_AFTER_MS = 3_600_000;

/** `fencing` and `fencing_delay` lines: how lubdubd fences (see fencing/policy.ts). Unset fields keep the defaults. */
export interface FencingSpec {
  totalTimeoutMs?: number;
  attemptTimeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  action?: "reboot" | "off";
  /** Absolute path of a program run (without a shell) when fencing gives up: PROGRAM NODE RESULT. */
  alert?: string;
  externalDir?: string;
  agentsDir?: string;
  /** Node → how long it waits before fencing its peer. */
  delays: Record<string, number>;
}

/** `device_watchdog TIME|off`: the lubdub device's watchdog for this host. */
export interface DeviceWatchdogSpec {
  /** null: off (never armed). */
  timeoutMs: number | null;
  line: number;
}

/** The device's own bounds for a watchdog timeout (its wd.min_timeout_ms / wd.max_timeout_ms defaults). */
export const DEVICE_WATCHDOG_MIN_MS = 1000;
export const DEVICE_WATCHDOG_MAX_MS = 600_000;

/**
 * The device watchdog timeout for this host, or null when it is off: the
 * lubdub.cf line, or without one ha.cf deadtime kept within the device's
 * bounds.
 */
export function deviceWatchdogMs(spec: DeviceWatchdogSpec | undefined, deadtimeMs: number): number | null {
  if (spec) return spec.timeoutMs;
  return Math.min(Math.max(deadtimeMs, DEVICE_WATCHDOG_MIN_MS), DEVICE_WATCHDOG_MAX_MS);
}

export interface LubdubCf {
  monitors: MonitorSpec[];
  arp: ArpSpec[];
  /** Absent: the default (ha.cf deadtime, when a lubdub device is the fence device). */
  deviceWatchdog?: DeviceWatchdogSpec;
  /** Absent in configurations built by hand (tests): the defaults apply. */
  fencing?: FencingSpec;
}

/** Bounds for fencing times. */
const MAX_FENCE_TIMEOUT_MS = 24 * 3_600_000;
const MAX_FENCE_DELAY_MS = 10 * 60_000;

function duration(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|min|h)?$/.exec(text);
  if (!m) return null;
  const v = Number(m[1]);
  const unit = m[2] ?? "s";
  const ms = unit === "ms" ? v : unit === "s" ? v * 1000 : unit === "min" ? v * 60_000 : v * 3_600_000;
  return Math.round(ms);
}

/** Parses lubdub.cf; `groupKeys` are haresources' keys (a monitor for another key is an error). Never throws. */
export function parseLubdubCf(text: string, source: string, groupKeys: string[]): { config: LubdubCf; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const monitors: MonitorSpec[] = [];
  const arp: ArpSpec[] = [];
  const err = (line: number, message: string): void => {
    diagnostics.push({ severity: "error", source, line, message });
  };
  if (text.length > MAX_LUBDUB_CF_BYTES) {
    err(0, `larger than ${MAX_LUBDUB_CF_BYTES} bytes`);
    return { config: { monitors, arp, fencing: { delays: {} } }, diagnostics };
  }
  const fencing: FencingSpec = { delays: {} };
  let deviceWatchdog: DeviceWatchdogSpec | undefined;
  const parseFencing = (opts: string[], line: number): void => {
    if (opts.length === 0) return err(line, "fencing: no option (timeout=, attempt_timeout=, retry=, retry_max=, action=, alert=, external_dir=, agents_dir=)");
    for (const o of opts) {
      const eq = o.indexOf("=");
      const name = eq > 0 ? o.slice(0, eq) : o;
      const value = eq > 0 ? o.slice(eq + 1) : "";
      const times: Record<string, keyof FencingSpec> = { timeout: "totalTimeoutMs", attempt_timeout: "attemptTimeoutMs", retry: "retryMinMs", retry_max: "retryMaxMs" };
      const field = times[name];
      if (field !== undefined) {
        const ms = duration(value);
        if (ms === null || ms <= 0 || ms > MAX_FENCE_TIMEOUT_MS) return err(line, `fencing: ${name}='${value}' is not a duration (10s, 500ms, 5min) up to 24h`);
        (fencing as unknown as Record<string, number>)[field] = ms;
      } else if (name === "action") {
        if (value !== "reboot" && value !== "off") return err(line, `fencing: action='${value}' is not reboot or off`);
        fencing.action = value;
      } else if (name === "alert" || name === "external_dir" || name === "agents_dir") {
        if (!value.startsWith("/")) return err(line, `fencing: ${name}='${value}' is not an absolute path`);
        if (name === "alert") fencing.alert = value;
        else if (name === "external_dir") fencing.externalDir = value;
        else fencing.agentsDir = value;
      } else {
        return err(line, `fencing: unknown option '${o}' (timeout=, attempt_timeout=, retry=, retry_max=, action=, alert=, external_dir=, agents_dir=)`);
      }
    }
    if (fencing.retryMinMs !== undefined && fencing.retryMaxMs !== undefined && fencing.retryMinMs > fencing.retryMaxMs) err(line, "fencing: retry is longer than retry_max");
    if (fencing.attemptTimeoutMs !== undefined && fencing.totalTimeoutMs !== undefined && fencing.attemptTimeoutMs > fencing.totalTimeoutMs) err(line, "fencing: attempt_timeout is longer than timeout");
  };
  const parseDelay = (args: string[], line: number): void => {
    const [node, time, ...more] = args;
    if (node === undefined || time === undefined || more.length > 0) return err(line, "fencing_delay: NODE TIME (the node that waits before fencing its peer)");
    const ms = duration(time);
    if (ms === null || ms > MAX_FENCE_DELAY_MS) return err(line, `fencing_delay: '${time}' is not a duration up to 10min`);
    const key = node.toLowerCase();
    if (fencing.delays[key] !== undefined) return err(line, `fencing_delay: ${node} already has a delay`);
    fencing.delays[key] = ms;
  };
  const parseArp = (cls: string | undefined, opts: string[], line: number): void => {
    if (cls !== "IPaddr" && cls !== "IPaddr2") return err(line, `arp: which class? (IPaddr or IPaddr2, got '${cls ?? ""}')`);
    const dup = arp.find((a) => a.className === cls);
    if (dup) return err(line, `arp: ${cls} already set at line ${dup.line}`);
    const spec: ArpSpec = { className: cls, line };
    for (const o of opts) {
      const eq = o.indexOf("=");
      const name = eq > 0 ? o.slice(0, eq) : o;
      const value = eq > 0 ? o.slice(eq + 1) : "";
      if (name === "count" || name === "refresh_count") {
        if (!/^[0-9]{1,3}$/.test(value) || Number(value) > MAX_ARP_COUNT) return err(line, `arp: ${name}='${value}' is not a number 0-${MAX_ARP_COUNT}`);
        if (name === "count") spec.count = Number(value);
        else spec.refreshCount = Number(value);
      } else if (name === "interval" || name === "refresh_after") {
        const ms = duration(value);
        const max = name === "interval" ? MAX_ARP_INTERVAL_MS : MAX_ARP_REFRESH_AFTER_MS;
        if (ms === null || ms < 1 || ms > max) return err(line, `arp: ${name}='${value}' is not a duration up to ${max} ms`);
        if (name === "interval") spec.intervalMs = ms;
        else spec.refreshAfterMs = ms;
      } else {
        return err(line, `arp: unknown option '${o}' (count=, interval=, refresh_after=, refresh_count=)`);
      }
    }
    arp.push(spec);
  };
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const words = raw.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    const [directive, key, ...opts] = words;
    if (directive === "arp") return parseArp(key, opts, line);
    if (directive === "fencing") return parseFencing(words.slice(1), line);
    if (directive === "fencing_delay") return parseDelay(words.slice(1), line);
    if (directive === "device_watchdog") {
      if (deviceWatchdog) return err(line, `device_watchdog: already set at line ${deviceWatchdog.line}`);
      if (key === undefined || opts.length > 0) return err(line, "device_watchdog: TIME or off (the device's watchdog timeout for this host)");
      if (key === "off") {
        deviceWatchdog = { timeoutMs: null, line };
        return;
      }
      const ms = duration(key);
      if (ms === null || ms < DEVICE_WATCHDOG_MIN_MS || ms > DEVICE_WATCHDOG_MAX_MS) return err(line, `device_watchdog: '${key}' is not a duration from 1s to 10min (or off)`);
      deviceWatchdog = { timeoutMs: ms, line };
      return;
    }
    if (directive !== "monitor") return err(line, `unknown directive '${directive}' (lubdub.cf knows: monitor, arp, fencing, fencing_delay, device_watchdog)`);
    if (!key) return err(line, "monitor: which group? (a haresources group key, or *)");
    if (key !== "*" && !groupKeys.includes(key)) return err(line, `monitor: no group '${key}' in haresources (keys: ${groupKeys.join(", ") || "none"})`);
    const spec: MonitorSpec = { key, intervalMs: 0, timeoutMs: MONITOR_DEFAULT_TIMEOUT_MS, restarts: MONITOR_DEFAULT_RESTARTS, windowMs: MONITOR_DEFAULT_WINDOW_MS, line };
    for (const o of opts) {
      const eq = o.indexOf("=");
      const name = eq > 0 ? o.slice(0, eq) : o;
      const value = eq > 0 ? o.slice(eq + 1) : "";
      if (name === "interval" || name === "timeout" || name === "window") {
        const ms = duration(value);
        if (ms === null || ms <= 0) return err(line, `monitor: ${name}='${value}' is not a duration (10s, 500ms, 5min)`);
        if (name === "interval") spec.intervalMs = ms;
        else if (name === "timeout") spec.timeoutMs = ms;
        else spec.windowMs = ms;
      } else if (name === "restarts") {
        if (!/^[0-9]{1,3}$/.test(value)) return err(line, `monitor: restarts='${value}' is not a number 0-999`);
        spec.restarts = Number(value);
      } else {
        return err(line, `monitor: unknown option '${o}' (interval=, timeout=, restarts=, window=)`);
      }
    }
    if (spec.intervalMs === 0) return err(line, "monitor: interval= is required");
    if (spec.intervalMs < MONITOR_MIN_INTERVAL_MS) return err(line, `monitor: interval must be at least ${MONITOR_MIN_INTERVAL_MS} ms`);
    const dup = monitors.find((m) => m.key === key);
    if (dup) return err(line, `monitor: '${key}' already has a monitor at line ${dup.line}`);
    monitors.push(spec);
  });
  if (Object.keys(fencing.delays).length > 1) {
    diagnostics.push({ severity: "warning", source, line: 0, message: "fencing_delay: more than one node waits; a delay only settles a race when one node waits longer than the other" });
  }
  return { config: { monitors, arp, fencing, ...(deviceWatchdog ? { deviceWatchdog } : {}) }, diagnostics };
}

/** The monitor for one group: its own line, else the "*" line, else none. */
export function monitorFor(cf: LubdubCf, key: string): MonitorSpec | null {
  return cf.monitors.find((m) => m.key === key) ?? cf.monitors.find((m) => m.key === "*") ?? null;
}
