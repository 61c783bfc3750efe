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

t.run();
