// Rejects JavaScript that Espruino 2v29 cannot run, as measured in
// ../shared/docs/device-targets.md §1.2. Espruino parses a function body only
// when the function first runs, so a construct it cannot parse would show up
// late, on a board; this check parses the whole bundle up front (acorn, a real
// ES parser) and walks every node.
//
// Each rule has a name, so a test can say which rule caught a snippet. The
// "declared before called" rule is best effort: it looks at calls made
// directly by the statements that run before a function declaration in the
// same statement list, not through other functions.

import { parse } from "acorn";

export interface Problem {
  rule: string;
  message: string;
  line: number;
  column: number;
}

// A loose view of ESTree nodes: the checker reads them generically.
interface Node {
  type: string;
  start: number;
  loc?: { start: { line: number; column: number } };
  [key: string]: unknown;
}

const NO_GLOBALS = ["Map", "Set", "WeakMap", "WeakSet", "WeakRef", "Symbol", "Proxy", "Reflect", "BigInt", "queueMicrotask", "RangeError"];

const NO_STATICS: { [object: string]: string[] } = {
  Math: ["imul", "trunc", "sign", "clz32", "hypot", "cbrt", "log2", "log10", "fround", "expm1", "log1p"],
  Number: ["isInteger", "isNaN", "isFinite", "isSafeInteger", "MAX_SAFE_INTEGER", "MIN_SAFE_INTEGER", "EPSILON"],
  Array: ["from", "of"],
  Object: ["freeze", "isFrozen", "seal"],
  Promise: ["race", "any", "allSettled"],
  String: ["raw"],
};

/** Methods missing whatever they are called on. */
const NO_METHODS = ["finally", "flat", "flatMap", "reduceRight", "trimStart", "trimEnd", "codePointAt", "localeCompare"];

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && typeof (v as Node).type === "string";
}

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const key of Object.keys(node)) {
    if (key === "loc") continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const item of v) if (isNode(item)) out.push(item);
    } else if (isNode(v)) {
      out.push(v);
    }
  }
  return out;
}

const FUNCTIONS = ["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"];

/** What in a RegExp pattern Espruino 2v29 gets wrong, or "" (§1.2: `?`, `{n,m}`, lookaround, `\b`, lazy, flags). */
export function regexProblem(pattern: string, flags: string): string {
  for (const f of flags) {
    if (f !== "g" && f !== "i") return `flag '${f}'`;
  }
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const n = pattern[i + 1];
      if (!inClass && (n === "b" || n === "B")) return `\\${n}`;
      if (n === "k") return "named back-reference";
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(" && pattern[i + 1] === "?") {
      const n = pattern[i + 2];
      if (n !== ":") return n === "<" && pattern[i + 3] !== "=" && pattern[i + 3] !== "!" ? "named group" : "lookaround";
      i += 2;
    } else if (c === "?") {
      const prev = pattern[i - 1];
      return prev === "*" || prev === "+" || prev === "}" ? "lazy quantifier" : "optional '?'";
    } else if (c === "{" && /^\{\d+(,\d*)?\}/.test(pattern.substring(i))) {
      return "{n,m} quantifier";
    }
  }
  return "";
}

function memberName(node: Node): string | null {
  if (node.type !== "MemberExpression" || node.computed) return null;
  const p = node.property as Node;
  return p.type === "Identifier" ? (p.name as string) : null;
}

function identifiersIn(node: Node, name: string): boolean {
  if (node.type === "Identifier" && node.name === name) return true;
  for (const c of children(node)) if (identifiersIn(c, name)) return true;
  return false;
}

/** Calls to `name` made while `node` runs (nested function bodies run later, so they are skipped, IIFEs are not). */
function callsWhileRunning(node: Node, name: string): Node | null {
  if ((node.type === "CallExpression" || node.type === "NewExpression")) {
    const callee = node.callee as Node;
    if (callee.type === "Identifier" && callee.name === name) return node;
    if (FUNCTIONS.includes(callee.type)) {
      const hit = callsWhileRunning(callee.body as Node, name);
      if (hit) return hit;
    }
  }
  if (FUNCTIONS.includes(node.type) || node.type === "ClassDeclaration" || node.type === "ClassExpression") return null;
  for (const c of children(node)) {
    const hit = callsWhileRunning(c, name);
    if (hit) return hit;
  }
  return null;
}

export function checkEspruino(code: string): Problem[] {
  const problems: Problem[] = [];
  let ast: Node;
  try {
    ast = parse(code, { ecmaVersion: "latest", sourceType: "script", locations: true }) as unknown as Node;
  } catch (e) {
    return [{ rule: "parse", message: (e as Error).message, line: 0, column: 0 }];
  }
  const report = (node: Node, rule: string, message: string): void => {
    const loc = node.loc ? node.loc.start : { line: 0, column: 0 };
    problems.push({ rule: rule, message: message, line: loc.line, column: loc.column });
  };

  function checkStatements(list: Node[]): void {
    for (let i = 0; i < list.length; i++) {
      const decl = list[i]!;
      if (decl.type !== "FunctionDeclaration" || !decl.id) continue;
      const name = (decl.id as Node).name as string;
      for (let j = 0; j < i; j++) {
        const hit = callsWhileRunning(list[j]!, name);
        if (hit) report(hit, "call-before-declaration", `${name}() runs before its declaration (Espruino does not hoist functions)`);
      }
    }
  }

  function visit(node: Node, parent: Node | null, fnStack: string[]): void {
    switch (node.type) {
      case "AssignmentPattern":
        report(node, "default-value", "default parameter or destructuring default");
        break;
      case "RestElement":
        report(node, "rest", "rest parameter or rest element");
        break;
      case "SpreadElement":
        report(node, "spread", "spread (...)");
        break;
      case "ObjectPattern":
      case "ArrayPattern":
        report(node, "destructuring", "destructuring");
        break;
      case "Property":
      case "MethodDefinition":
      case "PropertyDefinition":
        if (node.computed) report(node, "computed-key", "computed property key");
        break;
      case "ChainExpression":
        report(node, "optional-chaining", "?. optional chaining");
        break;
      case "AssignmentExpression": {
        const op = node.operator as string;
        if (op === "??=" || op === "||=" || op === "&&=" || op === "**=") report(node, "logical-assignment", `${op} operator`);
        if (memberName(node.left as Node) === "length") report(node, "length-assignment", "assigning arr.length (use splice)");
        break;
      }
      case "BinaryExpression":
        if (node.operator === "**") report(node, "exponent", "** operator");
        break;
      case "LabeledStatement":
        report(node, "label", "labelled statement");
        break;
      case "BreakStatement":
      case "ContinueStatement":
        if (node.label) report(node, "label", "labelled break/continue");
        break;
      case "SwitchStatement": {
        const cases = node.cases as Node[];
        const d = cases.findIndex((c) => c.test === null);
        if (d >= 0 && d < cases.length - 1) report(cases[d]!, "default-before-case", "switch with default before a later case");
        break;
      }
      case "AwaitExpression":
        report(node, "async", "await");
        break;
      case "YieldExpression":
        report(node, "generator", "yield");
        break;
      case "TaggedTemplateExpression":
        report(node, "tagged-template", "tagged template literal");
        break;
      case "PrivateIdentifier":
        report(node, "private", "#private class member");
        break;
      case "StaticBlock":
        report(node, "static-block", "class static block");
        break;
      case "MetaProperty":
        report(node, "meta-property", `${(node.meta as Node).name}.${(node.property as Node).name}`);
        break;
      case "ImportExpression":
        report(node, "import", "dynamic import()");
        break;
      case "Literal":
        if (node.regex) {
          const r = node.regex as { pattern: string; flags: string };
          const what = regexProblem(r.pattern, r.flags);
          if (what) report(node, "regexp", `RegExp /${r.pattern}/${r.flags}: ${what}`);
        }
        if (typeof node.bigint === "string") report(node, "bigint", "BigInt literal");
        break;
      case "Identifier": {
        const name = node.name as string;
        const isKey =
          parent !== null &&
          (((parent.type === "MemberExpression" && parent.property === node) || (parent.type === "Property" && parent.key === node) || parent.type === "MethodDefinition" || parent.type === "PropertyDefinition") &&
            !parent.computed);
        if (!isKey && NO_GLOBALS.includes(name)) report(node, "missing-global", `${name} does not exist on Espruino`);
        break;
      }
      case "MemberExpression": {
        const prop = memberName(node);
        const obj = node.object as Node;
        if (prop !== null && obj.type === "Identifier") {
          const missing = NO_STATICS[obj.name as string];
          if (missing && missing.includes(prop)) report(node, "missing-builtin", `${obj.name as string}.${prop} does not exist on Espruino`);
        }
        if (prop !== null && NO_METHODS.includes(prop)) report(node, "missing-builtin", `.${prop}() does not exist on Espruino`);
        break;
      }
      case "ClassDeclaration":
      case "ClassExpression": {
        const sup = node.superClass as Node | null;
        if (sup && sup.type === "Identifier" && /Error$/.test(sup.name as string)) report(node, "extends-error", "class extending an Error type");
        const id = node.id as Node | null;
        if (node.type === "ClassExpression" && id && identifiersIn(node.body as Node, id.name as string)) {
          report(node, "self-named-class", `class expression ${id.name as string} refers to itself (Espruino does not bind the name)`);
        }
        break;
      }
      case "Super":
        if (fnStack.length > 0 && fnStack[fnStack.length - 1] === "ArrowFunctionExpression") report(node, "super-in-arrow", "super inside an arrow function");
        break;
      case "Program":
      case "BlockStatement":
        checkStatements(node.body as Node[]);
        break;
      case "SwitchCase":
        checkStatements(node.consequent as Node[]);
        break;
    }
    if (FUNCTIONS.includes(node.type)) {
      if (node.async) report(node, "async", "async function");
      if (node.generator) report(node, "generator", "generator function");
    }
    const stack = FUNCTIONS.includes(node.type) ? fnStack.concat([node.type]) : fnStack;
    for (const c of children(node)) visit(c, node, stack);
  }

  visit(ast, null, []);
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return problems;
}

export function formatProblem(p: Problem): string {
  return `${p.line}:${p.column} ${p.rule}: ${p.message}`;
}
