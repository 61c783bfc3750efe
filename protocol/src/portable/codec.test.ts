import { suite } from "uvu";
import * as assert from "uvu/assert";
import { base64Decode, base64Encode } from "./base64.js";
import { decodeClassicMessage, encodeClassic, renderClassicLines, structNewlineSubstitute } from "./classic.js";
import { decodeDatagram } from "./decode.js";
import { FT_BINARY, FT_COMPRESSED, FT_LIST, FT_STRING, FT_STRUCT, FT_UNCOMPRESSED, Message } from "./message.js";
import { decodeNetstringBody, encodeNetstringBody } from "./netstring.js";
import { formatDecimal, formatHex, parseDecimal, parseHex } from "./numbers.js";
import { MAX_MESSAGE_BYTES, MAX_NESTING_DEPTH } from "./limits.js";

const t = suite("codec");

const nested: Message = { fields: [{ name: "inner", type: FT_STRING, value: "x\ny" }] };
const everyType: Message = {
  fields: [
    { name: "t", type: FT_STRING, value: "status" },
    { name: "multi", type: FT_STRING, value: "line one\nline two" },
    { name: "empty", type: FT_STRING, value: "" },
    { name: "uuid", type: FT_BINARY, value: "I\x84\x84\xbcn\\H\n\x82\x03\xfd\xce-\r\x1c\xd0" },
    { name: "s", type: FT_STRUCT, value: nested },
    { name: "l", type: FT_LIST, value: ["a", "", "b,c:d"] },
    { name: "z", type: FT_COMPRESSED, value: "\x00\x01\xff" },
    { name: "u", type: FT_UNCOMPRESSED, value: nested },
  ],
};

t("every field type survives both formats", () => {
  const ns = decodeNetstringBody(encodeNetstringBody(everyType), 0, 0);
  assert.ok(ns.ok);
  if (ns.ok) assert.equal(ns.message, everyType);
  const cl = decodeClassicMessage(encodeClassic(everyType), 0, 0);
  assert.ok(cl.ok);
  if (cl.ok) assert.equal(cl.message, everyType);
});

t("netstring lengths count bytes of (type)name=value", () => {
  assert.is(encodeNetstringBody({ fields: [{ name: "t", type: FT_STRING, value: "status" }] }), "###\n11:(0)t=status,%%%\n");
});

t("classic: strings lose no newline (0x13 stands for it), binary is base64, strings carry no prefix", () => {
  const text = encodeClassic(everyType);
  assert.ok(text.includes("multi=line one\x13line two\n"));
  assert.ok(text.includes("(1)uuid=SYSEvG5cSAqCA/3OLQ0c0A==\n"));
  assert.ok(text.includes("(3)l=1:a,0:,5:b,c:d,\n"));
  assert.ok(text.includes("empty=\n"));
  // a struct is a classic message whose newlines are the depth-0 byte
  assert.ok(text.includes("(2)s=>>>\x14inner=x\x13y\x14<<<\x14\n"));
});

t("struct newline substitutes follow Heartbeat's table", () => {
  assert.equal([0, 11, 12, 15].map(structNewlineSubstitute), [0x14, 0x1f, 0x0f, 0x12]);
});

t("nesting deeper than the limit is refused, not recursed into", () => {
  let m: Message = { fields: [{ name: "leaf", type: FT_STRING, value: "v" }] };
  for (let i = 0; i < MAX_NESTING_DEPTH + 2; i++) m = { fields: [{ name: "n", type: FT_STRUCT, value: m }] };
  const d = decodeDatagram(encodeNetstringBody(m));
  assert.ok(!d.ok && d.error.code === "bad-nested");
  assert.ok(!d.ok && d.error.detail.includes("deeper"));
});

t("the in-message auth digest covers every field but auth, without markers", () => {
  const m: Message = { fields: [{ name: "t", type: FT_STRING, value: "x" }, { name: "auth", type: FT_STRING, value: "1 0" }, { name: "b", type: FT_BINARY, value: "\x01" }] };
  assert.is(renderClassicLines(m, "auth", 0), "t=x\n(1)b=AQ==\n");
});

t("classic reader: blank lines skipped, a line without '=' or with an empty name fails, <<< ends it", () => {
  const ok = decodeClassicMessage(">>>\n\nt=a\n\n\nx=\n<<<\n", 0, 0);
  assert.ok(ok.ok && ok.message.fields.length === 2);
  for (const [bad, code] of [[">>>\nnovalue\n<<<\n", "bad-line"], [">>>\n=v\n<<<\n", "bad-name"], [">>>\nt=a\n", "truncated"], [">>>\n(1)b=!!!!\n<<<\n", "bad-base64"], [">>>\n(8)b=x\n<<<\n", "bad-type"]] as const) {
    const r = decodeClassicMessage(bad, 0, 0);
    assert.ok(!r.ok, bad);
    if (!r.ok) assert.is(r.error.code, code, bad);
  }
});

t("netstring decoder errors: each kind of damage has its own code", () => {
  const cases: [string, string][] = [
    ["", "empty"],
    ["hello", "no-marker"],
    ["###\n11:(0)t=status", "truncated"],
    ["###\n11:(0)t=status;%%%\n", "missing-comma"],
    ["###\n011:(0)t=status,%%%\n", "bad-length"],
    ["###\n11:(7)t=status,%%%\n", "bad-type"],
    ["###\n11:[0)t=status,%%%\n", "bad-type"],
    ["###\n10:(0)=status,%%%\n", "bad-name"],
    ["###\n9:(0)status,%%%\n", "bad-name"],
    ["###\n12345678:(0)t=x,%%%\n", "bad-length"],
    ["###\n9:(3)l=2:a,,%%%\n", "truncated"],
    ["###\n" + "#".repeat(MAX_MESSAGE_BYTES), "too-large"],
  ];
  for (const [input, code] of cases) {
    const d = decodeDatagram(input);
    assert.ok(!d.ok, JSON.stringify(input));
    if (!d.ok) assert.is(d.error.code, code, JSON.stringify(input.slice(0, 40)));
  }
});

t("bytes after the trailer are counted, not an error (Heartbeat ignores them)", () => {
  const d = decodeDatagram("###\n11:(0)t=status,%%%\n10:1 9d78d2ea,junk");
  assert.ok(d.ok && d.decoded.extraBytes === 4);
});

t("base64: round trip at every length, strict on bad input", () => {
  let s = "";
  for (let n = 0; n < 40; n++) {
    assert.is(base64Decode(base64Encode(s)), s);
    assert.is(base64Encode(s), Buffer.from(s, "latin1").toString("base64"));
    s += String.fromCharCode((n * 37) % 256);
  }
  for (const bad of ["A", "AB=C", "A===", "AB?D", "AR==", "ABC=="]) assert.is(base64Decode(bad), null, bad);
});

t("numbers: hex both cases, strict; decimal strict; %lx formatting without leading zeros", () => {
  assert.is(parseHex("6b02d7dA"), 0x6b02d7da);
  assert.is(parseHex(""), null);
  assert.is(parseHex("0x1"), null);
  assert.is(parseHex("12345678901234"), null);
  assert.is(parseDecimal("047"), 47);
  assert.is(parseDecimal("-1"), null);
  assert.is(formatHex(0), "0");
  assert.is(formatHex(0x1f40), "1f40");
  assert.is(formatHex(0xffffffff), "ffffffff");
  assert.is(formatDecimal(262144), "262144");
});

t.run();
