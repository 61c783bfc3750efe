// Every benchmark `npm run bench` knows. A new benchmark is one module under
// tools/bench/ exporting a `Benchmark` (see harness.ts), listed here.

import type { Benchmark } from "./harness.js";
import { agentBenchmark } from "./agent.js";
import { codecBenchmark } from "./codec.js";
import { deviceBenchmark } from "./device.js";
import { failoverBenchmark } from "./failover.js";
import { simBenchmark } from "./sim.js";

export const BENCHMARKS: readonly Benchmark[] = [codecBenchmark, agentBenchmark, failoverBenchmark, deviceBenchmark, simBenchmark];
