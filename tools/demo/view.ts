// The demo's terminal view: plain ANSI, one full frame at a time.
//
// No terminal UI library: the view is one screen of text redrawn a few times
// a second, which needs cursor-home, clear-to-end-of-line and colours and
// nothing else. The libraries that would fit (blessed: unmaintained since
// 2015; ink: React and a reconciler for a 40-line screen; terminal-kit: large)
// would add more than they save, and a plain frame is what `tmux
// capture-pane` reads back in the tests.

import type { DemoEvent, NodeView, Snapshot } from "./cluster.js";

const ESC = "\x1b[";
export const ANSI = {
  altOn: `${ESC}?1049h`,
  altOff: `${ESC}?1049l`,
  hideCursor: `${ESC}?25l`,
  showCursor: `${ESC}?25h`,
  home: `${ESC}H`,
  clearLine: `${ESC}K`,
  clearDown: `${ESC}J`,
};

export interface Style {
  color: boolean;
}

function paint(s: Style, code: string, text: string): string {
  return s.color ? `${ESC}${code}m${text}${ESC}0m` : text;
}
const green = (s: Style, t: string) => paint(s, "32", t);
const red = (s: Style, t: string) => paint(s, "31", t);
const yellow = (s: Style, t: string) => paint(s, "33", t);
const bold = (s: Style, t: string) => paint(s, "1", t);
const dim = (s: Style, t: string) => paint(s, "2", t);

/** Visible length (without colour codes). */
function vlen(t: string): number {
  return t.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").length;
}
function pad(t: string, n: number): string {
  return t + " ".repeat(Math.max(0, n - vlen(t)));
}
/** Cuts a line to `cols` visible characters, colour codes kept. */
function cut(t: string, cols: number): string {
  if (vlen(t) <= cols) return t;
  let out = "";
  let seen = 0;
  for (let i = 0; i < t.length && seen < cols; ) {
    const m = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(t.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    out += t[i];
    seen++;
    i++;
  }
  return out + `${ESC}0m`;
}

function clock(at: number): string {
  return new Date(at).toTimeString().slice(0, 8);
}

function linkName(link: string): string {
  return link.includes("/") || link.startsWith("tty") ? "serial" : `udp(${link})`;
}

function nodeRow(s: Style, n: NodeView): string {
  const st = n.status;
  const power = n.power ? green(s, "on ") : red(s, "off");
  const agent = n.agent === "running" ? (st ? green(s, "running") : yellow(s, "no answer")) : n.agent === "hung" ? red(s, "HUNG") : red(s, n.agent);
  const mstate = st ? st.membership.status : "-";
  const holds = st?.resources?.groups.filter((g) => g.holder === n.name).map((g) => g.key + (g.transition ? ` (${g.transition})` : "")).join(" ") || "-";
  const peer = st?.membership.peers[0];
  let links = "-";
  if (peer) {
    const ls = (peer.links as { link?: string; name?: string; up?: boolean; status?: string }[]).map((l) => {
      const name = linkName(l.link ?? l.name ?? "?");
      const up = l.up ?? l.status === "up";
      return `${name} ${up ? green(s, "up") : red(s, "dead")}`;
    });
    links = `${peer.name} ${peer.status === "dead" ? red(s, "dead") : peer.status === "active" ? green(s, peer.status) : yellow(s, peer.status)}: ${ls.join(", ")}`;
  }
  return `  ${pad(bold(s, n.name), 7)} ${pad(power, 6)} ${pad(agent, 10)} ${pad(mstate, 8)} ${pad(holds, 22)} ${links}`;
}

export const KEYS: [string, string][] = [
  ["k", "kill the primary"],
  ["u", "cut/restore UDP"],
  ["s", "cut/restore serial"],
  ["h", "hang the primary's agent"],
  ["p", "power-cycle the primary"],
  ["t", "standby"],
  ["r", "bring all back"],
  ["q", "quit"],
];

export function render(snap: Snapshot, events: DemoEvent[], cols: number, rows: number, s: Style, message: string, notes: string[]): string[] {
  const out: string[] = [];
  const fencing = snap.fencing ? green(s, "fencing through the device") : snap.device ? yellow(s, "no fencing (this lubdubd does not drive it)") : yellow(s, "no device");
  const nw = snap.network;
  const where = nw.mode === "netns" ? green(s, `network namespaces (${nw.why})`) : yellow(s, `loopback (${nw.why})`);
  out.push(`${bold(s, "lubdub demo")}: two lubdubd nodes${snap.device ? " and a device" : ""} on this machine   ${dim(s, clock(snap.at))}   ${where}   ${fencing}`);
  const served = snap.servedBy ? green(s, `served by ${snap.servedBy}`) : red(s, "not served");
  if (nw.mode === "netns") {
    const on = nw.vipOn ?? [];
    const plugged = on.filter((n) => nw.hosts?.find((h) => h.name === n)?.link !== false);
    const pulled = on.filter((n) => !plugged.includes(n)).map((n) => ` (and ${n}'s, cable pulled)`).join("");
    const holder = plugged.length === 0 ? red(s, "on nobody") : plugged.length === 1 ? green(s, `on ${plugged[0]}`) : red(s, `on ${plugged.join(" and ")}`);
    const macOf = nw.hosts?.find((h) => h.mac === nw.servedMac)?.name;
    const from = snap.servedBy && nw.servedMac ? ` from MAC ${nw.servedMac}${macOf ? ` (${macOf})` : ""}` : "";
    out.push(`floating IP ${nw.vip} ${holder}${pulled}   client: ${nw.url} ${served}${from}`);
  } else {
    out.push(`service ${nw.url}  ${served}`);
  }
  out.push("");
  out.push(dim(s, `  ${pad("NODE", 7)} ${pad("POWER", 6)} ${pad("AGENT", 10)} ${pad("STATE", 8)} ${pad("HOLDS", 22)} PEER AND LINKS (per medium)`));
  for (const n of snap.nodes) out.push(nodeRow(s, n));
  out.push("");
  const udp = snap.udp.up ? green(s, "up") : red(s, "CUT");
  const serial = !snap.serial.available ? dim(s, "none (no socat)") : snap.serial.cut ? red(s, "alpha's cable PULLED") : green(s, "plugged");
  if (nw.mode === "netns") out.push(`  bridge: UDP ${udp}${snap.udp.up ? "" : ` (nftables, ${snap.udp.dropped} dropped)`}   serial cables ${serial}`);
  else out.push(`  UDP switch ${udp} (${snap.udp.forwarded} forwarded, ${snap.udp.dropped} dropped)   serial cables ${serial}`);
  for (const n of snap.nodes) {
    const media = (n.status?.media ?? []).map((m) => `${m.kind} ${m.kind === "serial" ? "ttyS0" : m.link}: ${m.sent} out ${m.received} in${m.note ? ` (${m.note})` : ""}`).join("; ");
    const h = nw.hosts?.find((x) => x.name === n.name);
    const addr = h ? `${h.address} ${h.mac} link ${h.link ? "up" : red(s, "DOWN")}` : `udp :${n.udpport}`;
    out.push(dim(s, `  ${pad(n.name, 7)} ${addr}  ${media || "-"}`));
  }
  out.push("");
  if (snap.device) {
    const d = snap.device;
    out.push(`${bold(s, "DEVICE")} ${d.impl === "lua" ? "Lua gateway build" : "Node simulator"} ${d.running ? green(s, "running") : red(s, "stopped")}   console 127.0.0.1:${d.consolePort} (admin / demo)`);
    const outs = d.outlets.map((o) => `${o.n} ${o.name} ${o.cycling ? yellow(s, "CYCLING") : o.on ? green(s, "ON") : red(s, "OFF")}`).join("   ");
    out.push(`  outlets  ${outs}`);
    for (const p of d.ports) {
      const wd = /armed/.test(p.wd) && !/dis/.test(p.wd) ? green(s, p.wd) : p.wd;
      out.push(`  port ${p.port} ${pad(p.host || "-", 6)} relayed ${pad(String(p.relayed), 6)} dropped ${pad(String(p.dropped), 4)} watchdog ${wd || "-"}`);
    }
    out.push("");
  }
  for (const n of notes) out.push(yellow(s, `note: ${n}`));
  const keyText = KEYS.map(([k, what]) => `${bold(s, k)} ${what}`);
  const half = Math.ceil(keyText.length / 2);
  const keys = vlen(keyText.join("  ")) <= cols ? [keyText.join("  ")] : [keyText.slice(0, half).join("  "), keyText.slice(half).join("  ")];
  const footer = [message ? `> ${message}` : "", ...keys];
  const room = Math.max(3, rows - out.length - footer.length - 1);
  out.push(bold(s, "EVENTS"));
  for (const e of events.slice(-(room - 1))) {
    const text = `${dim(s, clock(e.at))} ${pad(e.source, 6)} ${e.text}`;
    out.push("  " + (e.level === "error" ? red(s, text) : e.level === "warn" ? yellow(s, text) : text));
  }
  while (out.length < rows - footer.length) out.push("");
  out.push(...footer);
  return out.slice(0, rows).map((l) => cut(l, cols));
}
