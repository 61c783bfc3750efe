#!/usr/bin/env node
// The lubdubd agent. A committed file, so npm can link it at install time
// (the compiled code it loads is built afterwards, by `npm run build`).
//
// One V8 setting first. The agent runs the same few functions tens of times a
// second, for ever (a status message out and two in per keepalive); with
// V8's default interrupt budget they reach the optimising compiler only after
// minutes, and until then run in the interpreter. A quarter of the budget
// gets them optimised within the first minute, which measurably lowers the
// agent's CPU (docs/benchmarks.md, "## agent": about 0.09 % of a core less at
// keepalive 100 ms). An --interrupt-budget given to node (on its command line
// or in NODE_OPTIONS) wins. The daemon is imported afterwards, so the setting
// applies to all of its code.
import { setFlagsFromString } from "node:v8";

const INTERRUPT_BUDGET = 16 * 1024;
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => /^--interrupt[-_]budget(=|$)/.test(a));
if (!given) setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);

await import("../dist/daemon/lubdubd.js");
