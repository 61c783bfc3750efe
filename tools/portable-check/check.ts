// Checks that a folder of TypeScript stays inside the portable subset (the
// part of lubdub that is also built for Espruino and for Lua 5.1). Every .ts
// file under the folder except *.test.ts and *.d.ts is parsed and type-checked
// with the typescript compiler API (ES2022 library only, no Node types), and
// every node is run past each rule of rules.ts. Comments are never looked at.

import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { Context, RULES, Rule } from "./rules.js";

export interface Violation {
  /** Absolute path of the file. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  rule: string;
  message: string;
  reason: string;
}

/** The files the check covers: *.ts under `dir`, without tests and declaration files, sorted. */
export function portableFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (name !== "node_modules") visit(p);
      } else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) out.push(p);
    }
  };
  visit(dir);
  return out;
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2022.d.ts"],
  types: [],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
};

/** Runs every rule (or the ones given) over the portable files of `dir`. */
export function checkDir(dir: string, rules?: Rule[]): Violation[] {
  const root = resolve(dir);
  const files = portableFiles(root);
  const program = ts.createProgram(files, COMPILER_OPTIONS);
  const checker = program.getTypeChecker();
  const own = new Set(files.map((f) => ts.sys.resolvePath(f)));
  const isProjectFile = (f: string) => own.has(ts.sys.resolvePath(f));
  const violations: Violation[] = [];
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (sf === undefined) continue;
    for (const r of rules ?? RULES) {
      const ctx: Context = {
        checker,
        sourceFile: sf,
        dir: root,
        isProjectFile,
        report(node, message) {
          const pos = sf.getLineAndCharacterOfPosition(node.getStart(sf));
          violations.push({ file, line: pos.line + 1, col: pos.character + 1, rule: r.id, message, reason: r.reason });
        },
      };
      const visit = (node: ts.Node) => {
        r.check(node, ctx);
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
  violations.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col || (a.rule < b.rule ? -1 : 1)));
  return violations;
}

/** `path:line:col: rule: message (why)`, with the path relative to `from`. */
export function formatViolation(v: Violation, from: string): string {
  return `${relative(from, v.file)}:${v.line}:${v.col}: ${v.rule}: ${v.message} (${v.reason})`;
}
