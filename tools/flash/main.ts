// The `npm run flash` command (see flash.ts).

import { existsSync } from "node:fs";
import { flash, parseArgs, USAGE } from "./flash.js";

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`flash: ${(e as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (!existsSync(options.bundle)) {
  console.error(`flash: ${options.bundle} does not exist; run npm run build first`);
  process.exit(2);
}
const code = await flash(options, (line) => console.log(line));
process.exit(code);
