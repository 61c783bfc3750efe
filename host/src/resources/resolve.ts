// What a haresources resource word names, in the order lubdub looks:
//
//   1. a built-in: IPaddr, IPaddr2 (and the IP shorthand, which is IPaddr);
//   2. a Heartbeat resource script: <config dir>/resource.d/NAME;
//   3. an init script: /etc/init.d/NAME (LSB);
//   4. ocf:PROVIDER:AGENT::name=value::…: an OCF agent under OCF_ROOT.
//
// 2 and 3 are ResourceManager's own search (HA_RESOURCEDIR, then INITDIR, a
// file that is executable). `NAME::ARG::ARG` passes positional arguments, as
// ResourceManager splits them. The directories are parameters so tests can
// point them at temporary ones.

import { createHash } from "node:crypto";
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CONFIG_DIR } from "../config/load.js";
import { looksLikeIp, parseIpArgument } from "./ip-argument.js";
import type { ResourceSpec } from "./resource-class.js";

export const DEFAULT_INIT_DIR = "/etc/init.d";
export const DEFAULT_OCF_ROOT = "/usr/lib/ocf";
/** Resources lubdub implements itself, whatever resource.d holds. */
export const BUILTIN_RESOURCES: readonly string[] = ["IPaddr", "IPaddr2"];
/** OCF parameter names become environment variables (OCF_RESKEY_name). */
const OCF_PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Script, provider and agent names: one path component, printable. */
const NAME = /^[A-Za-z0-9_.+@%,-]+$/;

export interface ResourceDirs {
  /** Heartbeat's configuration directory; default /etc/ha.d. */
  configDir?: string;
  /** Heartbeat resource scripts; default <configDir>/resource.d. */
  resourceDir?: string;
  /** Init scripts; default /etc/init.d. */
  initDir?: string;
  /** OCF_ROOT; default /usr/lib/ocf. */
  ocfRoot?: string;
  /** Whether a path is an executable regular file; injectable for tests. */
  isExecutable?: (path: string) => boolean;
}

export interface ResolvedDirs {
  configDir: string;
  resourceDir: string;
  initDir: string;
  ocfRoot: string;
  isExecutable: (path: string) => boolean;
}

/** ResourceManager's test: `[ -f $dir/$script -a -x $dir/$script ]`. */
export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveDirs(d: ResourceDirs = {}): ResolvedDirs {
  const configDir = d.configDir ?? DEFAULT_CONFIG_DIR;
  return {
    configDir,
    resourceDir: d.resourceDir ?? join(configDir, "resource.d"),
    initDir: d.initDir ?? DEFAULT_INIT_DIR,
    ocfRoot: d.ocfRoot ?? DEFAULT_OCF_ROOT,
    isExecutable: d.isExecutable ?? isExecutableFile,
  };
}

export type Resolution = { spec: ResourceSpec } | { error: string };

function ocfInstance(agent: string, params: Record<string, string>): string {
  const keys = Object.keys(params).sort();
  if (keys.length === 0) return agent;
  const h = createHash("sha1");
  for (const k of keys) h.update(`${k}=${params[k]}\n`);
  return `${agent}_${h.digest("hex").slice(0, 8)}`;
}

function resolveOcf(word: string, dirs: ResolvedDirs): Resolution {
  const sep = word.indexOf("::");
  const head = sep >= 0 ? word.slice(0, sep) : word;
  const parts = head.split(":");
  if (parts.length !== 3 || !parts[1] || !parts[2]) {
    return { error: `'${word}': an OCF resource is written ocf:PROVIDER:AGENT[::name=value…] (provider or agent missing)` };
  }
  const provider = parts[1];
  const agent = parts[2];
  if (!NAME.test(provider)) return { error: `'${word}': '${provider}' is not an OCF provider name` };
  if (!NAME.test(agent)) return { error: `'${word}': '${agent}' is not an OCF agent name` };
  const params: Record<string, string> = {};
  if (sep >= 0) {
    for (const p of word.slice(sep + 2).split("::")) {
      const eq = p.indexOf("=");
      const name = eq >= 0 ? p.slice(0, eq) : "";
      if (eq < 0 || !OCF_PARAM_NAME.test(name)) {
        return { error: `'${word}': OCF parameter '${p}' is not name=value (name: letters, digits and _, not starting with a digit)` };
      }
      if (name in params) return { error: `'${word}': OCF parameter '${name}' given twice` };
      params[name] = p.slice(eq + 1);
    }
  }
  const path = join(dirs.ocfRoot, "resource.d", provider, agent);
  if (!dirs.isExecutable(path)) return { error: `'${word}': no OCF agent ${path} (or it is not executable)` };
  return { spec: { raw: word, className: "ocf", name: agent, args: [], params, path, provider, instance: ocfInstance(agent, params) } };
}

function ipResource(raw: string, className: string, args: string[], shorthand: boolean): Resolution {
  if (args.length !== 1) {
    return { error: `'${raw}': ${className} takes one argument, ip[/netmask[/interface][/broadcast]] (got ${args.length})` };
  }
  const p = parseIpArgument(args[0]!);
  if ("error" in p) return { error: shorthand ? `bad IP shorthand: ${p.error}` : `'${raw}': ${p.error}` };
  return { spec: { raw, className, name: className, args, params: {}, path: null } };
}

/** Resolves one resource word of a haresources line. Never throws. */
export function resolveResource(word: string, d: ResourceDirs = {}): Resolution {
  const dirs = resolveDirs(d);
  if (word.length === 0) return { error: "empty resource name" };
  // canonname: a resource spelled like an IP address is IPaddr::that.
  if (looksLikeIp(word)) return ipResource(word, "IPaddr", [word], true);
  if (word.startsWith("ocf:")) return resolveOcf(word, dirs);
  const [name, ...args] = word.split("::");
  if (!name) return { error: `'${word}': no resource name before '::'` };
  if (name.includes(":")) return { error: `'${word}': '${name}' is not a resource name (':' separates arguments only as '::'; OCF agents are ocf:PROVIDER:AGENT)` };
  if (!NAME.test(name)) return { error: `'${word}': '${name}' is not a resource name` };
  const empty = args.findIndex((a) => a.length === 0);
  if (empty >= 0) return { error: `'${word}': argument ${empty + 1} is empty` };
  if (BUILTIN_RESOURCES.includes(name)) return ipResource(word, name, args, false);
  const script = join(dirs.resourceDir, name);
  if (dirs.isExecutable(script)) return { spec: { raw: word, className: "heartbeat", name, args, params: {}, path: script } };
  const init = join(dirs.initDir, name);
  if (dirs.isExecutable(init)) return { spec: { raw: word, className: "lsb", name, args, params: {}, path: init } };
  return {
    error: `'${name}' resolves to nothing: not a built-in (${BUILTIN_RESOURCES.join(", ")}), no executable ${script} or ${init}, not ocf:PROVIDER:AGENT`,
  };
}
