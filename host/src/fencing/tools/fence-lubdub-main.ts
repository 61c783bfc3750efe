// Entry point of the fence_lubdub command (host/bin/fence_lubdub.js).
import { fenceLubdub, readStdin } from "./fence-lubdub.js";

const code = await fenceLubdub(process.argv.slice(2), {
  stdin: readStdin,
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
});
process.exitCode = code;
