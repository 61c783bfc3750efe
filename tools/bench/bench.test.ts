// The codec benchmark measures real work: it runs (in a very short mode) and
// yields a result for every auth method, the messages it times are the ones a
// stock node sends, and the timed decode+verify path refuses a corrupted
// datagram. Nothing here depends on how fast the machine is.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeDatagram, getField, readHeader } from "@lubdub/protocol";
import {
  decodeVerify, encodeSignClassic, encodeSignDatagram, keysFor, METHODS, MethodName, receive, runCodec, SENDER,
} from "./codec.js";
import { parseArgs } from "./harness.js";
import { BENCHMARKS } from "./registry.js";

const t = suite("codec benchmark");

/** tools/dist/bench/ is three levels below the repository root. */
const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");

function fixturesDir(): string | null {
  for (const c of [process.env.LUBDUB_HB_FIXTURES, join(ROOT, "..", "shared", "fixtures", "heartbeat-3.0.6")]) {
    if (c && existsSync(c)) return resolve(c);
  }
  return null;
}

/** Flips one byte of `s` at `at` to a different printable byte. */
function corrupt(s: string, at: number): string {
  const c = s.charCodeAt(at);
  return s.slice(0, at) + String.fromCharCode(c === 0x41 ? 0x42 : 0x41) + s.slice(at + 1);
}

t("the dispatcher lists codec and parses the common options", () => {
  assert.ok(BENCHMARKS.some((b) => b.name === "codec"));
  const p = parseArgs(["codec", "--seconds", "0.5", "--json", "--only", "sha1", "--rounds=3"]);
  assert.ok(p.ok);
  if (!p.ok) return;
  assert.is(p.name, "codec");
  assert.is(p.options.seconds, 0.5);
  assert.is(p.options.rounds, 3);
  assert.ok(p.options.json);
  assert.equal(p.options.rest, ["--only", "sha1"]);
  assert.not.ok(parseArgs(["codec", "--seconds", "-1"]).ok);
});

t("a short run gives every case for every auth method, with positive rates and verified messages", async () => {
  const report = await runCodec({ seconds: 0.05, rounds: 3, json: true, rest: [] });
  assert.is(report.benchmark, "codec");
  assert.ok(report.node.startsWith("v"));
  assert.ok(report.cpu.length > 0);
  for (const m of METHODS) {
    for (const name of ["netstring encode+sign", "netstring decode+verify", "netstring receive", "classic encode+sign", "classic decode+verify"]) {
      const c = report.cases.find((x) => x.name === `${m} ${name}`);
      assert.ok(c, `${m} ${name} is missing`);
      if (!c) continue;
      assert.is(c.method, m);
      assert.ok(c.units > 0 && c.unitsPerSec > 0 && c.usPerUnit > 0 && c.mbPerSec > 0, `${c.name}: rates must be positive`);
      assert.ok(c.usPerUnitMin <= c.usPerUnit && c.usPerUnit <= c.usPerUnitMax, `${c.name}: median within min–max`);
      assert.ok(c.bytesPerUnit > 100, `${c.name}: a status message is a few hundred bytes`);
      if (c.op === "decode+verify") {
        assert.is(c.goalUs, 20);
        assert.type(c.meetsGoal, "boolean");
        assert.ok(c.checks.allVerified === true && (c.checks.verified as number) >= c.units, `${c.name}: every timed message verified`);
      }
      if (c.op === "receive") assert.ok(c.checks.allAccepted === true, `${c.name}: every timed message accepted`);
    }
  }
  for (const format of ["classic", "netstring"]) {
    const c = report.cases.find((x) => x.op === "deframe" && x.format === format);
    assert.ok(c && c.unitsPerSec > 0 && c.checks.allFrames === true && c.checks.dropped === 0, `deframe ${format}`);
  }
  assert.type(report.sink, "number");
});

t("--only narrows the cases; an unknown argument is refused", async () => {
  const r = await runCodec({ seconds: 0.01, rounds: 1, json: true, rest: ["--only", "crc classic decode"] });
  assert.equal(r.cases.map((c) => c.name), ["crc classic decode+verify"]);
  try {
    await runCodec({ seconds: 0.01, rounds: 1, json: true, rest: ["--bogus"] });
    assert.unreachable("an unknown argument must be refused");
  } catch (e) {
    assert.match(String(e), /unknown argument/);
  }
});

for (const m of METHODS) {
  t(`${m}: the timed decode+verify path refuses a corrupted datagram or frame`, () => {
    const keys = keysFor(m);
    for (const encode of [encodeSignDatagram, encodeSignClassic]) {
      const good = encode(keys, SENDER, 7, 0x6b02dbe6);
      assert.ok(decodeVerify(good, keys)?.ok, "the untouched message verifies");
      // a byte of the status word ("st=up" → "st=Ap"), then a byte of the digest at the very end
      const inBody = corrupt(good, good.indexOf("st=up") + 3);
      const r1 = decodeVerify(inBody, keys);
      assert.ok(r1 !== null && !r1.ok && r1.reason === "bad-digest", `${m}: corrupted body must fail verification`);
      const digestAt = encode === encodeSignDatagram ? good.length - 2 : good.indexOf("\n<<<") - 1;
      const r2 = decodeVerify(corrupt(good, digestAt), keys);
      assert.ok(r2 !== null && !r2.ok, `${m}: corrupted digest must fail verification`);
      if (encode === encodeSignDatagram) {
        assert.ok(receive(good, keys));
        assert.not.ok(receive(inBody, keys));
      }
    }
  });
}

const fixtures = fixturesDir();
if (fixtures === null) {
  console.log("SKIP codec benchmark against captures: Heartbeat fixtures not found (set LUBDUB_HB_FIXTURES or put shared/ beside the repository)");
  t.skip("the benchmarked status message is byte-identical to a captured one", () => {});
} else {
  const dir = fixtures;
  t("the benchmarked status message is byte-identical to a captured Heartbeat 3.0.6 one (crc, md5, sha1)", () => {
    for (const m of METHODS as readonly MethodName[]) {
      const msgs = join(dir, m, "messages");
      const file = readdirSync(msgs).sort().find((f) => {
        if (!f.endsWith("-status.msg")) return false;
        const d = decodeDatagram(readFileSync(join(msgs, f), "latin1"));
        return d.ok && getField(d.decoded.message, "st") === "up";
      });
      assert.ok(file, `${m}: a captured status with st=up`);
      const captured = readFileSync(join(msgs, file!), "latin1");
      const d = decodeDatagram(captured);
      assert.ok(d.ok);
      if (!d.ok) continue;
      const h = readHeader(d.decoded.message);
      assert.ok(h.ok);
      if (!h.ok) continue;
      const sender = { src: h.header.src, srcuuid: h.header.srcuuid!, hg: h.header.hg, ld: h.header.ld!, ttl: h.header.ttl! };
      assert.is(encodeSignDatagram(keysFor(m), sender, h.header.seq!, h.header.ts), captured, `${m}: ${file}`);
      assert.ok(decodeVerify(captured, keysFor(m))?.ok, `${m}: the capture verifies through the timed path`);
    }
  });
}

t.run();
