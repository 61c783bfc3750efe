// Resource groups run for real: resource.d scripts and an init script written
// into temporary directories, resource-agents' Dummy OCF agent, Heartbeat's
// stock Delay script, order of start and stop seen on disk, a failed start
// rolled back, a hanging script killed with its children at its timeout.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  getResourceClass,
  groupStatus,
  heartbeatScriptEnv,
  loadHaresources,
  OUTPUT_DRAIN_MS,
  parseHaresources,
  resolveResource,
  runScript,
  startGroup,
  stopGroup,
  type Action,
  type ActionResult,
  type ResourceDirs,
  type ResourceGroup,
  type ResourceSpec,
} from "@lubdub/host/resources";
import { HB_DELAY, OCF_DUMMY, testWhere } from "./support/require.js";

const t = suite("resources");
const dir = mkdtempSync(join(tmpdir(), "lubdub-rsc-"));
const cfg = join(dir, "ha.d");
const rd = join(cfg, "resource.d");
const initDir = join(dir, "init.d");
const ocfRoot = join(dir, "ocf");
const state = join(dir, "state");
for (const d of [rd, initDir, join(ocfRoot, "resource.d", "lubdubtest"), state]) mkdirSync(d, { recursive: true });
const DIRS: ResourceDirs = { configDir: cfg, initDir, ocfRoot };
const orderLog = join(dir, "order.log");

function script(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}`);
  chmodSync(path, 0o755);
}

// A resource.d script: NAME [ARG…] start|stop|status, state in a file, every
// start and stop appended to order.log. "fail-NAME" in the state dir makes start fail.
const RSC = `name=$(basename "$0")
eval "op=\\\${$#}"
st="${state}/$name"
case "$op" in
  start)
    if [ -e "${state}/fail-$name" ]; then echo "$name: cannot start, told to fail" >&2; exit 1; fi
    touch "$st"; echo "$name start ($*)" >> "${orderLog}";;
  stop) rm -f "$st"; echo "$name stop" >> "${orderLog}";;
  status) if [ -e "$st" ]; then echo "$name is running"; else echo "$name is not running"; fi;;
  *) echo "usage: $0 [args] start|stop|status"; exit 2;;
esac
exit 0
`;
for (const n of ["r1", "r2", "r3"]) script(join(rd, n), RSC);

// Status judged by text, never by exit code (ResourceManager's we_own_resource).
script(join(rd, "liar"), `case "$1" in status) cat "${state}/liar-says"; exit "$(cat "${state}/liar-rc")";; esac\nexit 0\n`);

// An LSB init script: status by exit code, 0 running, 3 stopped.
script(
  join(initDir, "svc"),
  `st="${state}/svc"
case "$1" in
  start) touch "$st"; exit 0;;
  stop) rm -f "$st"; exit 0;;
  status)
    [ -e "$st" ] && { echo "svc is running"; exit 0; }
    [ -e "${state}/svc-dead" ] && { echo "svc is running OK (a lie)"; exit 1; }
    echo "svc is running OK (a lie)"; exit 3;;
esac
exit 2
`,
);

// An init script that starts a daemon keeping the script's stdout open.
script(
  join(initDir, "daemon"),
  `case "$1" in
  start) sleep 300 & echo $! > "${state}/daemon.pid"; echo started; exit 0;;
  stop) [ -e "${state}/daemon.pid" ] && kill "$(cat "${state}/daemon.pid")"; rm -f "${state}/daemon.pid"; exit 0;;
  status) [ -e "${state}/daemon.pid" ] && kill -0 "$(cat "${state}/daemon.pid")" 2>/dev/null && exit 0; exit 3;;
esac
`,
);

// A resource.d script whose start never ends, with a child in the background.
script(
  join(rd, "hang"),
  `case "$1" in
  start) sleep 300 & echo $! > "${state}/hang-child.pid"; echo $$ > "${state}/hang.pid"; echo "hanging"; sleep 300;;
  status) echo "hang is not running";;
esac
exit 0
`,
);

// A resource.d script that writes its arguments and HA_ environment.
script(join(rd, "envdump"), `{ echo "args: $*"; env | grep -E '^(HA_|LC_ALL=|LANGUAGE=)' | sort; } > "${state}/envdump.txt"\necho running\n`);

// An OCF agent that records its environment and exits with OCF_RESKEY_rc.
script(join(ocfRoot, "resource.d", "lubdubtest", "Probe"), `env | grep -E '^(OCF_|HA_)' | sort > "${state}/probe-$1.txt"\nexit "\${OCF_RESKEY_rc:-0}"\n`);

function spec(word: string, dirs: ResourceDirs = DIRS): ResourceSpec {
  const r = resolveResource(word, dirs);
  if ("error" in r) throw new Error(r.error);
  return r.spec;
}

function group(words: string[], dirs: ResourceDirs = DIRS): ResourceGroup {
  return { owner: "alpha", key: words[0]!, line: 1, resources: words.map((w) => spec(w, dirs)) };
}

async function act(s: ResourceSpec, action: Action, env: Record<string, string> = {}, timeoutMs = 10_000): Promise<ActionResult> {
  return getResourceClass(s.className)!.run(s, action, { timeoutMs, env });
}

function log(): string[] {
  return existsSync(orderLog) ? readFileSync(orderLog, "utf8").trim().split("\n") : [];
}

function resetLog(): void {
  rmSync(orderLog, { force: true });
}

/** A process is gone (or a zombie nobody reaped yet: it runs nothing). */
function dead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

const QUICK = { stopRetries: 0, stopRetryDelayMs: 10 };

t("haresources from a real config dir: names resolve to the scripts on disk, errors at file:line", () => {
  script(join(rd, "noexec"), "exit 0\n");
  chmodSync(join(rd, "noexec"), 0o644);
  writeFileSync(
    join(cfg, "haresources"),
    ["# test cluster", "alpha r1 r2::a::b \\", "   svc ocf:lubdubtest:Probe::rc=0", "bravo 192.0.2.10/24/eth0 noexec", "bravo r3 ocf:lubdubtest:Nope", ""].join("\n"),
  );
  const r = loadHaresources({ ...DIRS, nodes: ["alpha", "bravo"] });
  assert.equal(
    r.diagnostics.map((d) => [d.source, d.line]),
    [
      [join(cfg, "haresources"), 4],
      [join(cfg, "haresources"), 5],
    ],
  );
  assert.match(r.diagnostics[0]!.message, /^'noexec' resolves to nothing/);
  assert.match(r.diagnostics[1]!.message, /^'ocf:lubdubtest:Nope': no OCF agent/);
  assert.equal(r.groups.length, 1);
  assert.equal(
    r.groups[0]!.resources.map((x) => [x.className, x.path]),
    [
      ["heartbeat", join(rd, "r1")],
      ["heartbeat", join(rd, "r2")],
      ["lsb", join(initDir, "svc")],
      ["ocf", join(ocfRoot, "resource.d", "lubdubtest", "Probe")],
    ],
  );
  const missing = loadHaresources({ configDir: join(dir, "nowhere") });
  assert.match(missing.diagnostics[0]!.message, /file not found/);
});

t("resource.d script: ARGS then the action; status read from its words", async () => {
  resetLog();
  const s = spec("r1::x::y");
  assert.equal((await act(s, "status")).ok, false);
  assert.equal((await act(s, "status")).state, "stopped");
  assert.ok((await act(s, "start")).ok);
  assert.equal(log(), ["r1 start (x y start)"]);
  const st = await act(s, "status");
  assert.ok(st.ok);
  assert.is(st.output.trim(), "r1 is running");
  assert.ok((await act(s, "stop")).ok);
  assert.not.ok((await act(s, "status")).ok);

  const liar = spec("liar");
  const says = async (text: string, rc: number) => {
    writeFileSync(join(state, "liar-says"), text);
    writeFileSync(join(state, "liar-rc"), String(rc));
    return (await act(liar, "status")).ok;
  };
  assert.ok(await says("web is running\n", 3), "running, whatever the exit code");
  assert.ok(await says("Status: OK\n", 1));
  assert.not.ok(await says("web is not running\n", 0), "NOT ... running wins");
  assert.not.ok(await says("web is NOT currently Running\n", 0));
  assert.not.ok(await says("stopped\n", 0), "no running, no OK: stopped");
  assert.not.ok(await says("ok\n", 0), "OK is upper case only");
});

t("resource.d script gets Heartbeat's environment; LC_ALL and LANGUAGE are unset", async () => {
  const saved = process.env.LC_ALL;
  process.env.LC_ALL = "C";
  try {
    const env = heartbeatScriptEnv({ configDir: cfg, nodeName: "alpha", logfacility: "local7", debug: 1 });
    await act(spec("envdump::a::b"), "status", env);
  } finally {
    if (saved === undefined) delete process.env.LC_ALL;
    else process.env.LC_ALL = saved;
  }
  const lines = readFileSync(join(state, "envdump.txt"), "utf8").trim().split("\n");
  assert.is(lines[0], "args: a b status");
  for (const want of [`HA_DIR=${cfg}`, "HA_CURHOST=alpha", "HA_LOGFACILITY=local7", "HA_debug=1", `HA_FUNCS=${join(cfg, "shellfuncs")}`]) assert.ok(lines.includes(want), want);
  assert.not.ok(lines.some((l) => l.startsWith("LC_ALL=")));
});

t("LSB init script: status by exit code (0 running, 3 stopped, others failed)", async () => {
  const s = spec("svc");
  assert.is(s.className, "lsb");
  let st = await act(s, "status");
  assert.equal([st.ok, st.exitCode, st.state], [false, 3, "stopped"]);
  writeFileSync(join(state, "svc-dead"), "");
  st = await act(s, "status");
  assert.equal([st.ok, st.exitCode, st.state], [false, 1, "failed"]);
  rmSync(join(state, "svc-dead"));
  assert.ok((await act(s, "start")).ok);
  st = await act(s, "status");
  assert.equal([st.ok, st.exitCode, st.state], [true, 0, "running"]);
  assert.ok((await act(s, "stop")).ok);
});

t("an init script that leaves a daemon holding its output: the action returns, the daemon lives", async () => {
  const s = spec("daemon");
  const started = Date.now();
  const r = await act(s, "start");
  assert.ok(r.ok);
  assert.ok(Date.now() - started < 3000 + OUTPUT_DRAIN_MS, `took ${Date.now() - started} ms`);
  assert.is(r.output.trim(), "started");
  const pid = Number(readFileSync(join(state, "daemon.pid"), "utf8"));
  assert.not.ok(dead(pid), "the daemon was killed");
  assert.ok((await act(s, "status")).ok);
  assert.ok((await act(s, "stop")).ok);
  assert.ok(await waitFor(() => dead(pid), 3000));
});

t("OCF agent: environment, status is monitor, exit codes", async () => {
  const s = spec("ocf:lubdubtest:Probe::rc=0::extra=with spaces=and equals");
  await act(s, "status", { HA_DIR: cfg });
  const env = readFileSync(join(state, "probe-monitor.txt"), "utf8").trim().split("\n");
  for (const want of [
    `OCF_ROOT=${ocfRoot}`,
    "OCF_RESOURCE_TYPE=Probe",
    "OCF_RESOURCE_PROVIDER=lubdubtest",
    `OCF_RESOURCE_INSTANCE=${s.instance}`,
    "OCF_RESKEY_rc=0",
    "OCF_RESKEY_extra=with spaces=and equals",
    "OCF_RA_VERSION_MAJOR=1",
    `HA_DIR=${cfg}`,
  ]) {
    assert.ok(env.includes(want), `${want} in ${env.join(" ")}`);
  }
  const monitor = async (rc: number) => {
    const r = await act(spec(`ocf:lubdubtest:Probe::rc=${rc}`), "status");
    return [r.ok, r.state];
  };
  assert.equal(await monitor(0), [true, "running"]);
  assert.equal(await monitor(7), [false, "stopped"]);
  assert.equal(await monitor(8), [true, "running"]);
  assert.equal(await monitor(9), [true, "running"]);
  assert.equal(await monitor(1), [false, "failed"]);
  assert.equal(await monitor(6), [false, "failed"]);
  assert.ok((await act(spec("ocf:lubdubtest:Probe::rc=0"), "start")).ok);
  assert.not.ok((await act(spec("ocf:lubdubtest:Probe::rc=7"), "stop")).ok);
});

testWhere(t, "resource-agents' Dummy: start, monitor 0, stop, monitor 7", [OCF_DUMMY], async () => {
  const file = join(state, "dummy.state");
  const s = spec(`ocf:heartbeat:Dummy::state=${file}`, { ...DIRS, ocfRoot: undefined });
  assert.is(s.path, "/usr/lib/ocf/resource.d/heartbeat/Dummy");
  const env = heartbeatScriptEnv({ configDir: cfg });
  let r = await act(s, "status", env);
  assert.equal([r.ok, r.exitCode, r.state], [false, 7, "stopped"]);
  r = await act(s, "start", env);
  assert.ok(r.ok, r.output);
  assert.ok(existsSync(file));
  r = await act(s, "status", env);
  assert.equal([r.ok, r.exitCode, r.state], [true, 0, "running"]);
  assert.ok((await act(s, "stop", env)).ok);
  assert.not.ok(existsSync(file));
  r = await act(s, "status", env);
  assert.equal([r.ok, r.exitCode, r.state], [false, 7, "stopped"]);
});

testWhere(t, "Heartbeat's stock resource.d/Delay, with its tracking file kept in a temp dir", [HB_DELAY, OCF_DUMMY], async () => {
  const rsctmp = join(dir, "rsctmp");
  mkdirSync(rsctmp, { recursive: true });
  // Delay::STARTDELAY::STOPDELAY; its monitor would sleep 30 s without mondelay.
  const env = { ...heartbeatScriptEnv(), HA_RSCTMP: rsctmp, OCF_RESKEY_mondelay: "0" };
  const g = group(["Delay::0::0"], {});
  assert.is(g.resources[0]!.className, "heartbeat");
  assert.is((await groupStatus(g, { env })).state, "none");
  const r = await startGroup(g, { env, ...QUICK });
  assert.ok(r.ok, r.failed?.result.output);
  assert.ok(existsSync(join(rsctmp, "Delay_Delay_0")));
  const st = await groupStatus(g, { env });
  assert.is(st.state, "all");
  assert.match(st.resources[0]!.result.output, /Running OK/);
  assert.ok((await stopGroup(g, { env, ...QUICK })).ok);
  assert.not.ok(existsSync(join(rsctmp, "Delay_Delay_0")));
  assert.is((await groupStatus(g, { env })).state, "none");
});

t("group: started left to right, stopped right to left, as seen on disk", async () => {
  resetLog();
  const g = group(["r1", "r2::arg", "svc", "r3"]);
  const r = await startGroup(g, QUICK);
  assert.ok(r.ok);
  assert.equal(log(), ["r1 start (start)", "r2 start (arg start)", "r3 start (start)"]);
  assert.ok(existsSync(join(state, "svc")));
  assert.is((await groupStatus(g)).state, "all");
  // Already running: left alone.
  resetLog();
  const again = await startGroup(g, QUICK);
  assert.ok(again.ok);
  assert.equal(again.alreadyRunning, ["r1", "r2::arg", "svc", "r3"]);
  assert.equal(log(), []);
  // One resource gone: status "some"; start only starts it.
  rmSync(join(state, "r2"));
  assert.is((await groupStatus(g)).state, "some");
  await startGroup(g, QUICK);
  assert.equal(log(), ["r2 start (arg start)"]);
  resetLog();
  const s = await stopGroup(g, QUICK);
  assert.ok(s.ok);
  assert.equal(log(), ["r3 stop", "r2 stop", "r1 stop"]);
  assert.not.ok(existsSync(join(state, "svc")));
  assert.is((await groupStatus(g)).state, "none");
});

t("a failing middle resource: the first is rolled back, the group released, the failing output kept", async () => {
  resetLog();
  writeFileSync(join(state, "fail-r2"), "");
  try {
    const g = group(["r1", "r2", "r3"]);
    const r = await startGroup(g, QUICK);
    assert.not.ok(r.ok);
    assert.is(r.failed!.resource.raw, "r2");
    assert.is(r.failed!.result.exitCode, 1);
    assert.match(r.failed!.result.output, /r2: cannot start, told to fail/);
    assert.ok(r.release!.ok);
    assert.equal(log(), ["r1 start (start)", "r3 stop", "r2 stop", "r1 stop"]);
    assert.not.ok(existsSync(join(state, "r1")));
    assert.is((await groupStatus(g)).state, "none");
  } finally {
    rmSync(join(state, "fail-r2"));
  }
});

t("a script that hangs is killed at its timeout, with its children", async () => {
  resetLog();
  const g = group(["r1", "hang"]);
  const started = Date.now();
  const r = await startGroup(g, { ...QUICK, startTimeoutMs: 500 });
  const took = Date.now() - started;
  assert.not.ok(r.ok);
  assert.is(r.failed!.resource.raw, "hang");
  assert.ok(r.failed!.result.timedOut);
  assert.is(r.failed!.result.exitCode, null);
  assert.match(r.failed!.result.output, /hanging[^]*timed out after 500 ms/);
  assert.ok(took < 5000, `took ${took} ms`);
  const pid = Number(readFileSync(join(state, "hang.pid"), "utf8"));
  const child = Number(readFileSync(join(state, "hang-child.pid"), "utf8"));
  assert.ok(await waitFor(() => dead(pid) && dead(child), 3000), `script ${pid} or its child ${child} still runs`);
  // And the group was released.
  assert.equal(log(), ["r1 start (start)", "r1 stop"]);
});

t("run-script: bounded output, a script that cannot run, a cancelled run", async () => {
  const big = join(dir, "big");
  script(big, `i=0; while [ $i -lt 2000 ]; do echo "line $i of a long output........................................"; i=$((i+1)); done; echo last line\n`);
  const o = await runScript({ path: big, args: [], timeoutMs: 10_000, maxOutputBytes: 2000 });
  assert.is(o.exitCode, 0);
  assert.ok(o.output.length < 2200, String(o.output.length));
  assert.match(o.output, /^line 0 of/);
  assert.match(o.output, /bytes of output dropped/);
  assert.match(o.output, /last line\n$/);

  const nox = await runScript({ path: join(dir, "does-not-exist"), args: [], timeoutMs: 1000 });
  assert.is(nox.exitCode, null);
  assert.match(nox.spawnError ?? "", /ENOENT/);

  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const c = await runScript({ path: "/bin/sh", args: ["-c", "sleep 300"], timeoutMs: 60_000, signal: ac.signal });
  assert.ok(c.aborted);
  assert.is(c.exitCode, null);
  assert.ok(c.durationMs < 3000);
});

t("parse, then run: a haresources line drives the group", async () => {
  resetLog();
  const r = parseHaresources("alpha r1 \\\n r3::z\n", "haresources", { ...DIRS, nodes: ["alpha", "bravo"] });
  assert.equal(r.diagnostics, []);
  const g = r.groups[0]!;
  assert.ok((await startGroup(g, QUICK)).ok);
  assert.ok((await stopGroup(g, QUICK)).ok);
  assert.equal(log(), ["r1 start (start)", "r3 start (z start)", "r3 stop", "r1 stop"]);
});

t.after(() => rmSync(dir, { recursive: true, force: true }));
t.run();
