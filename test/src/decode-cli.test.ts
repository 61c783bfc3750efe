// `lubdub decode` as an operator runs it: files or stdin, JSON out, exit
// status 0 (all verified), 1 (a verification failed), 2 (a message malformed).

import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { classicFrame, loadFixtureSets } from "./support/fixture-frames.js";
import { fromRoot, heartbeatFixturesDir } from "./support/paths.js";

const t = suite("lubdub decode");
const CLI = fromRoot("host", "dist", "cli", "lubdub.js");
const sets = loadFixtureSets();
const dir = mkdtempSync(join(tmpdir(), "lubdub-decode-"));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>[];
}

function lubdub(args: string[], input?: Buffer): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: "buffer", timeout: 60_000 });
  const stdout = r.stdout.toString("utf8");
  const json = stdout.trim() === "" ? [] : stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stdout, stderr: r.stderr.toString("utf8"), json };
}

function write(name: string, bytes: string, mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.from(bytes, "latin1"));
  chmodSync(p, mode);
  return p;
}

const sha1 = sets.find((s) => s.name === "sha1");

if (!sha1) {
  console.log("SKIP lubdub decode: the sha1 capture set is not available (Heartbeat fixtures not found)");
  t.skip("decode", () => {});
} else {
  const keysFile = write("authkeys", "auth 2\n2 sha1 wpSha1Key-Heartbeat306\n");

  t("a captured datagram: fields in wire order, its type, how it verified; exit 0", () => {
    const file = write("one.msg", sha1.datagrams[0]!);
    const r = lubdub(["decode", "--authkeys", keysFile, file]);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.json.length, 1);
    const m = r.json[0] as { type: string; framing: string; fields: { name: string }[]; auth: { verified: boolean; method: string; via: string } };
    assert.is(m.type, "status");
    assert.is(m.framing, "netstring");
    assert.equal(m.fields.map((f) => f.name).slice(0, 5), ["t", "st", "dt", "protocol", "src"]);
    assert.equal([m.auth.verified, m.auth.method, m.auth.via], [true, "sha1", "trailer"]);
  });

  t("stdin: a stream of datagrams and serial frames back to back, every one reported in order", () => {
    const some = sha1.datagrams.slice(0, 20);
    const stream = some.map((dg, i) => (i % 2 ? classicFrame(dg, sha1.keys) : dg)).join("");
    const r = lubdub(["decode", "-k", keysFile], Buffer.from(stream, "latin1"));
    assert.is(r.status, 0, r.stderr);
    assert.is(r.json.length, 20);
    assert.equal(r.json.map((j) => j.framing), some.map((_, i) => (i % 2 ? "classic" : "netstring")));
    assert.ok(r.json.every((j) => (j.auth as { verified: boolean }).verified));
  });

  t("a tampered message fails verification with the reason; exit 1", () => {
    const dg = sha1.datagrams[0]!;
    const tampered = dg.replace("st=init", "st=iniT");
    const r = lubdub(["decode", "-k", keysFile, write("tampered.msg", tampered)]);
    assert.is(r.status, 1, r.stdout);
    assert.is((r.json[0]!.auth as { reason: string }).reason, "bad-digest");
  });

  t("a keyed message without --authkeys is not claimed verified; exit 1", () => {
    const r = lubdub(["decode", write("nokeys.msg", sha1.datagrams[0]!)]);
    assert.is(r.status, 1);
    assert.is((r.json[0]!.auth as { reason: string }).reason, "no-authkeys");
  });

  t("a truncated message or a file of garbage is malformed; exit 2 even next to good ones", () => {
    const good = write("good.msg", sha1.datagrams[1]!);
    const cut = write("cut.msg", sha1.datagrams[1]!.slice(0, 100));
    const r = lubdub(["decode", "-k", keysFile, good, cut]);
    assert.is(r.status, 2);
    assert.is((r.json[1]!.error as { code: string }).code, "incomplete");
    const g = lubdub(["decode", "-k", keysFile, write("garbage.bin", "hello world\n")]);
    assert.is(g.status, 2);
    assert.is((g.json[0]!.error as { code: string }).code, "no-message");
  });

  t("problems with the command itself: bad authkeys names file:line (65), unreadable file (66), bad option (64)", () => {
    const bad = write("bad-authkeys", "auth 2\n2 sha1\n");
    const r = lubdub(["decode", "-k", bad, keysFile]);
    assert.is(r.status, 65);
    assert.match(r.stderr, `${bad}:2: error:`);
    assert.is(lubdub(["decode", join(dir, "missing.msg")]).status, 66);
    const u = lubdub(["decode", "--no-such-option"]);
    assert.is(u.status, 64);
    assert.match(u.stderr, "unknown option");
  });

  t("crc needs no key: verified without --authkeys, and says it assumed crc", () => {
    const crc = sets.find((s) => s.name === "crc");
    if (!crc) return;
    const r = lubdub(["decode", write("crc.msg", crc.datagrams[0]!)]);
    assert.is(r.status, 0);
    assert.match(String((r.json[0]!.auth as { assumed: string }).assumed), "crc");
  });

  t("the 3.0.6 quirk explained: a trailer signed with a non-active index's own key", () => {
    const probes = heartbeatFixturesDir();
    if (!probes) return;
    const probe = join(probes, "inject", "probes", "08-ns-index1-md5-with-its-own-key-A.bin");
    let bytes: Buffer;
    try {
      bytes = readFileSync(probe);
    } catch {
      return;
    }
    const k = write("inject-authkeys", "auth 2\n1 md5 wpMd5Key-Heartbeat306\n2 sha1 wpSha1Key-Heartbeat306\n");
    const r = lubdub(["decode", "-k", k], bytes);
    assert.is(r.status, 1);
    assert.match(String((r.json[0]!.auth as { detail: string }).detail), "active index");
  });
}

t.after(() => rmSync(dir, { recursive: true, force: true }));
t.run();
