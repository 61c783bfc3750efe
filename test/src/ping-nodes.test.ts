// Ping nodes on a real network: three hosts on a bridge, host 1 runs the
// ping nodes of a ha.cf (host/dist/ping/watch.js: the pinger and the ping
// core, as lubdubd runs them) with the system ping; host 3 is the ping node,
// host 2 the other address of a ping_group. Cutting host 3's cable makes its
// ping node dead after deadping (not before); plugging it back makes it
// "ping" again; the group stays up throughout because host 2 answers. Then
// host 1's own cable: every ping node dies and comes back, the ping
// processes surviving (or being restarted) without help.

import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { NetnsLab } from "./support/netns.js";
import { REPO_ROOT } from "./support/paths.js";
import { NETNS_LAB, PING, testWhere } from "./support/require.js";

const t = suite("ping nodes (netns)");
const WATCH = join(REPO_ROOT, "host/dist/ping/watch.js");
const KEEPALIVE_MS = 250;
const DEADPING_MS = 2000;

interface Line {
  at: number;
  o: Record<string, unknown>;
}

/** Collects the watcher's JSON lines with the time they arrived. */
function collect(child: ChildProcess): { lines: Line[]; stderr: () => string } {
  const lines: Line[] = [];
  let buf = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => {
    buf += s;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push({ at: performance.now(), o: JSON.parse(line) as Record<string, unknown> });
      } catch {
        lines.push({ at: performance.now(), o: { kind: "unparsed", line } });
      }
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => (err = (err + s).slice(-4000)));
  return { lines, stderr: () => err };
}

async function waitFor(lines: Line[], what: string, pred: (o: Record<string, unknown>) => boolean, timeoutMs: number, from = 0): Promise<Line> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const hit = lines.slice(from).find((l) => pred(l.o));
    if (hit) return hit;
    if (performance.now() > end) throw new Error(`no ${what} within ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l.o)).join("\n")}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const status = (node: string, st: string) => (o: Record<string, unknown>) => o.kind === "ping-status" && o.node === node && o.status === st;

testWhere(t, "deadping after a cut, back on restore; a ping_group with one live address stays up", [...NETNS_LAB, PING], async () => {
  const lab = NetnsLab.create({ hosts: 3, topology: "bridge" });
  const dir = mkdtempSync(join(tmpdir(), "lubdub-ping-"));
  let child: ChildProcess | null = null;
  try {
    const [h2, h3] = [lab.host(2).address, lab.host(3).address];
    const nowhere = [`${lab.net}.200`, `${lab.net}.201`];
    const hacf = join(dir, "ha.cf");
    writeFileSync(hacf, [
      `keepalive ${KEEPALIVE_MS}ms`, "deadtime 2", `deadping ${DEADPING_MS}ms`, "auto_failback on", "bcast lub0", "node alpha bravo",
      `ping ${h3}`, `ping_group pair ${h3} ${h2}`, `ping_group nowhere ${nowhere.join(" ")}`, "",
    ].join("\n"));
    const started = performance.now();
    child = lab.exec(1, [process.execPath, WATCH, hacf, "alpha"]);
    const { lines, stderr } = collect(child);
    const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));

    // Start: the answering nodes come up at once, the silent group dies after deadping.
    await waitFor(lines, "ready", (o) => o.kind === "ready", 5000).catch((e: Error) => {
      throw new Error(`${e.message}\nstderr: ${stderr()}`);
    });
    await waitFor(lines, `${h3} up`, status(h3, "ping"), 3000);
    await waitFor(lines, "pair up", status("pair", "ping"), 3000);
    const none = await waitFor(lines, "nowhere dead", status("nowhere", "dead"), DEADPING_MS + 3000);
    assert.ok(none.at - started >= DEADPING_MS, `nowhere died ${Math.round(none.at - started)} ms after start`);

    // Cut host 3: its ping node dies after deadping, not before; the group holds.
    let mark = lines.length;
    const cut = performance.now();
    lab.linkDown(3);
    const dead = await waitFor(lines, `${h3} dead`, status(h3, "dead"), DEADPING_MS + 3000, mark);
    const after = dead.at - cut;
    assert.ok(after >= DEADPING_MS - 2 * KEEPALIVE_MS, `dead ${Math.round(after)} ms after the cut, deadping ${DEADPING_MS}`);
    assert.ok(after <= DEADPING_MS + 2000, `dead ${Math.round(after)} ms after the cut`);
    await new Promise((r) => setTimeout(r, DEADPING_MS + 1000));
    assert.not.ok(lines.some((l) => status("pair", "dead")(l.o)), "the group must stay up while host 2 answers");

    // Plug host 3 back in: up again within a few probes.
    mark = lines.length;
    const restore = performance.now();
    lab.linkUp(3);
    const up = await waitFor(lines, `${h3} up again`, status(h3, "ping"), 5000, mark);
    console.log(`  ${h3}: dead ${Math.round(after)} ms after the cut, up ${Math.round(up.at - restore)} ms after the restore`);

    // Cut host 1's own cable: everything dies; restore: everything comes back.
    mark = lines.length;
    lab.linkDown(1);
    await waitFor(lines, `${h3} dead (own link)`, status(h3, "dead"), DEADPING_MS + 3000, mark);
    await waitFor(lines, "pair dead (own link)", status("pair", "dead"), DEADPING_MS + 3000, mark);
    mark = lines.length;
    const back = performance.now();
    lab.linkUp(1);
    await waitFor(lines, `${h3} up (own link)`, status(h3, "ping"), 15_000, mark);
    await waitFor(lines, "pair up (own link)", status("pair", "ping"), 15_000, mark);
    console.log(`  own link restored: ping nodes up again after ${Math.round(performance.now() - back)} ms`);

    // SIGTERM: the watcher ends its ping processes and exits; nothing is left in host 1's namespace.
    child.kill("SIGTERM");
    const stopped = await waitFor(lines, "stopped", (o) => o.kind === "stopped", 5000);
    assert.is(await exited, 0);
    const pings = stopped.o.pings as { address: string; starts: number; replies: number }[];
    assert.equal(pings.map((p) => p.address).sort(), [h3, h2, ...nowhere].sort());
    assert.ok(pings.find((p) => p.address === h3)!.replies >= 5, JSON.stringify(pings));
    for (const l of lines) if (l.o.kind === "problem") console.log(`  problem: ${l.o.address}: ${l.o.detail}`);
    const left = spawnSync("ip", ["netns", "pids", lab.host(1).ns], { encoding: "utf8" }).stdout.trim();
    assert.is(left, "", `processes left in host 1's namespace: ${left}`);
    child = null;
  } finally {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
