// Benchmark dispatcher.
//
//   npm run bench                          lists the benchmarks
//   npm run bench -- codec                 runs one
//   npm run bench -- codec --seconds 0.5   shorter measurement per case (default 2 s)
//   npm run bench -- codec --rounds 9      timed rounds per case (default 7; the median is reported)
//   npm run bench -- codec --json          one JSON document on stdout
//
// Further arguments go to the benchmark (codec: --only WORD, --chunk BYTES).
// A new benchmark is one module exporting a `Benchmark` (see harness.ts),
// listed in registry.ts.

import { BenchReport, formatRow, machine, parseArgs, TABLE_HEADER, tableRow, DEFAULT_ROUNDS, DEFAULT_SECONDS } from "./harness.js";
import { BENCHMARKS } from "./registry.js";

function usage(): string {
  const lines = [
    "usage: npm run bench -- NAME [--seconds N] [--rounds N] [--json] [benchmark arguments]",
    `  --seconds N  measured time per case (default ${DEFAULT_SECONDS}; a warm-up of a quarter of it comes first)`,
    `  --rounds N   timed rounds per case (default ${DEFAULT_ROUNDS}; median and min–max are reported)`,
    "  --json       machine-readable output",
    "",
    "benchmarks:",
    ...BENCHMARKS.map((b) => `  ${b.name.padEnd(10)} ${b.describe}`),
  ];
  return lines.join("\n");
}

function printHeader(r: Pick<BenchReport, "node" | "v8" | "cpu" | "cores" | "platform" | "arch">, name: string, seconds: number, rounds: number): void {
  console.log(`benchmark ${name}: Node ${r.node} (V8 ${r.v8}), ${r.platform}/${r.arch}, ${r.cores} cores, ${r.cpu}`);
  console.log(`${seconds} s per case in ${rounds} round${rounds === 1 ? "" : "s"} after warm-up; median round, min–max over rounds\n`);
  console.log(formatRow(TABLE_HEADER));
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (!parsed.ok) {
    console.error(parsed.error + "\n\n" + usage());
    process.exitCode = 2;
    return;
  }
  const { name, options } = parsed;
  if (name === null) {
    console.log(usage());
    return;
  }
  const bench = BENCHMARKS.find((b) => b.name === name);
  if (!bench) {
    console.error(`no benchmark named '${name}'\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  if (!options.json) {
    printHeader(machine(), bench.name, options.seconds, options.rounds);
    options.onCase = (c) => console.log(formatRow(tableRow(c)));
  }
  let report: BenchReport;
  try {
    report = await bench.run(options);
  } catch (e) {
    console.error(`benchmark ${bench.name} failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
    return;
  }
  if (options.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log("");
  for (const n of report.notes) console.log(`note: ${n}`);
  console.log(`(result sink ${report.sink})`);
}

void main();
