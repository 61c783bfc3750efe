// Labs are undone when the process ends however it ends: normally, or on
// SIGINT/SIGTERM (then with the shell's exit code for that signal). A
// process killed with SIGKILL cannot clean up; sweepDeadLabs() in
// leftovers.ts takes care of what it left.

/** Something that undoes what it made; safe to call twice. */
export interface Cleanable {
  cleanup(): void;
}

const live = new Set<Cleanable>();
let hooked = false;

function cleanUpAll(): void {
  for (const l of [...live]) l.cleanup();
}

/** Cleans `lab` up at exit, SIGINT and SIGTERM, unless it was released first. */
export function cleanUpAtExit(lab: Cleanable): void {
  live.add(lab);
  if (hooked) return;
  hooked = true;
  process.on("exit", cleanUpAll);
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(sig, () => {
      cleanUpAll();
      process.exit(code);
    });
  }
}

/** The lab cleaned itself up: nothing left to do at exit. */
export function releaseAtExit(lab: Cleanable): void {
  live.delete(lab);
}
