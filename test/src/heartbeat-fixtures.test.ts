// Every datagram captured from real Heartbeat 3.0.6 nodes decodes, verifies
// and re-encodes byte for byte; the hand-made probes get the verdict the real
// daemon gave them; and changing any single byte of a capture is detected.
// Capture sets are discovered: a new folder with messages/ is walked too.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  Authkeys, buildMessage, decodeDatagram, decodeTrailer, getField, parseAuthkeys, readMessage, signClassic, signDatagram,
  verifyDecoded,
} from "@lubdub/protocol";
import { heartbeatFixturesDir } from "./support/paths.js";
import { Rng, seedFromEnv } from "./support/rng.js";

const root = heartbeatFixturesDir();
const t = suite("heartbeat 3.0.6 captures");

interface CaptureSet {
  name: string;
  dir: string;
  keys: Authkeys;
  keysFrom: string;
  files: string[];
}

/** The set's authkeys from node-files/, or (sets captured with crc carry none) crc at the index the trailers name. */
function loadKeys(dir: string, firstMessage: string): { keys: Authkeys; from: string } {
  const nodeFiles = join(dir, "node-files");
  const candidates = existsSync(nodeFiles) ? readdirSync(nodeFiles).filter((f) => f.endsWith("authkeys")).sort() : [];
  if (candidates.length > 0) {
    const file = join(nodeFiles, candidates[0]!);
    const parsed = parseAuthkeys(readFileSync(file, "latin1"), file);
    if (!parsed.ok) throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join("; ")}`);
    return { keys: parsed.keys, from: file };
  }
  const d = decodeDatagram(firstMessage);
  const body = d.ok && d.decoded.framing === "netstring" ? d.decoded : null;
  const tr = body ? decodeTrailer(firstMessage, body.body.length) : null;
  const index = tr && tr.ok ? tr.trailer.index : 1;
  const parsed = parseAuthkeys(`auth ${index}\n${index} crc\n`, "(assumed)");
  if (!parsed.ok) throw new Error("unreachable");
  return { keys: parsed.keys, from: `no authkeys in node-files: assumed '${index} crc' (the only unkeyed method)` };
}

function captureSets(): CaptureSet[] {
  if (!root) return [];
  const sets: CaptureSet[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    const msgDir = join(dir, "messages");
    if (!existsSync(msgDir)) continue;
    const files = readdirSync(msgDir).filter((f) => f.endsWith(".msg")).sort().map((f) => join(msgDir, f));
    if (files.length === 0) continue;
    const k = loadKeys(dir, readFileSync(files[0]!, "latin1"));
    sets.push({ name, dir, keys: k.keys, keysFrom: k.from, files });
  }
  return sets;
}

function read(file: string): string {
  return readFileSync(file, "latin1");
}

if (!root) {
  console.log("SKIP heartbeat 3.0.6 captures: fixtures not found (set LUBDUB_HB_FIXTURES or put shared/ beside the repository)");
  t.skip("every capture set", () => {});
} else {
  const sets = captureSets();

  t("capture sets are found", () => {
    assert.ok(sets.length >= 1, `no capture set under ${root}`);
    for (const s of sets) console.log(`  ${s.name}: ${s.files.length} datagrams, keys: ${s.keysFrom}`);
  });

  for (const set of sets) {
    t(`${set.name}: every datagram decodes, verifies and re-encodes byte-identical`, () => {
      for (const file of set.files) {
        const bytes = read(file);
        const d = decodeDatagram(bytes);
        if (!d.ok) assert.unreachable(`${file}: decode failed: ${d.error.code} ${d.error.detail}`);
        else {
          const v = verifyDecoded(d.decoded, set.keys);
          assert.ok(v.ok, `${file}: ${v.ok ? "" : v.detail}`);
          if (v.ok && getField(d.decoded.message, "auth") !== null) assert.is(v.authField, "ok", `${file}: in-message auth field`);
          assert.is(d.decoded.extraBytes, 0, `${file}: bytes after the trailer`);
          const again = signDatagram(d.decoded.message, set.keys, { authField: getField(d.decoded.message, "auth") !== null });
          assert.ok(again === bytes, `${file}: re-encoding differs`);
          // the same message as a serial line carries it: classic, authenticated by the auth field
          const classic = decodeDatagram(signClassic(d.decoded.message, set.keys));
          assert.ok(classic.ok && verifyDecoded(classic.decoded, set.keys).ok, `${file}: classic rendering does not verify`);
          if (classic.ok) assert.equal(classic.decoded.message, d.decoded.message, `${file}: classic round trip`);
        }
      }
    });

    t(`${set.name}: every datagram reads into its typed form and the builders rebuild it byte-identical`, () => {
      const types = new Set<string>();
      for (const file of set.files) {
        const bytes = read(file);
        const d = decodeDatagram(bytes);
        assert.ok(d.ok, file);
        if (!d.ok) continue;
        const r = readMessage(d.decoded.message);
        if (!r.ok) assert.unreachable(`${file}: ${r.error.detail}`);
        else {
          types.add(r.message.body.t);
          const rebuilt = signDatagram(buildMessage(r.message.body, r.message.header), set.keys);
          assert.ok(rebuilt === bytes, `${file}: rebuilt from ${JSON.stringify(r.message.body)} differs`);
        }
      }
      console.log(`  ${set.name}: types ${[...types].sort().join(", ")}`);
    });

    const index = join(set.dir, "index.tsv");
    if (existsSync(index)) {
      t(`${set.name}: decoded type and seq agree with index.tsv`, () => {
        const rows = readFileSync(index, "utf8").trim().split("\n").slice(1).map((l) => l.split("\t"));
        for (const row of rows) {
          const [file, , , , , type, seq] = row;
          const d = decodeDatagram(read(join(set.dir, "messages", file!)));
          assert.ok(d.ok, file);
          if (!d.ok) continue;
          assert.is(getField(d.decoded.message, "t"), type, `${file}: t`);
          assert.is(getField(d.decoded.message, "seq") ?? "", seq ?? "", `${file}: seq`);
        }
      });
    }

    t(`${set.name}: changing any single byte is detected`, () => {
      const rng = new Rng(seedFromEnv(`mutate-${set.name}`));
      let checked = 0;
      for (const file of set.files) {
        const bytes = read(file);
        for (let i = 0; i < bytes.length; i++) {
          const old = bytes.charCodeAt(i);
          const repl = (old + 1 + rng.int(255)) % 256; // any other byte value
          const mutated = bytes.slice(0, i) + String.fromCharCode(repl) + bytes.slice(i + 1);
          const d = decodeDatagram(mutated);
          if (d.ok) {
            const v = verifyDecoded(d.decoded, set.keys);
            if (v.ok) {
              assert.unreachable(`${file}: byte ${i} changed from ${old} to ${repl} still verifies (seed ${rng.seed})`);
            }
          }
          checked++;
        }
      }
      console.log(`  ${set.name}: ${checked} single-byte mutations, all detected`);
    });
  }

  // How the stock node treated each hand-made probe (its log, alpha-ha-log).
  const PROBE_VERDICTS: Record<string, { accepted: boolean; why?: string }> = {
    "garbage": { accepted: false, why: "no-marker" },
    "ns-good-active-key": { accepted: true },
    "ns-bad-trailer-digest": { accepted: false, why: "bad-digest" },
    "ns-no-trailer": { accepted: false, why: "missing-auth" },
    "ns-trailer-index-9-unconfigured": { accepted: false, why: "unknown-index" },
    "ns-good-without-inner-auth-field": { accepted: true },
    "ns-good-trailer-but-wrong-inner-auth": { accepted: true },
    "ns-index1-md5-with-its-own-key-A": { accepted: false, why: "bad-digest" },
    "ns-index1-md5-with-active-key-B": { accepted: true },
    "classic-good-active": { accepted: true },
    "classic-bad-digest": { accepted: false, why: "bad-digest" },
    "classic-index1-md5-with-its-own-key-A": { accepted: true },
    "classic-index1-md5-with-active-key-B": { accepted: false, why: "bad-digest" },
    "ns-truncated": { accepted: false, why: "truncated" },
    // Both rexmit requests pass authentication; honouring or ignoring them is the agent's business.
    "ns-rexmit-from-bravo-seq-3": { accepted: true },
    "ns-rexmit-from-bravo-seq-99999": { accepted: true },
  };

  const probeDir = join(root, "inject", "probes");
  if (existsSync(probeDir)) {
    t("inject: every probe gets the verdict the real daemon gave it", () => {
      // alpha's authkeys in the inject lab: auth 2 / 1 md5 KEY_A / 2 sha1 KEY_B
      const parsed = parseAuthkeys("auth 2\n1 md5 wpMd5Key-Heartbeat306\n2 sha1 wpSha1Key-Heartbeat306\n", "inject lab authkeys");
      assert.ok(parsed.ok);
      if (!parsed.ok) return;
      let known = 0;
      for (const f of readdirSync(probeDir).sort()) {
        const name = f.replace(/^\d+-/, "").replace(/(_\d+)?\.bin$/, "");
        const bytes = read(join(probeDir, f));
        const d = decodeDatagram(bytes);
        const v = d.ok ? verifyDecoded(d.decoded, parsed.keys) : null;
        const accepted = v !== null && v.ok;
        const why = !d.ok ? d.error.code : v && !v.ok ? v.reason : "";
        const expected = PROBE_VERDICTS[name];
        console.log(`  ${f}: ${accepted ? "accepted" : `rejected (${why}${v && !v.ok ? `: ${v.detail}` : !d.ok ? `: ${d.error.detail}` : ""})`}`);
        if (!expected) continue;
        known++;
        assert.is(accepted, expected.accepted, `${f}: accepted`);
        if (expected.why) assert.is(why, expected.why, `${f}: reason`);
      }
      assert.ok(known >= 16, `only ${known} known probes found`);
    });
  }
}

t.run();
