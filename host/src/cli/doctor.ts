// lubdub doctor: checks a host for what lubdub needs, one line per check
// (ok / warn / FAIL) with a fix for anything that is not ok. Exit 1 when a
// check failed, 0 otherwise (warnings allowed).
//
//   lubdub doctor [--config-dir /etc/ha.d] [--node-name NAME] [--run-dir /run/lubdub]
//                 [--peer-haresources FILE] [--json]
//
// Checks: the configuration loads (as lubdub check); authkeys mode 0600;
// every serial tty, the device's tty and the watchdog device exist and can be
// opened read-write; a kernel watchdog (softdog) is there; arping and ip for
// IP takeover; the UDP heartbeat ports are free (or held by the running
// agent); haresources is the same on both nodes (through the running agents,
// or against the peer's file given with --peer-haresources); socat and lua5.1
// for the device tools; the Node version.
//
// The checks take their view of the host through DoctorEnv, so the tests can
// give them a made-up one.

import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import type { Command } from "commander";
import { DEFAULT_CONFIG_DIR, defaultNodeName, loadConfigDir, type LoadedConfig } from "../config/load.js";
import { compareHaresources, parseHaresources } from "../resources/haresources.js";
import { controlSocketPath, requestControl } from "../control/socket.js";
import type { AgentStatus } from "../control/status.js";
import { DEFAULT_RUN_DIR } from "../daemon/options.js";
import { EXIT_USAGE } from "./exit-codes.js";

export type Verdict = "ok" | "warn" | "fail";

export interface CheckResult {
  check: string;
  verdict: Verdict;
  detail: string;
  /** What to do about it (for warn and fail). */
  fix?: string;
}

/** Exit code when at least one check failed. */
export const EXIT_DOCTOR_FAILED = 1;

export interface DoctorEnv {
  /** Is this command on PATH (and runnable)? */
  have(cmd: string): boolean;
  /** Does this shell snippet succeed (lua modules)? */
  succeeds(cmd: string, args: string[]): boolean;
  /** Can this path be opened read-write by this process? null when yes, else why not. */
  openable(path: string): string | null;
  exists(path: string): boolean;
  /** File mode bits, or null when the file cannot be stat'ed. */
  mode(path: string): number | null;
  isRoot: boolean;
  nodeMajor: number;
  /** Is this UDP port free on 0.0.0.0? */
  udpFree(port: number): Promise<boolean>;
  /** The running agent's status, or null when none answers. */
  agentStatus(runDir: string): Promise<AgentStatus | null>;
  readFile(path: string): string | null;
}

export const realEnv: DoctorEnv = {
  have(cmd) {
    const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore", timeout: 5000 });
    return r.status === 0;
  },
  succeeds(cmd, args) {
    const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 5000 });
    return r.error === undefined && r.status === 0;
  },
  openable(path) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
      return null;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === "ENOENT" ? "does not exist" : code === "EACCES" ? "permission denied" : (e as Error).message;
    }
  },
  exists: (p) => existsSync(p),
  mode(path) {
    try {
      return statSync(path).mode & 0o7777;
    } catch {
      return null;
    }
  },
  isRoot: typeof process.getuid === "function" && process.getuid() === 0,
  nodeMajor: Number(process.versions.node.split(".")[0]),
  udpFree(port) {
    return new Promise((resolve) => {
      const s = createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind({ port, address: "0.0.0.0", exclusive: true }, () => s.close(() => resolve(true)));
    });
  },
  async agentStatus(runDir) {
    try {
      const r = await requestControl(controlSocketPath(runDir), { cmd: "status" }, 2000);
      return r.ok ? r.status : null;
    } catch {
      return null;
    }
  },
  readFile(path) {
    try {
      return readFileSync(path, "latin1");
    } catch {
      return null;
    }
  },
};

export interface DoctorOptions {
  configDir: string;
  nodeName: string;
  runDir: string;
  peerHaresources?: string;
}

const ok = (check: string, detail: string): CheckResult => ({ check, verdict: "ok", detail });
const warn = (check: string, detail: string, fix: string): CheckResult => ({ check, verdict: "warn", detail, fix });
const fail = (check: string, detail: string, fix: string): CheckResult => ({ check, verdict: "fail", detail, fix });

function ttyFix(path: string, env: DoctorEnv): string {
  return env.isRoot ? `check that ${path} is the right port (dmesg | grep tty)` : `lubdubd runs as root; or add this user to the tty's group (ls -l ${path}; usermod -aG dialout USER)`;
}

export async function runDoctor(o: DoctorOptions, env: DoctorEnv = realEnv): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  out.push(env.nodeMajor >= 20 ? ok("node", `Node ${env.nodeMajor}`) : fail("node", `Node ${env.nodeMajor}`, "install Node 20 or later (https://nodejs.org, or Debian's nodejs from bookworm-backports)"));

  // The configuration, as lubdubd would load it.
  let loaded: LoadedConfig | null = null;
  if (!env.exists(o.configDir)) {
    out.push(fail("config", `${o.configDir} does not exist`, `create ${o.configDir} with ha.cf, authkeys and haresources (see docs/configuration.md)`));
  } else {
    loaded = loadConfigDir(o.configDir, o.nodeName);
    const errors = loaded.diagnostics.filter((d) => d.severity === "error");
    const warnings = loaded.diagnostics.filter((d) => d.severity === "warning");
    if (errors.length > 0) out.push(fail("config", `${errors.length} error(s), first: ${errors[0]!.source}:${errors[0]!.line}: ${errors[0]!.message}`, `lubdub check --config-dir ${o.configDir} --node-name ${o.nodeName} lists them`));
    else if (warnings.length > 0) out.push(warn("config", `loads as node ${o.nodeName}, ${warnings.length} warning(s)`, `lubdub check --config-dir ${o.configDir} lists them`));
    else out.push(ok("config", `loads as node ${o.nodeName}`));
  }

  // authkeys: Heartbeat and lubdubd refuse it unless only its owner can read it.
  const authkeys = `${o.configDir}/authkeys`;
  const mode = env.mode(authkeys);
  if (mode === null) out.push(fail("authkeys", `${authkeys} cannot be read`, `create it: printf 'auth 1\\n1 sha1 %s\\n' "$(openssl rand -hex 20)" > ${authkeys}; chmod 600 ${authkeys}`));
  else if ((mode & 0o077) !== 0) out.push(fail("authkeys", `mode ${mode.toString(8).padStart(4, "0")}: readable by others`, `chmod 600 ${authkeys}`));
  else out.push(ok("authkeys", `mode ${mode.toString(8).padStart(4, "0")}`));

  const cfg = loaded?.config ?? null;
  const agent = await env.agentStatus(o.runDir);

  // ttys: serial media, the device's tty, the watchdog.
  const ttys = new Map<string, string>();
  for (const m of cfg?.media ?? []) if (m.kind === "serial") ttys.set(m.device, "serial medium");
  const dev = loaded?.stonith?.typeName === "lubdub" ? loaded.stonith.params.ttydev : undefined;
  if (dev) ttys.set(dev, ttys.has(dev) ? "serial medium and the lubdub device" : "the lubdub device");
  if (ttys.size === 0) out.push(ok("ttys", "no serial line configured"));
  for (const [path, what] of ttys) {
    const why = env.openable(path);
    if (why === null) out.push(ok("tty", `${path} (${what}) can be opened read-write`));
    else out.push(fail("tty", `${path} (${what}): ${why}`, why === "does not exist" ? `plug the cable or fix the path in ha.cf (ls /dev/ttyS* /dev/ttyUSB*)` : ttyFix(path, env)));
  }

  // Kernel watchdog.
  if (cfg?.watchdog) {
    const w = cfg.watchdog.device;
    const why = env.openable(w);
    if (why === null) out.push(ok("watchdog", `${w} can be opened`));
    else out.push(fail("watchdog", `${w}: ${why}`, why === "does not exist" ? "modprobe softdog (and echo softdog > /etc/modules-load.d/softdog.conf)" : "lubdubd must run as root to feed the watchdog"));
  } else if (env.exists("/dev/watchdog") || env.exists("/sys/module/softdog")) {
    out.push(warn("watchdog", "a kernel watchdog is there but ha.cf has no watchdog line", "add 'watchdog /dev/watchdog' to ha.cf so a hung host reboots"));
  } else {
    out.push(warn("watchdog", "no kernel watchdog (/dev/watchdog)", "modprobe softdog, then add 'watchdog /dev/watchdog' to ha.cf"));
  }

  // IP takeover tools.
  const ipResources = (loaded?.groups ?? []).some((g) => g.resources.some((r) => r.className === "IPaddr" || r.className === "IPaddr2"));
  if (env.have("arping")) out.push(ok("arping", "found"));
  else if (ipResources) out.push(fail("arping", "not found, and haresources takes over IP addresses (gratuitous ARP)", "apt-get install arping (or iputils-arping)"));
  else out.push(warn("arping", "not found (needed once haresources has an IP address)", "apt-get install arping"));
  if (env.have("ip")) out.push(ok("ip", "iproute2 found"));
  else out.push(ipResources ? fail("ip", "not found, and haresources takes over IP addresses", "apt-get install iproute2") : warn("ip", "not found", "apt-get install iproute2"));

  // UDP ports.
  const ports = new Set<number>();
  for (const m of cfg?.media ?? []) if (m.kind !== "serial") ports.add(m.port);
  for (const p of ports) {
    if (agent) out.push(ok("port", `udp ${p}: the running lubdubd (pid ${agent.pid}) has it`));
    else if (await env.udpFree(p)) out.push(p < 1024 && !env.isRoot ? warn("port", `udp ${p} is free but below 1024`, "lubdubd binds it as root") : ok("port", `udp ${p} is free`));
    else out.push(fail("port", `udp ${p} is taken by another process and no lubdubd answers on ${o.runDir}`, `ss -ulpn 'sport = :${p}' shows who; stop Heartbeat (systemctl stop heartbeat) or change udpport`));
  }

  // haresources on both nodes.
  if (o.peerHaresources) {
    const text = env.readFile(o.peerHaresources);
    if (text === null) out.push(fail("haresources", `cannot read ${o.peerHaresources}`, "copy the peer's /etc/ha.d/haresources here (scp peer:/etc/ha.d/haresources /tmp/peer-haresources)"));
    else if (!loaded) out.push(fail("haresources", "this node's configuration did not load", "fix the config check first"));
    else {
      const peer = parseHaresources(text, o.peerHaresources, { configDir: o.configDir });
      const diffs = compareHaresources(loaded.groups, peer.groups, "this node", "the peer");
      if (peer.diagnostics.some((d) => d.severity === "error")) out.push(fail("haresources", `${o.peerHaresources} has errors`, `lubdub check on the peer`));
      else if (diffs.length > 0) out.push(fail("haresources", diffs.map((d) => d.message).join("; "), "make both nodes' haresources the same file (copy one over the other)"));
      else out.push(ok("haresources", `same as ${o.peerHaresources} (${loaded.groups.length} group(s))`));
    }
  } else if (agent) {
    const w = (agent.warnings ?? []).find((x) => /haresources/.test(x));
    if (w) out.push(fail("haresources", `the running lubdubd says: ${w}`, "make both nodes' haresources the same file and restart one agent"));
    else if (agent.membership.peers.some((p) => p.status === "active" || p.status === "up")) out.push(ok("haresources", "the running agents found no difference"));
    else out.push(warn("haresources", "not compared: the peer is not up", "run again with both agents up, or with --peer-haresources FILE"));
  } else {
    out.push(warn("haresources", "not compared: no agent running and no --peer-haresources", "copy the peer's file here and pass --peer-haresources FILE"));
  }

  // Device tools (the simulator, the Lua gateway, the tests).
  out.push(env.have("socat") ? ok("socat", "found (device simulator and tests)") : warn("socat", "not found (needed by the device simulator's cables, npm run demo and the tests)", "apt-get install socat"));
  if (!env.have("lua5.1")) out.push(warn("lua5.1", "not found (needed to run the device's Linux gateway build)", "apt-get install lua5.1 lua-posix lua-bitop"));
  else if (!env.succeeds("lua5.1", ["-e", 'require "posix"; require "bit"'])) out.push(warn("lua5.1", "found, but luaposix or bitop is missing", "apt-get install lua-posix lua-bitop"));
  else out.push(ok("lua5.1", "found with luaposix and bitop"));
  return out;
}

export function formatResults(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const tag = r.verdict === "ok" ? "ok  " : r.verdict === "warn" ? "warn" : "FAIL";
    lines.push(`${tag}  ${r.check.padEnd(11)} ${r.detail}`);
    if (r.fix && r.verdict !== "ok") lines.push(`      ${"".padEnd(11)} fix: ${r.fix}`);
  }
  const failed = results.filter((r) => r.verdict === "fail").length;
  const warned = results.filter((r) => r.verdict === "warn").length;
  lines.push(`${failed} failed, ${warned} warning(s), ${results.length - failed - warned} ok`);
  return lines.join("\n") + "\n";
}

export function registerDoctor(program: Command, env: DoctorEnv = realEnv): void {
  program
    .command("doctor")
    .description("check this host for what lubdub needs (ttys, softdog, arping, ports, authkeys, haresources on both nodes)")
    .option("--config-dir <dir>", "configuration directory", DEFAULT_CONFIG_DIR)
    .option("--node-name <name>", "this node's name (default: uname -n)")
    .option("--run-dir <dir>", "where lubdubd's control socket is", DEFAULT_RUN_DIR)
    .option("--peer-haresources <file>", "the peer's haresources, to compare with this node's")
    .option("--json", "print the checks as JSON")
    .action(async (opts: { configDir: string; nodeName?: string; runDir: string; peerHaresources?: string; json?: boolean }) => {
      if (!opts.configDir) {
        process.exitCode = EXIT_USAGE;
        return;
      }
      const o: DoctorOptions = { configDir: opts.configDir, nodeName: opts.nodeName ?? defaultNodeName(), runDir: opts.runDir };
      if (opts.peerHaresources !== undefined) o.peerHaresources = opts.peerHaresources;
      const results = await runDoctor(o, env);
      process.stdout.write(opts.json ? JSON.stringify(results) + "\n" : formatResults(results));
      process.exitCode = results.some((r) => r.verdict === "fail") ? EXIT_DOCTOR_FAILED : 0;
    });
}
