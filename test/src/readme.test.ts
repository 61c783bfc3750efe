// Every command in the README runs as written. Code blocks tagged `sh` hold
// commands that are safe to run anywhere (help texts, the demo's scripted
// tour); blocks tagged `sh no-run` need root, real servers or a second node
// (or are `npm test` itself) and are only checked to be there. Each line of a
// `sh` block runs from the repository root through sh and must exit 0.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { REPO_ROOT } from "./support/paths.js";
import { SOCAT, testWhere } from "./support/require.js";

const t = suite("readme");

export interface Block {
  info: string;
  lines: string[];
  /** 1-based line of the opening fence. */
  at: number;
}

/** Fenced code blocks of a Markdown text, with their info strings. */
export function codeBlocks(md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const b: Block = { info: open[1]!.trim(), lines: [], at: i + 1 };
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) b.lines.push(lines[i]!);
    out.push(b);
  }
  return out;
}

/** The commands of a block: one a line, comments and blank lines left out. */
export function commands(b: Block): string[] {
  return b.lines.map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l.length > 0 && !l.startsWith("#"));
}

const README = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const blocks = codeBlocks(README);
const runnable = blocks.filter((b) => b.info === "sh");
const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts ?? {};

t("the README's shell blocks are tagged sh (run by this test) or sh no-run, and the quick start is there", () => {
  for (const b of blocks) {
    if (b.info === "" || b.info === "sh" || b.info === "sh no-run") continue;
    assert.unreachable(`README.md:${b.at}: code block tagged '${b.info}' (use sh, sh no-run, or no tag for file contents)`);
  }
  const all = blocks.flatMap((b) => (b.info.startsWith("sh") ? commands(b) : []));
  assert.ok(all.includes("npm run demo"), "quick start has npm run demo");
  assert.ok(all.includes("npm test"), "quick start has npm test");
  assert.ok(runnable.length > 0);
});

t("npm run commands in the README name scripts package.json has (or a bin that exists)", () => {
  for (const b of blocks.filter((x) => x.info.startsWith("sh"))) {
    for (const c of commands(b)) {
      const m = /^npm run ([\w:-]+)/.exec(c);
      if (m && m[1] !== "demo") assert.ok(scripts[m[1]!] !== undefined, `README.md:${b.at}: '${c}': package.json has no script '${m[1]}'`);
      const x = /^(?:sudo )?npx ([\w-]+)/.exec(c);
      if (x) {
        const bin = spawnSync("sh", ["-c", `test -e node_modules/.bin/${x[1]}`], { cwd: REPO_ROOT });
        assert.is(bin.status, 0, `README.md:${b.at}: '${c}': no ${x[1]} in node_modules/.bin (npx would fetch it from the registry)`);
      }
    }
  }
});

for (const b of runnable) {
  for (const cmd of commands(b)) {
    const needsDemoScript = /^npm run (--silent )?demo\b/.test(cmd);
    const reqs = /\bdemo\b.*--script/.test(cmd) ? [SOCAT] : [];
    const name = `README.md:${b.at}: ${cmd}`;
    if (needsDemoScript && scripts.demo === undefined) {
      console.log(`SKIP ${name}: package.json has no "demo" script yet`);
      t.skip(name, () => {});
      continue;
    }
    testWhere(t, name, reqs, () => {
      const r = spawnSync("sh", ["-c", cmd], { cwd: REPO_ROOT, encoding: "utf8", timeout: 300_000 });
      assert.is(r.status, 0, `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}\n${(r.stdout ?? "").slice(-3000)}\n${(r.stderr ?? "").slice(-2000)}`);
    });
  }
}

t.run();
