// The portable check: the real portable folder is clean, and a folder of
// samples with one or more of every forbidden construct gets exactly the
// violations its `//!` markers announce (rule ids, on that line), no more.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { checkDir, portableFiles, Violation } from "./check.js";
import { RULES } from "./rules.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");
const PORTABLE = join(ROOT, "protocol", "src", "portable");
const MAIN = join(ROOT, "tools", "dist", "portable-check", "main.js");

const t = suite("portable check");

// Each sample line that must be rejected ends in `//! rule-id [rule-id…]`,
// one id per expected violation on that line. The markers are comments, so
// they cannot trigger anything themselves.
const SAMPLES: Record<string, string> = {
  "imports.ts": `
import { readFileSync } from "node:fs"; //! import-outside
import { x } from "../outside.js"; //! import-outside
import { helper } from "./helper.js";
import { inner } from "./sub/inner.js";
export * from "some-package"; //! import-outside
export const y = helper(x) + inner + readFileSync.length;
`,
  "helper.ts": `
export function helper(n: number): number { return n + 1; }
`,
  "sub/inner.ts": `
import { helper } from "../helper.js";
export const inner = helper(1);
`,
  "ignored.test.ts": `
import { readFileSync } from "node:fs";
console.log(readFileSync, /re/, new Map());
`,
  "globals.ts": `
// console.log("a comment may say anything"); process.exit(1); new Map();
const s = "process, Buffer and require inside a string are text";
export function log(m: string): void {
  console.log(m + s); //! host-global
}
export const env = process.env; //! host-global
export const b = Buffer.from("x"); //! host-global
export const r = require("fs"); //! host-global
export const g = globalThis; //! host-global
export const enc = new TextEncoder(); //! host-global
export const j = JSON.stringify({}); //! host-global
export const now = Date.now(); //! host-global
export function later(f: () => void): void { setTimeout(f, 1); } //! host-global
export function shadow(console: number, JSON: string): string { return JSON + console; }
export const m = new Map<string, number>(); //! collections
export const st = new Set<string>(); //! collections
export const sym = Symbol("x"); //! collections
export const u8 = new Uint8Array(4); //! typed-array
export const ab = new ArrayBuffer(4); //! typed-array
export const re = /ab+c/; //! regexp
export const re2 = new RegExp("x"); //! regexp
`,
  "syntax.ts": `
export function def(a: number, b = 1): number { return a + b; } //! default-parameter
export function rest(...xs: number[]): number { return xs.length; } //! rest-parameter
export const arr = [1, 2];
export const copy = [0].concat(arr);
export const spread = [...arr]; //! spread
export const chars = [..."abc"]; //! spread
export const obj = { ...{ a: 1 } }; //! spread
export const [first] = arr; //! destructuring
export function swap(p: number, q: number): number { [p, q] = [q, p]; return p; } //! destructuring
const key = "k";
export const computed = { [key]: 1 }; //! computed-key
export function lab(): void {
  outer: for (let i = 0; i < 2; i++) { //! label
    if (i > 0) break outer;
  }
}
export function sw(n: number): number {
  switch (n) {
    default: //! switch-default-first
      return 0;
    case 1:
      return 1;
  }
}
export function sw2(n: number): number {
  switch (n) {
    case 1:
      return 1;
    default:
      return 0;
  }
}
export function* gen(): Generator<number> { yield 1; } //! generator
export async function asy(p: number) { return p; } //! async-await
export async function asy2(p: number) { return (await asy(p)) + 1; } //! async-await async-await
function tag(parts: TemplateStringsArray): string { return parts.join(""); }
export const tagged = tag\`x\`; //! tagged-template
export const tpl = \`a\${arr.length}b\`;
`,
  "classes.ts": `
export class Counter {
  #hidden = 1; //! private-name
  static make(): Counter { return new Counter(); } //! class-self-reference
  static fine(): Counter { return new this(); }
  get value(): number { return this.#hidden; }
  set value(v: number) { this.#hidden = v; }
  constructor() { if (new.target) { this.#hidden = 2; } } //! meta-property
}
class Base { hello(): string { return "b"; } static s(): number { return 1; } }
export class Derived extends Base {
  override hello(): string { const f = () => super.hello(); return f() + super.hello(); } //! super-in-arrow
}
export const inherited = Derived.s(); //! inherited-static
export const own = Base.s();
`,
  "operators.ts": `
export function ops(a: { b?: { c: number } }, n: number, s: string | undefined): number {
  let x = a.b?.c ?? 0; //! optional-chaining
  x = n ** 2; //! exponent
  let t = s;
  t ??= "d"; //! logical-assignment
  x = (n & 1) | (n << 2); //! bitwise bitwise bitwise
  x = ~n; //! bitwise
  x = n >>> 0; //! bitwise
  x = -n % 3; //! negative-modulo
  x = n % 3;
  return x + t.length;
}
`,
  "numbers.ts": `
export const big = 10n; //! bigint
export const big2: bigint = BigInt(3); //! bigint bigint
export const im = Math.imul(3, 4); //! missing-builtin
export const isInt = Number.isInteger(3); //! missing-builtin
export const from = Array.from([1]); //! missing-builtin
export const mx = Math.max.apply(null, [1, 2]); //! builtin-as-value
export const ok = Math.max(1, 2) + Math.floor(Math.PI) + Math.pow(2, 3);
`,
  "strings.ts": `
export function strs(s: string, a: number[]): number {
  const i = s.lastIndexOf("x"); //! unsupported-method
  const t = s.trimStart(); //! unsupported-method
  const j = a.lastIndexOf(1); //! unsupported-method
  const parts = s.split(",", 2); //! split-limit
  return i + j + t.length + parts.length + s.indexOf("y") + s.split(",").length;
}
export const high = "caf\\xe9"; //! non-ascii-literal
export const highTpl = \`\\u00ff\`; //! non-ascii-literal
export const fine = String.fromCharCode(0xe9) + "\\x7f";
`,
  "arrays.ts": `
export function arrs(a: number[], o: { k?: number }): void {
  a.length = 0; //! array-length-assign
  const b: (number | undefined)[] = [];
  b[0] = undefined; //! store-undefined
  o.k = undefined; //! store-undefined
  a.splice(0);
}
export const holes = [1, , 3]; //! array-literal-hole
export const nulls = [null, 1]; //! array-literal-hole
export const withUndef = { a: undefined }; //! store-undefined
export const withNull = { a: null };
`,
  "loops.ts": `
export function loops(a: number[], s: string, o: Record<string, number>): number {
  let n = 0;
  for (const c of s) n += c.length; //! for-of-non-array
  for (const k in a) n += k.length; //! for-in-array
  for (const k in o) n += k.length;
  for (const x of a) n += x;
  const fns: (() => number)[] = [];
  for (let i = 0; i < 3; i++) fns.push(() => i); //! loop-closure
  for (let i = 0; i < 3; i++) fns.push(constant(i));
  return n + fns.length;
}
function constant(v: number): () => number { return () => v; }
`,
  "hoisting.ts": `
export function callsLater(): number { return lateFn(); }
export const early = lateFn(); //! use-before-declare
function lateFn(): number { return 1; }
export const afterwards = lateFn();
var old = 1; //! var-declaration
export function usesOld(): number { return old; }
`,
  "errors.ts": `
export class MyError extends Error {} //! error-subclass
export function errs(e: unknown): boolean {
  if (e instanceof Error) return true; //! error-instanceof
  throw new TypeError("x"); //! error-type
}
export function fine(): never { throw new Error("ok"); }
`,
  "host.ts": `
declare function hostWrite(s: string): void; //! host-function-this
declare function hostOk(this: void, s: string): void;
export function useHost(): void { hostWrite("a"); hostOk("b"); }
`,
};

interface Expected {
  file: string;
  line: number;
  rule: string;
}

function writeSamples(): string {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-portable-check-"));
  for (const name of Object.keys(SAMPLES)) {
    const p = join(dir, name);
    mkdirSync(resolve(p, ".."), { recursive: true });
    writeFileSync(p, SAMPLES[name]!.replace(/^\n/, ""));
  }
  return dir;
}

function expectedViolations(): Expected[] {
  const out: Expected[] = [];
  for (const name of Object.keys(SAMPLES)) {
    if (name.endsWith(".test.ts")) continue;
    SAMPLES[name]!.replace(/^\n/, "").split("\n").forEach((text, i) => {
      const at = text.indexOf("//!");
      if (at < 0) return;
      for (const rule of text.slice(at + 3).trim().split(/\s+/)) out.push({ file: name, line: i + 1, rule });
    });
  }
  return out;
}

const key = (e: Expected) => `${e.file}:${e.line}: ${e.rule}`;

function relativeTo(dir: string, v: Violation): Expected {
  return { file: v.file.slice(dir.length + 1), line: v.line, rule: v.rule };
}

let samples: string | null = null;

t.before(() => {
  samples = writeSamples();
});

t.after(() => {
  if (samples !== null) rmSync(samples, { recursive: true, force: true });
});

t("the real portable folder is clean", () => {
  const files = portableFiles(PORTABLE);
  assert.ok(files.length >= 10, `found ${files.length} files`);
  assert.ok(files.every((f) => !f.endsWith(".test.ts")), "tests are not checked");
  const v = checkDir(PORTABLE);
  assert.equal(v.map((x) => `${x.file}:${x.line}:${x.col}: ${x.rule}: ${x.message}`), []);
});

t("every rule has a sample, and the samples get exactly the marked violations", () => {
  const dir = samples!;
  const want = expectedViolations().map(key).sort();
  const got = checkDir(dir).map((v) => key(relativeTo(dir, v))).sort();
  assert.equal(got, want);
  const covered = new Set(expectedViolations().map((e) => e.rule));
  const untested = RULES.map((r) => r.id).filter((id) => !covered.has(id));
  assert.equal(untested, [], "rules without a sample");
  const ids = RULES.map((r) => r.id);
  assert.is(new Set(ids).size, ids.length, "rule ids are unique");
  for (const r of RULES) assert.ok(r.reason.length > 20, `${r.id} has a reason`);
});

t("violations carry the column, the message and the reason", () => {
  const dir = samples!;
  const v = checkDir(dir);
  const imp = v.find((x) => x.file.endsWith("imports.ts") && x.line === 1)!;
  assert.is(imp.col, 30, "column of the module name");
  assert.match(imp.message, "node:fs");
  assert.match(imp.reason, "HAL");
  const strSpread = v.find((x) => x.file.endsWith("syntax.ts") && x.line === 6)!;
  assert.is(strSpread.message, "spread of a string");
  const lastIndexOf = v.find((x) => x.file.endsWith("strings.ts") && x.line === 2)!;
  assert.is(lastIndexOf.col, 15);
  assert.is(lastIndexOf.message, "string method 'lastIndexOf'");
  const early = v.find((x) => x.rule === "use-before-declare")!;
  assert.is(`${early.line}:${early.col}`, "2:22");
});

t("the command exits 0 on the portable folder and 1 listing file:line:col on the samples", () => {
  const clean = spawnSync(process.execPath, [MAIN], { cwd: ROOT, encoding: "utf8" });
  assert.is(clean.status, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /portable check: \d+ files clean/);
  const bad = spawnSync(process.execPath, [MAIN, samples!], { cwd: samples!, encoding: "utf8" });
  assert.is(bad.status, 1, bad.stderr);
  const lines = bad.stdout.trim().split("\n");
  assert.is(lines.length, expectedViolations().length + 1);
  assert.ok(lines.includes(lines.find((l) => l.startsWith("imports.ts:1:30: import-outside: import of 'node:fs'"))!), bad.stdout);
  assert.match(lines[lines.length - 1]!, `portable check: ${expectedViolations().length} violations`);
  const missing = spawnSync(process.execPath, [MAIN, join(samples!, "no-such-dir")], { encoding: "utf8" });
  assert.is(missing.status, 2);
});

t.run();
