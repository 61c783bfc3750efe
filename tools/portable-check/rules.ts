// The rules of the portable subset, one small named entry each. The source
// of every rule is the device-targets note (shared/docs/device-targets.md):
// what Espruino 2v29 and typescript-to-lua for Lua 5.1 were measured to reject
// or to run differently from Node. Each reason says which.
//
// Deliberately allowed, because the note measured them working on every
// target: classes with getters/setters, static methods and class fields,
// template literals (untagged), `??`, `delete`, `for…in` over plain objects,
// `for…of` over arrays, enums, optional catch bindings.

import { dirname, isAbsolute, relative, resolve } from "node:path";
import ts from "typescript";

export interface Context {
  checker: ts.TypeChecker;
  sourceFile: ts.SourceFile;
  /** The folder being checked (absolute); relative imports must stay inside it. */
  dir: string;
  /** True for a source file of the checked folder (as opposed to a lib file). */
  isProjectFile(fileName: string): boolean;
  report(node: ts.Node, message: string): void;
}

export interface Rule {
  id: string;
  /** Why, after the device-targets note (§ numbers refer to it). */
  reason: string;
  check(node: ts.Node, ctx: Context): void;
}

// ---- helpers ------------------------------------------------------------------

/** True when `id` names something (a member, a declaration, a label) instead of referring to a value or type. */
function isNamePosition(id: ts.Identifier): boolean {
  const p = id.parent;
  if (p === undefined) return true;
  if (ts.isPropertyAccessExpression(p)) return p.name === id;
  if (ts.isQualifiedName(p)) return p.right === id;
  if (ts.isLabeledStatement(p) || ts.isBreakStatement(p) || ts.isContinueStatement(p) || ts.isMetaProperty(p)) return true;
  if (ts.isBindingElement(p) && p.propertyName === id) return true;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p) || ts.isNamespaceExport(p)) return true;
  if (ts.isShorthandPropertyAssignment(p)) return false;
  const named = p as ts.Node & { name?: ts.Node };
  if (named.name === id) {
    return ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p) || ts.isPropertySignature(p) ||
      ts.isMethodSignature(p) || ts.isGetAccessorDeclaration(p) || ts.isSetAccessorDeclaration(p) || ts.isEnumMember(p) ||
      ts.isVariableDeclaration(p) || ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isClassDeclaration(p) ||
      ts.isClassExpression(p) || ts.isParameter(p) || ts.isInterfaceDeclaration(p) || ts.isTypeAliasDeclaration(p) ||
      ts.isTypeParameterDeclaration(p) || ts.isBindingElement(p) || ts.isEnumDeclaration(p) || ts.isModuleDeclaration(p) ||
      ts.isImportEqualsDeclaration(p);
  }
  return false;
}

function resolvedSymbol(id: ts.Identifier, checker: ts.TypeChecker): ts.Symbol | undefined {
  let sym = ts.isShorthandPropertyAssignment(id.parent) ? checker.getShorthandAssignmentValueSymbol(id.parent) : checker.getSymbolAtLocation(id);
  if (sym !== undefined && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
  return sym;
}

/** The global (built-in or host-provided) name `id` refers to, or null when it is local or not a reference. */
function globalName(node: ts.Node, ctx: Context): string | null {
  if (!ts.isIdentifier(node) || isNamePosition(node)) return null;
  const sym = resolvedSymbol(node, ctx.checker);
  const decls = sym?.declarations ?? [];
  for (const d of decls) if (ctx.isProjectFile(d.getSourceFile().fileName)) return null;
  return node.text;
}

/** `Name.member` where Name is the global `Name`; returns the member or null. */
function globalMember(node: ts.Node, ctx: Context, owner: string): string | null {
  if (!ts.isPropertyAccessExpression(node) || !ts.isIdentifier(node.name)) return null;
  if (globalName(node.expression, ctx) !== owner) return null;
  return node.name.text;
}

function isStringType(t: ts.Type): boolean {
  return (t.flags & ts.TypeFlags.StringLike) !== 0;
}

function isArrayish(t: ts.Type, checker: ts.TypeChecker): boolean {
  if (t.isUnion()) return t.types.every((m) => isArrayish(m, checker));
  return checker.isArrayType(t) || checker.isTupleType(t);
}

function receiverType(node: ts.PropertyAccessExpression, ctx: Context): ts.Type {
  return ctx.checker.getApparentType(ctx.checker.getTypeAtLocation(node.expression));
}

function isFunctionLike(n: ts.Node): n is ts.SignatureDeclaration {
  return ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) ||
    ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n);
}

function hasModifier(n: ts.Node, kind: ts.SyntaxKind): boolean {
  const mods = ts.canHaveModifiers(n) ? ts.getModifiers(n) : undefined;
  return mods !== undefined && mods.some((m) => m.kind === kind);
}

/** Inside a `declare` (a declaration with no run-time code), or a .d.ts file. */
function isAmbient(node: ts.Node): boolean {
  for (let p: ts.Node | undefined = node; p !== undefined; p = p.parent) {
    if (ts.isSourceFile(p)) return p.isDeclarationFile;
    if (hasModifier(p, ts.SyntaxKind.DeclareKeyword)) return true;
  }
  return false;
}

/** Walks `node`'s subtree, not descending into function bodies or class members when `shallow`. */
function walk(node: ts.Node, shallow: boolean, visit: (n: ts.Node) => void): void {
  visit(node);
  ts.forEachChild(node, (child) => {
    if (shallow && (isFunctionLike(child) || ts.isClassElement(child))) return;
    walk(child, shallow, visit);
  });
}

function collectNames(name: ts.BindingName, out: ts.Identifier[]): void {
  if (ts.isIdentifier(name)) out.push(name);
  else for (const el of name.elements) if (ts.isBindingElement(el)) collectNames(el.name, out);
}

const ERROR_TYPES = ["Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError"];

// ---- the rules ------------------------------------------------------------------

function rule(id: string, reason: string, check: (node: ts.Node, ctx: Context) => void): Rule {
  return { id, reason, check };
}

/** The one package a portable folder may import: the protocol's own portable subset. */
export const PORTABLE_PROTOCOL = "@lubdub/protocol/portable";

export const RULES: Rule[] = [
  rule("import-outside", "the portable core imports only its own folder: no Node modules, no packages, no ambient host APIs (§6.8: everything else comes through the HAL)", (node, ctx) => {
    let spec: ts.Expression | undefined;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) spec = node.moduleSpecifier;
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) spec = node.moduleReference.expression;
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) spec = node.arguments[0];
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) spec = node.argument.literal;
    if (spec === undefined) return;
    if (!ts.isStringLiteralLike(spec)) return ctx.report(node, "import with a computed module name");
    const name = spec.text;
    // The protocol's portable subset is itself checked, and every device build resolves it to source.
    if (name === PORTABLE_PROTOCOL) return;
    if (!name.startsWith("./") && !name.startsWith("../")) return ctx.report(spec, `import of '${name}' (a Node module or package)`);
    const rel = relative(ctx.dir, resolve(dirname(ctx.sourceFile.fileName), name));
    if (rel.startsWith("..") || isAbsolute(rel)) ctx.report(spec, `import of '${name}' from outside the portable folder`);
  }),

  rule("host-global", "no ambient globals in the core: console, JSON, Date, timers, require, process, Buffer, Promise… come through the HAL (§6.8); Lua has no JSON, Date, console or setTimeout at run time (§4)", (node, ctx) => {
    const name = globalName(node, ctx);
    if (name !== null && HOST_GLOBALS.has(name)) ctx.report(node, `'${name}'`);
  }),

  rule("collections", "no Map, Set, WeakMap, Symbol or iterators: Espruino 2v29 does not implement them (§1.2, §6.4); use arrays and plain objects", (node, ctx) => {
    const name = globalName(node, ctx);
    if (name !== null && (name === "Map" || name === "Set" || name === "WeakMap" || name === "WeakSet" || name === "Symbol")) ctx.report(node, `'${name}'`);
  }),

  rule("typed-array", "bytes are byte strings in the core (§6.5: one char per byte); Lua 5.1 has no typed arrays, so Uint8Array, ArrayBuffer and DataView stay in the HAL", (node, ctx) => {
    const name = globalName(node, ctx);
    if (name !== null && TYPED_ARRAYS.has(name)) ctx.report(node, `'${name}'`);
  }),

  rule("regexp", "no RegExp in the core (§6.5): TSTL rejects RegExp literals, Espruino's engine has a broken '?' and no {n,m}, lookahead or \\b (§1.2, §4)", (node, ctx) => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) ctx.report(node, "RegExp literal");
    else if (globalName(node, ctx) === "RegExp") ctx.report(node, "'RegExp'");
  }),

  rule("default-parameter", "default parameters are a SyntaxError on Espruino and esbuild will not lower them (§1.2, §6.1): use `x === undefined ? d : x`", (node, ctx) => {
    if (ts.isParameter(node) && node.initializer !== undefined) ctx.report(node, "default parameter");
  }),

  rule("rest-parameter", "rest parameters are a SyntaxError on Espruino and esbuild will not lower them (§1.2, §6.1)", (node, ctx) => {
    if (ts.isParameter(node) && node.dotDotDotToken !== undefined) ctx.report(node, "rest parameter");
  }),

  rule("spread", "spread in calls, arrays and objects is a SyntaxError on Espruino (§1.2, §6.1): use concat, slice or explicit copies", (node, ctx) => {
    if (ts.isSpreadElement(node)) {
      const t = ctx.checker.getTypeAtLocation(node.expression);
      ctx.report(node, isStringType(t) ? "spread of a string" : "spread");
    } else if (ts.isSpreadAssignment(node)) ctx.report(node, "object spread");
  }),

  rule("destructuring", "destructuring of any kind fails on Espruino (ReferenceError or SyntaxError) and esbuild will not lower it (§1.2, §6.1)", (node, ctx) => {
    if (ts.isObjectBindingPattern(node) || ts.isArrayBindingPattern(node)) ctx.report(node, "destructuring pattern");
    else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      (ts.isObjectLiteralExpression(node.left) || ts.isArrayLiteralExpression(node.left))) ctx.report(node.left, "destructuring assignment");
    else if ((ts.isForOfStatement(node) || ts.isForInStatement(node)) &&
      (ts.isObjectLiteralExpression(node.initializer) || ts.isArrayLiteralExpression(node.initializer))) ctx.report(node.initializer, "destructuring loop variable");
  }),

  rule("computed-key", "computed property keys are a SyntaxError on Espruino (§1.2, §6.1)", (node, ctx) => {
    if (ts.isComputedPropertyName(node)) ctx.report(node, "computed key");
  }),

  rule("label", "labels are unsupported on Espruino (ReferenceError) and TSTL rejects LabeledStatement (§1.2, §4)", (node, ctx) => {
    if (ts.isLabeledStatement(node)) ctx.report(node, `label '${node.label.text}'`);
  }),

  rule("switch-default-first", "Espruino: `CASE after DEFAULT unsupported` (§1.2): put `default` last", (node, ctx) => {
    if (!ts.isCaseBlock(node)) return;
    let seenDefault: ts.DefaultClause | null = null;
    for (const c of node.clauses) {
      if (ts.isDefaultClause(c)) seenDefault = c;
      else if (seenDefault !== null) return ctx.report(seenDefault, "default before a later case");
    }
  }),

  rule("generator", "generators are a SyntaxError on Espruino (§1.2, §6.1)", (node, ctx) => {
    if ((ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node)) && node.asteriskToken !== undefined) {
      ctx.report(node, "generator function");
    }
  }),

  rule("async-await", "async/await is not available on Espruino (§1.2, §6.1); the core is event-driven through HAL callbacks (§7)", (node, ctx) => {
    if (isFunctionLike(node) && hasModifier(node, ts.SyntaxKind.AsyncKeyword)) ctx.report(node, "async function");
    else if (ts.isAwaitExpression(node)) ctx.report(node, "await");
    else if (ts.isForOfStatement(node) && node.awaitModifier !== undefined) ctx.report(node, "for await");
  }),

  rule("tagged-template", "Espruino: `Tagged template literals not supported`, no String.raw (§1.2, §6.1)", (node, ctx) => {
    if (ts.isTaggedTemplateExpression(node)) ctx.report(node, "tagged template");
  }),

  rule("private-name", "#private members are a SyntaxError on Espruino and esbuild lowers them to WeakMap, which Espruino lacks (§1.2, §2.1)", (node, ctx) => {
    const named = node as ts.Node & { name?: ts.Node };
    if (ts.isClassElement(node) && named.name !== undefined && ts.isPrivateIdentifier(named.name)) ctx.report(node, `private member '${named.name.text}'`);
  }),

  rule("meta-property", "new.target is a SyntaxError on Espruino (§1.2); import.meta is a module-loader feature no device target has", (node, ctx) => {
    if (ts.isMetaProperty(node)) ctx.report(node, node.keywordToken === ts.SyntaxKind.NewKeyword ? "new.target" : "import.meta");
  }),

  rule("super-in-arrow", "Espruino: `Calling 'super' outside of class` for super inside an arrow function (§1.2, §6.1)", (node, ctx) => {
    if (node.kind !== ts.SyntaxKind.SuperKeyword) return;
    let p: ts.Node | undefined = node.parent;
    while (p !== undefined && !isFunctionLike(p)) p = p.parent;
    if (p !== undefined && ts.isArrowFunction(p)) ctx.report(node, "super inside an arrow function");
  }),

  rule("optional-chaining", "`?.` is a SyntaxError on Espruino; it only runs after esbuild lowers it, and §6.1 asks for explicit checks to keep the device code small", (node, ctx) => {
    if ((ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node) || ts.isCallExpression(node)) && node.questionDotToken !== undefined) {
      ctx.report(node.questionDotToken, "optional chaining");
    }
  }),

  rule("exponent", "`**` is a SyntaxError on Espruino and esbuild keeps it from es2016 on (§1.2, §2.1): use Math.pow", (node, ctx) => {
    if (ts.isBinaryExpression(node) && (node.operatorToken.kind === ts.SyntaxKind.AsteriskAsteriskToken || node.operatorToken.kind === ts.SyntaxKind.AsteriskAsteriskEqualsToken)) {
      ctx.report(node.operatorToken, `'${node.operatorToken.getText(ctx.sourceFile)}'`);
    }
  }),

  rule("logical-assignment", "`??=`, `||=`, `&&=` are a SyntaxError on Espruino (§1.2)", (node, ctx) => {
    if (!ts.isBinaryExpression(node)) return;
    const k = node.operatorToken.kind;
    if (k === ts.SyntaxKind.QuestionQuestionEqualsToken || k === ts.SyntaxKind.BarBarEqualsToken || k === ts.SyntaxKind.AmpersandAmpersandEqualsToken) {
      ctx.report(node.operatorToken, `'${node.operatorToken.getText(ctx.sourceFile)}'`);
    }
  }),

  rule("bitwise", "no bitwise operators in the core (§6.6): TSTL rejects them for Lua 5.1 and `>>> 0` stays signed there (§4); use arithmetic", (node, ctx) => {
    if (ts.isBinaryExpression(node) && BITWISE.has(node.operatorToken.kind)) ctx.report(node.operatorToken, `'${node.operatorToken.getText(ctx.sourceFile)}'`);
    else if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.TildeToken) ctx.report(node, "'~'");
  }),

  rule("negative-modulo", "`%` with a negative operand follows Lua's sign rules under TSTL (-7 % 3 is 2, in JS -1) (§4, §6.6)", (node, ctx) => {
    if (!ts.isBinaryExpression(node)) return;
    if (node.operatorToken.kind !== ts.SyntaxKind.PercentToken && node.operatorToken.kind !== ts.SyntaxKind.PercentEqualsToken) return;
    const neg = (e: ts.Expression) => ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken;
    if (neg(node.left) || neg(node.right)) ctx.report(node.operatorToken, "'%' with a negated operand");
  }),

  rule("bigint", "numbers are doubles on every target (§6.6: integers well below 2^31); Lua 5.1 has no BigInt", (node, ctx) => {
    if (ts.isBigIntLiteral(node)) ctx.report(node, "bigint literal");
    else if (node.kind === ts.SyntaxKind.BigIntKeyword) ctx.report(node, "bigint type");
    else if (globalName(node, ctx) === "BigInt") ctx.report(node, "'BigInt'");
  }),

  rule("missing-builtin", "not on every target: Espruino lacks Math.imul/trunc/sign/clz32/hypot, Number.isInteger/isNaN/MAX_SAFE_INTEGER/EPSILON, Array.from/of, Object.freeze, String.raw; TSTL rejects Math.imul (§1.2, §4, §6.6)", (node, ctx) => {
    for (const owner of Object.keys(MISSING_BUILTINS)) {
      const member = globalMember(node, ctx, owner);
      if (member !== null && MISSING_BUILTINS[owner]!.indexOf(member) >= 0) return ctx.report(node, `'${owner}.${member}'`);
    }
  }),

  rule("builtin-as-value", "TSTL only translates Math functions when called directly (`Math.max is unsupported` as a value, e.g. Math.max.apply) (§4)", (node, ctx) => {
    const member = globalMember(node, ctx, "Math");
    if (member === null || MATH_CONSTANTS.has(member)) return;
    const p = node.parent;
    if (!(ts.isCallExpression(p) && p.expression === node)) ctx.report(node, `'Math.${member}' used as a value`);
  }),

  rule("unsupported-method", "string and array methods that are missing on a target: TSTL has no string lastIndexOf; Espruino lacks trimStart/trimEnd, codePointAt, at, localeCompare, search, Array lastIndexOf, reduceRight, flat, flatMap, entries() iteration (§1.2, §4)", (node, ctx) => {
    if (!ts.isPropertyAccessExpression(node) || !ts.isIdentifier(node.name)) return;
    const name = node.name.text;
    if (!STRING_METHODS.has(name) && !ARRAY_METHODS.has(name)) return;
    const t = receiverType(node, ctx);
    if (STRING_METHODS.has(name) && isStringType(ctx.checker.getTypeAtLocation(node.expression))) ctx.report(node.name, `string method '${name}'`);
    else if (ARRAY_METHODS.has(name) && isArrayish(t, ctx.checker)) ctx.report(node.name, `array method '${name}'`);
  }),

  rule("split-limit", "Espruino ignores the limit argument of split (§1.2, §6.5)", (node, ctx) => {
    if (!ts.isCallExpression(node) || node.arguments.length < 2 || !ts.isPropertyAccessExpression(node.expression)) return;
    const callee = node.expression;
    if (callee.name.text === "split" && isStringType(ctx.checker.getTypeAtLocation(callee.expression))) ctx.report(node, "split with a limit");
  }),

  rule("array-length-assign", "assigning arr.length is a TypeError on Espruino (§1.2, §6.4): use splice", (node, ctx) => {
    let target: ts.Expression | null = null;
    if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) target = node.left;
    else if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
      (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken)) target = node.operand;
    if (target !== null && ts.isPropertyAccessExpression(target) && target.name.text === "length") ctx.report(target, "assignment to .length");
  }),

  rule("array-literal-hole", "TSTL: `Array literals may not contain undefined or null`; holes make Lua's #arr unreliable (§4, §6.4): keep arrays dense", (node, ctx) => {
    if (!ts.isArrayLiteralExpression(node)) return;
    for (const el of node.elements) {
      if (ts.isOmittedExpression(el)) ctx.report(node, "hole in an array literal");
      else if (el.kind === ts.SyntaxKind.NullKeyword) ctx.report(el, "null in an array literal");
      else if (ts.isIdentifier(el) && el.text === "undefined") ctx.report(el, "undefined in an array literal");
    }
  }),

  rule("store-undefined", "never store undefined in arrays or as object values: Lua drops the key, so Object.keys and #arr change (§4, §6.4); use null", (node, ctx) => {
    const isUndefined = (e: ts.Expression) => ts.isIdentifier(e) && e.text === "undefined";
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && isUndefined(node.right) &&
      (ts.isPropertyAccessExpression(node.left) || ts.isElementAccessExpression(node.left))) ctx.report(node, "undefined stored in an object or array");
    else if (ts.isPropertyAssignment(node) && isUndefined(node.initializer)) ctx.report(node, "undefined as an object value");
  }),

  rule("for-of-non-array", "for…of over arrays only (§6.3); iterators and strings are not portable (no Symbol on Espruino, strings are bytes)", (node, ctx) => {
    if (!ts.isForOfStatement(node)) return;
    const t = ctx.checker.getTypeAtLocation(node.expression);
    if (!isArrayish(t, ctx.checker)) ctx.report(node.expression, isStringType(t) ? "for…of over a string" : "for…of over something that is not an array");
  }),

  rule("for-in-array", "no for…in over arrays or strings (§6.3): use an index loop", (node, ctx) => {
    if (!ts.isForInStatement(node)) return;
    const t = ctx.checker.getTypeAtLocation(node.expression);
    if (isArrayish(t, ctx.checker) || isStringType(t)) ctx.report(node.expression, "for…in over an array or string");
  }),

  rule("loop-closure", "a closure over a loop variable sees only the last value on Espruino and in TSTL's Lua (one binding per loop) (§1.2, §4, §6.3): pass it as a parameter", (node, ctx) => {
    let list: ts.ForInitializer | undefined;
    let body: ts.Statement;
    if (ts.isForStatement(node) || ts.isForOfStatement(node) || ts.isForInStatement(node)) {
      list = node.initializer;
      body = node.statement;
    } else return;
    if (list === undefined || !ts.isVariableDeclarationList(list)) return;
    const names: ts.Identifier[] = [];
    for (const d of list.declarations) collectNames(d.name, names);
    const symbols = new Set<ts.Symbol>();
    for (const n of names) {
      const s = ctx.checker.getSymbolAtLocation(n);
      if (s !== undefined) symbols.add(s);
    }
    walk(body, false, (fn) => {
      if (!isFunctionLike(fn)) return;
      walk(fn, false, (id) => {
        if (ts.isIdentifier(id) && !isNamePosition(id)) {
          const s = resolvedSymbol(id, ctx.checker);
          if (s !== undefined && symbols.has(s)) ctx.report(id, `closure captures loop variable '${id.text}'`);
        }
      });
    });
  }),

  rule("use-before-declare", "Espruino has no function hoisting: a function or class must be declared before code that runs calls it (§1.2, §6.2)", (node, ctx) => {
    let statements: ts.NodeArray<ts.Statement>;
    if (ts.isSourceFile(node) || ts.isBlock(node) || ts.isModuleBlock(node)) statements = node.statements;
    else return;
    const later = new Map<ts.Symbol, number>();
    statements.forEach((s, i) => {
      if (((ts.isFunctionDeclaration(s) && s.body !== undefined) || ts.isClassDeclaration(s)) && s.name !== undefined) {
        const sym = ctx.checker.getSymbolAtLocation(s.name);
        if (sym !== undefined) later.set(sym, i);
      }
    });
    if (later.size === 0) return;
    statements.forEach((s, i) => {
      if (ts.isFunctionDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) return;
      walk(s, true, (id) => {
        if (!ts.isIdentifier(id) || isNamePosition(id)) return;
        const sym = resolvedSymbol(id, ctx.checker);
        const at = sym === undefined ? undefined : later.get(sym);
        if (at !== undefined && at > i) ctx.report(id, `'${id.text}' runs before its declaration`);
      });
    });
  }),

  rule("var-declaration", "`var` hoisting differs on Espruino (`x = 1; var x` inside a function leaves x undefined) (§1.2): use let/const", (node, ctx) => {
    if (ts.isVariableDeclarationList(node) && (node.flags & ts.NodeFlags.BlockScoped) === 0 && !isAmbient(node)) ctx.report(node, "var");
  }),

  rule("class-self-reference", "esbuild emits `var X = class _X { … }` and Espruino does not bind _X inside the body (§2.1, §6.2): use `new this()` in static methods", (node, ctx) => {
    if (!ts.isIdentifier(node) || isNamePosition(node)) return;
    // types are erased; only run-time references matter
    if (ts.isTypeReferenceNode(node.parent) || ts.isTypeQueryNode(node.parent)) return;
    const sym = resolvedSymbol(node, ctx.checker);
    if (sym === undefined) return;
    for (let p: ts.Node | undefined = node.parent; p !== undefined; p = p.parent) {
      if ((ts.isClassDeclaration(p) || ts.isClassExpression(p)) && p.name !== undefined && ctx.checker.getSymbolAtLocation(p.name) === sym) {
        return ctx.report(node, `class '${node.text}' refers to itself`);
      }
    }
  }),

  rule("inherited-static", "Espruino: static methods are not inherited by a subclass (`Function \"s\" not found!`) (§1.2): call them on the class that declares them", (node, ctx) => {
    if (!ts.isPropertyAccessExpression(node)) return;
    const owner = ctx.checker.getSymbolAtLocation(node.expression);
    const member = ctx.checker.getSymbolAtLocation(node.name);
    if (owner === undefined || member === undefined || (owner.flags & ts.SymbolFlags.Class) === 0) return;
    const decl = member.declarations?.[0];
    if (decl === undefined || !ts.isClassElement(decl) || !hasModifier(decl, ts.SyntaxKind.StaticKeyword)) return;
    const cls = decl.parent;
    if ((ts.isClassDeclaration(cls) || ts.isClassExpression(cls)) && !(owner.declarations ?? []).some((d) => d === cls)) {
      ctx.report(node, `static '${node.name.text}' inherited from another class`);
    }
  }),

  rule("error-subclass", "subclassing Error fails on Espruino (`super(m)` throws, instanceof is false) (§1.2, §6.7): throw new Error(msg)", (node, ctx) => {
    if (!ts.isHeritageClause(node) || node.token !== ts.SyntaxKind.ExtendsKeyword) return;
    for (const t of node.types) {
      const name = globalName(t.expression, ctx);
      if (name !== null && ERROR_TYPES.indexOf(name) >= 0) ctx.report(t, `class extends ${name}`);
    }
  }),

  rule("error-instanceof", "no instanceof on errors (§6.7): on Espruino a built-in TypeError is not instanceof TypeError and a user TypeError not instanceof Error (§1.2)", (node, ctx) => {
    if (!ts.isBinaryExpression(node) || node.operatorToken.kind !== ts.SyntaxKind.InstanceOfKeyword) return;
    const name = globalName(node.right, ctx);
    if (name !== null && ERROR_TYPES.indexOf(name) >= 0) ctx.report(node, `instanceof ${name}`);
  }),

  rule("error-type", "only `new Error(msg)` (§6.7): RangeError is undefined on Espruino and TypeError has no name there (§1.2)", (node, ctx) => {
    const name = globalName(node, ctx);
    if (name === null || name === "Error" || ERROR_TYPES.indexOf(name) < 0) return;
    const p = node.parent;
    if ((ts.isExpressionWithTypeArguments(p) && ts.isHeritageClause(p.parent)) || (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.InstanceOfKeyword)) return;
    ctx.report(node, `'${name}'`);
  }),

  rule("non-ascii-literal", "no non-ASCII literals (§6.5): TSTL writes \"\\xff\" as UTF-8, two bytes (§4); build high bytes with String.fromCharCode", (node, ctx) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      if (ts.isImportDeclaration(node.parent) || ts.isExportDeclaration(node.parent)) return;
      const text = node.text;
      for (let i = 0; i < text.length; i++) {
        if (text.charCodeAt(i) > 0x7f) return ctx.report(node, "string literal with a byte above 0x7f");
      }
    }
  }),

  rule("host-function-this", "TSTL passes a self argument unless a declared host function has `this: void` (§4, §6.9)", (node, ctx) => {
    if (!ts.isFunctionDeclaration(node) || node.body !== undefined || !isAmbient(node)) return;
    const first = node.parameters[0];
    const ok = first !== undefined && ts.isIdentifier(first.name) && first.name.text === "this" && first.type !== undefined && first.type.kind === ts.SyntaxKind.VoidKeyword;
    if (!ok) ctx.report(node, `declared function '${node.name?.text ?? "?"}' without this: void`);
  }),
];

const HOST_GLOBALS = new Set([
  "console", "JSON", "Date", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "setImmediate", "clearImmediate",
  "queueMicrotask", "require", "process", "Buffer", "Promise", "globalThis", "global", "window", "module", "exports",
  "__dirname", "__filename", "TextEncoder", "TextDecoder", "fetch", "crypto", "performance", "atob", "btoa", "eval", "Function",
  "Proxy", "Reflect", "Intl", "WeakRef", "FinalizationRegistry", "structuredClone", "SharedArrayBuffer", "Atomics",
]);

const TYPED_ARRAYS = new Set([
  "Uint8Array", "Int8Array", "Uint8ClampedArray", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array",
  "Float64Array", "BigInt64Array", "BigUint64Array", "ArrayBuffer", "DataView",
]);

const BITWISE = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.AmpersandToken, ts.SyntaxKind.BarToken, ts.SyntaxKind.CaretToken, ts.SyntaxKind.LessThanLessThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanToken, ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken, ts.SyntaxKind.AmpersandEqualsToken,
  ts.SyntaxKind.BarEqualsToken, ts.SyntaxKind.CaretEqualsToken, ts.SyntaxKind.LessThanLessThanEqualsToken,
  ts.SyntaxKind.GreaterThanGreaterThanEqualsToken, ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken,
]);

const MISSING_BUILTINS: Record<string, string[]> = {
  Math: ["imul", "trunc", "sign", "clz32", "hypot"],
  Number: ["isInteger", "isNaN", "MAX_SAFE_INTEGER", "EPSILON"],
  Array: ["from", "of"],
  Object: ["freeze"],
  String: ["raw"],
};

const MATH_CONSTANTS = new Set(["PI", "E", "LN2", "LN10", "LOG2E", "LOG10E", "SQRT2", "SQRT1_2"]);

const STRING_METHODS = new Set(["lastIndexOf", "trimStart", "trimEnd", "codePointAt", "at", "localeCompare", "search"]);

const ARRAY_METHODS = new Set(["lastIndexOf", "reduceRight", "flat", "flatMap", "entries"]);
