// lubdub standby [all|foreign|local|failback] and lubdub takeover [...]:
// hb_standby and hb_takeover over the control socket. standby gives the named
// groups (this node's view) to the peer; takeover asks the peer to hand them
// over. Both need auto_failback on or off, as in Heartbeat.

import { type Command, InvalidArgumentError } from "commander";
import { controlSocketPath, requestControl } from "../../control/socket.js";
import { DEFAULT_RUN_DIR } from "./status.js";

const SETS = ["all", "foreign", "local", "failback"] as const;
type SetWord = (typeof SETS)[number];

function parseSet(v: string): SetWord {
  if (!(SETS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${SETS.join(", ")}`);
  return v as SetWord;
}

async function ask(runDir: string, cmd: "standby" | "takeover", set: SetWord): Promise<void> {
  const path = controlSocketPath(runDir);
  try {
    // hb_standby failback = give back the peer's groups (foreign).
    const req = cmd === "standby" ? { cmd, set: set === "failback" ? "foreign" : set } : { cmd, set };
    const r = await requestControl(path, req as never);
    if (!r.ok) {
      process.stderr.write(`lubdub ${cmd}: ${r.error}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${cmd} ${set}: requested; 'lubdub status' shows the groups moving (the peer must be up and stable)\n`);
  } catch (e) {
    process.stderr.write(`lubdub ${cmd}: cannot reach lubdubd at ${path}: ${(e as Error).message}\n`);
    process.exitCode = 3;
  }
}

export function registerStandby(program: Command): void {
  for (const [cmd, what] of [["standby", "give these resource groups to the peer (hb_standby)"], ["takeover", "take these resource groups from the peer (hb_takeover)"]] as const) {
    program
      .command(cmd)
      .description(what)
      .argument("[set]", `${SETS.join(" | ")} (default all)`, parseSet, "all")
      .option("--run-dir <dir>", "where lubdubd's control socket is", DEFAULT_RUN_DIR)
      .action((set: SetWord, opts: { runDir: string }) => ask(opts.runDir, cmd, set));
  }
}
