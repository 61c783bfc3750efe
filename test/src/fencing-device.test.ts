// Fencing through the lubdub device simulator, as the cluster tools use it:
//  - fence_lubdub driven exactly as Pacemaker's fencer drives it (no
//    arguments, name=value lines on stdin), every action, the outlet state
//    read back through the device itself (its status) after each one; a
//    silent device and a pulled cable fail with fence-agents' exit codes;
//  - cluster-glue's own `stonith -t external/…` driving the external/lubdub
//    plugin (-S, -l, -T reset/off/on);
//  - the agent's `lubdub` fence type through the fencing policy's hook.

import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { fencing } from "@lubdub/host";
import { DeviceProc, deviceRequirements } from "./support/device-proc.js";
import { fromRoot } from "./support/paths.js";
import { STONITH, testWhere } from "./support/require.js";

const t = suite("fencing through the lubdub device");
const FENCE_LUBDUB = fromRoot("host/bin/fence_lubdub.js");
const EXTERNAL_LUBDUB = fromRoot("host/bin/stonith-external-lubdub.js");
const SECRET = "s3cret-key";
const SETTINGS = {
  "a.host": "alpha",
  "b.host": "bravo",
  "key.index": "1",
  "key.method": "sha1",
  "key.secret": SECRET,
  "outlet.1": "alpha",
  "outlet.2": "bravo",
  "outlet.off_ms": "1000",
};
const { createFenceHook, DEFAULT_FENCE_POLICY, LubdubDevice } = fencing;
const XMLLINT = { command: "xmllint", pkg: "libxml2-utils" };
const RNG = { path: "/usr/share/cluster/relaxng/metadata.rng", what: "fence-agents' metadata schema (fence-agents)" };

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function collect(child: ChildProcess, timeoutMs = 30_000): Promise<Run> {
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGKILL"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** fence_lubdub as the fencer runs it: no arguments, parameters on stdin. */
function fencer(lines: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, [FENCE_LUBDUB], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, PCMK_service: "pacemaker-fenced" } });
  child.stdin!.end(Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join(""));
  return collect(child);
}

function withKeys(dir: string): string {
  const path = join(dir, "authkeys");
  writeFileSync(path, `auth 1\n1 sha1 ${SECRET}\n`);
  chmodSync(path, 0o600);
  return path;
}

async function outlets(dev: DeviceProc, want: boolean[], what: string): Promise<void> {
  await dev.waitStatus(() => {
    const o = dev.outlets();
    return want.every((w, i) => o[i] === w);
  }, 5000, `outlets ${JSON.stringify(want)} after ${what}`);
}

testWhere(t, "fence_lubdub over stdin: metadata, validate-all, monitor, list, list-status, status, off, on, reboot (both methods), state read back through the device", [...deviceRequirements("sim")], async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-fence-"));
  const dev = await DeviceProc.start({ settings: SETTINGS, outlets: 3 });
  try {
    const authkeys = withKeys(dir);
    const base = { serial_port: dev.hostA, authkeys, client_name: "alpha" };
    const show = (r: Run) => `exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}\n${dev.describe()}`;

    let r = await fencer({ action: "metadata" });
    assert.is(r.code, 0);
    assert.match(r.out, /<resource-agent name="fence_lubdub"/);

    r = await fencer({ ...base, action: "validate-all" });
    assert.is(r.code, 0, show(r));
    r = await fencer({ action: "validate-all", serial_port: dev.hostA, key: "1 crc" });
    assert.is(r.code, 2, "crc key refused");

    r = await fencer({ ...base, action: "monitor" });
    assert.is(r.code, 0, show(r));

    r = await fencer({ ...base, action: "list" });
    assert.is(r.code, 0, show(r));
    assert.equal(r.out.trim().split("\n"), ["1,alpha", "2,bravo", "3,Outlet 3"]);

    r = await fencer({ ...base, action: "status", plug: "bravo", nodename: "bravo" });
    assert.is(r.code, 0, `status on: ${show(r)}`);

    // off as Pacemaker's fencer asks for it (host argument port, the old name)
    r = await fencer({ ...base, action: "off", port: "bravo", nodename: "bravo" });
    assert.is(r.code, 0, `off: ${show(r)}`);
    await outlets(dev, [true, false, true], "off");
    r = await fencer({ ...base, action: "status", plug: "2" });
    assert.is(r.code, 2, `status off: ${show(r)}`);
    r = await fencer({ ...base, action: "list-status" });
    assert.equal(r.out.trim().split("\n"), ["1,alpha,ON", "2,bravo,OFF", "3,Outlet 3,ON"]);

    r = await fencer({ ...base, action: "on", plug: "bravo" });
    assert.is(r.code, 0, `on: ${show(r)}`);
    await outlets(dev, [true, true, true], "on");

    const before = dev.records.length;
    r = await fencer({ ...base, action: "reboot", plug: "bravo" });
    assert.is(r.code, 0, `reboot onoff: ${show(r)}`);
    await outlets(dev, [true, true, true], "reboot");
    const switched = dev.records.slice(before).filter((x) => /bravo|outlet 2|outlet/.test(JSON.stringify(x)));
    assert.ok(switched.length > 0, `the device logged the switching: ${dev.describe()}`);

    r = await fencer({ ...base, action: "reboot", plug: "bravo", method: "cycle" });
    assert.is(r.code, 0, `reboot cycle: ${show(r)}`);
    await dev.waitStatus((s) => s.hal.outlets[1]?.on === false || (s.device?.outlets[1]?.cycling ?? false), 3000, "bravo cycling").catch(() => null);
    await outlets(dev, [true, true, true], "the cycle's end");

    r = await fencer({ ...base, action: "status", plug: "nosuch" });
    assert.is(r.code, 1, `unknown plug: ${show(r)}`);
    r = await fencer({ ...base, action: "frobnicate", plug: "bravo" });
    assert.is(r.code, 1);
    r = await fencer({ ...base, action: "off" });
    assert.is(r.code, 2, "no plug: bad arguments");

    // a wrong key: the device refuses the request (login denied)
    r = await fencer({ serial_port: dev.hostA, key: "1 sha1 wrong", client_name: "alpha", action: "off", plug: "bravo" });
    assert.is(r.code, 3, `wrong key: ${show(r)}`);
    await outlets(dev, [true, true, true], "a refused request");

    // a silent device (process gone, cable still there): no answer in time
    await dev.stopDevice();
    r = await fencer({ ...base, action: "off", plug: "bravo", power_timeout: "2" });
    assert.is(r.code, 5, `silent device: ${show(r)}`);
    // the cable pulled (pty closed): cannot connect
    await dev.stop();
    r = await fencer({ ...base, action: "off", plug: "bravo" });
    assert.is(r.code, 1, `closed pty: ${show(r)}`);
    assert.match(r.err, /Unable to connect/);
  } finally {
    await dev.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

testWhere(t, "fence_lubdub metadata validates against fence-agents' RelaxNG schema", [XMLLINT, RNG], async () => {
  const meta = spawn(process.execPath, [FENCE_LUBDUB, "-o", "metadata"], { stdio: ["ignore", "pipe", "pipe"] });
  const lint = spawn("xmllint", ["--noout", "--relaxng", RNG.path, "-"], { stdio: ["pipe", "pipe", "pipe"] });
  meta.stdout!.pipe(lint.stdin!);
  const [m, l] = await Promise.all([collect(meta), collect(lint)]);
  assert.is(m.code, 0);
  assert.is(l.code, 0, l.err);
  assert.match(l.err, /validates/);
});

testWhere(t, "cluster-glue's stonith -t external/… drives the external/lubdub plugin against the device: -n, -S, -l, -T reset, off, on", ["root", STONITH, ...deviceRequirements("sim")], async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-ext-"));
  const name = `lubdub-test-${process.pid}`;
  const plugin = join("/usr/lib/stonith/plugins/external", name);
  const dev = await DeviceProc.start({ settings: SETTINGS, outlets: 3 });
  let installed = false;
  try {
    const authkeys = withKeys(dir);
    chmodSync(EXTERNAL_LUBDUB, 0o755);
    symlinkSync(EXTERNAL_LUBDUB, plugin);
    installed = true;
    const stonith = (args: string[]) => collect(spawn("stonith", ["-t", `external/${name}`, ...args], { stdio: ["ignore", "pipe", "pipe"] }), 60_000);
    const params = [`serial_port=${dev.hostA}`, `authkeys=${authkeys}`];
    const show = (r: Run) => `exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}\n${dev.describe()}`;

    let r = await stonith(["-n"]);
    assert.is(r.code, 0, show(r));
    assert.equal(r.out.trim().split(/\s+/), ["serial_port", "authkeys"]);
    r = await stonith([...params, "-S"]);
    assert.is(r.code, 0, `-S: ${show(r)}`);
    r = await stonith([...params, "-l"]);
    assert.is(r.code, 0, `-l: ${show(r)}`);
    assert.equal(r.out.trim().split("\n"), ["alpha", "bravo"], "an outlet name with a blank is no host name");
    r = await stonith([...params, "-T", "off", "bravo"]);
    assert.is(r.code, 0, `off: ${show(r)}`);
    await outlets(dev, [true, false, true], "-T off");
    r = await stonith([...params, "-T", "on", "bravo"]);
    assert.is(r.code, 0, `on: ${show(r)}`);
    await outlets(dev, [true, true, true], "-T on");
    const before = dev.records.length;
    r = await stonith([...params, "-T", "reset", "BRAVO"]);
    assert.is(r.code, 0, `reset: ${show(r)}`);
    await dev.waitRecord((x) => /bravo/.test(JSON.stringify(x)) && /reboot|cycle/.test(JSON.stringify(x)), 5000, before, "the reset in the device's log");
    await outlets(dev, [true, true, true], "-T reset");
    r = await stonith([...params, "-T", "reset", "nosuch"]);
    assert.ok(r.code !== 0, `unknown host fails: ${show(r)}`);
    // the legacy one-line form: parameters in getconfignames order
    r = await stonith(["-p", `${dev.hostA} ${authkeys}`, "-S"]);
    assert.is(r.code, 0, `-p: ${show(r)}`);
  } finally {
    if (installed) unlinkSync(plugin);
    await dev.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

testWhere(t, "the lubdub fence type through the policy hook: OK only after the device confirms; a pulled cable ends in bad, fence.gave-up and the alert", [...deviceRequirements("sim")], async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-ftype-"));
  const dev = await DeviceProc.start({ settings: SETTINGS, outlets: 2 });
  const events: string[] = [];
  try {
    const env = { localNode: "alpha", externalDir: "", fenceAgentsDir: "", log: () => {}, deviceKey: { index: 1, method: "sha1", secret: SECRET } };
    const device = new LubdubDevice({ ttydev: dev.hostA, hostmap: new Map(), env, timeoutMs: 2000 });
    const alertFile = join(dir, "alert.out");
    const alert = join(dir, "alert.sh");
    writeFileSync(alert, `#!/bin/sh\necho "$1 $2 $LUBDUB_FENCE_NODE" > ${alertFile}\n`);
    chmodSync(alert, 0o755);
    const hook = createFenceHook({
      device,
      policy: { ...DEFAULT_FENCE_POLICY, action: "off", retryMinMs: 200, retryMaxMs: 400, attemptTimeoutMs: 3000, totalTimeoutMs: 4000, alert: [alert] },
      log: (_level, event) => events.push(event),
    });
    assert.is(await hook("bravo"), "OK");
    await outlets(dev, [true, false], "the hook's off");
    assert.ok(events.includes("fence.confirmed"));
    // unknown to the device: badhost at once
    assert.is(await hook("charlie"), "badhost");
    await dev.stop();
    events.length = 0;
    const started = Date.now();
    assert.is(await hook("bravo"), "bad");
    assert.ok(Date.now() - started < 6000, "bounded by the total timeout");
    assert.ok(events.includes("fence.gave-up"), events.join(" "));
    await hook.settled();
    const { readFileSync } = await import("node:fs");
    assert.is(readFileSync(alertFile, "utf8").trim(), "bravo bad bravo");
    await hook.close();
  } finally {
    await dev.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
