// Debian cluster-glue's `stonith -t baytech` against the device console of
// the Node simulator and of the Lua gateway build: -S, -l, -T reset, -T off,
// -T on, an unknown host (exit 4), a wrong password (fails, and repeated
// ones lock the console for console.lock_ms). After every operation the
// outlet state is read back twice: from the device's status file and through
// a console session of our own.
//
// The plugin always connects to TCP port 23, so each case gets a network
// namespace of its own (its own loopback, port 23 free): socat listens on
// 127.0.0.1:23 there and forwards over a Unix socket (file system, not
// network namespaced) to a relay in this process, which connects to the
// device's --console-tcp port in the root namespace.

import { type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type DeviceImpl, DeviceProc, deviceRequirements } from "./support/device-proc.js";
import { NetnsLab } from "./support/netns.js";
import { NETNS_LAB, SOCAT, STONITH, testWhere } from "./support/require.js";

const t = suite("device console with stonith -t baytech");

const PASSWORD = "SECRET";
/** Lockout after this many bad passwords, for LOCK_MS (the smallest lock the settings allow is 1 s). */
const FAIL_LIMIT = 5;
const LOCK_MS = 3000;
/** Longest a stonith run may take here (a reset waits outlet.off_ms; a refused login retries 20 times). */
const STONITH_TIMEOUT_MS = 60_000;

interface Variant {
  impl: DeviceImpl;
  model: string;
  /** console.confirm and console.echo on. */
  chatty: boolean;
}

const VARIANTS: Variant[] = [
  { impl: "sim", model: "RPC-3", chatty: false },
  { impl: "sim", model: "RPC-5", chatty: true },
  { impl: "lua", model: "RPC-5", chatty: false },
  { impl: "lua", model: "RPC-3A", chatty: true },
];

interface Run {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
  ms: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function collect(child: ChildProcess, timeoutMs: number): Promise<Run> {
  const started = Date.now();
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString("utf8")));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }, timeoutMs);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, ms: Date.now() - started });
    });
  });
}

/** Relays connections on a Unix socket to the device's TCP console. */
function unixRelay(path: string, port: number): Promise<Server> {
  const srv = createServer((c: Socket) => {
    const d = connect(port, "127.0.0.1");
    c.pipe(d);
    d.pipe(c);
    c.on("error", () => d.destroy());
    d.on("error", () => c.destroy());
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(path, () => resolve(srv));
  });
}

/** One console session of our own: log in, STATUS, log out; outlet states from the status block. */
async function consoleOutlets(port: number, confirmEcho: boolean): Promise<{ [name: string]: boolean }> {
  const text = await new Promise<string>((resolve, reject) => {
    let got = "";
    const s = connect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`console read-back timed out: ${JSON.stringify(got)}`));
    }, 10_000);
    s.on("data", (d: Buffer) => (got += d.toString("latin1")));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    // Pipelined, as the plugin does: the console runs the lines in order.
    s.write(`admin\r${PASSWORD}\r1\rSTATUS\rMENU\r6\r`);
  });
  const block = text.slice(text.lastIndexOf("Status\r\n"));
  const states: { [name: string]: boolean } = {};
  for (const m of block.matchAll(/^ {0,6}\d+ {7}(.{18}) +(On|Off)\r$/gm)) states[m[1]!.trimEnd()] = m[2] === "On";
  assert.ok(Object.keys(states).length > 0, `no outlet lines in ${JSON.stringify(text)} (echo/confirm ${confirmEcho})`);
  return states;
}

for (const v of VARIANTS) {
  const name = `stonith -t baytech against the ${v.impl === "sim" ? "simulator" : "Lua gateway"} console (${v.model}${v.chatty ? ", (Y/N)> confirmation and echo" : ""}): -S, -l, reset, off, on, unknown host, wrong password, lockout`;
  testWhere(t, name, [...NETNS_LAB, SOCAT, STONITH, ...deviceRequirements(v.impl)], async () => {
    const dir = mkdtempSync(join(tmpdir(), "lubdub-console-"));
    let dev: DeviceProc | null = null;
    let lab: NetnsLab | null = null;
    let relay: Server | null = null;
    try {
      dev = await DeviceProc.start({
        impl: v.impl,
        outlets: 3,
        consoleTcp: true,
        settings: {
          model: v.model,
          unit: "rack7",
          "console.password": PASSWORD,
          "console.fail_limit": String(FAIL_LIMIT),
          "console.lock_ms": String(LOCK_MS),
          "console.confirm": v.chatty ? "1" : "0",
          "console.echo": v.chatty ? "1" : "0",
          "outlet.off_ms": "1000",
          "outlet.1": "node1",
          "outlet.2": "node2",
        },
      });
      const d = dev;
      const port = d.consoleTcp!.port;
      const sock = join(dir, "console.sock");
      relay = await unixRelay(sock, port);
      lab = NetnsLab.create({ hosts: 1 });
      const l = lab;
      l.exec(1, ["socat", "TCP-LISTEN:23,bind=127.0.0.1,reuseaddr,fork", `UNIX-CONNECT:${sock}`]);
      for (let i = 0; !l.execSync(1, ["ss", "-Hltn", "sport = :23"]).includes(":23"); i++) {
        assert.ok(i < 100, "socat listens on 127.0.0.1:23 in the namespace");
        await sleep(20);
      }

      const stonith = async (password: string, args: string[]): Promise<Run> =>
        collect(l.exec(1, ["stonith", "-t", "baytech", "ipaddr=127.0.0.1", "login=admin", `password=${password}`, ...args]), STONITH_TIMEOUT_MS);
      const show = (r: Run): string => `exit ${r.code ?? r.signal} after ${r.ms} ms\nstdout: ${r.out}\nstderr: ${r.err}\n${d.describe()}`;
      const expectState = async (want: [boolean, boolean, boolean], what: string): Promise<void> => {
        // The status file is rewritten by the device shortly after a change.
        await d.waitStatus(() => {
          const o = d.outlets();
          return o.length === 3 && o[0] === want[0] && o[1] === want[1] && o[2] === want[2];
        }, 5000, `outlets ${want} after ${what}`);
        assert.equal(await consoleOutlets(port, v.chatty), { node1: want[0], node2: want[1], "Outlet 3": want[2] }, `console read-back after ${what}`);
      };

      let r = await stonith(PASSWORD, ["-S"]);
      assert.is(r.code, 0, `-S: ${show(r)}`);

      r = await stonith(PASSWORD, ["-l"]);
      assert.is(r.code, 0, `-l: ${show(r)}`);
      assert.equal(r.out.trim().split("\n"), ["node1", "node2", "outlet 3"], `-l: ${show(r)}`);
      await expectState([true, true, true], "-l");

      const before = d.records.length;
      r = await stonith(PASSWORD, ["-T", "reset", "node1"]);
      assert.is(r.code, 0, `reset: ${show(r)}`);
      assert.ok(r.ms >= 1000, `reset took the whole off-time (${r.ms} ms)`);
      const log = d.records.slice(before).map((x) => JSON.stringify(x)).join("\n");
      assert.match(log, "outlet 1 off by console:admin", "the reset is logged with who asked");
      await expectState([true, true, true], "reset");

      r = await stonith(PASSWORD, ["-T", "off", "NODE2"]);
      assert.is(r.code, 0, `off: ${show(r)}`);
      await expectState([true, false, true], "off");

      // A reset of an outlet that is off fails (the console says "already off.").
      r = await stonith(PASSWORD, ["-T", "reset", "node2"]);
      assert.is(r.code, 7, `reset of an off outlet: ${show(r)}`);
      await expectState([true, false, true], "reset of an off outlet");

      r = await stonith(PASSWORD, ["-T", "on", "node2"]);
      assert.is(r.code, 0, `on: ${show(r)}`);
      await expectState([true, true, true], "on");

      r = await stonith(PASSWORD, ["-T", "reset", "nosuchnode"]);
      assert.is(r.code, 4, `unknown host: ${show(r)}`);
      await expectState([true, true, true], "unknown host");

      // Wrong password: refused (the plugin retries 20 times), and the console locks after FAIL_LIMIT.
      // (-S exits 1; -T exits 2, or aborts in glibc's fortify check on the plugin's logout after a failed login.)
      r = await stonith("wrong", ["-S"]);
      assert.ok(r.code !== 0 && r.signal !== "SIGKILL", `wrong password must fail: ${show(r)}`);
      r = await stonith("wrong", ["-T", "off", "node1"]);
      assert.ok(r.code !== 0 && r.signal !== "SIGKILL", `wrong password must fail: ${show(r)}`);
      assert.ok(d.events("console_locked").length >= 1, `lockout logged: ${d.describe()}`);
      assert.equal(d.outlets(), [true, true, true]);
      r = await stonith(PASSWORD, ["-S"]);
      if (r.code !== 0) {
        // Locked right now: the right password is refused too, until the lock ends.
        await sleep(LOCK_MS + 200);
        r = await stonith(PASSWORD, ["-S"]);
      }
      assert.is(r.code, 0, `-S after the lock: ${show(r)}`);
    } finally {
      lab?.cleanup();
      relay?.close();
      if (dev) await dev.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

t.run();
