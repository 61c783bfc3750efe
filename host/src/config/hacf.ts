// ha.cf, read the way Heartbeat 3.0.6 reads it (haresources mode):
//   - one directive per line, `#` starts a comment anywhere on the line;
//   - a directive name, then values separated by blanks (no `=`);
//   - list directives (node, bcast, serial) take several values per line
//     and may repeat; scalar directives take one value, the last one wins;
//   - defaults and derived values as Heartbeat computes them.
// Every problem becomes a Diagnostic naming file:line. Directives Heartbeat
// accepts but lubdub does not implement are refused by name, so a config
// never silently loses a behaviour its operator relies on.

import { isIPv4 } from "node:net";
import type { Diagnostic } from "@lubdub/protocol";
import { formatInterval, parseInterval } from "./interval.js";
import type { AutoFailback, HaConfig, MediumDirective, ParsedHaCf } from "./types.js";
import { SYSLOG_FACILITY_NAMES } from "./facilities.js";
import { fenceTypeNames, findFenceType } from "../fencing/registry.js";

export const DEFAULT_UDPPORT = 694;
export const DEFAULT_BAUD = 19200;
export const DEFAULT_KEEPALIVE_MS = 1000;
export const DEFAULT_DEADTIME_MS = 30000;
export const DEFAULT_MAX_REXMIT_DELAY_MS = 250;
/** Heartbeat's serial plugin accepts exactly these rates. */
export const SERIAL_BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800];
/** Heartbeat opens at most this many serial ports. */
export const MAX_SERIAL_PORTS = 4;
/** Below this, Heartbeat warns that initdead may not cover a slow network start. */
const INITDEAD_ADVISED_MS = 10000;
/** At most this many distinct ping addresses (each is probed by a ping process of its own). */
export const MAX_PING_ADDRESSES = 32;
/** A ha.cf larger than this is not a ha.cf. */
export const MAX_HACF_BYTES = 1 << 20;
/** A user name as useradd accepts it (letters, digits, _ . -; not starting with - or a digit; a trailing $ for machine accounts). */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
/** `env` names: shell identifiers. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Heartbeat hands the rest of a respawn line to /bin/sh (`exec COMMAND`);
 * lubdub runs the words as argv without a shell. A word with one of these
 * would mean something else to the shell, so it is refused rather than run
 * differently.
 */
const SHELL_SPECIAL = /['"`$\\;&|<>()*?[]|^~/;

type Ctx = {
  cfg: HaConfig;
  diag: Diagnostic[];
  source: string;
  line: number;
  mediaSeen: boolean;
  serialCount: number;
  /** Line of each env name's first setting. */
  envAt: Map<string, number>;
  /** This node's name. */
  node: string;
  /** The current line after the directive name, comments cut, blanks kept (stonith lines need it as Heartbeat reads it). */
  rest: string;
};

function err(c: Ctx, message: string): void {
  c.diag.push({ severity: "error", source: c.source, line: c.line, message });
}
function warn(c: Ctx, message: string): void {
  c.diag.push({ severity: "warning", source: c.source, line: c.line, message });
}

/** How a directive is handled. */
interface Directive {
  /** "one": exactly one value; "list": one or more; "exact:N"; "any": whatever follows. */
  arity: "one" | "list" | "any" | number;
  apply(c: Ctx, values: string[], name: string): void;
}

function interval(field: "keepaliveMs" | "deadtimeMs" | "warntimeMs" | "initdeadMs" | "deadpingMs" | "maxRexmitDelayMs"): Directive {
  return {
    arity: "one",
    apply(c, [v], name) {
      const ms = parseInterval(v!);
      if (ms === null) return err(c, `${name}: '${v}' is not a time (a number of seconds, or with an ms or us suffix)`);
      if (ms <= 0) return err(c, `${name}: must be greater than zero`);
      c.cfg[field] = ms;
    },
  };
}

function choice<T extends string>(values: readonly T[], set: (c: Ctx, v: T) => void): Directive {
  return {
    arity: "one",
    apply(c, [v], name) {
      const lower = v!.toLowerCase() as T;
      if (!values.includes(lower)) return err(c, `${name}: '${v}' is not one of ${values.join(", ")}`);
      set(c, lower);
    },
  };
}

const TRUE_WORDS = ["on", "yes", "true", "y", "1"];
const FALSE_WORDS = ["off", "no", "false", "n", "0"];
function parseBool(v: string): boolean | null {
  const l = v.toLowerCase();
  if (TRUE_WORDS.includes(l)) return true;
  if (FALSE_WORDS.includes(l)) return false;
  return null;
}

/** Accepted and checked, but changes nothing in lubdub (process tuning for Heartbeat's own daemon). */
function noEffect(check: (v: string) => boolean, why: string): Directive {
  return {
    arity: "any",
    apply(c, values, name) {
      if (values.length === 0 || !values.every(check)) return err(c, `${name}: invalid value '${values.join(" ")}'`);
      warn(c, `${name}: accepted but has no effect in lubdub (${why})`);
    },
  };
}

/** Heartbeat has it; lubdub does not do it yet: refuse rather than run without it. */
function refused(why: string): Directive {
  return { arity: "any", apply: (c, _v, name) => err(c, `${name}: not supported by lubdub (${why}); remove the line or run stock Heartbeat`) };
}

function port(c: Ctx, name: string, v: string): number | null {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    err(c, `${name}: '${v}' is not a UDP port (1-65535)`);
    return null;
  }
  return Number(v);
}

function iface(c: Ctx, name: string, v: string): boolean {
  // Linux interface names: up to 15 bytes, no slash, blank or colon-free rules beyond that.
  if (v.length === 0 || v.length > 15 || v.includes("/")) {
    err(c, `${name}: '${v}' is not a network interface name`);
    return false;
  }
  return true;
}

function addMedium(c: Ctx, m: MediumDirective): void {
  c.mediaSeen = true;
  const same = c.cfg.media.find((o) => JSON.stringify({ ...o, line: 0 }) === JSON.stringify({ ...m, line: 0 }));
  if (same) return warn(c, `${m.kind}: same medium already declared at line ${same.line}; ignored`);
  c.cfg.media.push(m);
}

/** A ping node's address: IPv4 unicast, written as four decimal numbers. */
function pingAddress(c: Ctx, name: string, v: string): boolean {
  if (!isIPv4(v)) {
    err(c, `${name}: '${v}' is not an IPv4 address (ping nodes are given by address; ping6 is not supported)`);
    return false;
  }
  const first = Number(v.split(".")[0]);
  if (v === "0.0.0.0" || first >= 224) {
    err(c, `${name}: '${v}' is not a unicast address`);
    return false;
  }
  if (first === 127) warn(c, `${name}: ${v} is a loopback address: it always answers and tells nothing about the network`);
  return true;
}

function addPingNode(c: Ctx, kind: string, name: string, addresses: string[]): void {
  const same = c.cfg.pingNodes.find((p) => p.name.toLowerCase() === name.toLowerCase());
  if (same) {
    if (kind === "ping" && same.addresses.length === 1 && same.addresses[0] === name) return warn(c, `ping: ${name} already declared at line ${same.line}; ignored`);
    return err(c, `${kind}: a ping node named '${name}' is already declared at line ${same.line}`);
  }
  const distinct = new Set([...c.cfg.pingNodes.flatMap((p) => p.addresses), ...addresses]);
  if (distinct.size > MAX_PING_ADDRESSES) return err(c, `${kind}: at most ${MAX_PING_ADDRESSES} ping addresses`);
  c.cfg.pingNodes.push({ name, addresses, line: c.line });
}

const DIRECTIVES: Record<string, Directive> = {
  node: {
    arity: "list",
    apply(c, values) {
      for (const n of values) {
        if (n.length > 100 || /[^A-Za-z0-9._-]/.test(n)) err(c, `node: '${n}' is not a valid node name`);
        else if (c.cfg.nodes.some((x) => x.toLowerCase() === n.toLowerCase())) warn(c, `node: ${n} listed twice`);
        else c.cfg.nodes.push(n);
      }
    },
  },
  keepalive: interval("keepaliveMs"),
  deadtime: interval("deadtimeMs"),
  warntime: interval("warntimeMs"),
  initdead: interval("initdeadMs"),
  deadping: interval("deadpingMs"),
  max_rexmit_delay: interval("maxRexmitDelayMs"),
  udpport: {
    arity: "one",
    apply(c, [v], name) {
      const p = port(c, name, v!);
      if (p === null) return;
      if (c.mediaSeen) warn(c, "udpport: should precede the media lines (Heartbeat applies it only to media declared after it); lubdub uses it for every UDP medium without its own port");
      c.cfg.udpport = p;
    },
  },
  baud: {
    arity: "one",
    apply(c, [v], name) {
      const b = Number(v);
      if (!/^[0-9]+$/.test(v!) || !SERIAL_BAUD_RATES.includes(b)) return err(c, `${name}: invalid baud rate '${v}' (one of ${SERIAL_BAUD_RATES.join(", ")})`);
      if (c.serialCount > 0) warn(c, "baud: should precede the serial lines; lubdub uses it for every serial port");
      c.cfg.baud = b;
    },
  },
  ucast: {
    arity: 2,
    apply(c, [dev, peer], name) {
      if (!iface(c, name, dev!)) return;
      if (!isIPv4(peer!)) return err(c, `ucast: '${peer}' is not an IPv4 address (ucast6 is not supported)`);
      addMedium(c, { kind: "ucast", iface: dev!, peer: peer!, port: 0, line: c.line });
    },
  },
  bcast: {
    arity: "list",
    apply(c, values, name) {
      for (const dev of values) if (iface(c, name, dev)) addMedium(c, { kind: "bcast", iface: dev, port: 0, line: c.line });
    },
  },
  mcast: {
    arity: 5,
    apply(c, [dev, group, p, ttl, loop], name) {
      if (!iface(c, name, dev!)) return;
      const first = Number(group!.split(".")[0]);
      if (!isIPv4(group!) || first < 224 || first > 239) return err(c, `mcast: '${group}' is not an IPv4 multicast group (224.0.0.0-239.255.255.255)`);
      const pn = port(c, name, p!);
      if (pn === null) return;
      if (!/^[0-4]$/.test(ttl!)) return err(c, `mcast: ttl '${ttl}' must be 0 to 4`);
      if (loop !== "0" && loop !== "1") return err(c, `mcast: loop '${loop}' must be 0 or 1`);
      addMedium(c, { kind: "mcast", iface: dev!, group: group!, port: pn, ttl: Number(ttl), loop: loop === "1", line: c.line });
    },
  },
  serial: {
    arity: "list",
    apply(c, values) {
      for (const dev of values) {
        if (!dev.startsWith("/")) {
          err(c, `serial: '${dev}' is not a device path`);
          continue;
        }
        if (++c.serialCount > MAX_SERIAL_PORTS) {
          err(c, `serial: at most ${MAX_SERIAL_PORTS} serial ports`);
          continue;
        }
        addMedium(c, { kind: "serial", device: dev, baud: 0, line: c.line });
      }
    },
  },
  ping: {
    arity: "list",
    apply(c, values, name) {
      for (const v of values) if (pingAddress(c, name, v)) addPingNode(c, name, v, [v]);
    },
  },
  ping_group: {
    arity: "list",
    apply(c, [group, ...values], name) {
      if (values.length === 0) return err(c, `${name}: needs a group name and at least one address`);
      if (group!.length > 100 || /[^A-Za-z0-9._-]/.test(group!)) return err(c, `${name}: '${group}' is not a valid name`);
      if (!values.map((v) => pingAddress(c, name, v)).every(Boolean)) return;
      const addresses = [...new Set(values)];
      if (addresses.length < values.length) warn(c, `${name}: ${group} lists an address twice`);
      addPingNode(c, name, group!, addresses);
    },
  },
  auto_failback: choice(["on", "off", "legacy"] as const, (c, v) => {
    c.cfg.autoFailback = v as AutoFailback;
  }),
  nice_failback: {
    arity: "one",
    apply(c, [v]) {
      const b = parseBool(v!);
      if (b === null) return err(c, `nice_failback: '${v}' is not on or off`);
      // Heartbeat maps the obsolete flag and says so with an error-level log, but starts.
      warn(c, `nice_failback is obsolete; use auto_failback. Taken as 'auto_failback ${b ? "off" : "legacy"}'`);
      c.cfg.autoFailback = b ? "off" : "legacy";
      c.cfg.setAt["auto_failback"] = c.line;
    },
  },
  logfile: { arity: "one", apply: (c, [v]) => void (c.cfg.logfile = v!) },
  debugfile: { arity: "one", apply: (c, [v]) => void (c.cfg.debugfile = v!) },
  logfacility: {
    arity: "one",
    apply(c, [v]) {
      if (v !== "none" && !SYSLOG_FACILITY_NAMES.includes(v!)) return err(c, `logfacility: unknown syslog facility '${v}'`);
      c.cfg.logfacility = v!;
    },
  },
  debug: {
    arity: "one",
    apply(c, [v]) {
      if (!/^[0-9]{1,3}$/.test(v!) || Number(v) > 255) return err(c, `debug: '${v}' is not a debug level (0-255)`);
      c.cfg.debug = Number(v);
    },
  },
  hbgenmethod: choice(["file", "time"] as const, (c, v) => void (c.cfg.hbgenmethod = v)),
  msgfmt: choice(["classic", "netstring"] as const, (c, v) => void (c.cfg.msgfmt = v)),
  uuidfrom: choice(["file", "nodename"] as const, (c, v) => void (c.cfg.uuidfrom = v)),
  crm: {
    arity: "one",
    apply(c, [v]) {
      const b = parseBool(v!);
      if (b === false) return;
      if (b === null && v!.toLowerCase() !== "respawn") return err(c, `crm: '${v}' is not on, off or respawn`);
      err(c, "crm: lubdub runs haresources mode only (crm off); Pacemaker clusters need stock Heartbeat or Corosync");
    },
  },
  autojoin: {
    arity: "one",
    apply(c, [v]) {
      const l = v!.toLowerCase();
      if (l === "none") return;
      if (l !== "any" && l !== "other") return err(c, `autojoin: '${v}' is not none, other or any`);
      err(c, "autojoin: lubdub clusters have exactly the nodes ha.cf lists (autojoin none)");
    },
  },
  stonith_host: {
    arity: "any",
    apply(c, values, name) {
      const [host, type] = values;
      if (host === undefined) return err(c, `${name}: needs a host (* or a node name), a STONITH type and its parameters`);
      const applies = host === "*" || host.toLowerCase() === c.node.toLowerCase();
      if (host !== "*" && !c.cfg.nodes.some((n) => n.toLowerCase() === host.toLowerCase()) && !/^[A-Za-z0-9._-]+$/.test(host)) return err(c, `${name}: '${host}' is not * or a node name`);
      if (type === undefined) {
        // Heartbeat reads no further on another node's line.
        if (applies) return err(c, `${name}: needs a STONITH type after '${host}'`);
        return warn(c, `${name}: no STONITH type (the line is for ${host}, which would refuse it)`);
      }
      // The parameters: everything after the type, blanks included (the last name takes the rest).
      const params = c.rest.replace(/^[ \t\r\f]*\S+[ \t\r\f]+\S+/, "").replace(/^[ \t\n\r\f]+/, "");
      if (findFenceType(type) === null) {
        if (applies) return err(c, `${name}: unknown STONITH type '${type}' (lubdub has: ${fenceTypeNames().join(", ")})`);
        warn(c, `${name}: unknown STONITH type '${type}' on ${host}'s line (${host} would refuse it)`);
      }
      if (/[ \t\f]$/.test(params)) warn(c, `${name}: the last parameter ends with blanks, which are part of it (as in Heartbeat)`);
      c.cfg.stonith.push({ kind: "stonith_host", host, type, params, line: c.line });
    },
  },
  stonith: {
    arity: "any",
    apply(c, values, name) {
      const [type] = values;
      if (type === undefined || values.length < 2) return err(c, `${name}: needs a STONITH type and a parameter file: stonith TYPE FILE`);
      if (findFenceType(type) === null) return err(c, `${name}: unknown STONITH type '${type}' (lubdub has: ${fenceTypeNames().join(", ")})`);
      const file = c.rest.replace(/^[ \t\r\f]*\S+[ \t\r\f]+/, "");
      c.cfg.stonith.push({ kind: "stonith", type, file, line: c.line });
    },
  },
  watchdog: {
    arity: "one",
    apply(c, [v], name) {
      if (!v!.startsWith("/")) return err(c, `${name}: '${v}' is not a device path (e.g. /dev/watchdog)`);
      c.cfg.watchdog = { device: v!, line: c.line };
    },
  },
  respawn: {
    arity: "any",
    apply(c, values, name) {
      const [user, ...argv] = values;
      if (user === undefined || argv.length === 0) return err(c, `${name}: needs a user and a program: respawn USER /path/to/program [ARGS...]`);
      if (!USER_NAME.test(user)) return err(c, `${name}: '${user}' is not a user name`);
      const program = argv[0]!;
      if (!program.startsWith("/")) return err(c, `${name}: '${program}' is not an absolute path (Heartbeat runs only full path names)`);
      const special = argv.find((w) => SHELL_SPECIAL.test(w));
      if (special !== undefined) {
        return err(c, `${name}: '${special}' has shell syntax; Heartbeat passes the line to /bin/sh, lubdub runs the words as they are. Put the command in a script and respawn that`);
      }
      c.cfg.respawn.push({ user, argv, line: c.line });
    },
  },
  env: {
    arity: "list",
    apply(c, values, name) {
      for (const w of values) {
        const eq = w.indexOf("=");
        const key = eq < 0 ? w : w.slice(0, eq);
        if (eq < 0 || !ENV_NAME.test(key)) {
          err(c, `${name}: '${w}' is not NAME=VALUE with NAME a shell identifier`);
          continue;
        }
        const first = c.envAt.get(key);
        if (first !== undefined) warn(c, `${name}: ${key} set again (first at line ${first}); the last one counts`);
        else c.envAt.set(key, c.line);
        // An own property even for names like __proto__.
        Object.defineProperty(c.cfg.env, key, { value: w.slice(eq + 1), enumerable: true, writable: true, configurable: true });
      }
    },
  },
  ucast6: refused("IPv6 media are not supported"),
  mcast6: refused("IPv6 media are not supported"),
  ping6: refused("ping nodes are not supported"),
  apiauth: refused("the Heartbeat client API is not provided"),
  quorum_server: refused("quorum servers belong to crm mode"),
  // Tuning of Heartbeat's own process: harmless to accept, nothing to do.
  realtime: noEffect((v) => parseBool(v) !== null, "no realtime scheduling"),
  rtprio: noEffect((v) => /^[0-9]+$/.test(v), "no realtime scheduling"),
  normalpoll: noEffect((v) => parseBool(v) !== null, "Node's event loop does the polling"),
  coredumps: noEffect((v) => parseBool(v) !== null, "core dumps are the system's setting"),
  coreroot: noEffect((v) => v.startsWith("/"), "core dumps are the system's setting"),
  memreserve: noEffect((v) => /^[0-9]+$/.test(v), "nothing is preallocated"),
  use_logd: noEffect((v) => parseBool(v) !== null, "lubdub writes its own logs"),
  conn_logd_time: noEffect((v) => parseInterval(v) !== null, "lubdub writes its own logs"),
  log_badpack: noEffect((v) => parseBool(v) !== null, "bad packets are always counted and logged"),
  syslogmsgfmt: noEffect((v) => parseBool(v) !== null, "log files are JSON lines"),
  use_apphbd: noEffect((v) => parseBool(v) !== null, "apphbd is not used"),
  hopfudge: noEffect((v) => /^[0-9]+$/.test(v), "messages are not forwarded between nodes"),
  compression: noEffect((v) => /^[a-z0-9]+$/.test(v), "haresources messages are small and never compressed"),
  compression_threshold: noEffect((v) => /^[0-9]+$/.test(v), "haresources messages are small and never compressed"),
  traditional_compression: noEffect((v) => parseBool(v) !== null, "haresources messages are small and never compressed"),
  record_config_changes: noEffect((v) => parseBool(v) !== null, "crm mode only"),
  record_pengine_inputs: noEffect((v) => parseBool(v) !== null, "crm mode only"),
  enable_config_writes: noEffect((v) => parseBool(v) !== null, "crm mode only"),
};

export const KNOWN_DIRECTIVES = Object.keys(DIRECTIVES);

function defaults(source: string): HaConfig {
  return {
    source, nodes: [], keepaliveMs: DEFAULT_KEEPALIVE_MS, deadtimeMs: DEFAULT_DEADTIME_MS, warntimeMs: 0, initdeadMs: 0, deadpingMs: 0,
    maxRexmitDelayMs: DEFAULT_MAX_REXMIT_DELAY_MS, udpport: DEFAULT_UDPPORT, baud: DEFAULT_BAUD, media: [], pingNodes: [], autoFailback: "legacy",
    debug: 0, hbgenmethod: "file", msgfmt: "classic", uuidfrom: "file", respawn: [], env: {}, stonith: [], setAt: {},
  };
}

/** Heartbeat's initdead default depends on deadtime. */
export function defaultInitdead(deadtimeMs: number): number {
  if (deadtimeMs > 10000) return deadtimeMs;
  if (deadtimeMs < 6000) return 12000;
  return 2 * deadtimeMs;
}

/**
 * Parses ha.cf text. `node` is this machine's node name (uname -n unless
 * overridden), which must be in the node list. Never throws.
 */
export function parseHaCf(text: string, source: string, node: string): ParsedHaCf {
  const c: Ctx = { cfg: defaults(source), diag: [], source, line: 0, mediaSeen: false, serialCount: 0, envAt: new Map(), node, rest: "" };
  if (text.length > MAX_HACF_BYTES) {
    err(c, `file is larger than ${MAX_HACF_BYTES} bytes`);
    return { config: c.cfg, diagnostics: c.diag };
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    c.line = i + 1;
    let raw = lines[i]!;
    const hash = raw.indexOf("#");
    if (hash >= 0) raw = raw.slice(0, hash);
    // Heartbeat cuts the line at its first CR or LF.
    const cr = raw.search(/[\r\n]/);
    c.rest = (cr >= 0 ? raw.slice(0, cr) : raw).replace(/^[ \t\f\v]*\S+/, "");
    const words = raw.split(/[ \t\r\f\v]+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    const [first, ...values] = words;
    if (/[^\x20-\x7e\t\r\f\v]/.test(raw)) {
      err(c, "line contains control or non-ASCII characters");
      continue;
    }
    const name = first!.toLowerCase();
    if (name.includes("=")) {
      err(c, `'${first}': write directives as 'name value', without '='`);
      continue;
    }
    const d = DIRECTIVES[name];
    if (!d) {
      err(c, `unknown directive '${first}'`);
      continue;
    }
    if (d.arity === "one" && values.length !== 1) {
      // Heartbeat ignores a directive without a value; lubdub says so.
      if (values.length === 0) warn(c, `${name}: no value given; line ignored`);
      else err(c, `${name}: takes one value, got ${values.length} (${values.join(" ")})`);
      continue;
    }
    if (d.arity === "list" && values.length === 0) {
      err(c, `${name}: needs at least one value`);
      continue;
    }
    if (typeof d.arity === "number" && values.length !== d.arity) {
      err(c, `${name}: takes ${d.arity} values, got ${values.length}`);
      continue;
    }
    if (d.arity === "one" && c.cfg.setAt[name] !== undefined) {
      warn(c, `${name}: set again (first at line ${c.cfg.setAt[name]}); the last one counts`);
    }
    d.apply(c, values, name);
    if (c.cfg.setAt[name] === undefined || d.arity === "one") c.cfg.setAt[name] = c.line;
  }
  finish(c, node);
  return { config: c.cfg, diagnostics: c.diag };
}

/** Derived values, defaults that depend on other values, and cross-directive checks. */
function finish(c: Ctx, node: string): void {
  const cfg = c.cfg;
  const at = (name: string) => cfg.setAt[name] ?? 0;
  const at0 = (line: number, severity: "error" | "warning", message: string) => c.diag.push({ severity, source: c.source, line, message });

  if (cfg.warntimeMs === 0) cfg.warntimeMs = Math.floor(cfg.deadtimeMs / 2);
  if (cfg.initdeadMs === 0) cfg.initdeadMs = defaultInitdead(cfg.deadtimeMs);
  if (cfg.deadpingMs === 0) cfg.deadpingMs = cfg.deadtimeMs;
  for (const m of cfg.media) {
    if ((m.kind === "ucast" || m.kind === "bcast") && m.port === 0) m.port = cfg.udpport;
    if (m.kind === "serial") m.baud = cfg.baud;
  }

  if (cfg.deadtimeMs <= 2 * cfg.keepaliveMs) {
    at0(at("deadtime") || at("keepalive"), "error", `deadtime (${formatInterval(cfg.deadtimeMs)}) must be more than twice keepalive (${formatInterval(cfg.keepaliveMs)})`);
  }
  if (cfg.warntimeMs >= cfg.deadtimeMs) {
    at0(at("warntime"), "warning", `warntime (${formatInterval(cfg.warntimeMs)}) is not less than deadtime (${formatInterval(cfg.deadtimeMs)}): late heartbeats will never be reported before the node is declared dead`);
  } else if (cfg.warntimeMs <= cfg.keepaliveMs) {
    at0(at("warntime"), "warning", `warntime (${formatInterval(cfg.warntimeMs)}) is not more than keepalive (${formatInterval(cfg.keepaliveMs)}): every heartbeat will be reported late`);
  }
  if (cfg.initdeadMs < cfg.deadtimeMs) {
    at0(at("initdead") || at("deadtime"), "error", `initdead (${formatInterval(cfg.initdeadMs)}) is smaller than deadtime (${formatInterval(cfg.deadtimeMs)})`);
  } else if (cfg.initdeadMs < INITDEAD_ADVISED_MS) {
    at0(at("initdead") || at("deadtime"), "warning", `initdead (${formatInterval(cfg.initdeadMs)}) may be too small: it covers a slow network start and should be at least 10 s`);
  }
  if (cfg.setAt["deadping"] !== undefined && cfg.deadpingMs <= 2 * cfg.keepaliveMs) {
    at0(at("deadping"), "error", `deadping (${formatInterval(cfg.deadpingMs)}) must be more than twice keepalive (${formatInterval(cfg.keepaliveMs)})`);
  }
  if (cfg.setAt["auto_failback"] === undefined) {
    at0(0, "warning", "auto_failback not set: Heartbeat's default 'legacy' applies (no resource negotiation); set 'auto_failback on' or 'off'");
  }
  if (cfg.media.length === 0) at0(0, "error", "no heartbeat media defined (ucast, bcast, mcast or serial)");
  if (cfg.nodes.length === 0) at0(0, "error", "no nodes defined (add 'node' lines naming both cluster nodes)");
  else if (!cfg.nodes.some((n) => n.toLowerCase() === node.toLowerCase())) {
    at0(at("node"), "error", `this node '${node}' is not in the node list (${cfg.nodes.join(", ")}); nodes are named by 'uname -n' unless --node-name says otherwise`);
  }
  for (const p of cfg.pingNodes) {
    if (cfg.nodes.some((n) => n.toLowerCase() === p.name.toLowerCase())) at0(p.line, "error", `ping node '${p.name}' has the name of a cluster node`);
    for (const a of p.addresses) {
      if (cfg.media.some((m) => m.kind === "ucast" && m.peer === a)) at0(p.line, "warning", `ping node address ${a} is also a ucast peer: a cluster node makes a poor ping node (it tells nothing about the network)`);
    }
  }
  if (cfg.pingNodes.length > 0 && cfg.autoFailback === "legacy") {
    at0(cfg.pingNodes[0]!.line, "warning", "ping nodes with auto_failback legacy: they are watched, but a node that loses them keeps its groups (moving them needs auto_failback on or off)");
  }
  for (const d of cfg.stonith) {
    if (d.kind === "stonith_host" && d.host !== "*" && !cfg.nodes.some((n) => n.toLowerCase() === d.host.toLowerCase())) {
      at0(d.line, "warning", `stonith_host: '${d.host}' is not a cluster node; the line never applies`);
    }
  }
  if (cfg.nodes.length > 2) at0(at("node"), "warning", `${cfg.nodes.length} nodes listed; lubdub is built and tested for two-node clusters`);
  if (cfg.nodes.length === 1 && cfg.media.length > 0) at0(at("node"), "warning", "only one node listed: there is no peer to heartbeat with");
}
