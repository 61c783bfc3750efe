// Runs every test file of the repository (each `*.test.js` under a
// workspace's dist/) in its own process, a few at a time, and ends with one
// line counted over all of them:  N passed, N failed[, N skipped]
//
//   npm test                    every suite
//   npm test -- deframer lua    only files whose path contains one of the words
//
// LUBDUB_TEST_JOBS sets the parallelism (default: number of cores),
// LUBDUB_TEST_TIMEOUT_S the limit per file (default 900 s).

import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");
const WORKSPACES = ["protocol", "host", "device", "tools", "test"];
const JOBS = Number(process.env.LUBDUB_TEST_JOBS) || availableParallelism();
const TIMEOUT_MS = (Number(process.env.LUBDUB_TEST_TIMEOUT_S) || 900) * 1000;

interface Outcome {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  seconds: number;
}

function findTests(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === "node_modules") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
}

const ANSI = /\x1b\[[0-9;]*m/g;

function count(text: string, label: string): number | null {
  const m = new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

function runFile(file: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--enable-source-maps", file], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[runner] ${relative(ROOT, file)} exceeded ${TIMEOUT_MS / 1000} s; killed\n`;
      child.kill("SIGKILL");
    }, TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const text = output.replace(ANSI, "");
      const total = count(text, "Total");
      const passed = count(text, "Passed");
      const skipped = count(text, "Skipped") ?? 0;
      let failed = total !== null && passed !== null ? total - passed : 0;
      if (total === null || passed === null) {
        failed = Math.max(failed, 1);
        output += `\n[runner] no test summary (exit ${code ?? signal}); counted as one failure\n`;
      } else if (code !== 0 && failed === 0) {
        failed = 1;
        output += `\n[runner] exited ${code ?? signal} after its tests; counted as one failure\n`;
      }
      done({ file, passed: passed ?? 0, failed, skipped, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files: string[] = [];
  for (const ws of WORKSPACES) findTests(join(ROOT, ws, "dist"), files);
  files.sort();
  const selected = filters.length ? files.filter((f) => filters.some((w) => relative(ROOT, f).includes(w))) : files;
  if (selected.length === 0) {
    console.log(`no test files${filters.length ? ` match ${filters.join(" ")}` : " (did the build run?)"}`);
    console.log("0 passed, 1 failed");
    process.exitCode = 1;
    return;
  }
  const outcomes: Outcome[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < selected.length) {
      const file = selected[next++]!;
      const o = await runFile(file);
      outcomes.push(o);
      const status = o.failed ? "FAIL" : "ok  ";
      process.stdout.write(`\n=== ${status} ${relative(ROOT, file)} (${o.passed} passed, ${o.failed} failed, ${o.skipped} skipped, ${o.seconds.toFixed(1)} s)\n`);
      process.stdout.write(o.output.replace(/\s+$/, "") + "\n");
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, JOBS) }, worker));
  const passed = outcomes.reduce((s, o) => s + o.passed, 0);
  const failed = outcomes.reduce((s, o) => s + o.failed, 0);
  const skipped = outcomes.reduce((s, o) => s + o.skipped, 0);
  const failing = outcomes.filter((o) => o.failed).map((o) => relative(ROOT, o.file));
  if (failing.length) console.log(`\nfailing files: ${failing.join(", ")}`);
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exitCode = failed ? 1 : 0;
}

void main();
