#!/usr/bin/env node
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`lubdub: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 70; // EX_SOFTWARE
  },
);
