// Shared machinery of the benchmarks: the registry entry type, option
// parsing, a measuring loop and the text table.
//
// A benchmark is one module under tools/bench/ exporting a `Benchmark`;
// run.ts lists them. Each measured case runs a warm-up, then several timed
// rounds; every round calls the operation in batches large enough that the
// two clock reads around a batch cost nothing measurable. Results keep the
// median round and the fastest/slowest ones, so a noisy run shows up as a
// wide spread instead of a misleading single number.

import { cpus, availableParallelism } from "node:os";

export interface BenchOptions {
  /** Measured time per case, in seconds (warm-up comes on top). */
  seconds: number;
  /** Timed rounds per case; the median is reported. */
  rounds: number;
  /** Machine-readable output: one JSON document on stdout, nothing else. */
  json: boolean;
  /** Arguments the common parser did not recognise (benchmark-specific). */
  rest: string[];
  /** Called after each case (text mode prints the row right away). */
  onCase?: (c: CaseResult) => void;
}

export interface CaseResult {
  /** Unique within the report, e.g. "sha1 netstring decode+verify". */
  name: string;
  /** What is timed, e.g. "encode+sign", "decode+verify", "deframe". */
  op: string;
  /** Wire format: "netstring" (UDP) or "classic" (serial). */
  format: string;
  /** Auth method, or null when the case does not depend on one. */
  method: string | null;
  /** What one unit is ("msg" or "frame"). */
  unit: string;
  /** Units processed while measuring (all rounds). */
  units: number;
  /** Bytes of wire data per unit. */
  bytesPerUnit: number;
  rounds: number;
  /** Median round. */
  unitsPerSec: number;
  usPerUnit: number;
  /** Fastest and slowest round. */
  usPerUnitMin: number;
  usPerUnitMax: number;
  /** Wire bytes per second (median round), in MB/s (10^6). */
  mbPerSec: number;
  /** The project's goal for this case in µs per unit, or null when it has none. */
  goalUs: number | null;
  meetsGoal: boolean | null;
  /** Case-specific consistency checks (e.g. how many messages verified). */
  checks: Record<string, number | boolean | string>;
}

export interface BenchReport {
  benchmark: string;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  seconds: number;
  rounds: number;
  date: string;
  cases: CaseResult[];
  notes: string[];
  /** Folded results of every timed call, printed so no work can be optimised away. */
  sink: number;
}

export interface Benchmark {
  name: string;
  describe: string;
  run(options: BenchOptions): Promise<BenchReport> | BenchReport;
}

export const DEFAULT_SECONDS = 2;
export const DEFAULT_ROUNDS = 7;

export type ParsedArgs = { ok: true; name: string | null; options: BenchOptions } | { ok: false; error: string };

/** `[NAME] [--seconds N] [--rounds N] [--json] [benchmark-specific args...]` */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  let name: string | null = null;
  let seconds = DEFAULT_SECONDS;
  let rounds = DEFAULT_ROUNDS;
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf("=");
    const flag = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === "--json") json = true;
    else if (flag === "--seconds" || flag === "--rounds") {
      const v = value();
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n <= 0) return { ok: false, error: `${flag} needs a positive number` };
      if (flag === "--seconds") seconds = n;
      else {
        if (!Number.isInteger(n)) return { ok: false, error: "--rounds needs a whole number" };
        rounds = n;
      }
    } else if (!a.startsWith("-") && name === null) name = a;
    else rest.push(a);
  }
  return { ok: true, name, options: { seconds, rounds, json, rest } };
}

/** Accumulates results of timed calls; read once at the end. */
export class Sink {
  value = 0;
  add(n: number): void {
    this.value = (this.value + n) | 0;
  }
}

export interface CaseSpec {
  name: string;
  op: string;
  format: string;
  method: string | null;
  unit: string;
  /** Units one call of `fn` processes (e.g. frames in one stream pass). */
  unitsPerCall: number;
  bytesPerUnit: number;
  goalUs: number | null;
  /** One unit of work; returns a number that goes into the sink. */
  fn: () => number;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function timeCalls(fn: () => number, calls: number, sink: Sink): number {
  const t0 = process.hrtime.bigint();
  let acc = 0;
  for (let i = 0; i < calls; i++) acc = (acc + fn()) | 0;
  const ns = Number(process.hrtime.bigint() - t0);
  sink.add(acc);
  return ns;
}

/** Warm-up, batch calibration and timed rounds for one case. */
export function measure(spec: CaseSpec, options: BenchOptions, sink: Sink): CaseResult {
  const roundNs = (options.seconds * 1e9) / options.rounds;
  // Batches of at least ~2 ms (less when rounds are very short) keep the clock
  // reads (tens of ns) far below 0.01 % of a batch.
  const batchNs = Math.min(2e6, roundNs / 4);
  const warmupNs = Math.max(options.seconds * 0.25 * 1e9, 1e6);

  // Calibrate while warming up: double the batch until one lasts batchNs.
  let batch = 1;
  let spent = 0;
  for (;;) {
    const ns = timeCalls(spec.fn, batch, sink);
    spent += ns;
    if (ns >= batchNs) break;
    batch = ns > 0 && ns < batchNs / 4 ? batch * 4 : batch * 2;
  }
  while (spent < warmupNs) spent += timeCalls(spec.fn, batch, sink);

  const perRound: number[] = [];
  let units = 0;
  for (let r = 0; r < options.rounds; r++) {
    let ns = 0;
    let calls = 0;
    do {
      ns += timeCalls(spec.fn, batch, sink);
      calls += batch;
    } while (ns < roundNs);
    units += calls * spec.unitsPerCall;
    perRound.push(ns / 1000 / (calls * spec.unitsPerCall));
  }
  const us = median(perRound);
  const result: CaseResult = {
    name: spec.name,
    op: spec.op,
    format: spec.format,
    method: spec.method,
    unit: spec.unit,
    units,
    bytesPerUnit: spec.bytesPerUnit,
    rounds: options.rounds,
    unitsPerSec: 1e6 / us,
    usPerUnit: us,
    usPerUnitMin: Math.min(...perRound),
    usPerUnitMax: Math.max(...perRound),
    mbPerSec: spec.bytesPerUnit / us,
    goalUs: spec.goalUs,
    meetsGoal: spec.goalUs === null ? null : us <= spec.goalUs,
    checks: {},
  };
  options.onCase?.(result);
  return result;
}

export function machine(): Pick<BenchReport, "node" | "v8" | "platform" | "arch" | "cpu" | "cores"> {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpu: list[0]?.model.trim() || "unknown",
    cores: availableParallelism(),
  };
}

function fmt(n: number, digits: number): string {
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return n.toFixed(digits);
}

export const TABLE_HEADER = ["case", "unit/s", "µs/unit", "min–max µs", "MB/s", "goal"];

export function tableRow(c: CaseResult): string[] {
  const goal = c.goalUs === null ? "" : `${c.meetsGoal ? "meets" : "MISSES"} ≤${c.goalUs} µs`;
  return [
    c.name,
    `${fmt(c.unitsPerSec, 0)} ${c.unit}/s`,
    c.usPerUnit.toFixed(2),
    `${c.usPerUnitMin.toFixed(2)}–${c.usPerUnitMax.toFixed(2)}`,
    c.mbPerSec.toFixed(1),
    goal,
  ];
}

const WIDTHS = [46, 16, 9, 15, 8, 0];

export function formatRow(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[i]!) : WIDTHS[i] ? c.padStart(WIDTHS[i]!) : c)).join("  ").trimEnd();
}
