// lubdub portable check: keeps the shared protocol code inside the subset that
// runs on Espruino 2v29, on Lua 5.1 through typescript-to-lua, and on Node.
//
//   node tools/dist/portable-check/main.js [DIR]
//
// DIR defaults to protocol/src/portable. Exit status 0 when every file is
// clean, 1 with one line per violation (file:line:col: rule: what (why)),
// 2 when DIR cannot be read.

import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkDir, formatViolation, portableFiles } from "./check.js";
import { RULES } from "./rules.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");

function main(argv: string[]): number {
  if (argv.length > 1 || argv[0] === "-h" || argv[0] === "--help") {
    console.log("usage: node tools/dist/portable-check/main.js [DIR]   (default: protocol/src/portable)");
    console.log(`rules: ${RULES.map((r) => r.id).join(", ")}`);
    return argv.length > 1 ? 2 : 0;
  }
  const dir = argv[0] !== undefined ? resolve(argv[0]) : resolve(ROOT, "protocol", "src", "portable");
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.error(`portable check: ${dir} is not a directory`);
    return 2;
  }
  const files = portableFiles(dir);
  const violations = checkDir(dir);
  const here = process.cwd();
  for (const v of violations) console.log(formatViolation(v, here));
  if (violations.length > 0) {
    console.log(`portable check: ${violations.length} violation${violations.length === 1 ? "" : "s"} in ${files.length} files`);
    return 1;
  }
  console.log(`portable check: ${files.length} files clean (${RULES.length} rules)`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
