// lubdub status [--json] and lubdub cl-status SUBCOMMAND [ARGS]: ask the
// running agent over its control socket.

import type { Command } from "commander";
import { requestControl, controlSocketPath } from "../../control/socket.js";
import type { AgentStatus } from "../../control/status.js";
import { CL_STATUS_SUBCOMMANDS, clStatus } from "../../control/cl-status.js";

export const DEFAULT_RUN_DIR = "/run/lubdub";

async function fetchStatus(runDir: string): Promise<{ status: AgentStatus | null; error: string | null }> {
  const path = controlSocketPath(runDir);
  try {
    const r = await requestControl(path, { cmd: "status" });
    return r.ok ? { status: r.status, error: null } : { status: null, error: r.error };
  } catch (e) {
    return { status: null, error: `cannot reach lubdubd at ${path}: ${(e as Error).message}` };
  }
}

function ago(ms: number | null, uptime: number): string {
  return ms === null ? "never" : `${((uptime - ms) / 1000).toFixed(1)} s ago`;
}

/** The device's "target action by ageMs reason" as a sentence. */
function describeLastFence(v: string): string {
  const [target = "?", action = "?", by = "-", age = "", ...reason] = v.split(" ");
  const secs = /^\d+$/.test(age) ? `${(Number(age) / 1000).toFixed(0)} s ago` : "";
  return `${action} ${target}, asked by ${by}${secs ? ` ${secs}` : ""}${reason.length ? `: ${reason.join(" ")}` : ""}`;
}

export function formatStatus(s: AgentStatus): string {
  const m = s.membership;
  const lines = [
    `lubdubd ${s.version} on ${m.node}: ${m.status}, generation ${m.generation}, up ${(s.uptimeMs / 1000).toFixed(0)} s (keepalive ${s.keepaliveMs} ms, deadtime ${s.deadtimeMs} ms)`,
    "",
    "Nodes:",
  ];
  for (const p of m.peers) {
    lines.push(`  ${p.name.padEnd(16)} ${p.status.padEnd(7)} last status ${ago(p.lastStatusAt, s.uptimeMs)}, deadtime ${p.dt} ms${p.missing ? `, ${p.missing} missing` : ""}`);
    for (const l of p.links) lines.push(`    link ${l.link.padEnd(20)} ${l.up ? "up" : "dead"}${l.lastAt !== null ? ` (heard ${ago(l.lastAt, s.uptimeMs)})` : ""}`);
  }
  if (s.resources) {
    const r = s.resources;
    lines.push("", `Resource groups (auto_failback ${r.mode}; negotiation ${r.phase}${r.standby ? `; standby ${r.standby.set} in progress as ${r.standby.role === "R" ? "giver" : "taker"}` : ""}):`);
    for (const g of r.groups) {
      const where = g.transition ? `${g.transition} here` : g.holder ? `held by ${g.holder}` : "not running";
      lines.push(`  ${g.key.padEnd(24)} owner ${g.owner.padEnd(12)} ${where.padEnd(22)} since ${r.sinceWall[g.key] ?? "?"}`);
    }
  }
  for (const w of s.warnings ?? []) lines.push("", `WARNING: ${w}`);
  lines.push("", "Media:");
  for (const md of s.media) {
    lines.push(`  ${md.kind.padEnd(6)} ${md.link.padEnd(20)} sent ${md.sent}, received ${md.received}, send errors ${md.sendErrors}, dropped ${md.droppedFrames} frames / ${md.droppedBytes} bytes${md.note ? ` (${md.note})` : ""}`);
  }
  if (s.fencing) {
    const f = s.fencing;
    lines.push("", `Fencing: ${f.describe} (${f.type}, ${f.action})`);
    if (f.inProgress.length === 0 && f.manualWaiting.length === 0) lines.push("  nothing in progress");
    for (const r of f.inProgress) lines.push(`  fencing ${r.node}: ${r.phase}, attempt ${r.attempt}${r.lastError ? ` (last error: ${r.lastError})` : ""}`);
    for (const w of f.manualWaiting) lines.push(`  waiting since ${w.since} for an operator: lubdub fence-confirm ${w.node}`);
    if (f.last) lines.push(`  last: ${f.last.node} ${f.last.result} at ${f.last.at}`);
  }
  if (s.device) {
    const d = s.device;
    lines.push("", `Device on ${d.tty} (${d.via}): ${d.reachable ? `answering, last ${d.lastAnswer}` : `not answering${d.error ? `: ${d.error}` : ""}`}`);
    const st = d.status;
    if (st) {
      lines.push(`  boot ${st.boot ?? "?"}${st.ok ? "" : `, NOT USABLE: ${st.error ?? "not configured"}`}`);
      lines.push(`  outlets: ${st.outlets.map((o) => `${o.n} ${o.name} ${o.state}`).join(", ") || "none"}`);
      for (const w of st.watchdogs) lines.push(`  watchdog port ${w.port} (${w.host}): ${w.state}${w.state !== "off" ? `, ${w.timeoutMs} ms` : ""}, ${w.cycles} cycles this hour`);
      lines.push(`  last fence: ${st.lastFence ? describeLastFence(st.lastFence) : "none"}`);
    }
    lines.push(`  this host's watchdog: ${d.watchdog.wantedMs === null ? "not armed (device_watchdog off)" : d.watchdog.armed ? `armed, ${d.watchdog.wantedMs} ms` : `not armed yet (${d.watchdog.wantedMs} ms wanted)`}`);
    for (const e of d.events.slice(-3)) lines.push(`  event ${e.at}: ${e.event} ${e.host ?? ""}${e.by ? ` by ${e.by}` : ""}${e.reason ? `: ${e.reason}` : ""}`);
  }
  if (s.kernelWatchdog) lines.push("", `Kernel watchdog ${s.kernelWatchdog.path}: ${s.kernelWatchdog.open ? "open" : "closed"}, ${s.kernelWatchdog.writes} writes`);
  const bad = Object.entries(m.counters).filter(([k]) => k.startsWith("msg."));
  if (bad.length) lines.push("", `Refused input: ${bad.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  return lines.join("\n") + "\n";
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show what the local lubdubd knows: nodes, links, media")
    .option("--run-dir <dir>", "where lubdubd's control socket is", DEFAULT_RUN_DIR)
    .option("--json", "print the full status as JSON")
    .action(async (opts: { runDir: string; json?: boolean }) => {
      const { status, error } = await fetchStatus(opts.runDir);
      if (!status) {
        console.error(`lubdub status: ${error}`);
        process.exitCode = 3; // LSB: not running
        return;
      }
      process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + "\n" : formatStatus(status));
    });

  program
    .command("cl-status")
    .description(`Heartbeat's cl_status, same output and exit codes (${CL_STATUS_SUBCOMMANDS.join(", ")})`)
    .argument("<subcommand>")
    .argument("[args...]")
    .option("--run-dir <dir>", "where lubdubd's control socket is", DEFAULT_RUN_DIR)
    .allowUnknownOption(true)
    .helpOption(false)
    .action(async (sub: string, args: string[], opts: { runDir: string }) => {
      const { status } = await fetchStatus(opts.runDir);
      const r = clStatus(sub, args, status);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.code;
    });
}
