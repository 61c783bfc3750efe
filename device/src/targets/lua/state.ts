// The state file of the Lua gateway (hal.load/save), in the simulator's
// format (device/src/targets/sim/state-file.ts), so either build can start
// from the other's file: one `key=value` line per stored key, keys sorted,
// values escaped so each stays on its line (backslash `\\`, newline `\n`,
// carriage return `\r`, any other byte outside printable ASCII `\xHH`),
// blank lines and `#` lines ignored.
//
// Portable TypeScript (no RegExp, no Map): runs under Lua 5.1 and is
// checked under Node against the simulator's functions.

const HEX = "0123456789abcdef";

function hexByte(c: number): string {
  return HEX.charAt(Math.floor(c / 16)) + HEX.charAt(c % 16);
}

function hexValue(ch: string): number {
  const i = HEX.indexOf(ch.toLowerCase());
  return i;
}

export function escapeStateValue(v: string): string {
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92) out.push("\\\\");
    else if (c === 10) out.push("\\n");
    else if (c === 13) out.push("\\r");
    else if (c < 32 || c > 126) out.push("\\x" + hexByte(c));
    else out.push(v.charAt(i));
  }
  return out.join("");
}

export function unescapeStateValue(v: string): string {
  const out: string[] = [];
  let i = 0;
  while (i < v.length) {
    const ch = v.charAt(i);
    if (ch !== "\\" || i + 1 >= v.length) {
      out.push(ch);
      i++;
      continue;
    }
    const next = v.charAt(i + 1);
    i += 2;
    if (next === "n") out.push("\n");
    else if (next === "r") out.push("\r");
    else if (next === "\\") out.push("\\");
    else if (next === "x" && i + 1 < v.length && hexValue(v.charAt(i)) >= 0 && hexValue(v.charAt(i + 1)) >= 0) {
      out.push(String.fromCharCode(hexValue(v.charAt(i)) * 16 + hexValue(v.charAt(i + 1))));
      i += 2;
    } else out.push("\\" + next);
  }
  return out.join("");
}

export interface StateStore {
  keys: string[];
  values: { [key: string]: string };
}

/** Parses state file text; a bad line goes to `bad` (1-based line number) and is skipped. */
export function parseStateText(text: string, bad: (this: void, line: number, why: string) => void): StateStore {
  const s: StateStore = { keys: [], values: {} };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.substring(0, line.length - 1);
    if (line.trim().length === 0 || line.charCodeAt(0) === 35) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      bad(i + 1, "expected key=value");
      continue;
    }
    setStateValue(s, line.substring(0, eq), unescapeStateValue(line.substring(eq + 1)));
  }
  return s;
}

export function setStateValue(s: StateStore, key: string, value: string): void {
  if (s.values[key] === undefined) s.keys.push(key);
  s.values[key] = value;
}

export function getStateValue(s: StateStore, key: string): string | null {
  const v = s.values[key];
  return v === undefined ? null : v;
}

export function serializeStateText(s: StateStore): string {
  const keys = s.keys.slice();
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = ["# lubdub device state: key=value, one stored key a line (\\n \\r \\\\ \\xHH escapes)\n"];
  for (const k of keys) out.push(k + "=" + escapeStateValue(s.values[k]!) + "\n");
  return out.join("");
}
