// The Espruino bundle (device/dist/espruino.js, rebuilt here from source)
// holds only what Espruino 2v29 can run, and does not grow past its ceiling.
//
// Size: issue 5 aims at 8,192 bytes minified. With every required feature
// (relay, watchdogs, authenticated fencing, the BayTech console, settings)
// the bundle is about 14.8 KB, so the aim is not met; docs/benchmarks.md
// (## device) and device/src/targets/espruino/README.md say what takes the
// space. The test holds the bundle under a ceiling just above today's size,
// so growth is a decision, not an accident, and prints the aim beside the
// measurement.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkEspruino, formatProblem } from "./check.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const BUNDLE = join(ROOT, "device", "dist", "espruino.js");
/** The size aim of issue 5 (device-targets.md §3.3): not met today, printed beside the measurement. */
const AIM_BYTES = 8192;
/** Today's ceiling: the measured size (14,773 bytes) plus a little room. */
const CEILING_BYTES = 14848;

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

test(`the bundle stays under its ${CEILING_BYTES}-byte ceiling`, () => {
  const size = Buffer.byteLength(code, "latin1");
  const aim = size <= AIM_BYTES ? "meets" : "misses";
  console.log(`  device/dist/espruino.js: ${size} bytes (ceiling ${CEILING_BYTES}; ${aim} the ${AIM_BYTES}-byte aim)`);
  assert.ok(size <= CEILING_BYTES, `device/dist/espruino.js is ${size} bytes, over the ${CEILING_BYTES}-byte ceiling`);
});

test.run();
