// Device settings: outlet names and the hosts behind the ports, the cluster
// key, the console login, timeouts and baud rates. Kept as `key=value` lines
// in device storage (no JSON on Lua), validated against one table, so a new
// setting is one new row. Defaults are safe: no key and no console password
// means nothing can be armed or fenced and nobody can log in until an
// operator configures the device.
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import { formatDecimal, parseDecimal } from "@lubdub/protocol/portable";

/** Storage key the settings live under. */
export const SETTINGS_KEY = "lubdub.cfg";

export const KIND_STR = 0;
export const KIND_INT = 1;
export const KIND_BOOL = 2;

/** Longest value accepted for any setting (names, paths, secrets). */
export const MAX_SETTING_TEXT = 120;

export interface SettingDef {
  key: string;
  kind: number;
  def: string;
  min: number;
  max: number;
  /** Never printed back (console, logs, status). */
  secret: boolean;
}

function def(key: string, kind: number, dflt: string, min: number, max: number, secret: boolean): SettingDef {
  return { key: key, kind: kind, def: dflt, min: min, max: max, secret: secret };
}

/** Every setting but the per-outlet names ("outlet.N"), which depend on the board. */
export const SETTING_DEFS: SettingDef[] = [
  def("unit", KIND_STR, "lubdub-rpc", 0, 0, false),
  def("model", KIND_STR, "RPC-3", 0, 0, false),
  def("a.host", KIND_STR, "", 0, 0, false),
  def("b.host", KIND_STR, "", 0, 0, false),
  def("a.baud", KIND_INT, "19200", 1200, 921600, false),
  def("b.baud", KIND_INT, "19200", 1200, 921600, false),
  def("console.baud", KIND_INT, "19200", 1200, 921600, false),
  // tty paths for targets that open ports by path (Espruino's Linux build)
  def("a.path", KIND_STR, "", 0, 0, false),
  def("b.path", KIND_STR, "", 0, 0, false),
  def("console.path", KIND_STR, "", 0, 0, false),
  def("key.index", KIND_INT, "0", 0, 15, false),
  def("key.method", KIND_STR, "sha1", 0, 0, false),
  def("key.secret", KIND_STR, "", 0, 0, true),
  def("console.user", KIND_STR, "admin", 0, 0, false),
  def("console.password", KIND_STR, "", 0, 0, true),
  def("console.confirm", KIND_BOOL, "0", 0, 1, false),
  def("console.echo", KIND_BOOL, "0", 0, 1, false),
  def("console.idle_ms", KIND_INT, "120000", 10000, 3600000, false),
  def("console.fail_limit", KIND_INT, "5", 1, 100, false),
  def("console.lock_ms", KIND_INT, "60000", 1000, 3600000, false),
  // how long an outlet stays off in a reboot or a watchdog power cycle
  def("outlet.off_ms", KIND_INT, "5000", 500, 25000, false),
  def("wd.max_per_hour", KIND_INT, "3", 0, 60, false),
  // after a watchdog cycle, time the host gets to boot before it is watched again
  def("wd.grace_ms", KIND_INT, "180000", 0, 3600000, false),
  def("wd.min_timeout_ms", KIND_INT, "1000", 200, 3600000, false),
  def("wd.max_timeout_ms", KIND_INT, "600000", 200, 3600000, false),
  // a host fenced at its peer's request cannot fence that peer for this long
  def("fence.hold_ms", KIND_INT, "600000", 0, 86400000, false),
  def("hw_wd_s", KIND_INT, "10", 1, 60, false),
];

/** Settings by key; every value is text, read through the typed getters below. */
export interface Settings {
  values: { [key: string]: string };
  outlets: number;
}

export function outletKey(n: number): string {
  return "outlet." + formatDecimal(n);
}

function findDef(key: string): SettingDef | null {
  for (const d of SETTING_DEFS) {
    if (d.key === key) return d;
  }
  return null;
}

/** The defaults for a board with `outlets` outlets (named "Outlet 1"…). */
export function defaultSettings(outlets: number): Settings {
  const s: Settings = { values: {}, outlets: outlets };
  for (const d of SETTING_DEFS) s.values[d.key] = d.def;
  for (let n = 1; n <= outlets; n++) s.values[outletKey(n)] = "Outlet " + formatDecimal(n);
  return s;
}

function printable(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 32 || c > 126) return false;
  }
  return true;
}

/** Is `key` a setting of this board? */
export function isSettingKey(s: Settings, key: string): boolean {
  if (findDef(key) !== null) return true;
  if (key.substring(0, 7) !== "outlet.") return false;
  const n = parseDecimal(key.substring(7));
  return n !== null && n >= 1 && n <= s.outlets;
}

/** Sets one value after checking it; returns "" or why it was refused. */
export function setSetting(s: Settings, key: string, value: string): string {
  if (!isSettingKey(s, key)) return "unknown setting " + key;
  if (value.length > MAX_SETTING_TEXT) return key + ": longer than " + formatDecimal(MAX_SETTING_TEXT) + " bytes";
  if (!printable(value)) return key + ": only printable ASCII is allowed";
  const d = findDef(key);
  if (d !== null && d.kind !== KIND_STR) {
    const n = parseDecimal(value);
    if (n === null || n < d.min || n > d.max) {
      return key + ": expected a whole number from " + formatDecimal(d.min) + " to " + formatDecimal(d.max);
    }
  }
  if (d === null && (value.length === 0 || value.indexOf(";") >= 0)) {
    return key + ": an outlet name must be non-empty and without ';'";
  }
  s.values[key] = value;
  return "";
}

export function getString(s: Settings, key: string): string {
  const v = s.values[key];
  return v === undefined ? "" : v;
}

export function getInt(s: Settings, key: string): number {
  const v = parseDecimal(getString(s, key));
  return v === null ? 0 : v;
}

export function getBool(s: Settings, key: string): boolean {
  return getString(s, key) === "1";
}

/** Is this setting secret (never shown)? */
export function isSecret(key: string): boolean {
  const d = findDef(key);
  return d !== null && d.secret;
}

/**
 * Reads stored `key=value` lines over the defaults. A bad line keeps the
 * default and is reported with its line number; it never stops the device.
 */
export function parseSettings(text: string, outlets: number, report: (this: void, line: number, problem: string) => void): Settings {
  const s = defaultSettings(outlets);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0 || line.charCodeAt(0) === 35) continue; // blank or "#"
    const eq = line.indexOf("=");
    if (eq <= 0) {
      report(i + 1, "expected key=value");
      continue;
    }
    const problem = setSetting(s, line.substring(0, eq).trim(), line.substring(eq + 1).trim());
    if (problem.length > 0) report(i + 1, problem);
  }
  return s;
}

/** The settings as stored: every key, one per line, in table order. */
export function serializeSettings(s: Settings): string {
  let out = "";
  for (const d of SETTING_DEFS) out += d.key + "=" + getString(s, d.key) + "\n";
  for (let n = 1; n <= s.outlets; n++) out += outletKey(n) + "=" + getString(s, outletKey(n)) + "\n";
  return out;
}
