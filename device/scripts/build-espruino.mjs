// Builds device/dist/espruino.js, the bundle for Espruino 2v29 boards and
// Espruino's Linux build (device-targets.md §2.2):
//
//   esbuild --bundle --format=iife --target=es2015, syntax and whitespace
//           minified (names are minified at the end, after the passes that
//           read the source's names); never the espruino CLI's own minifier:
//           it mis-compiles ES2015
//   useDefineForClassFields: false (class fields as plain assignments)
//   --mangle-props over the bundle's own property names (ownPropertyNames)
//   "@lubdub/protocol/portable" from the protocol's TypeScript source
//   post-pass: top-level string constants written in place where that is
//           shorter (inlineConstants), so that the final minification folds
//           them into the literals around them
//   post-pass: top-level constants gathered into one leading `const`, so
//           that the re-minification below writes their values in place
//   post-pass: function declarations become `let f=(…)=>{…}` arrows (same
//           meaning on Espruino, which does not hoist them), then esbuild
//           minifies the result once more, names included
//   post-pass: `===`/`!==` against a non-empty string or non-zero number
//           literal become `==`/`!=` (looseEquals: the same answer for the
//           type-checked source)
//   post-pass: a class expression that names itself (`var a = class b {…b…}`)
//           becomes `var b, a = b = class {…b…}`, since Espruino does not bind
//           the inner name
//   post-pass: `espruinoRequire` (how the source names Espruino's require, so
//           that esbuild leaves it alone) becomes `require`
//
// Prints the size; device/src/build-check checks the result (syntax and the
// size ceiling).

import { parse } from "acorn";
import { build, transform } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const device = join(here, "..");
const root = join(device, "..");
const outfile = join(device, "dist", "espruino.js");

/** Rewrites `X=class Y{` (Y named, bound only inside) into `Y,X=Y=class{`: Espruino binds no inner class name. */
export function fixClassNames(code) {
  // (var|let|const|,) NAME = class INNER (extends …)? {
  return code.replace(/(\b(?:var|let|const)\s+|,\s*)([\w$]+)\s*=\s*class\s+([\w$]+)(?=\s*(?:extends\b|\{))/g, (m, lead, outer, inner) => {
    if (outer === inner) return `${lead}${outer}=class`;
    return `${lead}${inner},${outer}=${inner}=class`;
  });
}

/** Espruino API members the target calls: they keep their spelling. */
const ESPRUINO_NAMES = ["setup", "on", "write", "read", "setConsole", "enableWatchdog", "kickWatchdog", "setPassword", "lockConsole", "env", "BOARD", "SHA1", "path", "toString"];

/**
 * Names of JS built-ins that the bundle's own objects also use and that the
 * device source never reads off a built-in (no Math.min/max/log, Date.now,
 * Object.values, Array#at, fn.name: Espruino lacks several of them anyway).
 * They are shortened like any other own name. A name that is both ours and
 * a built-in the source calls (push, random, ...) is never shortened.
 */
const OWN_NOT_BUILTIN = new Set(["at", "values", "min", "max", "name", "now", "log", "drop", "data", "end", "step", "start", "close", "open"]);

/**
 * Property names that the code also holds as data: the classic deframer
 * counts a drop in the counter named as its reason (stats[reason]).
 */
const DATA_NAMES = ["truncated", "oversize", "malformed", "incomplete"];

/** Names that must keep their spelling: the JS built-ins' and Espruino's own (see targets/espruino/main.ts), and DATA_NAMES. */
function reservedNames() {
  const names = new Set(["prototype", "constructor", "length", "message", "name", "stack", "toString", "valueOf", ...ESPRUINO_NAMES, ...DATA_NAMES]);
  const builtins = [Object, Array, String, Number, Boolean, Math, JSON, Date, Promise, RegExp, Function, Error, ArrayBuffer, Uint8Array, DataView, globalThis];
  for (const b of builtins) {
    for (const n of Object.getOwnPropertyNames(b)) names.add(n);
    if (b.prototype) for (const n of Object.getOwnPropertyNames(b.prototype)) names.add(n);
  }
  for (const n of OWN_NOT_BUILTIN) names.delete(n);
  return names;
}

/**
 * The property names the bundle's own code defines (object literal keys,
 * class members, `this.x =`), less the reserved ones. esbuild then shortens
 * exactly these (--mangle-props): the code is all there, with shorter names.
 * That is safe only while no code looks a property up by a name it holds as
 * data: buildEspruino refuses a bundle that enumerates keys or reads
 * `x["literal"]`, and the only computed lookups left are array indexes,
 * the settings' `values[key]` (keys like "a.host", never property names)
 * and the deframer's `stats[reason]` (DATA_NAMES, kept as they are).
 */
function ownPropertyNames(code) {
  const ast = parse(code, { ecmaVersion: "latest", sourceType: "script" });
  const defined = new Set();
  const walk = (node) => {
    if (!node || typeof node.type !== "string") return;
    if ((node.type === "Property" || node.type === "MethodDefinition" || node.type === "PropertyDefinition") && !node.computed && node.key.type === "Identifier") defined.add(node.key.name);
    if (node.type === "AssignmentExpression" && node.left.type === "MemberExpression" && node.left.object.type === "ThisExpression" && !node.left.computed) defined.add(node.left.property.name);
    if (node.type === "MemberExpression" && node.computed && node.property.type === "Literal" && typeof node.property.value === "string") {
      throw new Error(`build-espruino: the bundle reads a property by a quoted name (${code.slice(node.start, node.end)}); shortening names would break it`);
    }
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v)) for (const c of v) walk(c);
      else if (v && typeof v.type === "string") walk(v);
    }
  };
  walk(ast);
  const reserved = reservedNames();
  return [...defined].filter((n) => !reserved.has(n) && /^[A-Za-z_$][\w$]*$/.test(n)).sort();
}

function escapeRe(s) {
  return s.replace(/[$]/g, "\\$&");
}

export async function buildEspruino(options = {}) {
  const first = await bundle(null);
  if (options.mangle === false) return await finish(first);
  const text = first.outputFiles[0].text;
  // Shortened names are only safe while no code reads property names as data.
  const byName = /\bObject\.(?:keys|values|entries|getOwnPropertyNames)\(|\bJSON\.stringify\(|\bfor\s*\([^;()]*\bin\b/.exec(text);
  if (byName) throw new Error(`build-espruino: the bundle reads property names as data (${byName[0]}); shortening names would change them. Build with --no-mangle, or keep such keys as strings.`);
  const names = ownPropertyNames(text);
  const mangle = names.length === 0 ? null : new RegExp(`^(?:${names.map(escapeRe).join("|")})$`);
  const second = await bundle(mangle);
  const out = await finish(second, names);
  // per module, from a build that also minifies names (esbuild's own figures, before the post-passes)
  if (options.sizes) out.sizes = moduleSizes(await bundle(mangle, true));
  return out;
}

function moduleSizes(result) {
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  const sizes = Object.keys(inputs).map((file) => ({ file: file, bytes: inputs[file].bytesInOutput }));
  sizes.sort((a, b) => b.bytes - a.bytes);
  return sizes;
}

async function bundle(mangleProps, minifyNames) {
  return build({
    entryPoints: [join(device, "src", "targets", "espruino", "main.ts")],
    bundle: true,
    format: "iife",
    target: "es2015",
    // names minified in finish(), after the passes that read the source's names
    minifySyntax: true,
    minifyWhitespace: true,
    minifyIdentifiers: minifyNames === true,
    write: false,
    charset: "ascii",
    legalComments: "none",
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
    alias: { "@lubdub/protocol/portable": join(root, "protocol", "src", "portable", "index.ts") },
    logLevel: "warning",
    metafile: true,
    ...(mangleProps ? { mangleProps: mangleProps } : {}),
  });
}

/**
 * Rewrites `function f(a){…}` declared in a function body into `let f=(a)=>{…}`
 * when its body uses neither `this` nor `arguments`. On Espruino the two mean
 * the same: it does not hoist function declarations (device-targets.md §1.2),
 * so the source already declares every function before anything calls it
 * (rule 2 of §6), which is exactly what `let` needs. The arrow form is ~7
 * bytes shorter, and a one-expression body loses its `return` in the
 * re-minification that follows.
 */
export function functionsToArrows(code) {
  const ast = parse(code, { ecmaVersion: "latest", sourceType: "script" });
  const edits = [];
  const usesOwnThis = (node) => {
    let found = false;
    const visit = (n, top) => {
      if (found || !n || typeof n.type !== "string") return;
      if (!top && (n.type === "FunctionDeclaration" || n.type === "FunctionExpression")) return; // their own this/arguments
      if (n.type === "ThisExpression" || n.type === "Super" || n.type === "MetaProperty" || (n.type === "Identifier" && n.name === "arguments")) {
        found = true;
        return;
      }
      for (const key of Object.keys(n)) {
        const v = n[key];
        if (Array.isArray(v)) for (const c of v) visit(c, false);
        else if (v && typeof v.type === "string") visit(v, false);
      }
    };
    visit(node, true);
    return found;
  };
  const walk = (node, parent, grand) => {
    if (!node || typeof node.type !== "string") return;
    const inFunctionBody = parent && parent.type === "BlockStatement" && grand && /Function/.test(grand.type);
    if (node.type === "FunctionDeclaration" && inFunctionBody && !node.generator && !node.async && node.params.every((p) => p.type === "Identifier") && !usesOwnThis(node)) {
      const params = node.params.map((p) => p.name).join(",");
      edits.push({ at: node.start, end: node.body.start, text: `let ${node.id.name}=(${params})=>` });
      edits.push({ at: node.end, end: node.end, text: ";" });
    }
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v)) for (const c of v) walk(c, node, parent);
      else if (v && typeof v.type === "string") walk(v, node, parent);
    }
  };
  walk(ast, null, null);
  // from the end backwards; at one offset the replacement before the ";" inserted there
  edits.sort((a, b) => b.at - a.at || b.end - a.end);
  for (const e of edits) code = code.slice(0, e.at) + e.text + code.slice(e.end);
  return code;
}

/**
 * Gathers the bundle's top-level `var X = <string or number>` declarations
 * that nothing assigns into one `const` at the start of the IIFE. esbuild
 * keeps a module's constants as vars once modules are joined, and its
 * minifier writes a const's value in place only while the consts lead their
 * scope. Moving a literal's declaration earlier changes nothing else.
 */
export function hoistConstants(code) {
  const ast = parse(code, { ecmaVersion: "latest", sourceType: "script" });
  const assigned = new Set();
  const walk = (node) => {
    if (!node || typeof node.type !== "string") return;
    if (node.type === "AssignmentExpression" && node.left.type === "Identifier") assigned.add(node.left.name);
    if (node.type === "UpdateExpression" && node.argument.type === "Identifier") assigned.add(node.argument.name);
    if ((node.type === "ForInStatement" || node.type === "ForOfStatement") && node.left.type === "Identifier") assigned.add(node.left.name);
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v)) for (const c of v) walk(c);
      else if (v && typeof v.type === "string") walk(v);
    }
  };
  walk(ast);
  const call = ast.body.length === 1 && ast.body[0].type === "ExpressionStatement" ? ast.body[0].expression : null;
  const fn = call && call.type === "CallExpression" ? call.callee : null;
  if (!fn || !fn.body || fn.body.type !== "BlockStatement") return code;
  const literal = (e) => e && ((e.type === "Literal" && (typeof e.value === "string" || typeof e.value === "number")) || (e.type === "TemplateLiteral" && e.expressions.length === 0));
  const moved = [];
  const cuts = [];
  for (const st of fn.body.body) {
    if (st.type !== "VariableDeclaration" || st.kind !== "var") continue;
    if (!st.declarations.every((d) => d.id.type === "Identifier" && literal(d.init) && !assigned.has(d.id.name))) continue;
    for (const d of st.declarations) moved.push(code.slice(d.start, d.end));
    cuts.push(st);
  }
  if (moved.length === 0) return code;
  for (const st of cuts.reverse()) code = code.slice(0, st.start) + code.slice(st.end);
  const at = fn.body.start + 1;
  return code.slice(0, at) + "const " + moved.join(",") + ";" + code.slice(at);
}

/**
 * Writes top-level string constants in place where that is shorter than the
 * declaration plus its references (a one-use constant always is), so that
 * the minification that follows also folds them into neighbouring literals
 * ("\\nt=" + DEVICE_TYPE_PREFIX becomes one string). Works on esbuild's
 * bundle before its names are minified, where top-level names are the
 * source's and unique: a constant whose name is bound anywhere else, or that
 * is assigned, stays as it is. Minified names are reckoned at two characters.
 */
export function inlineConstants(code) {
  const ast = parse(code, { ecmaVersion: "latest", sourceType: "script" });
  const call = ast.body.length === 1 && ast.body[0].type === "ExpressionStatement" ? ast.body[0].expression : null;
  const fn = call && call.type === "CallExpression" ? call.callee : null;
  if (!fn || !fn.body || fn.body.type !== "BlockStatement") return code;
  const isString = (e) => e && ((e.type === "Literal" && typeof e.value === "string") || (e.type === "TemplateLiteral" && e.expressions.length === 0));
  const candidates = new Map();
  for (const st of fn.body.body) {
    if (st.type !== "VariableDeclaration") continue;
    for (const d of st.declarations) if (d.id.type === "Identifier" && isString(d.init)) candidates.set(d.id.name, { decl: d, stmt: st, refs: [] });
  }
  const bindings = new Map();
  const bind = (id) => {
    if (id && id.type === "Identifier") bindings.set(id.name, (bindings.get(id.name) || 0) + 1);
  };
  const unsafe = new Set();
  const walk = (node, parent, key) => {
    if (!node || typeof node.type !== "string") return;
    if (node.type === "VariableDeclarator") bind(node.id);
    if (/Function/.test(node.type)) {
      bind(node.id);
      for (const p of node.params) {
        if (p.type === "Identifier") bind(p);
        else unsafe.add("*");
      }
    }
    if (node.type === "ClassDeclaration" || node.type === "ClassExpression") bind(node.id);
    if (node.type === "CatchClause") bind(node.param);
    if (node.type === "AssignmentExpression" && node.left.type === "Identifier") unsafe.add(node.left.name);
    if (node.type === "UpdateExpression" && node.argument.type === "Identifier") unsafe.add(node.argument.name);
    if (node.type === "Identifier" && candidates.has(node.name)) {
      const isKey = (parent.type === "MemberExpression" && key === "property" && !parent.computed) ||
        ((parent.type === "Property" || parent.type === "MethodDefinition" || parent.type === "PropertyDefinition") && key === "key" && !parent.computed);
      const isDecl = parent.type === "VariableDeclarator" && key === "id";
      if (parent.type === "Property" && parent.shorthand) unsafe.add(node.name);
      else if (!isKey && !isDecl) candidates.get(node.name).refs.push(node);
    }
    for (const k of Object.keys(node)) {
      const v = node[k];
      if (Array.isArray(v)) for (const c of v) walk(c, node, k);
      else if (v && typeof v.type === "string") walk(v, node, k);
    }
  };
  walk(ast, null, null);
  if (unsafe.has("*")) return code;
  const refEdits = [];
  const removed = new Set();
  for (const [name, c] of candidates) {
    if (unsafe.has(name) || bindings.get(name) !== 1) continue;
    const lit = code.slice(c.decl.init.start, c.decl.init.end);
    const keep = 2 + 1 + lit.length + 1 + 2 * c.refs.length;
    if (lit.length * c.refs.length > keep) continue;
    for (const r of c.refs) refEdits.push({ at: r.start, end: r.end, text: lit });
    removed.add(c.decl);
  }
  const apply = (from, to, edits) => {
    let text = code.slice(from, to);
    const inside = edits.filter((e) => e.at >= from && e.end <= to).sort((a, b) => b.at - a.at);
    for (const e of inside) text = text.slice(0, e.at - from) + e.text + text.slice(e.end - from);
    return text;
  };
  // statements that lose declarators are rewritten with the ones they keep
  const edits = [];
  const rewritten = [];
  for (const st of fn.body.body) {
    if (st.type !== "VariableDeclaration" || !st.declarations.some((d) => removed.has(d))) continue;
    const kept = st.declarations.filter((d) => !removed.has(d)).map((d) => apply(d.start, d.end, refEdits));
    edits.push({ at: st.start, end: st.end, text: kept.length === 0 ? "" : st.kind + " " + kept.join(",") + ";" });
    rewritten.push(st);
  }
  for (const e of refEdits) if (!rewritten.some((st) => e.at >= st.start && e.end <= st.end)) edits.push(e);
  edits.sort((a, b) => b.at - a.at);
  let out = code;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  return out;
}

/**
 * `a === "text"` and `a === 13` become `a == "text"` and `a == 13` (and the
 * same for `!==`). The source is type-checked TypeScript, which refuses to
 * compare a string with a number or a boolean, so the other side is a value
 * of the literal's own type, null or undefined, and for those `==` answers
 * what `===` does. Comparisons with null, undefined or "" (which `==`
 * equates with 0 and false) keep their `===`.
 */
export function looseEquals(code) {
  const ast = parse(code, { ecmaVersion: "latest", sourceType: "script" });
  const edits = [];
  const plain = (e) => e.type === "Literal" && ((typeof e.value === "string" && e.value !== "" && e.value.trim() !== "") || (typeof e.value === "number" && e.value !== 0));
  const walk = (node) => {
    if (!node || typeof node.type !== "string") return;
    if (node.type === "BinaryExpression" && (node.operator === "===" || node.operator === "!==") && (plain(node.left) || plain(node.right))) {
      const at = code.indexOf(node.operator, node.left.end);
      edits.push(at);
    }
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v)) for (const c of v) walk(c);
      else if (v && typeof v.type === "string") walk(v);
    }
  };
  walk(ast);
  edits.sort((a, b) => b - a);
  for (const at of edits) code = code.slice(0, at + 2) + code.slice(at + 3);
  return code;
}

async function finish(result, mangled) {
  let code = result.outputFiles[0].text;
  code = inlineConstants(code);
  code = hoistConstants(code);
  code = functionsToArrows(code);
  code = (await transform(code, { minify: true, target: "es2015", charset: "ascii", legalComments: "none" })).code;
  code = looseEquals(code);
  code = fixClassNames(code);
  // Espruino's require: the source calls it espruinoRequire so that esbuild
  // does not replace it with its Proxy-based shim (no Proxy on Espruino).
  code = code.replace(/\bespruinoRequire\b/g, "require");
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, code);
  return { code: code, sizes: moduleSizes(result), mangled: mangled || [] };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { code, sizes, mangled } = await buildEspruino({ mangle: !process.argv.includes("--no-mangle"), sizes: process.argv.includes("--sizes") });
  console.log(`device/dist/espruino.js: ${Buffer.byteLength(code)} bytes (budget 8192)`);
  if (process.argv.includes("--sizes")) {
    console.log("  bytes per module, as esbuild emitted them fully minified (before the post-passes):");
    for (const s of sizes) console.log(`  ${String(s.bytes).padStart(6)}  ${s.file}`);
    console.log(`  ${mangled.length} property names shortened: ${mangled.join(" ")}`);
  }
}
