import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseHaCf } from "../config/hacf.js";
import { respawnProblems, type HostProbe } from "./check.js";
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  INITIAL_BACKOFF_MS,
  LineSplitter,
  MAX_BACKOFF_MS,
  MAX_OUTPUT_LINE_CHARS,
  NO_RESPAWN_EXIT_CODE,
  OUTPUT_LINES_PER_WINDOW,
  OUTPUT_WINDOW_MS,
  OutputLimiter,
  RestartPolicy,
  STABLE_RUN_MS,
} from "./policy.js";
import { CLIENT_PATH, clientEnvironment, STOP_TIMEOUT_MS } from "./supervisor.js";
import { groupsFromGroupFile, parsePasswdLine } from "./users.js";

const t = suite("respawn policy");

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t, advance: (ms: number) => void (c.t += ms) };
  return c;
}

const CRASH = { code: 1, signal: null };

t("the named constants are the documented ones", () => {
  assert.is(INITIAL_BACKOFF_MS, 1000);
  assert.is(MAX_BACKOFF_MS, 60_000);
  assert.is(STABLE_RUN_MS, 60_000);
  assert.is(NO_RESPAWN_EXIT_CODE, 100);
  assert.is(STOP_TIMEOUT_MS, 10_000);
});

t("backoff doubles from 1 s and stops at 60 s", () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7, 8, 100, 5000].map((n) => backoffDelay(n)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000]);
  assert.is(backoffDelay(0), 1000);
});

t("quick exits in a row back off; a run of 60 s resets the delay", () => {
  const c = clock();
  const p = new RestartPolicy(c.now);
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    p.started();
    c.advance(500);
    const d = p.exited(CRASH, false);
    assert.ok(d.restart);
    if (!d.restart) return;
    assert.is(d.ranMs, 500);
    assert.is(d.startAt, c.t + d.delayMs);
    delays.push(d.delayMs);
    c.advance(d.delayMs);
  }
  assert.equal(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  // A healthy run: back to the initial delay.
  p.started();
  c.advance(STABLE_RUN_MS);
  const d = p.exited(CRASH, false);
  assert.ok(d.restart && d.delayMs === 1000 && d.quickExits === 1);
  // Just short of healthy: the streak goes on from there.
  p.started();
  c.advance(STABLE_RUN_MS - 1);
  const e = p.exited(CRASH, false);
  assert.ok(e.restart && e.delayMs === 2000 && e.quickExits === 2);
});

t("too-fast is reported once per streak, when the delay reaches the maximum", () => {
  const c = clock();
  const p = new RestartPolicy(c.now);
  const flags: boolean[] = [];
  for (let i = 0; i < 9; i++) {
    p.started();
    const d = p.exited(CRASH, false);
    flags.push(d.restart && d.tooFast);
  }
  assert.equal(flags, [false, false, false, false, false, false, true, false, false]);
});

t("a signal is an exit like any other; status 100 and stopping end it", () => {
  const c = clock();
  const p = new RestartPolicy(c.now);
  p.started();
  c.advance(10);
  assert.ok(p.exited({ code: null, signal: "SIGSEGV" }, false).restart);
  p.started();
  c.advance(10);
  assert.equal(p.exited({ code: 100, signal: null }, false), { restart: false, ranMs: 10, reason: "exit-100" });
  p.started();
  assert.equal(p.exited({ code: 0, signal: null }, true), { restart: false, ranMs: 0, reason: "stopping" });
  p.started();
  assert.equal(p.exited({ code: 100, signal: null }, true), { restart: false, ranMs: 0, reason: "stopping" });
  // Status 0 is restarted, as in Heartbeat.
  p.started();
  assert.ok(p.exited({ code: 0, signal: null }, false).restart);
});

t("other backoff settings (as the real-process tests use)", () => {
  const c = clock();
  const p = new RestartPolicy(c.now, { initialMs: 100, maxMs: 350, stableMs: 1000 });
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    p.started();
    const d = p.exited(CRASH, false);
    if (d.restart) delays.push(d.delayMs);
  }
  assert.equal(delays, [100, 200, 350, 350, 350]);
  assert.equal(DEFAULT_BACKOFF, { initialMs: 1000, maxMs: 60000, stableMs: 60000 });
});

t("output limiter: a window's worth of lines, then a count of the dropped ones", () => {
  const c = clock();
  const l = new OutputLimiter(c.now);
  let allowed = 0;
  for (let i = 0; i < OUTPUT_LINES_PER_WINDOW + 30; i++) if (l.take().allow) allowed++;
  assert.is(allowed, OUTPUT_LINES_PER_WINDOW);
  c.advance(OUTPUT_WINDOW_MS);
  assert.equal(l.take(), { allow: true, droppedBefore: 30 });
  for (let i = 0; i < OUTPUT_LINES_PER_WINDOW + 5; i++) l.take();
  assert.is(l.flush(), 6);
  assert.is(l.flush(), 0);
});

t("line splitter: lines across chunks, CRLF, UTF-8 split mid-character, long lines cut", () => {
  const s = new LineSplitter(10);
  const enc = new TextEncoder();
  assert.equal(s.push(enc.encode("ab")), []);
  assert.equal(s.push(enc.encode("c\r\nd\n")), [
    { text: "abc", truncated: false },
    { text: "d", truncated: false },
  ]);
  const euro = enc.encode("€\n");
  assert.equal(s.push(euro.slice(0, 1)), []);
  assert.equal(s.push(euro.slice(1)), [{ text: "€", truncated: false }]);
  assert.equal(s.push(enc.encode("0123456789abc")), [{ text: "0123456789", truncated: true }]);
  assert.equal(s.push(enc.encode("defg")), [], "the rest of a cut line is skipped");
  assert.equal(s.push(enc.encode("hij\nnext")), []);
  assert.equal(s.end(), [{ text: "next", truncated: false }]);
  const one = new LineSplitter(4);
  assert.equal(one.push(enc.encode("123456\nok\n")), [
    { text: "1234", truncated: true },
    { text: "ok", truncated: false },
  ]);
  // Memory stays bounded however long the line.
  const big = new LineSplitter();
  const out = big.push(new Uint8Array(5_000_000).fill(0x41));
  assert.is(out.length, 1);
  assert.is(out[0]!.text.length, MAX_OUTPUT_LINE_CHARS);
  assert.equal(big.push(enc.encode("B\n")), []);
});

t("client environment: env values as HA_NAME and a minimal PATH, nothing else", () => {
  assert.equal(clientEnvironment({ FOO: "bar", PATH: "/evil" }), { PATH: CLIENT_PATH, HA_FOO: "bar", HA_PATH: "/evil" });
  assert.equal(clientEnvironment({}), { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
});

t("passwd and group parsing (the fallback without getent)", () => {
  assert.equal(parsePasswdLine("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"), { name: "nobody", uid: 65534, gid: 65534 });
  assert.is(parsePasswdLine("broken:x:a:1:::"), null);
  assert.is(parsePasswdLine(""), null);
  const group = "root:x:0:\nssl-cert:x:103:postgres,other\npostgres:x:104:\nadm:x:4:syslog,postgres\n";
  assert.equal(groupsFromGroupFile(group, "postgres", 104), [104, 103, 4]);
  assert.equal(groupsFromGroupFile(group, "nobody", 65534), [65534]);
});

t("load-time checks: unknown user and non-executable program are errors at their line", () => {
  const text = "ucast eth1 192.0.2.2\nnode alpha bravo\nauto_failback on\nrespawn ghost /usr/lib/heartbeat/ipfail\nrespawn hacluster /nonexistent/prog -v\nrespawn hacluster /bin/true\n";
  const { config, diagnostics } = parseHaCf(text, "ha.cf", "alpha");
  assert.equal(diagnostics.filter((d) => d.severity === "error"), []);
  const probe: HostProbe = {
    lookupUser: (n) => (n === "hacluster" ? { name: n, uid: 102, gid: 105, groups: [105] } : null),
    programProblem: (p) => (p === "/nonexistent/prog" ? "does not exist" : null),
  };
  assert.equal(respawnProblems(config, probe), [
    { severity: "error", source: "ha.cf", line: 4, message: "respawn: user 'ghost' does not exist" },
    { severity: "error", source: "ha.cf", line: 5, message: "respawn: '/nonexistent/prog' does not exist" },
  ]);
});

t.run();
