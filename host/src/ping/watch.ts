// ping-watch: runs the ping nodes of a ha.cf on this machine, as lubdubd
// would, and prints what happens as JSON lines on stdout (one object per
// line: "ready", "ping-status", "event", "problem", "stopped"). Answers
// "do my ping lines work from here?" without starting a cluster; the netns
// tests drive it inside a namespace.
//
//   node host/dist/ping/watch.js HA_CF [NODE_NAME]
//
// NODE_NAME defaults to uname -n (ha.cf must list it, as for lubdubd).
// Runs until SIGTERM or SIGINT; exit 0 then, 2 when ha.cf has errors or no
// ping nodes.

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import { MAX_HACF_BYTES, parseHaCf } from "../config/hacf.js";
import { PingCore, type PingEffect } from "./ping-core.js";
import { Pinger } from "./pinger.js";

/** The timer never sleeps longer than this, so a late wakeup cannot delay a death by much. */
const MAX_SLEEP_MS = 1000;

function out(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + "\n");
}

function main(argv: string[]): void {
  const [path, nodeName] = argv;
  if (!path) {
    process.stderr.write("usage: watch.js HA_CF [NODE_NAME]\n");
    process.exit(2);
  }
  let text: string;
  try {
    text = readFileSync(path, "latin1");
    if (text.length > MAX_HACF_BYTES) throw new Error(`larger than ${MAX_HACF_BYTES} bytes`);
  } catch (e) {
    process.stderr.write(`${path}: cannot read: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const { config, diagnostics } = parseHaCf(text, path, nodeName ?? hostname());
  for (const d of diagnostics) process.stderr.write(`${d.source}:${d.line}: ${d.severity}: ${d.message}\n`);
  if (diagnostics.some((d) => d.severity === "error")) process.exit(2);
  if (config.pingNodes.length === 0) {
    process.stderr.write(`${path}: no ping or ping_group lines\n`);
    process.exit(2);
  }

  const t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const core = new PingCore({ nodes: config.pingNodes, deadpingMs: config.deadpingMs });
  let timer: NodeJS.Timeout | null = null;
  const apply = (effects: PingEffect[]) => {
    for (const e of effects) {
      if (e.kind === "ping-status") out({ t: now(), kind: "ping-status", node: e.node, status: e.status, previous: e.previous, reachable: core.reachable() });
      else out({ t: now(), kind: "event", level: e.level, event: e.event, msg: e.msg, fields: e.fields });
    }
    schedule();
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    const wait = Math.min(MAX_SLEEP_MS, Math.max(0, core.nextWakeup() - now()));
    timer = setTimeout(() => apply(core.tick(now())), wait);
  };
  const pinger = new Pinger({
    addresses: core.addresses(),
    intervalMs: config.keepaliveMs,
    now,
    onReply: (address, at) => apply(core.reply(at, address)),
    onProblem: (address, detail) => out({ t: now(), kind: "problem", address, detail }),
  });
  apply(core.start(now()));
  pinger.start();
  out({ t: now(), kind: "ready", pid: process.pid, intervalMs: pinger.intervalMs, deadpingMs: config.deadpingMs, nodes: config.pingNodes.map((p) => ({ name: p.name, addresses: p.addresses })) });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    void pinger.stop().then(() => {
      out({ t: now(), kind: "stopped", pings: pinger.stats() });
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main(process.argv.slice(2));
