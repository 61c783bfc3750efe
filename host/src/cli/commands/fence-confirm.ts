// lubdub fence-confirm NODE: with manual fencing (stonith_host * manual), the
// operator has made sure NODE is powered off and says so; the agent waiting
// to fence NODE then takes over (meatclient -c NODE in Heartbeat).

import type { Command } from "commander";
import { controlSocketPath, requestControlRaw } from "../../control/socket.js";
import type { FenceConfirmResponse } from "../../control/status.js";
import { DEFAULT_RUN_DIR } from "./status.js";

async function confirm(runDir: string, node: string): Promise<void> {
  const path = controlSocketPath(runDir);
  let r: FenceConfirmResponse;
  try {
    r = (await requestControlRaw(path, { cmd: "fence-confirm", node })) as FenceConfirmResponse;
  } catch (e) {
    process.stderr.write(`lubdub fence-confirm: cannot reach lubdubd at ${path}: ${(e as Error).message}\n`);
    process.exitCode = 3;
    return;
  }
  if (!r.ok) {
    process.stderr.write(`lubdub fence-confirm: ${r.error}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${node}: confirmed down; lubdubd goes on with the takeover\n`);
}

export function registerFenceConfirm(program: Command): void {
  program
    .command("fence-confirm")
    .description("confirm that NODE is powered off, for manual fencing (stonith_host * manual)")
    .argument("<node>", "the node that was fenced by hand")
    .option("--run-dir <dir>", "where lubdubd's control socket is", DEFAULT_RUN_DIR)
    .addHelpText("after", "\nOnly a fencing that is waiting can be confirmed. Make sure the node is really off first:\nconfirming a node that still runs lets both nodes hold the same resources.")
    .action((node: string, opts: { runDir: string }) => confirm(opts.runDir, node));
}
