// `lubdub cl-status SUBCOMMAND`: the answers, output format and exit codes of
// Heartbeat's cl_status, computed from the agent's status, so scripts written
// for cl_status keep working against lubdub.

import type { AgentStatus } from "./status.js";

/** cl_status exit codes. */
export const CL_OK = 0;
export const CL_NORMAL_FAIL = 1;
export const CL_PARAMETER_ERROR = 11;
export const CL_TIMEOUT = 12;
export const CL_UNKNOWN_ERROR = 13;

export interface ClStatusResult {
  stdout: string;
  stderr: string;
  code: number;
}

const NEEDS_AGENT = new Set(["listnodes", "nodestatus", "nodetype", "listhblinks", "hblinkstatus", "rscstatus", "nodeweight", "nodesite", "hbparameter"]);
export const CL_STATUS_SUBCOMMANDS = ["hbstatus", ...NEEDS_AGENT];

function result(stdout: string, code: number, stderr = ""): ClStatusResult {
  return { stdout, stderr, code };
}

function pingNode(s: AgentStatus, node: string): { status: string } | null {
  const n = s.ping?.nodes.find((x) => x.name === node);
  // A ping node that has not answered yet is not "ping"; Heartbeat shows it dead.
  return n ? { status: n.status === "ping" ? "ping" : "dead" } : null;
}

function nodeStatus(s: AgentStatus, node: string): string | null {
  const m = s.membership;
  if (node === m.node) return m.status;
  const p = m.peers.find((x) => x.name === node);
  if (p) return p.status;
  return pingNode(s, node)?.status ?? null;
}

function links(s: AgentStatus, node: string): { link: string; up: boolean }[] | null {
  const m = s.membership;
  if (node === m.node) return s.media.map((md) => ({ link: md.link, up: true }));
  const p = m.peers.find((x) => x.name === node);
  return p ? p.links.map((l) => ({ link: l.link, up: l.up })) : null;
}

/**
 * Answers one cl_status invocation. `status` is null when the agent could not
 * be reached. `args` are the words after the subcommand; `-m` asks for the
 * human-readable form, as cl_status does.
 */
export function clStatus(sub: string, argv: string[], status: AgentStatus | null, resources = "none"): ClStatusResult {
  const human = argv.includes("-m");
  const args = argv.filter((a) => !a.startsWith("-"));
  if (sub === "hbstatus") {
    return status ? result("Heartbeat is running on this machine.\n", CL_OK) : result("Heartbeat is stopped on this machine.\n", CL_NORMAL_FAIL);
  }
  if (!NEEDS_AGENT.has(sub)) return result("", CL_PARAMETER_ERROR, `cl_status: ${sub}: invalid sub-command.\n`);
  if (!status) return result("", CL_NORMAL_FAIL, "Cannot signon with heartbeat\nREASON: lubdubd is not running (no control socket)\n");
  const m = status.membership;
  switch (sub) {
    case "listnodes": {
      const normal = [m.node, ...m.peers.map((p) => p.name)];
      const ping = status.ping?.nodes.map((n) => n.name) ?? [];
      const wantPing = argv.includes("-p");
      const wantNormal = argv.includes("-n");
      const names = wantPing && !wantNormal ? ping : wantNormal && !wantPing ? normal : [...normal, ...ping];
      return result((human ? "The nodes are as follow:\n" : "") + names.map((n) => `${n}\n`).join(""), CL_OK);
    }
    case "nodestatus": {
      if (args.length < 1) return result("", CL_PARAMETER_ERROR, "Not enough parameters.\n");
      const node = args[0]!;
      const st = nodeStatus(status, node);
      if (st === null) return result("", CL_PARAMETER_ERROR, "Error. May be due to incorrect node name\n");
      const ok = st === "active" || st === "up" || st === "ping";
      return result(human ? `The cluster node ${node} is ${st}\n` : `${st}\n`, ok ? CL_OK : CL_NORMAL_FAIL);
    }
    case "nodetype": {
      if (args.length < 1) return result("", CL_PARAMETER_ERROR, "No enough parameter.\n");
      const node = args[0]!;
      if (nodeStatus(status, node) === null) return result("", CL_PARAMETER_ERROR, "Error. May be due to incorrect node name\n");
      const type = pingNode(status, node) && !m.peers.some((p) => p.name === node) && node !== m.node ? "ping" : "normal";
      return result(human ? `The node ${node}'s type: ${type}\n` : `${type}\n`, CL_OK);
    }
    case "nodeweight":
    case "nodesite": {
      if (args.length < 1) return result("", CL_PARAMETER_ERROR, "Not enough parameters.\n");
      const node = args[0]!;
      if (nodeStatus(status, node) === null) return result("", CL_PARAMETER_ERROR, "Error. May be due to incorrect node name\n");
      const value = sub === "nodeweight" ? "100" : "default";
      return result(human ? `The ${sub === "nodeweight" ? "weight" : "site"} of the cluster node ${node} is ${value}\n` : `${value}\n`, CL_OK);
    }
    case "listhblinks": {
      if (args.length < 1) return result("", CL_PARAMETER_ERROR, "No enough parameter.\n");
      const l = links(status, args[0]!);
      if (!l) return result("", CL_UNKNOWN_ERROR, "Cannot start heartbeat link interface walk.\nREASON: unknown node\n");
      return result((human ? "\tthis node have the following heartbeat links:\n" : "") + l.map((x) => `\t${x.link}\n`).join(""), CL_OK);
    }
    case "hblinkstatus": {
      if (args.length < 2) return result("", CL_PARAMETER_ERROR, "No enough parameter.\n");
      const [node, link] = [args[0]!, args[1]!];
      const found = links(status, node)?.find((x) => x.link === link);
      if (!found) return result("", CL_UNKNOWN_ERROR, "Cannot get heartbeat link status\nREASON: unknown node or link\n");
      const word = found.up ? "up" : "dead";
      return result(human ? `The node ${node}'s heartbeat link ${link} is ${word}\n` : `${word}\n`, found.up ? CL_OK : CL_NORMAL_FAIL);
    }
    case "rscstatus":
      if (status.resources) resources = status.resources.groups.some((g) => g.transition) || status.resources.standby ? "transition" : status.resources.iHold;
      return result(human ? `This node is holding ${resources} resources.\n` : `${resources}\n`, CL_OK);
    case "hbparameter": {
      const i = argv.indexOf("-p");
      const name = i >= 0 ? argv[i + 1] : undefined;
      if (!name) return result("", CL_PARAMETER_ERROR, "parameter name required\n");
      const params: Record<string, string> = { keepalive: String(status.keepaliveMs / 1000), deadtime: String(status.deadtimeMs / 1000) };
      const v = params[name];
      if (v === undefined) return result("", CL_NORMAL_FAIL, `Cannot get parameter ${name}'s value\n`);
      return result(human ? `Heartbeat parameter ${name}'s value: ${v}\n` : `${v}\n`, CL_OK);
    }
  }
  return result("", CL_PARAMETER_ERROR, `cl_status: ${sub}: invalid sub-command.\n`);
}
