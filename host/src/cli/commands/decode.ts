// lubdub decode [--authkeys FILE] [--pretty] [FILE...]
// Reads raw Heartbeat messages (UDP payloads or a serial stream, back to back)
// from the files or from stdin and prints one JSON object per message.

import { readFileSync, statSync } from "node:fs";
import type { Command } from "commander";
import { Authkeys, authkeysModeProblem, formatDiagnostic, parseAuthkeys } from "@lubdub/protocol";
import { decodeExitCode, reportStream, StreamSummary } from "../../decode/report.js";
import { EXIT_DATAERR, EXIT_NOINPUT } from "../exit-codes.js";

function loadKeys(file: string): Authkeys | number {
  let text: string;
  try {
    text = readFileSync(file, "latin1");
  } catch (e) {
    console.error(`lubdub decode: cannot read authkeys ${file}: ${(e as Error).message}`);
    return EXIT_NOINPUT;
  }
  const mode = authkeysModeProblem(statSync(file).mode);
  if (mode) console.error(`lubdub decode: warning: ${file}: ${mode}`);
  const parsed = parseAuthkeys(text, file);
  for (const w of parsed.warnings) console.error(formatDiagnostic(w));
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(formatDiagnostic(e));
    return EXIT_DATAERR;
  }
  return parsed.keys;
}

async function* readStdin(): AsyncGenerator<string> {
  for await (const chunk of process.stdin) yield (chunk as Buffer).toString("latin1");
}

export function registerDecode(program: Command): void {
  program
    .command("decode")
    .description("decode Heartbeat/lubdub messages from files or stdin and print each as JSON")
    .argument("[files...]", "files of raw messages (stdin when none)")
    .option("-k, --authkeys <file>", "authkeys to verify signatures with (without it only crc can be checked)")
    .option("--pretty", "indent the JSON")
    .addHelpText("after", "\nExit status: 0 every message decoded and verified, 1 a message failed verification, 2 a message was malformed.\nExample: tcpdump -w - udp port 694 | ... | lubdub decode --authkeys /etc/ha.d/authkeys")
    .action(async (files: string[], opts: { authkeys?: string; pretty?: boolean }) => {
      let keys: Authkeys | null = null;
      if (opts.authkeys) {
        const k = loadKeys(opts.authkeys);
        if (typeof k === "number") {
          process.exitCode = k;
          return;
        }
        keys = k;
      }
      const print = (r: unknown) => process.stdout.write(JSON.stringify(r, null, opts.pretty ? 2 : undefined) + "\n");
      const summaries: StreamSummary[] = [];
      if (files.length === 0) {
        const chunks: string[] = [];
        for await (const c of readStdin()) chunks.push(c);
        const { reports, summary } = reportStream("stdin", chunks, keys);
        reports.forEach(print);
        summaries.push(summary);
      } else {
        for (const file of files) {
          let data: string;
          try {
            data = readFileSync(file, "latin1");
          } catch (e) {
            console.error(`lubdub decode: cannot read ${file}: ${(e as Error).message}`);
            process.exitCode = EXIT_NOINPUT;
            return;
          }
          const { reports, summary } = reportStream(file, [data], keys);
          reports.forEach(print);
          summaries.push(summary);
        }
      }
      process.exitCode = decodeExitCode(summaries);
    });
}
