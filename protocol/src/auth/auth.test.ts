import { suite } from "uvu";
import * as assert from "uvu/assert";
import { authkeysModeProblem, parseAuthkeys, singleKey } from "./authkeys.js";
import { crc32posix } from "./crc.js";
import { md5Method, sha1Method } from "./hmac.js";
import { signClassic, signDatagram } from "./sign.js";
import { verifyDecoded } from "./verify.js";
import { decodeDatagram } from "../portable/decode.js";
import { FT_STRING, Message } from "../portable/message.js";

const t = suite("auth");

t("crc is CRC-32/POSIX printed without leading zeros", () => {
  assert.is(crc32posix("123456789").toString(16), "765e7680");
  assert.is(crc32posix("").toString(16), "ffffffff");
});

t("md5 and sha1 are standard HMACs (RFC 2202 vectors)", () => {
  assert.is(md5Method.digest("Jefe", "what do ya want for nothing?"), "750c783e6ab0b503eaa86e310a5db738");
  assert.is(sha1Method.digest("Jefe", "what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
});

const valid: [string, number, string[]][] = [
  ["auth 1\n1 crc\n", 1, ["1:crc"]],
  ["# keys\n  auth 2\n\n1 md5 keyA\n2 sha1 keyB trailing words\n", 2, ["1:md5", "2:sha1"]],
  ["auth 15\r\n15 sha1 k\r\n", 15, ["15:sha1"]],
  ["auth 0\n0 crc\n", 0, ["0:crc"]],
];

t("valid authkeys files", () => {
  for (const [text, active, entries] of valid) {
    const r = parseAuthkeys(text, "authkeys");
    assert.ok(r.ok, text);
    if (!r.ok) continue;
    assert.is(r.keys.active, active);
    assert.equal([...r.keys.entries.values()].map((e) => `${e.index}:${e.method.name}`).sort(), entries);
  }
  const w = parseAuthkeys("auth 2\n2 sha1 k extra\n", "authkeys");
  assert.ok(w.ok && w.warnings.length === 1 && w.warnings[0]!.line === 2);
});

const invalid: [string, number, string][] = [
  ["1 crc\n", 0, "no 'auth N'"],
  ["auth 3\n1 crc\n", 1, "not defined"],
  ["auth\n1 crc\n", 1, "needs an index"],
  ["auth 16\n", 1, "0 to 15"],
  ["auth x\n", 1, "0 to 15"],
  ["auth 1\n1 crc key\n", 2, "takes no key"],
  ["auth 1\n1 md5\n", 2, "needs a key"],
  ["auth 1\n1 sha1\n", 2, "needs a key"],
  ["auth 1\n1 sha256 k\n", 2, "unknown authentication method 'sha256'"],
  ["auth 1\n16 crc\n", 2, "out of range"],
  ["auth 1\n1\n", 2, "names no method"],
  ["auth 1\nkey crc\n", 2, "expected 'auth N'"],
  ["auth 1\n1 crc\n2 sha1 " + "k".repeat(6000) + "\n", 3, "shorter than 5120"],
];

t("invalid authkeys files name the line and the problem", () => {
  for (const [text, line, message] of invalid) {
    const r = parseAuthkeys(text, "/etc/ha.d/authkeys");
    assert.ok(!r.ok, text);
    if (r.ok) continue;
    const e = r.errors.find((x) => x.message.includes(message));
    assert.ok(e, `${JSON.stringify(text.slice(0, 30))}: wanted '${message}', got ${JSON.stringify(r.errors)}`);
    assert.is(e!.line, line, message);
    assert.is(e!.source, "/etc/ha.d/authkeys");
  }
});

t("authkeys mode: only owner access is accepted", () => {
  assert.is(authkeysModeProblem(0o100600), null);
  assert.is(authkeysModeProblem(0o400), null);
  assert.match(authkeysModeProblem(0o644)!, "0644");
  assert.match(authkeysModeProblem(0o640)!, "chmod 600");
  assert.ok(authkeysModeProblem(0o602));
});

const msg: Message = { fields: [{ name: "t", type: FT_STRING, value: "status" }, { name: "src", type: FT_STRING, value: "alpha" }] };

t("sign then verify, both formats, every method", () => {
  for (const keys of [singleKey("crc", "", 1), singleKey("md5", "k1", 3), singleKey("sha1", "k2", 2)]) {
    for (const wire of [signDatagram(msg, keys), signDatagram(msg, keys, { authField: false }), signClassic(msg, keys)]) {
      const d = decodeDatagram(wire);
      assert.ok(d.ok);
      if (d.ok) assert.ok(verifyDecoded(d.decoded, keys).ok, wire);
    }
  }
});

t("verification failures say why", () => {
  const keys = singleKey("sha1", "right", 2);
  const other = singleKey("sha1", "wrong", 2);
  const reason = (wire: string, k = keys) => {
    const d = decodeDatagram(wire);
    if (!d.ok) return d.error.code;
    const v = verifyDecoded(d.decoded, k);
    return v.ok ? "ok" : v.reason;
  };
  assert.is(reason(signDatagram(msg, other)), "bad-digest");
  assert.is(reason(signDatagram(msg, singleKey("crc", "", 4))), "unknown-index");
  assert.is(reason("###\n11:(0)t=status,%%%\n"), "missing-auth");
  assert.is(reason(">>>\nt=status\n<<<\n"), "missing-auth");
  assert.is(reason(">>>\nt=status\nauth=zz\n<<<\n"), "malformed-auth");
  assert.is(reason(signClassic(msg, other)), "bad-digest");
});

t("netstring trailers are checked with the receiver's active key (the 3.0.6 quirk), classic with the named key", () => {
  const two = parseAuthkeys("auth 2\n1 md5 keyA\n2 md5 keyB\n", "a");
  const signer1 = parseAuthkeys("auth 1\n1 md5 keyA\n2 md5 keyB\n", "b");
  assert.ok(two.ok && signer1.ok);
  if (!two.ok || !signer1.ok) return;
  const ns = decodeDatagram(signDatagram(msg, signer1.keys));
  const cl = decodeDatagram(signClassic(msg, signer1.keys));
  assert.ok(ns.ok && cl.ok);
  if (!ns.ok || !cl.ok) return;
  const v = verifyDecoded(ns.decoded, two.keys);
  assert.ok(!v.ok && v.reason === "bad-digest" && v.detail.includes("active index"));
  assert.ok(verifyDecoded(cl.decoded, two.keys).ok);
});

t.run();
