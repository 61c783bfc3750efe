// Builds the device targets that are not plain Node output: the Espruino
// bundle and the Lua bundles. Each step runs when its build file exists, so
// `npm run build` works while a target is being added.

import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const device = join(here, "..");
const root = join(device, "..");

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const espruino = join(here, "build-espruino.mjs");
if (existsSync(espruino)) run(process.execPath, [espruino]);

const tstl = join(root, "node_modules", ".bin", "tstl");
for (const name of ["gateway", "nodemcu"]) {
  const config = join(device, `tsconfig.${name}.json`);
  if (existsSync(config)) run(tstl, ["-p", config]);
}
