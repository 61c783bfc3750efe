// Simulator speed: simulated minutes per real minute (the aim is 10,000).
// Each round runs consecutive seeds of the simulator (tools/sim) for
// `seconds`; one unit is one simulated minute.

import type { Benchmark, BenchOptions, BenchReport, CaseResult } from "./harness.js";
import { machine } from "./harness.js";
import { simulate } from "../sim/scenario.js";

const MINUTES = 3;
const AIM_SIM_MIN_PER_REAL_MIN = 10_000;

export const simBenchmark: Benchmark = {
  name: "sim",
  describe: "deterministic simulator: simulated minutes per real minute (aim 10,000)",
  run(o: BenchOptions): BenchReport {
    const rounds: { us: number; units: number }[] = [];
    let seed = 1;
    let sink = 0;
    let failed = 0;
    for (let r = 0; r < o.rounds; r++) {
      const t0 = performance.now();
      let simMs = 0;
      while (performance.now() - t0 < o.seconds * 1000) {
        const res = simulate({ seed: seed++, minutes: MINUTES });
        simMs += res.stats.simMs;
        sink += res.stats.events;
        if (res.violation) failed++;
      }
      const us = (performance.now() - t0) * 1000;
      rounds.push({ us, units: simMs / 60_000 });
    }
    const per = rounds.map((x) => x.us / x.units).sort((a, b) => a - b);
    const median = per[Math.floor(per.length / 2)]!;
    const units = rounds.reduce((a, x) => a + x.units, 0);
    const goalUs = 60e6 / AIM_SIM_MIN_PER_REAL_MIN;
    const c: CaseResult = {
      name: `sim ${MINUTES}-minute seeds`, op: "simulate", format: "-", method: null, unit: "sim-min", units, bytesPerUnit: 0, rounds: rounds.length,
      unitsPerSec: 1e6 / median, usPerUnit: median, usPerUnitMin: per[0]!, usPerUnitMax: per[per.length - 1]!, mbPerSec: 0, goalUs, meetsGoal: median <= goalUs,
      checks: { seeds: seed - 1, failedSeeds: failed, simMinPerRealMin: Math.round(60e6 / median) },
    };
    o.onCase?.(c);
    return { benchmark: "sim", ...machine(), seconds: o.seconds, rounds: o.rounds, date: new Date().toISOString(), cases: [c], notes: [`aim: ${AIM_SIM_MIN_PER_REAL_MIN} simulated min per real min (${goalUs} µs per simulated minute)`], sink };
  },
};
