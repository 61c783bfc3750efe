#!/usr/bin/env node
// lubdubd: reads /etc/ha.d, opens every medium, runs the membership core until
// SIGTERM or SIGINT. Exit codes: 0 after a clean stop, 64 bad arguments,
// 65 configuration errors (each printed as file:line), 70 internal error.

import { CommanderError } from "commander";
import { formatDiagnostic } from "@lubdub/protocol";
import { defaultNodeName, loadConfigDir } from "../config/load.js";
import { Agent } from "../agent/agent.js";
import { createLogger, logEvent } from "../agent/log.js";
import { logDestination } from "../agent/log-targets.js";
import { mediaFromConfig } from "./media-from-config.js";
import { heartbeatScriptEnv } from "../resources/script-env.js";
import { haresourcesDigest } from "../resources/haresources.js";
import { registerResourceClass } from "../resources/classes.js";
import { createIpaddrClass } from "../resources/class-ipaddr.js";
import { createIpaddr2Class } from "../resources/class-ipaddr2.js";
import { haresourcesActions } from "../agent/haresources-actions.js";
import { parseDaemonArgs, type DaemonOptions } from "./options.js";
import { realpathSync } from "node:fs";
import { SerialMedium } from "../media/serial.js";
import type { Medium } from "../media/medium.js";
import { createAgentFencing, fenceLogFrom } from "../fencing/setup.js";
import { LubdubDevice } from "../fencing/lubdub.js";
import { DeviceWatch } from "../agent/device-watch.js";
import { KernelWatchdog } from "../agent/kernel-watchdog.js";
import type { FencingReport } from "../control/status.js";
import { deviceWatchdogMs } from "../config/lubdub-cf.js";

/** A path with its symbolic links resolved (a tty's by-id name and its /dev name are one port); itself when it does not resolve. */
function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

const EXIT_USAGE = 64;
const EXIT_CONFIG = 65;
const EXIT_SOFTWARE = 70;
/** Releasing every group at SIGTERM may take this long before the agent exits anyway. */
const SHUTDOWN_LIMIT_MS = 180_000;

async function run(o: DaemonOptions): Promise<number> {
  const requested = o.nodeName ?? defaultNodeName();
  const loaded = loadConfigDir(o.configDir, requested);
  for (const d of loaded.diagnostics) process.stderr.write(`lubdubd: ${formatDiagnostic(d)}\n`);
  if (!loaded.ok || !loaded.config || !loaded.keys) {
    process.stderr.write(`lubdubd: configuration errors in ${o.configDir}; not started (lubdub check --config-dir ${o.configDir} explains)\n`);
    return EXIT_CONFIG;
  }
  const cfg = loaded.config;
  const hares = { groups: loaded.groups };
  // The node as ha.cf spells it: peers see this name in every message.
  const node = cfg.nodes.find((n) => n.toLowerCase() === requested.toLowerCase()) ?? requested;
  const targets = { stdout: o.stdoutLog, debug: cfg.debug > 0 } as Parameters<typeof logDestination>[0];
  if (cfg.logfile) targets.logfile = cfg.logfile;
  if (cfg.debugfile) targets.debugfile = cfg.debugfile;
  if (cfg.logfacility) targets.logfacility = cfg.logfacility;
  const dest = logDestination(targets);
  const log = createLogger(node, cfg.debug > 0 ? "debug" : "info", dest.stream);
  for (const d of loaded.diagnostics) logEvent(log, "warn", "config.warning", formatDiagnostic(d), { file: d.source, line: d.line });
  // The built-in IP classes, with lubdub.cf's arp lines over their gratuitous ARP defaults; the
  // packets after the first go out in the background, and those that fail are logged here.
  const onBackgroundError = (message: string) => logEvent(log, "warn", "rsc.garp-failed", message);
  for (const className of ["IPaddr", "IPaddr2"] as const) {
    const a = loaded.lubdub.arp.find((x) => x.className === className);
    const opts = {
      onBackgroundError,
      ...(a?.count !== undefined ? { arpCount: a.count } : {}),
      ...(a?.intervalMs !== undefined ? { arpIntervalMs: a.intervalMs } : {}),
      ...(a?.refreshAfterMs !== undefined ? { arpRefreshAfterMs: a.refreshAfterMs } : {}),
      ...(a?.refreshCount !== undefined ? { arpRefreshCount: a.refreshCount } : {}),
    };
    registerResourceClass(className === "IPaddr" ? createIpaddrClass(opts) : createIpaddr2Class(opts));
  }

  const media = mediaFromConfig(cfg, (m, e) => logEvent(log, "error", "medium.config-error", `${cfg.source}:${m.line}: ${e.message}`, { line: m.line }));

  // ha.cf watchdog: opened before anything starts, so a node that expects it never runs without it.
  let kernelWatchdog: KernelWatchdog | null = null;
  if (cfg.watchdog) {
    try {
      kernelWatchdog = KernelWatchdog.open(cfg.watchdog.device, cfg.keepaliveMs, (e) => logEvent(log, "error", "watchdog.error", e.message, { path: cfg.watchdog!.device }));
    } catch (e) {
      logEvent(log, "crit", "watchdog.open-failed", `${cfg.source}:${cfg.watchdog.line}: ${(e as Error).message}; not started`, { path: cfg.watchdog.device });
      process.stderr.write(`lubdubd: ${cfg.source}:${cfg.watchdog.line}: ${(e as Error).message}; not started\n`);
      await dest.close();
      return EXIT_CONFIG;
    }
    logEvent(log, "info", "watchdog.open", `kernel watchdog ${cfg.watchdog.device} open; fed as heartbeats go out`, { path: cfg.watchdog.device });
  }

  // Fencing (ha.cf stonith / stonith_host): the lubdub device on a tty that is
  // also a serial heartbeat medium is reached through that medium.
  const serialFor = (tty: string): SerialMedium | null => {
    const want = realPath(tty);
    return (media.find((m) => m instanceof SerialMedium && realPath(m.linkName) === want) as SerialMedium | undefined) ?? null;
  };
  const fencing = createAgentFencing({ loaded, node, log: fenceLogFrom(log), deviceLink: (tty) => serialFor(tty)?.deviceLink() ?? null });
  let lastFence: FencingReport["last"] = null;
  const fenceHook = async (peer: string) => {
    const r = await fencing.hook(peer);
    lastFence = { node: peer, result: r, at: new Date().toISOString() };
    return r;
  };
  const deviceTty = loaded.stonith?.typeName === "lubdub" ? loaded.stonith.params["ttydev"] ?? null : null;
  const deviceMedium = deviceTty ? serialFor(deviceTty) : null;
  let deviceWatch: DeviceWatch | null = null;
  if (deviceTty && fencing.device instanceof LubdubDevice) {
    const dev = fencing.device;
    const watchdogMs = deviceWatchdogMs(loaded.lubdub.deviceWatchdog, cfg.deadtimeMs);
    deviceWatch = new DeviceWatch({ node, tty: deviceTty, via: deviceMedium ? "heartbeat medium" : "own tty", connect: () => dev.connect(), watchdogMs, log });
  }
  if (fencing.device) logEvent(log, "info", "fence.configured", `fencing through ${fencing.device.describe} (${fencing.policy.action})`, { type: fencing.device.type });

  const agent = new Agent({
    node, nodes: cfg.nodes, keepaliveMs: cfg.keepaliveMs, deadtimeMs: cfg.deadtimeMs, warntimeMs: cfg.warntimeMs, initdeadMs: cfg.initdeadMs,
    maxRexmitDelayMs: cfg.maxRexmitDelayMs, keys: loaded.keys, media, stateDir: o.stateDir, runDir: o.runDir, log,
    resources: {
      groups: hares.groups.map((g) => ({ key: g.key, owner: cfg.nodes.find((n) => n.toLowerCase() === g.owner.toLowerCase()) ?? g.owner })),
      mode: cfg.autoFailback,
      fence: fenceHook,
      actions: haresourcesActions(hares.groups, {
        env: heartbeatScriptEnv({ configDir: o.configDir, nodeName: node, logfacility: cfg.logfacility ?? null, logfile: cfg.logfile ?? null, debugfile: cfg.debugfile ?? null, debug: cfg.debug }),
      }),
      shutdownLimitMs: SHUTDOWN_LIMIT_MS,
      lubdub: loaded.lubdub,
    },
    ping: { nodes: cfg.pingNodes.map((n) => ({ name: n.name, addresses: n.addresses })), deadpingMs: cfg.deadpingMs },
    respawn: { clients: cfg.respawn, env: cfg.env },
    haresourcesDigest: { digest: haresourcesDigest(loaded.groups), groups: loaded.groups.length },
    controlExtra: fencing.controlHandler,
    ...(fencing.device
      ? {
          fencingReport: (): FencingReport => ({
            type: fencing.device!.type, describe: fencing.device!.describe, action: fencing.policy.action,
            inProgress: fencing.hook.active(),
            manualWaiting: fencing.manual.waiting().map((w) => ({ node: w.node, since: new Date(w.since).toISOString() })),
            last: lastFence,
          }),
        }
      : {}),
    ...(deviceWatch ? { deviceReport: () => deviceWatch.report(), beforeMediaClose: () => deviceWatch.stop() } : {}),
    ...(deviceMedium ? { mediumNote: (m: Medium) => (m === deviceMedium ? "through the lubdub device" : undefined) } : {}),
    ...(kernelWatchdog ? { onSend: () => kernelWatchdog.feed(performance.now()), kernelWatchdogReport: () => ({ path: kernelWatchdog.path, open: kernelWatchdog.open, writes: kernelWatchdog.writes }) } : {}),
  });
  logEvent(log, "info", "node.starting", `lubdubd starting as ${node} (${media.length} media, keepalive ${cfg.keepaliveMs} ms, deadtime ${cfg.deadtimeMs} ms)`, { configDir: o.configDir });
  try {
    await agent.start();
  } catch (e) {
    logEvent(log, "crit", "node.start-failed", `cannot start: ${(e as Error).message}`);
    process.stderr.write(`lubdubd: cannot start: ${(e as Error).message}\n`);
    await agent.stop().catch(() => undefined);
    await fencing.hook.close().catch(() => undefined);
    kernelWatchdog?.closeClean();
    await dest.close();
    return EXIT_SOFTWARE;
  }

  deviceWatch?.start();

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logEvent(log, "info", "node.stopping", `${signal} received; stopping`);
      agent
        .stop()
        .then(() => fencing.hook.close())
        .then(() => {
          // A clean stop: the magic close, so the kernel does not reboot this host.
          kernelWatchdog?.closeClean();
          if (kernelWatchdog) logEvent(log, "info", "watchdog.closed", `kernel watchdog ${kernelWatchdog.path} closed cleanly`, { path: kernelWatchdog.path });
        })
        .then(() => dest.close())
        .then(() => done(0), () => done(EXIT_SOFTWARE));
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGHUP", () => logEvent(log, "warn", "config.reload-unsupported", "SIGHUP: reloading ha.cf is not supported yet; restart lubdubd to apply changes"));
    process.on("uncaughtException", (e) => {
      logEvent(log, "crit", "agent.internal-error", `internal error: ${e.stack ?? e.message}`);
      void dest.close().finally(() => process.exit(EXIT_SOFTWARE));
    });
  });
}

async function main(): Promise<void> {
  let o: DaemonOptions;
  try {
    o = parseDaemonArgs(process.argv.slice(2));
  } catch (e) {
    process.exitCode = e instanceof CommanderError && e.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  try {
    process.exitCode = await run(o);
    // Everything is closed by now; do not let a stray handle keep a stopped agent alive.
    setTimeout(() => process.exit(), 1000).unref();
  } catch (e) {
    process.stderr.write(`lubdubd: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT_SOFTWARE;
  }
}

void main();
