// The `lubdub` command: one subcommand per file under cli/commands, each
// registering itself on the program (commander parses and documents them).

import { Command, CommanderError } from "commander";
import { registerCheck } from "./commands/check.js";
import { registerDecode } from "./commands/decode.js";
import { registerDoctor } from "./doctor.js";
import { registerFenceConfirm } from "./commands/fence-confirm.js";
import { registerStandby } from "./commands/standby.js";
import { registerStatus } from "./commands/status.js";
import { EXIT_USAGE } from "./exit-codes.js";

export function buildProgram(): Command {
  const program = new Command("lubdub")
    .description("lubdub: two-node high availability, wire-compatible with Heartbeat 3.0.6")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  registerCheck(program);
  registerDecode(program);
  registerStatus(program);
  registerStandby(program);
  registerFenceConfirm(program);
  registerDoctor(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with code 0; argument errors were printed already.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw e;
  }
}
