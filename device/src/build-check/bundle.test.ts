// The Espruino bundle (device/dist/espruino.js, rebuilt here from source)
// holds only what Espruino 2v29 can run, and fits its size budget.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkEspruino, formatProblem } from "./check.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const BUNDLE = join(ROOT, "device", "dist", "espruino.js");
/** Minified bundle budget (issue 5, device-targets.md §3.3). */
const BUDGET_BYTES = 8192;

function rebuild(): string {
  const r = spawnSync(process.execPath, [join(ROOT, "device", "scripts", "build-espruino.mjs")], { cwd: ROOT, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  return readFileSync(BUNDLE, "latin1");
}

const code = rebuild();

test("the bundle uses only constructs Espruino 2v29 supports", () => {
  const problems = checkEspruino(code);
  assert.equal(problems.map(formatProblem), []);
});

test("the bundle is plain ASCII (Espruino strings are bytes)", () => {
  for (let i = 0; i < code.length; i++) {
    if (code.charCodeAt(i) > 126 || (code.charCodeAt(i) < 32 && code[i] !== "\n")) assert.unreachable(`byte ${code.charCodeAt(i)} at ${i}`);
  }
});

test(`the bundle fits the ${BUDGET_BYTES}-byte budget`, () => {
  const size = Buffer.byteLength(code, "latin1");
  console.log(`  device/dist/espruino.js: ${size} bytes (budget ${BUDGET_BYTES})`);
  assert.ok(size <= BUDGET_BYTES, `device/dist/espruino.js is ${size} bytes, over the ${BUDGET_BYTES}-byte budget`);
});

test.run();
