// The agent benchmark measures a real pair: a 5-second run through the
// dispatcher gives positive CPU and RSS figures for the node process itself,
// both media carrying messages both ways, nobody declared dead, and nothing
// left behind. No speed is asserted. Needs root, network namespaces and socat;
// elsewhere the test is skipped and says why.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AGENT_DEFAULT_SECONDS, AgentReport, LUBDUBD, windowSeconds } from "./agent.js";
import { DEFAULT_ROUNDS, DEFAULT_SECONDS, parseArgs } from "./harness.js";
import { labMissing } from "./lab.js";
import { BENCHMARKS } from "./registry.js";
import { testWhere } from "./test-where.js";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

const t = suite("agent benchmark");
const RUN_JS = resolve(fileURLToPath(import.meta.url), "../run.js");


t("the dispatcher lists agent; without --seconds the window is five minutes", () => {
  assert.ok(BENCHMARKS.some((b) => b.name === "agent"));
  const plain = parseArgs(["agent"]);
  const short = parseArgs(["agent", "--seconds", "5"]);
  const sameAsDefault = parseArgs(["agent", `--seconds=${DEFAULT_SECONDS}`]);
  assert.ok(plain.ok && short.ok && sameAsDefault.ok);
  if (!plain.ok || !short.ok || !sameAsDefault.ok) return;
  assert.is(windowSeconds(plain.options, ["agent"]), AGENT_DEFAULT_SECONDS);
  assert.is(windowSeconds(short.options, ["agent", "--seconds", "5"]), 5);
  assert.is(windowSeconds(sameAsDefault.options, ["agent", `--seconds=${DEFAULT_SECONDS}`]), DEFAULT_SECONDS);
  assert.is(plain.options.rounds, DEFAULT_ROUNDS);
});

testWhere(t, "a 5-second run: positive CPU and RSS of the node process, both media busy, no deaths, nothing left", () => labMissing() ?? (existsSync(LUBDUBD) ? null : "lubdubd is not built (npx tsc -b)"), () => {
  const r = spawnSync(process.execPath, [RUN_JS, "agent", "--seconds", "5", "--settle", "1", "--json"], { encoding: "utf8", timeout: 120_000 });
  assert.is(r.status, 0, `exit ${r.status ?? r.signal}; stderr: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as AgentReport;
  assert.is(report.benchmark, "agent");
  assert.is(report.seconds, 5);
  assert.ok(report.node.startsWith("v") && report.cpu.length > 0 && report.kernel.length > 0);
  assert.is(report.runs.length, 1);
  const run = report.runs[0]!;
  assert.is(run.impl, "lubdubd");
  assert.ok(run.valid, run.problems.join("; "));
  assert.ok(run.windowSeconds >= 4.5 && run.windowSeconds < 15, `window ${run.windowSeconds} s`);
  assert.equal(run.nodes.map((n) => n.node), ["alpha", "bravo"]);
  for (const n of run.nodes) {
    assert.is(n.pids.length, 1);
    assert.is(n.comms[0], "node", `${n.node} measured '${n.comms[0]}', not node`);
    assert.ok(n.cpuTicks > 0 && n.cpuSeconds > 0 && n.cpuPercent > 0, `${n.node}: CPU ${n.cpuPercent} %`);
    assert.ok(n.rssKiB.min > 0 && n.rssKiB.min <= n.rssKiB.median && n.rssKiB.median <= n.rssKiB.max && n.rssKiB.final > 0, `${n.node}: RSS ${JSON.stringify(n.rssKiB)}`);
    // VmHWM is not compared with the samples: the kernel's RSS counters are per-CPU approximations.
    assert.ok(n.hwmKiB > 0 && n.rssAnonKiB > 0 && n.rssFileKiB > 0 && n.pssKiB > 0, `${n.node}: peak ${n.hwmKiB}, anon ${n.rssAnonKiB}, file ${n.rssFileKiB}, PSS ${n.pssKiB} KiB`);
    assert.ok(n.rssSamples >= 5);
    assert.is(n.deaths, 0);
    assert.is(n.cpuPercentByFifth.length, 5);
    assert.equal(n.media?.map((m) => m.kind), ["ucast", "serial"]);
    for (const m of n.media ?? []) assert.ok(m.sent > 0 && m.received > 0, `${n.node} ${m.kind}: sent ${m.sent}, received ${m.received}`);
  }
  // The child cleaned up after itself: no namespace of its own is left.
  const left = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.startsWith(`lubdub-b-${r.pid}-`));
  assert.equal(left, []);
});

t.run();
