// A null-modem cable for tests: socat joins two pseudo-terminals and links
// them as A and B in a directory. Killing socat (close(), by its PID) is the
// cable being pulled; opening a new pair on the same paths is it plugged back.
//
// Needs socat (SOCAT in require.ts).

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How long socat gets to create both links. */
export const PTY_READY_TIMEOUT_MS = 5000;

const open = new Set<PtyPair>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const p of open) {
      p.kill();
      if (p.ownsDir) rmSync(p.dir, { recursive: true, force: true });
    }
  });
}

export interface PtyOptions {
  /** Directory for the links (default: a new temporary one, removed by close()). */
  dir?: string;
  /** Link names (default "A" and "B"). */
  names?: [string, string];
}

export class PtyPair {
  private exited: Promise<void>;
  private stderr = "";

  private constructor(
    readonly a: string,
    readonly b: string,
    readonly dir: string,
    readonly ownsDir: boolean,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((r) => child.once("exit", () => r()));
    child.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts socat and resolves once both links exist. */
  static async open(o: PtyOptions = {}): Promise<PtyPair> {
    const ownDir = o.dir === undefined;
    const dir = o.dir ?? mkdtempSync(join(tmpdir(), "lubdub-pty-"));
    const [na, nb] = o.names ?? ["A", "B"];
    const a = join(dir, na);
    const b = join(dir, nb);
    const child = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ["ignore", "ignore", "pipe"] });
    const pair = new PtyPair(a, b, dir, ownDir, child);
    open.add(pair);
    hookExit();
    const until = Date.now() + PTY_READY_TIMEOUT_MS;
    let failed: Error | null = null;
    child.once("error", (e) => (failed = e));
    while (!(existsSync(a) && existsSync(b))) {
      if (failed || child.exitCode !== null || Date.now() > until) {
        await pair.close();
        throw new Error(`socat did not make a pty pair in ${dir}: ${(failed as Error | null)?.message ?? pair.stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return pair;
  }

  /** SIGKILL by PID, without waiting (for exit handlers). */
  kill(): void {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /**
   * Pulls the cable: socat gets SIGTERM (it then removes its links) and, if
   * it lingers, SIGKILL. Resolves when it has exited. The directory is kept
   * unless `removeDir` (default: only when open() made it).
   */
  async close(removeDir = this.ownsDir): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      const t = setTimeout(() => this.kill(), 1000);
      await this.exited;
      clearTimeout(t);
    }
    open.delete(this);
    if (removeDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
