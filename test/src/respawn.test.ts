// ha.cf `respawn` clients with real processes: restarts with growing delays,
// the user they run as, status 100, stop() with SIGTERM then SIGKILL, the
// environment, output to the log; and what stock Heartbeat 3.0.6 does with
// the same lines, so the two can be compared.

import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createLogger } from "@lubdub/host/agent/log";
// host/package.json has no export for respawn/ (yet): the built files, by path.
import { parseHaCf } from "../../host/dist/config/hacf.js";
import { CLIENT_PATH, groupAlive, respawnProblems, Supervisor, type SupervisorOptions } from "../../host/dist/respawn/index.js";
import { HEARTBEAT, UNSHARE, testWhere, type Requirement } from "./support/require.js";
import { STOCK_HEARTBEAT, stockHeartbeatVerdict } from "./support/stock-heartbeat.js";
import { STOCK_PRIVATE_NODE_SH } from "./support/stock-node.js";

const t = suite("respawn");

interface LogRecord {
  event?: string;
  msg: string;
  [k: string]: unknown;
}

const ME = userInfo().username;

function capture() {
  const records: LogRecord[] = [];
  const log = createLogger("alpha", "debug", { write: (s: string) => void records.push(JSON.parse(s) as LogRecord) });
  return { log, records, events: (name: string) => records.filter((r) => r.event === name) };
}

/** A scratch directory every user can read and traverse (clients may run as nobody). */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-respawn-"));
  chmodSync(dir, 0o755);
  return dir;
}

function script(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** A file any client user may append to. */
function sink(dir: string, name: string): string {
  const p = join(dir, name);
  writeFileSync(p, "");
  chmodSync(p, 0o666);
  return p;
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];
}

async function waitFor(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processGone(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

function supervisor(o: Partial<SupervisorOptions> & Pick<SupervisorOptions, "clients" | "log">): Supervisor {
  return new Supervisor({ env: {}, backoff: { initialMs: 100, maxMs: 800, stableMs: 60000 }, ...o });
}

/** Records one line per start: uid, pid, a millisecond clock; then the kernel's view of its credentials. */
const RECORDER = `echo "$(id -u) $$ $(date +%s%3N)" >> "$1"
grep -E '^(Uid|Gid|Groups):' /proc/$$/status | tr -s '\\t ' ' ' >> "$2"
sleep 0.1
exit "\${3:-3}"`;

testWhere(t, "a client that exits is started again with growing delays, as user nobody", ["root"], async () => {
  const dir = scratch();
  const { log, events } = capture();
  const starts = sink(dir, "starts");
  const creds = sink(dir, "creds");
  const prog = script(dir, "rec.sh", RECORDER);
  const sup = supervisor({ clients: [{ user: "nobody", argv: [prog, starts, creds], line: 7 }], log, backoff: { initialMs: 200, maxMs: 1600, stableMs: 60000 } });
  try {
    sup.start();
    await waitFor("five starts", () => lines(starts).length >= 5, 15000);
    const rec = lines(starts).map((l) => l.split(" ").map(Number));
    assert.ok(rec.every(([uid]) => uid === 65534), `uids: ${JSON.stringify(rec)}`);
    assert.is(new Set(rec.map((r) => r[1])).size, rec.length, "a new process each time");
    // Start-to-start gaps: the run (about 100 ms, more on a busy machine) plus 200, 400, 800, 1600 ms of delay.
    const delays = [200, 400, 800, 1600];
    assert.equal(events("respawn.exited").slice(0, 4).map((r) => r.delayMs), delays);
    const gaps = rec.slice(1, 5).map((r, i) => r[2]! - rec[i]![2]!);
    gaps.forEach((g, i) => assert.ok(g >= delays[i]! + 50, `gap ${i}: ${gaps}`));
    assert.ok(gaps[3]! > gaps[0]! + 1000, `gaps grow: ${gaps}`);
    assert.ok(events("respawn.exited").every((r) => r.code === 3 && r.hacfLine === 7));
    // uid and gid, real, effective, saved and filesystem; no group of root's left.
    const cred = lines(creds).slice(0, 3);
    assert.equal(cred, ["Uid: 65534 65534 65534 65534", "Gid: 65534 65534 65534 65534", "Groups: 65534 "]);
    const snap = sup.snapshot()[0]!;
    assert.is(snap.user, "nobody");
    assert.is(snap.uid, 65534);
    assert.ok(snap.restarts >= 4);
    assert.equal(snap.lastExit && [snap.lastExit.code, snap.lastExit.signal], [3, null]);
    assert.ok(snap.state === "running" || (snap.state === "backoff" && snap.nextStartAt !== null && snap.nextStartAt > Date.now() - 50));
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A user (not root) that is in at least one group besides its primary one. */
let userWithGroups: string | null = null;
const USER_WITH_GROUPS: Requirement = {
  what: "a user with supplementary groups",
  check: () => {
    const groups = spawnSync("getent", ["group"], { encoding: "utf8" }).stdout ?? "";
    for (const line of groups.split("\n")) {
      for (const member of (line.split(":")[3] ?? "").split(",").filter(Boolean)) {
        if (member !== "root" && spawnSync("id", ["-u", member]).status === 0) {
          userWithGroups = member;
          return null;
        }
      }
    }
    return "no user on this machine has supplementary groups";
  },
};

testWhere(t, "supplementary groups are the user's, as initgroups() gives them", ["root", USER_WITH_GROUPS], async () => {
  const user = userWithGroups!;
  const dir = scratch();
  const { log } = capture();
  const starts = sink(dir, "starts");
  const creds = sink(dir, "creds");
  const sup = supervisor({ clients: [{ user, argv: [script(dir, "rec.sh", RECORDER), starts, creds, "100"], line: 1 }], log });
  try {
    sup.start();
    await waitFor("a start", () => lines(creds).length >= 3);
    const want = spawnSync("id", ["-G", user], { encoding: "utf8" }).stdout.trim().split(/\s+/).map(Number).sort((a, b) => a - b);
    const got = lines(creds)[2]!.replace("Groups:", "").trim().split(" ").map(Number).sort((a, b) => a - b);
    assert.equal(got, want);
    assert.ok(want.length > 1);
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

t("a client exiting with status 100 is not started again, and the log says why", async () => {
  const dir = scratch();
  const { log, events } = capture();
  const starts = sink(dir, "starts");
  const sup = supervisor({ clients: [{ user: ME, argv: [script(dir, "rec.sh", RECORDER), starts, sink(dir, "creds"), "100"], line: 3 }], log });
  try {
    sup.start();
    await waitFor("the exit", () => sup.snapshot()[0]!.state === "exited");
    await sleep(1000); // ten initial delays
    assert.is(lines(starts).length, 1);
    const snap = sup.snapshot()[0]!;
    assert.equal([snap.state, snap.restarts, snap.pid, snap.nextStartAt, snap.lastExit?.code], ["exited", 0, null, null, 100]);
    const why = events("respawn.not-restarted");
    assert.is(why.length, 1);
    assert.match(why[0]!.msg, /status 100/);
    assert.is(events("respawn.exited").length, 0);
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

t("stop() ends a client that ignores SIGTERM, and its process group, with SIGKILL after the bound", async () => {
  const dir = scratch();
  const { log, events } = capture();
  const pids = sink(dir, "pids");
  // SIGTERM ignored by the shell and, inherited, by its background child.
  const prog = script(dir, "stubborn.sh", `trap '' TERM\nsleep 1000 &\necho "$$ $!" > "$1"\nwhile :; do sleep 0.05; done`);
  const STOP_MS = 700;
  const sup = supervisor({ clients: [{ user: ME, argv: [prog, pids], line: 1 }], log, stopTimeoutMs: STOP_MS });
  sup.start();
  await waitFor("its pids", () => lines(pids).length === 1);
  const [pid, kid] = lines(pids)[0]!.split(" ").map(Number) as [number, number];
  assert.is(sup.snapshot()[0]!.pid, pid);
  const t0 = Date.now();
  await sup.stop();
  const took = Date.now() - t0;
  assert.ok(took >= STOP_MS && took < STOP_MS + 3000, `stop took ${took} ms`);
  assert.ok(processGone(pid), "the client is gone");
  assert.ok(processGone(kid), "its child is gone");
  assert.not.ok(groupAlive(pid));
  assert.equal(events("respawn.stopping").map((r) => r.pid), [pid]);
  assert.equal(events("respawn.killed").map((r) => r.pid), [pid]);
  const snap = sup.snapshot()[0]!;
  assert.equal([snap.state, snap.pid, snap.lastExit?.signal], ["stopped", null, "SIGKILL"]);
  await sleep(300);
  assert.is(lines(pids).length, 1, "not started again");
  rmSync(dir, { recursive: true, force: true });
});

t("stop(): SIGTERM is enough for a well-behaved client; clients stop in reverse order; a pending restart is dropped", async () => {
  const dir = scratch();
  const { log, events } = capture();
  const order = sink(dir, "order");
  const polite = (n: string) => script(dir, `${n}.sh`, `trap 'echo ${n} >> "$1"; exit 0' TERM\nwhile :; do sleep 0.05; done`);
  const flaky = script(dir, "flaky.sh", "exit 1");
  const sup = supervisor({
    clients: [
      { user: ME, argv: [polite("first"), order], line: 1 },
      { user: ME, argv: [polite("second"), order], line: 2 },
      { user: ME, argv: [flaky], line: 3 },
    ],
    log,
    backoff: { initialMs: 5000, maxMs: 5000, stableMs: 60000 },
  });
  sup.start();
  await waitFor("the flaky one in backoff", () => sup.snapshot()[2]!.state === "backoff");
  assert.ok(sup.snapshot()[2]!.nextStartAt! > Date.now());
  const t0 = Date.now();
  await Promise.all([sup.stop(), sup.stop()]);
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(lines(order), ["second", "first"]);
  assert.equal(events("respawn.killed"), []);
  assert.equal(sup.snapshot().map((s) => [s.state, s.nextStartAt]), [["stopped", null], ["stopped", null], ["stopped", null]]);
  assert.ok(events("respawn.stopped").every((r) => r.code === 0));
  rmSync(dir, { recursive: true, force: true });
});

t("the environment is the env values (as HA_NAME) and PATH; cwd is /; stdin is empty", async () => {
  const dir = scratch();
  const { log } = capture();
  const out = sink(dir, "env");
  process.env.LUBDUB_RESPAWN_SENTINEL = "leaked";
  const prog = script(dir, "env.sh", `{ env; echo "cwd=$(pwd)"; echo "stdin=$(cat)"; } > "$1"\nexit 100`);
  const sup = supervisor({ clients: [{ user: ME, argv: [prog, out], line: 1 }], env: { FOO: "bar", WITH_SPACE: "a b" }, log });
  try {
    sup.start();
    await waitFor("the exit", () => sup.snapshot()[0]!.state === "exited");
    const got = lines(out);
    assert.ok(got.includes("HA_FOO=bar"), got.join("|"));
    assert.ok(got.includes("HA_WITH_SPACE=a b"));
    assert.ok(got.includes(`PATH=${CLIENT_PATH}`));
    assert.ok(got.includes("cwd=/"));
    assert.ok(got.includes("stdin="));
    assert.not.ok(got.some((l) => l.startsWith("FOO=") || l.startsWith("LUBDUB_RESPAWN_SENTINEL=") || l.startsWith("HOME=")), got.join("|"));
    // Nothing but what the shell itself adds (PWD, maybe OLDPWD/SHLVL/_).
    const names = got.filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l) && !l.startsWith("cwd=") && !l.startsWith("stdin=")).map((l) => l.split("=")[0]!);
    assert.equal(names.filter((n) => !["PWD", "OLDPWD", "SHLVL", "_"].includes(n)).sort(), ["HA_FOO", "HA_WITH_SPACE", "PATH"]);
  } finally {
    delete process.env.LUBDUB_RESPAWN_SENTINEL;
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

t("stdout and stderr reach the log line by line, cut and rate-limited", async () => {
  const dir = scratch();
  const { log, events } = capture();
  const prog = script(
    dir,
    "chatty.sh",
    `echo "hello out"\necho "hello err" >&2\nhead -c 5000 /dev/zero | tr '\\0' x; echo\ni=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done\nexit 100`,
  );
  const sup = supervisor({ clients: [{ user: ME, argv: [prog], line: 1 }], log });
  try {
    sup.start();
    await waitFor("the dropped-lines report", () => events("respawn.output-dropped").length > 0);
    const out = events("respawn.output");
    assert.ok(out.some((r) => r.stream === "stdout" && /hello out$/.test(r.msg)));
    assert.ok(out.some((r) => r.stream === "stderr" && /hello err$/.test(r.msg)));
    const cut = out.find((r) => r.truncated === true);
    assert.ok(cut, "the long line is cut");
    assert.ok(cut!.msg.length < 1200 && /x{1000} \[cut\]$/.test(cut!.msg));
    assert.is(out.length, 50);
    assert.is(events("respawn.output-dropped").reduce((n, r) => n + (r.lines as number), 0), 203 - 50);
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

t("a client whose user does not exist, or whose program cannot run, is left out; the others run", async () => {
  const dir = scratch();
  const { log, events } = capture();
  const notExec = join(dir, "not-exec.sh");
  writeFileSync(notExec, "#!/bin/sh\n");
  chmodSync(notExec, 0o644);
  mkdirSync(join(dir, "a-directory"));
  const sup = supervisor({
    clients: [
      { user: "lubdub-no-such-user", argv: ["/bin/sleep", "1000"], line: 1 },
      { user: ME, argv: [join(dir, "missing")], line: 2 },
      { user: ME, argv: [notExec], line: 3 },
      { user: ME, argv: [join(dir, "a-directory")], line: 4 },
      { user: ME, argv: ["/bin/sleep", "1000"], line: 5 },
    ],
    log,
  });
  try {
    sup.start();
    await waitFor("every client looked at", () => sup.snapshot().every((s) => s.state !== "idle"));
    assert.equal(sup.snapshot().map((s) => s.state), ["refused", "failed", "failed", "failed", "running"]);
    assert.equal(events("respawn.user-unknown").map((r) => r.hacfLine), [1]);
    assert.equal(events("respawn.cannot-exec").map((r) => r.hacfLine), [2, 3, 4]);
    assert.ok(sup.snapshot()[4]!.pid! > 0);
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- Stock Heartbeat 3.0.6, for comparison ---------------------------------

const BASE = "ucast lo 127.0.0.1\nnode alpha bravo\nauto_failback on";

/** lubdub's verdict on a ha.cf: the parser, then the load-time respawn checks. */
function lubdubStarts(hacf: string): { starts: boolean; errors: string[] } {
  const { config, diagnostics } = parseHaCf(hacf, "ha.cf", "alpha");
  const errors = [...diagnostics, ...respawnProblems(config)].filter((d) => d.severity === "error").map((d) => `${d.line}: ${d.message}`);
  return { starts: errors.length === 0, errors };
}

testWhere(t, "stock heartbeat and lubdub agree on respawn and env lines", ["root", HEARTBEAT, UNSHARE], async () => {
  const cases: { name: string; lines: string; stricter?: string }[] = [
    { name: "a client as nobody", lines: "respawn nobody /bin/sleep 1000" },
    { name: "heartbeat's own example (ipfail, as hacluster)", lines: "respawn hacluster /usr/lib/heartbeat/ipfail" },
    { name: "a program that does not exist", lines: "respawn nobody /usr/lib/no/such/program" },
    { name: "a user that does not exist", lines: "respawn lubdub-no-such-user /bin/true" },
    { name: "a relative program", lines: "respawn nobody sleep 1000" },
    { name: "a directory as program", lines: "respawn nobody /usr/bin", stricter: "root may 'execute' a directory by access(); it is not a program" },
    { name: "env values", lines: "env FOO=bar\nenv A=1 B=2" },
    { name: "an env name that is no identifier", lines: "env 1FOO=bar", stricter: "Heartbeat exports HA_1FOO, which no shell can read" },
  ];
  const problems: string[] = [];
  await Promise.all(
    cases.map(async (c) => {
      const hacf = `${BASE}\n${c.lines}`;
      const stock = await stockHeartbeatVerdict({ hacf, node: "alpha" });
      const ours = lubdubStarts(hacf);
      const line = `${c.name}: heartbeat ${stock.started ? "starts" : "refuses"}, lubdub ${ours.starts ? "starts" : "refuses"}`;
      console.log(`  ${line}${c.stricter ? ` (stricter: ${c.stricter})` : ""}`);
      if (ours.starts !== (c.stricter ? false : stock.started)) problems.push(`${line}\n    heartbeat: ${stock.problems.join(" | ")}\n    lubdub: ${ours.errors.join(" | ")}`);
      if (c.stricter && !stock.started) problems.push(`${c.name}: marked stricter but heartbeat refuses it too`);
    }),
  );
  assert.equal(problems, []);
});

/** Runs stock heartbeat (one node, so it starts its clients at once) for `ms`, then ends it. */
function runStockHeartbeat(hacf: string, ms: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-stock-respawn-"));
  const etc = join(dir, "etc");
  mkdirSync(etc);
  writeFileSync(join(etc, "ha.cf"), `${hacf}\nlogfile ${join(dir, "log")}\n`);
  writeFileSync(join(etc, "authkeys"), "auth 1\n1 crc\n");
  chmodSync(join(etc, "authkeys"), 0o600);
  writeFileSync(join(etc, "haresources"), "");
  const sh = `
    set -u
    ip link set lo up
    ${STOCK_PRIVATE_NODE_SH}
    ${STOCK_HEARTBEAT} >/dev/null 2>&1
    sleep "$3"
  `;
  return new Promise((done) => {
    // PID 1 of the namespace exiting ends heartbeat and every client it started.
    const child = spawn("unshare", ["--mount", "--uts", "--net", "--pid", "--mount-proc", "--fork", "sh", "-c", sh, "sh", "alpha", etc, String(ms / 1000)], { stdio: "ignore" });
    child.on("close", () => {
      rmSync(dir, { recursive: true, force: true });
      done();
    });
  });
}

testWhere(t, "stock heartbeat and lubdub run the same clients alike: user, HA_ env, restart, status 100", ["root", HEARTBEAT, UNSHARE], async () => {
  const dir = scratch();
  // Each start records: its name, uid, and what it sees of FOO.
  const prog = script(dir, "client.sh", `echo "$1 uid=$(id -u) HA_FOO=\${HA_FOO-unset} FOO=\${FOO-unset}" >> "$2"\nsleep 0.2\nexit "$3"`);
  const observe = async (run: (hacf: string) => Promise<void>, file: string) => {
    const hacf = `ucast lo 127.0.0.1\nnode alpha\nauto_failback on\nenv FOO=bar\nrespawn nobody ${prog} crashing ${file} 3\nrespawn nobody ${prog} done ${file} 100`;
    await run(hacf);
    const got = lines(file);
    return {
      crashingStarts: got.filter((l) => l.startsWith("crashing ")).length,
      doneStarts: got.filter((l) => l.startsWith("done ")).length,
      seen: [...new Set(got.map((l) => l.replace(/^\S+ /, "")))],
    };
  };
  try {
    const stock = await observe((hacf) => runStockHeartbeat(hacf, 6000), sink(dir, "stock"));
    const ours = await observe(async (hacf) => {
      const { config } = parseHaCf(hacf, "ha.cf", "alpha");
      const { log } = capture();
      const sup = new Supervisor({ clients: config.respawn, env: config.env, log });
      sup.start();
      await sleep(4000);
      await sup.stop();
    }, sink(dir, "ours"));
    console.log(`  stock heartbeat: ${JSON.stringify(stock)}\n  lubdub: ${JSON.stringify(ours)}`);
    for (const r of [stock, ours]) {
      assert.equal(r.seen, ["uid=65534 HA_FOO=bar FOO=unset"]);
      assert.is(r.doneStarts, 1, "status 100: started once");
      assert.ok(r.crashingStarts >= 2, "status 3: started again");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
