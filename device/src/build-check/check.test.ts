// The Espruino checker catches every construct of device-targets.md §1.2
// that Espruino 2v29 cannot run, and passes what it can.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkEspruino, formatProblem, regexProblem } from "./check.js";

// [rule expected, snippet]
const BAD: [string, string][] = [
  ["default-value", "function f(a, b = 1) { return a + b; }"],
  ["default-value", "var f = (a = 2) => a;"],
  ["rest", "function f(...r) { return r; }"],
  ["spread", "f(...xs);"],
  ["spread", "var a = [1, ...xs];"],
  ["spread", "var o = { ...p, q: 1 };"],
  ["destructuring", "var [a, b] = xs;"],
  ["destructuring", "var { a } = o;"],
  ["destructuring", "function f({ a }) { return a; }"],
  ["destructuring", "for (const [k, v] of pairs) k + v;"],
  ["destructuring", "[a, b] = [b, a];"],
  ["computed-key", "var o = { [k]: 1 };"],
  ["computed-key", "class C { [Symbol.iterator]() {} }"],
  ["optional-chaining", "var x = a?.b;"],
  ["optional-chaining", "a?.();"],
  ["logical-assignment", "a ??= 1;"],
  ["logical-assignment", "a ||= 1;"],
  ["logical-assignment", "a &&= 1;"],
  ["logical-assignment", "a **= 2;"],
  ["exponent", "var x = 2 ** 8;"],
  ["label", "outer: for (;;) { break outer; }"],
  ["label", "l: while (x) { continue l; }"],
  ["default-before-case", "switch (x) { default: y(); break; case 1: z(); }"],
  ["async", "async function f() { await g(); }"],
  ["async", "var f = async () => 1;"],
  ["generator", "function* g() { yield 1; }"],
  ["tagged-template", "var s = tag`a${b}`;"],
  ["tagged-template", "var s = String.raw`a`;"],
  ["private", "class C { #p = 1; get() { return this.#p; } }"],
  ["meta-property", "function F() { if (!new.target) throw 1; }"],
  ["missing-global", "var m = new Map();"],
  ["missing-global", "var s = new Set([1]);"],
  ["missing-global", "var w = new WeakMap();"],
  ["missing-global", "var y = Symbol('x');"],
  ["missing-builtin", "var n = Math.imul(a, b);"],
  ["missing-builtin", "var n = Math.trunc(a);"],
  ["missing-builtin", "var n = Math.sign(a);"],
  ["missing-builtin", "var n = Math.clz32(a);"],
  ["missing-builtin", "var b = Number.isInteger(a);"],
  ["missing-builtin", "var b = Number.isNaN(a);"],
  ["missing-builtin", "var a = Array.from(s);"],
  ["missing-builtin", "var a = Array.of(1, 2);"],
  ["missing-builtin", "Object.freeze(o);"],
  ["missing-builtin", "Promise.race([p, q]);"],
  ["missing-builtin", "p.then(f).finally(g);"],
  ["regexp", "var ok = /^ab?c$/.test(s);"],
  ["regexp", "var ok = /^a{2,3}$/.test(s);"],
  ["regexp", "var ok = /^a{2}$/.test(s);"],
  ["regexp", "var ok = /a(?=b)/.test(s);"],
  ["regexp", "var ok = /a(?!b)/.test(s);"],
  ["regexp", "var ok = /\\bword\\b/.test(s);"],
  ["regexp", "var ok = /a+?/.test(s);"],
  ["regexp", "var ok = /a.*?b/.test(s);"],
  ["regexp", "var ok = /^a/m.test(s);"],
  ["regexp", "var ok = /a/y.test(s);"],
  ["regexp", "var ok = /a/u.test(s);"],
  ["regexp", "var ok = /(?<n>a)/.test(s);"],
  ["self-named-class", "var A = class B { static make() { return new B(); } };"],
  ["call-before-declaration", "var x = later(); function later() { return 1; }"],
  ["call-before-declaration", "function outer() { inner(); function inner() {} }"],
  ["call-before-declaration", "(function () { go(); })(); function go() {}"],
  ["length-assignment", "arr.length = 0;"],
  ["extends-error", "class MyError extends Error {}"],
  ["super-in-arrow", "class A extends B { m() { return () => super.m(); } }"],
  ["static-block", "class C { static { init(); } }"],
  ["parse", "var = ;"],
];

const GOOD: string[] = [
  "let a = 1; const b = 2; var c = a + b;",
  "var f = (x) => x * 2; var g = () => ({ a: 1 });",
  "class A { constructor(x) { this.x = x; } get y() { return this.x; } static make() { return new this(1); } }",
  "class B extends A { m() { return super.m(); } }",
  "var s = `a${b}c`;",
  "for (const x of xs) f(x);",
  "for (let i = 0; i < n; i++) f(i);",
  "var v = a ?? b;",
  "try { f(); } catch { g(); }",
  "switch (x) { case 1: a(); break; case 2: b(); break; default: c(); }",
  "function later() { return 1; } var x = later();",
  "function outer() { function inner() {} inner(); }",
  "function a() { return b(); } function b() { return 1; } a();",
  "var ok = /^[A-Za-z0-9_.-]+$/.test(s); var m = /(\\d+)-(\\w*)/g.exec(s); var t = /(?:a|b)c/i;",
  "var ok = /[?{]/.test(s);",
  "var n = Math.floor(Math.max(a, b)); var k = Object.keys(o); var i = parseInt(s, 16);",
  "arr.splice(0); var n = arr.length;",
  "var o = { map: 1, set: 2, Map: 3 }; o.Map; o.finally_;",
  "var A = class { static make() { return new A(); } };",
  "p.then(f).catch(g); Promise.all([p]);",
  "var x = 0x7fffffff | 0; var y = a >>> 0;",
];

test("every unsupported construct is caught, by the right rule", () => {
  for (const [rule, snippet] of BAD) {
    const problems = checkEspruino(snippet);
    const rules = problems.map((p) => p.rule);
    assert.ok(rules.includes(rule), `${snippet}\n  expected ${rule}, got ${problems.map(formatProblem).join("; ") || "nothing"}`);
  }
});

test("supported code passes", () => {
  for (const snippet of GOOD) {
    const problems = checkEspruino(snippet);
    assert.equal(problems.map(formatProblem), [], snippet);
  }
});

test("problems carry a line and column", () => {
  const p = checkEspruino("var a = 1;\nvar b = a?.c;");
  assert.is(p.length, 1);
  assert.is(p[0]!.line, 2);
  assert.is(p[0]!.column, 8);
});

test("RegExp rules", () => {
  assert.is(regexProblem("^[a-z]+$", "gi"), "");
  assert.is(regexProblem("\\[\\?\\]", ""), "");
  assert.is(regexProblem("a?", ""), "optional '?'");
  assert.is(regexProblem("a{3}", ""), "{n,m} quantifier");
  assert.is(regexProblem("x", "s"), "flag 's'");
});

test.run();
