// lubdub check [--config-dir DIR] [--node-name NAME] [--json]: the same
// validation lubdubd runs at start, without starting anything. Prints every
// problem as file:line: severity: message, then what the configuration means.
// Exit 0 when lubdubd would start (warnings allowed), 65 on errors, 66 when a
// file cannot be read.

import type { Command } from "commander";
import { formatDiagnostic } from "@lubdub/protocol";
import { DEFAULT_CONFIG_DIR, defaultNodeName, loadConfigDir, type LoadedConfig } from "../../config/load.js";
import { formatInterval } from "../../config/interval.js";
import { EXIT_DATAERR, EXIT_NOINPUT } from "../exit-codes.js";

export function describeConfig(l: LoadedConfig): string[] {
  const c = l.config;
  if (!c) return [];
  const media = c.media.map((m) =>
    m.kind === "ucast" ? `ucast ${m.iface} → ${m.peer}:${m.port}`
    : m.kind === "bcast" ? `bcast ${m.iface} port ${m.port}`
    : m.kind === "mcast" ? `mcast ${m.iface} ${m.group}:${m.port} ttl ${m.ttl} loop ${m.loop ? 1 : 0}`
    : `serial ${m.device} at ${m.baud} baud`);
  const lines = [
    `nodes: ${c.nodes.join(", ") || "(none)"}`,
    `keepalive ${formatInterval(c.keepaliveMs)}, warntime ${formatInterval(c.warntimeMs)}, deadtime ${formatInterval(c.deadtimeMs)}, initdead ${formatInterval(c.initdeadMs)}`,
    `auto_failback ${c.autoFailback}`,
    ...media.map((m) => `medium: ${m}`),
    ...l.groups.map((g) => `group ${g.key} (owner ${g.owner}): ${g.resources.map((r) => `${r.className === "ocf" ? `ocf:${r.provider ?? "?"}:${r.name}` : r.className === "IPaddr" || r.className === "IPaddr2" ? r.className : `${r.className}:${r.name}`}${r.args.length ? `(${r.args.join(", ")})` : ""}`).join(" → ")}`),
  ];
  if (l.keys) {
    const active = l.keys.entries.get(l.keys.active);
    lines.push(`authkeys: signing with key ${l.keys.active} (${active?.method.name ?? "?"})`);
  }
  return lines;
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate /etc/ha.d (ha.cf, authkeys) as lubdubd would, and say what it means")
    .option("--config-dir <dir>", "configuration directory", DEFAULT_CONFIG_DIR)
    .option("--node-name <name>", "this node's name (default: uname -n)")
    .option("--json", "print the result as JSON")
    .action((opts: { configDir: string; nodeName?: string; json?: boolean }) => {
      const node = opts.nodeName ?? defaultNodeName();
      const loaded = loadConfigDir(opts.configDir, node);
      const errors = loaded.diagnostics.filter((d) => d.severity === "error");
      const warnings = loaded.diagnostics.filter((d) => d.severity === "warning");
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ok: loaded.ok, node, diagnostics: loaded.diagnostics, config: loaded.config }) + "\n");
      } else {
        for (const d of loaded.diagnostics) process.stdout.write(formatDiagnostic(d) + "\n");
        if (loaded.ok) for (const l of describeConfig(loaded)) process.stdout.write(l + "\n");
        process.stdout.write(`${opts.configDir}: ${errors.length} error(s), ${warnings.length} warning(s)${loaded.ok ? `; lubdubd would start as node ${node}` : "; lubdubd would refuse to start"}\n`);
      }
      const unreadable = errors.some((d) => d.line === 0 && d.message.startsWith("cannot read"));
      process.exitCode = loaded.ok ? 0 : unreadable ? EXIT_NOINPUT : EXIT_DATAERR;
    });
}
