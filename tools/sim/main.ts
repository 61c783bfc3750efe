// npm run sim -- --seeds N [--seed S] [--minutes M] [--plant-bug BUG] [--trace N] [--quiet]
//
// Runs seeds S, S+1, … S+N-1 (default: seed 1, one seed, 3 simulated
// minutes each) through the simulator. Every failing seed prints the one
// command that replays it and the last events before the failure; the end
// is a summary with the speed in simulated minutes per real minute.
// Exit status: 0 when every seed passed, 1 when one failed, 64 on a bad
// command line.

import { PLANTED_BUGS, type PlantedBug } from "./world.js";
import { simulate } from "./scenario.js";

export interface SimCli {
  seed: number;
  seeds: number;
  minutes: number;
  plantBug: PlantedBug | undefined;
  traceLines: number;
  quiet: boolean;
}

export const DEFAULT_MINUTES = 3;

export function parseSimArgs(argv: string[]): SimCli | string {
  const o: SimCli = { seed: 1, seeds: 1, minutes: DEFAULT_MINUTES, plantBug: undefined, traceLines: 30, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (min: number) => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${a}: expected a whole number ≥ ${min}, got '${v}'`);
      return n;
    };
    try {
      if (a === "--seed") o.seed = int(0);
      else if (a === "--seeds") o.seeds = int(1);
      else if (a === "--minutes") o.minutes = int(1);
      else if (a === "--trace") o.traceLines = int(1);
      else if (a === "--quiet") o.quiet = true;
      else if (a === "--plant-bug") {
        const v = value();
        if (!(PLANTED_BUGS as readonly string[]).includes(v)) throw new Error(`--plant-bug: one of ${PLANTED_BUGS.join(", ")}`);
        o.plantBug = v as PlantedBug;
      } else throw new Error(`unknown option ${a}`);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return o;
}

/** The one command that replays a seed. */
export function replayCommand(seed: number, minutes: number, plantBug: PlantedBug | undefined): string {
  return `npm run sim -- --seed ${seed} --minutes ${minutes}${plantBug ? ` --plant-bug ${plantBug}` : ""}`;
}

function main(): number {
  const o = parseSimArgs(process.argv.slice(2));
  if (typeof o === "string") {
    console.error(`sim: ${o}\nusage: npm run sim -- --seeds N [--seed S] [--minutes M] [--plant-bug ${PLANTED_BUGS.join("|")}] [--trace N] [--quiet]`);
    return 64;
  }
  const started = performance.now();
  let failed = 0;
  let simMs = 0;
  let lastReport = started;
  const totals = { deaths: 0, fences: 0, fenceGiveUps: 0, faults: 0, obligations: 0, obligationsMet: 0, events: 0 };
  for (let s = o.seed; s < o.seed + o.seeds; s++) {
    const r = simulate({ seed: s, minutes: o.minutes, plantBug: o.plantBug, traceLines: o.traceLines });
    simMs += r.stats.simMs;
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k];
    if (r.violation) {
      failed++;
      console.log(`\nseed ${s}: ${r.violation.kind} violation at ${(r.violation.at / 1000).toFixed(3)} s: ${r.violation.message}`);
      console.log(`  config: ${r.config}`);
      console.log(`  last events:`);
      for (const line of r.trace) console.log(`    ${line}`);
      console.log(`  replay: ${replayCommand(s, o.minutes, o.plantBug)}`);
    }
    const t = performance.now();
    if (!o.quiet && o.seeds > 1 && t - lastReport > 10_000) {
      lastReport = t;
      console.error(`  … ${s - o.seed + 1}/${o.seeds} seeds, ${failed} failed, ${((t - started) / 1000).toFixed(0)} s`);
    }
  }
  const realMs = performance.now() - started;
  const simMin = simMs / 60_000;
  console.log(
    `\nsim: ${o.seeds} seed(s) from ${o.seed}, ${o.minutes} min each${o.plantBug ? `, planted bug ${o.plantBug}` : ""}: ${o.seeds - failed} passed, ${failed} failed; ` +
      `${simMin.toFixed(0)} simulated min in ${(realMs / 1000).toFixed(1)} s = ${Math.round(simMin / (realMs / 60_000))} simulated min per real min; ` +
      `${totals.events} events, ${totals.faults} faults and heals, ${totals.deaths} deaths declared, ${totals.fences} fence requests (${totals.fenceGiveUps} gave up), ` +
      `${totals.obligationsMet}/${totals.obligations} liveness obligations checked`,
  );
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) process.exitCode = main();
