// Running the `ip`, `tc` and `nft` commands a lab is made of. Every run is
// bounded: a command that hangs (a wedged netlink socket, a slow `ip netns
// delete`) fails the lab instead of hanging it.

import { execFile, spawnSync } from "node:child_process";

/** How long one setup or teardown command may take. */
const COMMAND_TIMEOUT_MS = 10_000;
/** How long a read made while a lab runs (a status poll) may take. */
const QUERY_TIMEOUT_MS = 3000;

/** Runs a command; its stdout, or throws naming the command unless `allowFail`. */
export function run(args: string[], allowFail = false, input?: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: COMMAND_TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || "").trim()}`);
  }
  return r.stdout ?? "";
}

/** Runs a command without blocking the event loop; its stdout, or "" when it fails. */
export function query(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(args[0]!, args.slice(1), { encoding: "utf8", timeout: QUERY_TIMEOUT_MS }, (err, stdout) => resolve(err ? "" : stdout));
  });
}
