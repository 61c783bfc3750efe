// Entry point of the external/lubdub plugin (host/bin/stonith-external-lubdub.js).
import { externalLubdub } from "./external-lubdub.js";

process.exitCode = await externalLubdub(process.argv.slice(2), {
  env: process.env,
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
});
