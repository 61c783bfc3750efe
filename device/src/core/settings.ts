// Device settings: outlet names and the hosts behind the ports, the cluster
// key, the console login, timeouts and baud rates. Kept as `key=value` lines
// in device storage (no JSON on Lua), validated against one table, so a new
// setting is one new row. Defaults are safe: no key and no console password
// means nothing can be armed or fenced and nobody can log in until an
// operator configures the device.
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import { parseDecimal } from "@lubdub/protocol/portable";

/** Storage key the settings live under. */
export const SETTINGS_KEY = "lubdub.cfg";

/** Longest value accepted for any setting (names, paths, secrets). */
export const MAX_SETTING_TEXT = 120;

/**
 * Every setting but the per-outlet names ("outlet.N", which depend on the
 * board), in stored order. One row per setting, rows separated by ";":
 *   key=default            text
 *   key=default min max    a whole number (booleans: 0 1)
 * (SECRETS says which are never printed back.)
 * One string rather than an array of object literals: the table is a third
 * of the size in the Espruino bundle, and a row is still one line to add.
 */
const TABLE =
  "unit=lubdub-rpc;model=RPC-3;a.host=;b.host=;" +
  "a.baud=19200 1200 921600;b.baud=19200 1200 921600;console.baud=19200 1200 921600;" +
  // tty paths for targets that open ports by path (Espruino's Linux build)
  "a.path=;b.path=;console.path=;" +
  "key.index=0 0 15;key.method=sha1;key.secret=;" +
  "console.user=admin;console.password=;console.confirm=0 0 1;console.echo=0 0 1;" +
  "console.idle_ms=120000 10000 3600000;console.fail_limit=5 1 100;console.lock_ms=60000 1000 3600000;" +
  // how long an outlet stays off in a reboot or a watchdog power cycle
  "outlet.off_ms=5000 500 25000;" +
  "wd.max_per_hour=3 0 60;" +
  // after a watchdog cycle, time the host gets to boot before it is watched again
  "wd.grace_ms=180000 0 3600000;" +
  "wd.min_timeout_ms=1000 200 3600000;wd.max_timeout_ms=600000 200 3600000;" +
  // a host fenced at its peer's request cannot fence that peer for this long
  "fence.hold_ms=600000 0 86400000;" +
  "hw_wd_s=10 1 60";

/** Settings never printed back (console, logs, status): text, set or not set. */
const SECRETS = ["key.secret", "console.password"];

/** The table's rows as [key, default, min, max] (min and max for numbers only). */
function rows(): string[][] {
  const out: string[][] = [];
  for (const row of TABLE.split(";")) out.push(row.replace("=", " ").split(" "));
  return out;
}

/** The table row of `key`, or null (outlet names are not in the table). */
function findRow(key: string): string[] | null {
  return rows().find((r) => r[0] === key) || null;
}

/** Settings by key; every value is text, read through the typed getters below. */
export interface Settings {
  values: { [key: string]: string };
  outlets: number;
}

export function outletKey(n: number): string {
  return "outlet." + n;
}

/** Every key of these settings, in stored order: the table's, then outlet.1 ... outlet.N. */
export function settingKeys(s: Settings): string[] {
  const keys = rows().map((r) => r[0]!);
  for (let n = 1; n <= s.outlets; n++) keys.push(outletKey(n));
  return keys;
}

/** The defaults for a board with `outlets` outlets (named "Outlet 1"…). */
export function defaultSettings(outlets: number): Settings {
  const s: Settings = { values: {}, outlets: outlets };
  for (const r of rows()) s.values[r[0]!] = r[1]!;
  for (let n = 1; n <= outlets; n++) s.values[outletKey(n)] = "Outlet " + n;
  return s;
}

/** Sets one value after checking it; returns "" or why it was refused. */
export function setSetting(s: Settings, key: string, value: string): string {
  const r = findRow(key);
  const n = parseDecimal(value);
  if (settingKeys(s).indexOf(key) < 0) return "unknown setting " + key;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 32 || c > 126 || i >= MAX_SETTING_TEXT) return key + ": not printable ASCII of at most " + MAX_SETTING_TEXT + " bytes";
  }
  if (r && r.length > 2 && (n === null || n < parseDecimal(r[2]!)! || n > parseDecimal(r[3]!)!)) {
    return key + ": expected a whole number from " + r[2] + " to " + r[3];
  }
  if (!r && (value === "" || value.indexOf(";") >= 0)) return key + ": outlet names are not empty and have no ';'";
  s.values[key] = value;
  return "";
}

export function getString(s: Settings, key: string): string {
  return s.values[key] || "";
}

export function getInt(s: Settings, key: string): number {
  return parseDecimal(getString(s, key)) || 0;
}

/** Is this setting secret (never shown)? */
export function isSecret(key: string): boolean {
  return SECRETS.indexOf(key) >= 0;
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
    const eq = line.indexOf("=");
    // blank lines and "#" comments are skipped
    const problem = line === "" || line.startsWith("#") ? "" : eq <= 0 ? "expected key=value" : setSetting(s, line.substring(0, eq).trim(), line.substring(eq + 1).trim());
    if (problem !== "") report(i + 1, problem);
  }
  return s;
}

/** The settings as stored: every key, one per line, in table order. */
export function serializeSettings(s: Settings): string {
  let out = "";
  for (const k of settingKeys(s)) out += k + "=" + getString(s, k) + "\n";
  return out;
}
