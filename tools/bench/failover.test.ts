// The failover benchmark runs for real: one run of the 100/500 profile
// through the dispatcher gives three positive intervals, bravo served the
// client, nobody was declared dead by mistake, and nothing is left behind.
// No speed is asserted. Needs root, network namespaces and arping; elsewhere
// the test is skipped and says why.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_RUNS, failoverMissing, type FailoverReport, LUBDUBD, parseFailoverArgs } from "./failover.js";
import { leftoverFailoverLab } from "./failover-lab.js";
import { renderChart } from "./failover-chart.js";
import { advertInt, keepalivedConf, keepalivedMissing, masterDownMs } from "./keepalived.js";
import { parseArgs } from "./harness.js";
import { BENCHMARKS } from "./registry.js";
import { testWhere } from "./test-where.js";

const t = suite("failover benchmark");
const RUN_JS = resolve(fileURLToPath(import.meta.url), "../run.js");


t("the dispatcher lists failover; its options parse", () => {
  assert.ok(BENCHMARKS.some((b) => b.name === "failover"));
  const parsed = parseArgs(["failover", "--runs", "3", "--profile=10/50", "--service", "both", "--impl", "heartbeat", "--idle-minutes", "1", "--json"]);
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  assert.ok(parsed.options.json);
  const a = parseFailoverArgs(parsed.options.rest);
  assert.is(a.runs, 3);
  assert.equal(a.profiles.map((p) => p.name), ["10/50"]);
  assert.equal(a.services, ["node", "c"]);
  assert.equal(a.impls, ["heartbeat"]);
  assert.is(a.idleMinutes, 1);
  const d = parseFailoverArgs([]);
  assert.is(d.runs, DEFAULT_RUNS);
  assert.equal(d.profiles.map((p) => [p.keepaliveMs, p.deadtimeMs]), [[100, 500], [10, 50]]);
  assert.equal(d.services, ["node"]);
  assert.equal(d.impls, ["lubdub"]);
  assert.throws(() => parseFailoverArgs(["--profile", "5/20"]), /--profile/);
  assert.throws(() => parseFailoverArgs(["--runs", "0"]), /--runs/);
  assert.throws(() => parseFailoverArgs(["--bogus"]), /unknown/);
  const three = parseFailoverArgs(["--impl", "all", "--profile", "1000/5000,10/50", "--svg", "x.svg"]);
  assert.equal(three.impls, ["lubdub", "heartbeat", "keepalived"]);
  assert.equal(three.profiles.map((p) => p.name), ["1000/5000", "10/50"]);
  assert.is(three.svg, "x.svg");
  assert.equal(parseFailoverArgs(["--impl", "keepalived,lubdub"]).impls, ["keepalived", "lubdub"]);
  assert.throws(() => parseFailoverArgs(["--impl", "vrrpd"]), /--impl/);
});

t("keepalived settings: advert_int = keepalive in keepalived's 0.01 s steps; VRRPv3 master-down interval; the config names both ends", () => {
  assert.is(advertInt(1000), "1");
  assert.is(advertInt(100), "0.1");
  assert.is(advertInt(10), "0.01");
  assert.is(advertInt(1), "0.01");
  assert.is(Math.round(masterDownMs(1000)), 3609);
  assert.is(Math.round(masterDownMs(10)), 36);
  const conf = keepalivedConf({ keepaliveMs: 10, priority: 150, self: "192.0.2.1", peer: "192.0.2.2", vipCidr: "192.0.2.100/24", notify: "/x/notify", iface: "lub0" });
  for (const want of ["advert_int 0.01", "priority 150", "version 3", "unicast_src_ip 192.0.2.1", "192.0.2.2", "192.0.2.100/24 dev lub0", 'notify_master "/x/notify master"']) assert.ok(conf.includes(want), want);
});

t("the chart is one well-formed SVG with a bar per system and measure, and no NaN", () => {
  const svg = renderChart("t", [{ title: "p", groups: [{ name: "a", bars: [{ label: "x", min: 1, median: 2, max: 3 }, { label: "y", min: 4, median: 5, max: 6 }] }, { name: "b", bars: [{ label: "x", min: NaN, median: NaN, max: NaN }, { label: "y", min: 1, median: 1, max: 1 }] }] }], "note & <more>");
  assert.ok(svg.startsWith("<svg ") && svg.trim().endsWith("</svg>"));
  assert.not.match(svg, /NaN/);
  assert.is((svg.match(/<rect /g) ?? []).length, 1 + 2 + 3); // background, legend, bars
  assert.match(svg, /not measured/);
  assert.match(svg, /note &amp; &lt;more&gt;/);
});

testWhere(t, "one run at 100/500: the backup serves, all three intervals positive, nothing left", () => failoverMissing() ?? (existsSync(LUBDUBD) ? null : "lubdubd is not built (npx tsc -b)"), () => {
  const r = spawnSync(process.execPath, [RUN_JS, "failover", "--runs", "1", "--profile", "100/500", "--json"], { encoding: "utf8", timeout: 180_000 });
  assert.is(r.status, 0, `exit ${r.status ?? r.signal}; stderr: ${r.stderr.slice(-2000)}`);
  const report = JSON.parse(r.stdout) as FailoverReport;
  assert.is(report.benchmark, "failover");
  assert.is(report.profiles.length, 1);
  const p = report.profiles[0]!;
  assert.is(p.impl, "lubdub");
  assert.is(p.profile, "100/500");
  assert.is(p.service, "node");
  assert.is(p.runs.length, 1);
  const run = p.runs[0]!;
  assert.ok(run.failToDeadMs > 0, `failure → dead ${run.failToDeadMs} ms`);
  assert.ok(run.deadToAnswerMs > 0, `dead → answering ${run.deadToAnswerMs} ms`);
  assert.ok(run.failToAnswerMs > 0 && run.failToAnswerMs === run.failToDeadMs + run.deadToAnswerMs, `failure → answering ${run.failToAnswerMs} ms`);
  // bravo answered (servedBy waits for a probe answered with bravo's name) and the agent logged the takeover.
  assert.ok(run.answerAt > run.deadAt && run.acquireToAcquiredMs !== null && run.acquireToAcquiredMs > 0);
  assert.ok(run.killed >= 2, `killed ${run.killed} processes in alpha's namespace`);
  assert.is(p.falseDeaths, 0);
  assert.equal(leftoverFailoverLab(r.pid), []);
});

testWhere(t, "keepalived: one run at 10/50 in the same harness; its daemon's memory and CPU are measured", () => failoverMissing() ?? keepalivedMissing(), () => {
  const r = spawnSync(process.execPath, [RUN_JS, "failover", "--runs", "1", "--profile", "10/50", "--impl", "keepalived", "--json"], { encoding: "utf8", timeout: 120_000 });
  assert.is(r.status, 0, `exit ${r.status ?? r.signal}; stderr: ${r.stderr.slice(-2000)}`);
  const p = (JSON.parse(r.stdout) as FailoverReport).profiles[0]!;
  assert.is(p.impl, "keepalived");
  const run = p.runs[0]!;
  assert.ok(run.failToDeadMs > 0 && run.deadToAnswerMs > 0, JSON.stringify(run));
  assert.ok(p.usage !== null && p.usage.alpha.procs >= 1 && p.usage.alpha.rssMiB > 0, JSON.stringify(p.usage));
  assert.is(p.falseDeaths, 0);
  assert.equal(leftoverFailoverLab(r.pid), []);
});

t.run();
