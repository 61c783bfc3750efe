// The simulator's persistent storage (hal.load/save): one text file holding
// every stored key, one `key=value` line each, rewritten whole through a
// temporary file and rename(2), so a crash leaves the old or the new file,
// never half of one. Values are escaped so each stays on its line:
// backslash as `\\`, newline as `\n`, carriage return as `\r`; any other
// byte outside printable ASCII as `\xHH`. Blank lines and lines starting
// with `#` are ignored. Example:
//
//   # lubdub device state
//   lubdub.cfg=unit=lubdub-rpc\na.host=alpha\nb.host=bravo\n...
//
// The Lua gateway build reads and writes the same format.

import { readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";

export function escapeValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92) out += "\\\\";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c < 32 || c > 126) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += v[i];
  }
  return out;
}

export function unescapeValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    if (ch !== "\\" || i + 1 >= v.length) {
      out += ch;
      continue;
    }
    const next = v[++i]!;
    if (next === "n") out += "\n";
    else if (next === "r") out += "\r";
    else if (next === "\\") out += "\\";
    else if (next === "x" && /^[0-9a-fA-F]{2}$/.test(v.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += "\\" + next;
  }
  return out;
}

/** Parses state file text; bad lines are passed to `bad` (1-based line number) and skipped. */
export function parseState(text: string, bad: (line: number, why: string) => void): Map<string, string> {
  const m = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      bad(i + 1, "expected key=value");
      continue;
    }
    m.set(line.slice(0, eq), unescapeValue(line.slice(eq + 1)));
  }
  return m;
}

export function serializeState(m: Map<string, string>): string {
  let out = "# lubdub device state: key=value, one stored key a line (\\n \\r \\\\ \\xHH escapes)\n";
  for (const k of [...m.keys()].sort()) out += `${k}=${escapeValue(m.get(k)!)}\n`;
  return out;
}

export class StateFile {
  readonly values: Map<string, string>;

  /** Reads `path` (a missing file is an empty store). */
  constructor(
    readonly path: string | null,
    bad: (line: number, why: string) => void,
  ) {
    this.values = path !== null && existsSync(path) ? parseState(readFileSync(path, "latin1"), bad) : new Map();
  }

  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  set(key: string, value: string): void {
    this.values.set(key, value);
    this.write();
  }

  /** Writes the whole file atomically (temporary file + rename). */
  write(): void {
    if (this.path === null) return;
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, serializeState(this.values), { encoding: "latin1", mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
