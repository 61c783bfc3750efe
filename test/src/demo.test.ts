// `npm run demo`, as a new user runs it: the scripted tour passes (exit 0),
// on the loopback path and (as root) on the network-namespace path with a real
// floating IP, and the live view, driven in tmux (send-keys, capture-pane),
// shows a working cluster within 10 seconds, moves the service when the
// primary is killed, and leaves nothing behind when quit.

import { spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { REPO_ROOT } from "./support/paths.js";
import { LUA, NETNS_LAB, type Requirement, SOCAT, testWhere } from "./support/require.js";

const t = suite("demo");

const DEMO = join(REPO_ROOT, "tools/dist/demo/main.js");
const TMUX: Requirement = { command: "tmux", pkg: "tmux" };
const BUILT: Requirement = { path: DEMO, what: "the demo build (npm run build)" };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => resolve(true)));
  });
}
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => resolve(false));
    s.bind({ port, address: "0.0.0.0", exclusive: true }, () => s.close(() => resolve(true)));
  });
}
async function blockFree(b: number): Promise<boolean> {
  return (await tcpFree(b)) && (await udpFree(b + 1)) && (await udpFree(b + 2)) && (await tcpFree(b + 3));
}
/** A base port whose block of four is free (a test's own, away from the demo's default 7940). */
async function freeBase(): Promise<number> {
  for (;;) {
    const b = 20000 + 10 * Math.floor(Math.random() * 2000);
    if (await blockFree(b)) return b;
  }
}

/** What a demo run (by PID) made that is still there: namespaces, /etc/netns entries. */
function netnsLeftovers(pid: number): string[] {
  const mine = (n: string) => n.startsWith(`lubdub-demo-${pid}-`);
  const ns = (spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "").split("\n").map((l) => l.split(" ")[0]!).filter(mine);
  const etc = spawnSync("ls", ["/etc/netns"], { encoding: "utf8" }).stdout ?? "";
  return [...ns, ...etc.split("\n").filter(mine).map((e) => `/etc/netns/${e}`)];
}

/** Runs the demo to its end; its exit code, output and PID. */
async function runDemo(args: string[], timeoutMs = 240_000): Promise<{ code: number | null; out: string; pid: number }> {
  const child = spawn(process.execPath, [DEMO, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGINT"), timeoutMs);
    child.once("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, out, pid: child.pid! };
}

/** The root package.json's demo script when it has one, else the same program run directly. */
function demoCommand(args: string[]): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  return pkg.scripts?.demo ? ["npm", "run", "--silent", "demo", "--", ...args] : [process.execPath, DEMO, ...args];
}

t("--help exits 0 and lists the keys; a bad option exits 64", () => {
  const help = spawnSync(process.execPath, [DEMO, "--help"], { encoding: "utf8" });
  assert.is(help.status, 0);
  assert.ok(help.stdout.includes("--script") && help.stdout.includes("kill the primary"), help.stdout);
  const bad = spawnSync(process.execPath, [DEMO, "--bogus"], { encoding: "utf8" });
  assert.is(bad.status, 64, bad.stderr);
  const dev = spawnSync(process.execPath, [DEMO, "--device", "toaster"], { encoding: "utf8" });
  assert.is(dev.status, 64, dev.stderr);
});

testWhere(t, "npm run demo -- --script: the failover tour passes (exit 0) and cleans up", [BUILT, SOCAT], async () => {
  const base = await freeBase();
  // The loopback path, even when the tests run as root (the next test takes the namespace path).
  const [cmd, ...args] = demoCommand(["--script", "--no-netns", "--base-port", String(base)]);
  const child = spawn(cmd!, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGINT"), 240_000);
    child.once("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.is(code, 0, out);
  assert.ok(/tour passed: (\d+) of \1 steps/.test(out), out);
  assert.ok(out.includes("PASS kill the primary"), out);
  assert.ok(/^network: loopback \(--no-netns\)/m.test(out), out);
  assert.ok(await blockFree(base), "the demo's ports are free again after it exits");
});

testWhere(t, "as root: --script with each node in a network namespace, a real floating IP, and nothing left behind", [BUILT, SOCAT, ...NETNS_LAB], async () => {
  const base = await freeBase();
  const { code, out, pid } = await runDemo(["--script", "--netns", "--base-port", String(base)]);
  assert.is(code, 0, out);
  assert.ok(/^network: network namespaces on a bridge \(root\), floating IP 192\.0\.2\.100\/24/m.test(out), out);
  assert.ok(/tour passed: (\d+) of \1 steps/.test(out), out);
  assert.ok(out.includes("PASS kill the primary (SIGKILL, cable pulled): bravo takes the floating IP, the client is answered from bravo's MAC"), out);
  // The client saw the move: answered by alpha from alpha's MAC, then by bravo from bravo's.
  assert.ok(/client +http:\/\/192\.0\.2\.100\/ served by alpha, answered from MAC [0-9a-f:]{17} \(alpha's\)/.test(out), out);
  assert.ok(/client +http:\/\/192\.0\.2\.100\/ served by bravo, answered from MAC [0-9a-f:]{17} \(bravo's\)/.test(out), out);
  assert.ok(out.includes("acquiring 192.0.2.100/24/lub0"), out);
  assert.equal(netnsLeftovers(pid), [], "namespaces and /etc/netns entries removed");
  const veths = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout ?? "";
  assert.not.ok(veths.includes(`ld${pid}`), "no veth left in the root namespace");
  assert.ok(await blockFree(base), "the device console's port is free again");
});

testWhere(t, "as root: Ctrl-C (SIGINT) in the middle removes the namespaces and ends what the demo started", [BUILT, SOCAT, ...NETNS_LAB], async () => {
  const base = await freeBase();
  const child = spawn(process.execPath, [DEMO, "--log", "--netns", "--base-port", String(base)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 20_000;
  while (!/served by alpha/.test(out) && Date.now() < until) await sleep(100);
  assert.ok(/served by alpha/.test(out), out);
  const pid = child.pid!;
  assert.ok(netnsLeftovers(pid).length >= 4, "namespaces exist while it runs");
  const kids = (spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout ?? "").split("\n").filter(Boolean).map(Number);
  process.kill(pid, "SIGINT");
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  assert.is(code, 130, out);
  await sleep(300);
  assert.equal(netnsLeftovers(pid), []);
  await sleep(700);
  // Alive and not a zombie waiting for whoever inherited it to reap it.
  const alive = kids.filter((k) => {
    try {
      return !/^State:\s*Z/m.test(readFileSync(`/proc/${k}/status`, "utf8"));
    } catch {
      return false;
    }
  });
  assert.equal(alive, [], "every process the demo started has ended");
});

testWhere(t, "live view in tmux: a cluster within 10 s, the service moves when the primary is killed, q quits cleanly", [BUILT, SOCAT, TMUX], async () => {
  const base = await freeBase();
  const server = `lubdub-demo-test-${process.pid}`;
  const tmux = (...a: string[]) => spawnSync("tmux", ["-L", server, ...a], { encoding: "utf8" });
  const pane = () => tmux("capture-pane", "-p", "-t", "demo").stdout ?? "";
  const waitPane = async (pred: (s: string) => boolean, ms: number, what: string): Promise<string> => {
    const until = Date.now() + ms;
    let s = "";
    while (Date.now() < until) {
      s = pane();
      if (pred(s)) return s;
      await sleep(200);
    }
    throw new Error(`tmux pane: no ${what} within ${ms} ms:\n${s}`);
  };
  const cmd = demoCommand(["--base-port", String(base)]).map((a) => `'${a}'`).join(" ");
  const started = Date.now();
  const r = tmux("new-session", "-d", "-s", "demo", "-x", "160", "-y", "48", "-c", REPO_ROOT, cmd);
  assert.is(r.status, 0, r.stderr);
  try {
    const up = await waitPane((s) => /served by alpha/.test(s) && /alpha\s+on\s+running\s+active/.test(s) && /bravo\s+on\s+running\s+active/.test(s), 10_000, "working cluster (both active, served by alpha)");
    const tookMs = Date.now() - started;
    console.log(`demo: working cluster on screen after ${(tookMs / 1000).toFixed(1)} s`);
    assert.ok(/DEVICE/.test(up), up);
    assert.ok(/outlets\s+1 alpha ON\s+2 bravo ON/.test(up), up);
    assert.ok(/port a alpha .*watchdog/.test(up), up);
    // As root the demo takes the namespace path (and says so in its header), else loopback.
    assert.ok(/udp\((lo|lub0)\) up, serial up/.test(up), up);
    assert.ok(/network namespaces \(root\)|loopback \(not root\)/.test(up), up);

    tmux("send-keys", "-t", "demo", "k");
    const moved = await waitPane((s) => /served by bravo/.test(s), 20_000, "service served by bravo after k");
    assert.ok(/killing alpha|killed alpha/.test(moved), moved);

    // Everything back: alpha (power-cycled by the device, or restarted with r) takes its service back.
    tmux("send-keys", "-t", "demo", "r");
    await waitPane((s) => /served by alpha/.test(s) && /bravo\s+on\s+running\s+active/.test(s) && /alpha\s+on\s+running\s+active/.test(s), 30_000, "alpha serving again");

    tmux("send-keys", "-t", "demo", "q");
    const until = Date.now() + 15_000;
    while (tmux("has-session", "-t", "demo").status === 0 && Date.now() < until) await sleep(200);
    assert.is(tmux("has-session", "-t", "demo").status === 0, false, "q ends the demo");
    await sleep(300);
    assert.ok(await blockFree(base), "the demo's ports are free again after q");
  } finally {
    tmux("kill-server");
  }
});

testWhere(t, "the Lua device build is used when lua5.1 is installed", [BUILT, SOCAT, LUA, TMUX], async () => {
  const base = await freeBase();
  const server = `lubdub-demo-lua-${process.pid}`;
  const tmux = (...a: string[]) => spawnSync("tmux", ["-L", server, ...a], { encoding: "utf8" });
  const r = tmux("new-session", "-d", "-s", "demo", "-x", "160", "-y", "48", "-c", REPO_ROOT, `'${process.execPath}' '${DEMO}' --base-port ${base}`);
  assert.is(r.status, 0, r.stderr);
  try {
    const until = Date.now() + 10_000;
    let s = "";
    while (Date.now() < until && !/DEVICE (Lua gateway build|Node simulator)/.test(s)) {
      s = tmux("capture-pane", "-p", "-t", "demo").stdout ?? "";
      await sleep(200);
    }
    const lua = spawnSync("lua5.1", ["-e", 'require "posix"; require "bit"']).status === 0;
    assert.ok(s.includes(lua ? "DEVICE Lua gateway build" : "DEVICE Node simulator"), s);
    tmux("send-keys", "-t", "demo", "q");
    const end = Date.now() + 15_000;
    while (tmux("has-session", "-t", "demo").status === 0 && Date.now() < end) await sleep(200);
  } finally {
    tmux("kill-server");
  }
});

t.run();
