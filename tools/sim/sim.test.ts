// The simulator in CI: 2,000 seeds must pass, a planted bug must be caught
// with a replay command that reproduces it, and a seed is one run.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { simulate } from "./scenario.js";
import { parseSimArgs, replayCommand } from "./main.js";
import { PLANTED_BUGS } from "./world.js";

const CI_SEEDS = 2000;
const CI_MINUTES = 3;

test(`${CI_SEEDS} seeds of ${CI_MINUTES} simulated minutes: no safety, liveness or false-death violation`, () => {
  const started = performance.now();
  const failures: string[] = [];
  let simMs = 0;
  let obligations = 0;
  for (let seed = 1; seed <= CI_SEEDS; seed++) {
    const r = simulate({ seed, minutes: CI_MINUTES });
    simMs += r.stats.simMs;
    obligations += r.stats.obligationsMet;
    if (r.violation) {
      failures.push(`seed ${seed}: ${r.violation.kind}: ${r.violation.message}\n${r.trace.slice(-15).map((l) => `    ${l}`).join("\n")}\n  replay: ${replayCommand(seed, CI_MINUTES, undefined)}`);
      if (failures.length >= 3) break;
    }
  }
  const s = (performance.now() - started) / 1000;
  console.log(`  ${CI_SEEDS} seeds, ${Math.round(simMs / 60_000)} simulated min in ${s.toFixed(1)} s (${Math.round(simMs / 60_000 / (s / 60))} simulated min per real min), ${obligations} liveness obligations met`);
  assert.equal(failures, [], failures.join("\n"));
});

for (const bug of PLANTED_BUGS) {
  test(`planted bug ${bug}: a safety violation, and its replay command reproduces it`, () => {
    let found = null as { seed: number; message: string; at: number } | null;
    for (let seed = 1; seed <= 200 && !found; seed++) {
      const r = simulate({ seed, minutes: CI_MINUTES, plantBug: bug });
      if (r.violation) {
        assert.is(r.violation.kind, "safety", `seed ${seed}: ${r.violation.message}`);
        assert.ok(r.trace.length > 0, "a trace of the last events");
        found = { seed, message: r.violation.message, at: r.violation.at };
      }
    }
    assert.ok(found, `no seed of 200 caught ${bug}`);
    const cmd = replayCommand(found.seed, CI_MINUTES, bug);
    assert.is(cmd, `npm run sim -- --seed ${found.seed} --minutes ${CI_MINUTES} --plant-bug ${bug}`);
    // The command's options, parsed as the CLI parses them, replay the same violation.
    const o = parseSimArgs(cmd.split(" ").slice(4));
    assert.type(o, "object");
    if (typeof o === "string") return;
    const again = simulate({ seed: o.seed, minutes: o.minutes, plantBug: o.plantBug });
    assert.ok(again.violation);
    assert.is(again.violation.message, found.message);
    assert.is(again.violation.at, found.at);
    // Without the planted bug the same seed passes.
    assert.is(simulate({ seed: found.seed, minutes: CI_MINUTES }).violation, null);
  });
}

test("a seed is one run: the same seed gives the same events", () => {
  const a = simulate({ seed: 4242, minutes: 5 });
  const b = simulate({ seed: 4242, minutes: 5 });
  assert.equal(a.stats, b.stats);
  assert.equal(a.trace, b.trace);
  assert.not.equal(simulate({ seed: 4243, minutes: 5 }).stats, a.stats);
});

test("command line: options and refusals", () => {
  assert.equal(parseSimArgs(["--seeds", "10", "--seed", "7", "--minutes", "2"]), { seed: 7, seeds: 10, minutes: 2, plantBug: undefined, traceLines: 30, quiet: false });
  assert.match(parseSimArgs(["--seeds", "0"]) as string, /--seeds/);
  assert.match(parseSimArgs(["--plant-bug", "other"]) as string, /--plant-bug/);
  assert.match(parseSimArgs(["--frobnicate"]) as string, /unknown option/);
});

test.run();
