// The fence types against real parts:
//  - baytech: lubdub's BayTech client against the device simulator's console
//    (TCP on a loopback port, and its tty), in the console flavours
//    cluster-glue's plugin accepts (RPC-3; RPC-5 with (Y/N)> confirmation and
//    echo), and from an ha.cf `stonith_host * baytech …` line through the
//    policy's FenceHook; states read back from the device's own status;
//  - external/NAME: a plugin script written here, called as cluster-glue
//    calls plugins (environment, argv, exit codes), and refused when group
//    writable;
//  - fence_NAME: fence-agents' fence_dummy, with its status file.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { fencing } from "@lubdub/host";
import { parseHaCf } from "../../host/dist/config/hacf.js";
import { DeviceProc, deviceRequirements } from "./support/device-proc.js";
import { testWhere } from "./support/require.js";

const { BaytechDevice, ExternalDevice, FenceAgentDevice, createFenceDevice, createFenceHook, resolveStonith, DEFAULT_FENCE_POLICY, SILENT_LOG } = fencing;
const t = suite("fence types against real parts");
const PASSWORD = "SECRET";
const FENCE_DUMMY = { path: "/usr/sbin/fence_dummy", what: "fence-agents' fence_dummy (Debian package fence-agents)" };
const FAST = { connectMs: 3000, bannerMs: 5000, stepMs: 5000, rebootMs: 10_000 };

function consoleSettings(model: string, chatty: boolean): Record<string, string> {
  return {
    model,
    "console.password": PASSWORD,
    "console.confirm": chatty ? "1" : "0",
    "console.echo": chatty ? "1" : "0",
    "outlet.off_ms": "1000",
    "outlet.1": "alpha",
    "outlet.2": "bravo",
  };
}

/** The simulator writes its status file before its TCP console listens: wait for the port. */
async function listening(port: number): Promise<void> {
  const { connect } = await import("node:net");
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    assert.ok(i < 100, `console port ${port} never listened`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function outlets(dev: DeviceProc, want: boolean[], what: string): Promise<void> {
  await dev.waitStatus(() => {
    const o = dev.outlets();
    return want.every((w, i) => o[i] === w);
  }, 5000, `outlets ${JSON.stringify(want)} after ${what}`);
}

for (const v of [{ model: "RPC-3", chatty: false }, { model: "RPC-5", chatty: true }]) {
  testWhere(t, `baytech client against the simulator's TCP console (${v.model}${v.chatty ? ", confirmation and echo" : ""}): hosts, status, off, on, reboot verified; unknown host, wrong password`, deviceRequirements("sim"), async () => {
    const dev = await DeviceProc.start({ outlets: 3, consoleTcp: true, settings: consoleSettings(v.model, v.chatty) });
    try {
      const ipaddr = `127.0.0.1:${dev.consoleTcp!.port}`;
      await listening(dev.consoleTcp!.port);
      const b = new BaytechDevice({ ipaddr, login: "admin", password: PASSWORD }, FAST);
      const show = (o: unknown) => `${JSON.stringify(o)}\n${dev.describe()}`;
      assert.equal(await b.hosts(), ["alpha", "bravo", "outlet 3"]);
      let o = await b.check();
      assert.ok(o.ok, show(o));
      o = await b.fence({ node: "bravo", action: "status", reason: "t" });
      assert.equal(o, { ok: true, state: "on" }, show(o));
      o = await b.fence({ node: "BRAVO", action: "off", reason: "t" });
      assert.ok(o.ok && o.state === "off", show(o));
      await outlets(dev, [true, false, true], "off");
      o = await b.fence({ node: "bravo", action: "status", reason: "t" });
      assert.equal(o, { ok: true, state: "off" }, show(o));
      o = await b.fence({ node: "bravo", action: "on", reason: "t" });
      assert.ok(o.ok && o.state === "on", show(o));
      await outlets(dev, [true, true, true], "on");
      const before = dev.records.length;
      const started = Date.now();
      o = await b.fence({ node: "bravo", action: "reboot", reason: "t" });
      assert.ok(o.ok && o.state === "on", show(o));
      assert.ok(Date.now() - started >= 900, "waited for power to come back (off_ms 1 s)");
      assert.ok(dev.records.slice(before).some((r) => /cycle/.test(JSON.stringify(r))), `the device cycled the outlet: ${dev.describe()}`);
      await outlets(dev, [true, true, true], "reboot");
      o = await b.fence({ node: "charlie", action: "reboot", reason: "t" });
      assert.is(!o.ok && o.code, "badhost", show(o));
      const wrong = new BaytechDevice({ ipaddr, login: "admin", password: "nope" }, FAST);
      o = await wrong.fence({ node: "bravo", action: "off", reason: "t" });
      assert.is(!o.ok && o.code, "refused", show(o));
      await outlets(dev, [true, true, true], "a refused login");
      const nobody = new BaytechDevice({ ipaddr: "127.0.0.1:1", login: "admin", password: PASSWORD }, FAST);
      o = await nobody.fence({ node: "bravo", action: "off", reason: "t" });
      assert.is(!o.ok && o.code, "unreachable", show(o));
    } finally {
      await dev.stop();
    }
  });
}

testWhere(t, "baytech client over the console tty", deviceRequirements("sim"), async () => {
  const dev = await DeviceProc.start({ outlets: 2, settings: consoleSettings("RPC-3", false) });
  try {
    const b = new BaytechDevice({ ipaddr: dev.console!, login: "admin", password: PASSWORD }, FAST);
    const o = await b.fence({ node: "alpha", action: "off", reason: "t" });
    assert.ok(o.ok && o.state === "off", `${JSON.stringify(o)}\n${dev.describe()}`);
    await outlets(dev, [false, true], "off over the tty");
  } finally {
    await dev.stop();
  }
});

testWhere(t, "stonith_host * baytech … in ha.cf fences through the device's console over TCP (policy hook: OK only once power is back)", deviceRequirements("sim"), async () => {
  const dev = await DeviceProc.start({ outlets: 2, consoleTcp: true, settings: consoleSettings("RPC-3", false) });
  try {
    await listening(dev.consoleTcp!.port);
    const hacf = `ucast lo 127.0.0.1\nnode alpha bravo\nauto_failback on\nstonith_host * baytech 127.0.0.1:${dev.consoleTcp!.port} admin ${PASSWORD}\n`;
    const { config, diagnostics } = parseHaCf(hacf, "ha.cf", "alpha");
    assert.equal(diagnostics.filter((d) => d.severity === "error"), []);
    const env = { localNode: "alpha", externalDir: "/nonexistent", fenceAgentsDir: "/nonexistent", log: SILENT_LOG };
    const r = resolveStonith(config, "alpha", env);
    assert.equal(r.diagnostics, []);
    const events: string[] = [];
    const hook = createFenceHook({ device: createFenceDevice(r.stonith!, env), policy: DEFAULT_FENCE_POLICY, log: (_l, e) => events.push(e) });
    const before = dev.records.length;
    assert.is(await hook("bravo"), "OK");
    assert.ok(dev.records.slice(before).some((x) => /cycle/.test(JSON.stringify(x))), dev.describe());
    await outlets(dev, [true, true], "the fence");
    assert.equal(events, ["fence.attempt", "fence.confirmed"]);
    await hook.close();
  } finally {
    await dev.stop();
  }
});

t("external/NAME: parameters in the environment, ops as argv, exit codes; a group-writable plugin is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-ext-"));
  try {
    const calls = join(dir, "calls");
    const plugin = join(dir, "testplug");
    writeFileSync(plugin, `#!/bin/sh
echo "$* hostlist=$hostlist token=$token tag=$HA_LOGTAG" >> ${calls}
case "$1" in
  getconfignames) echo "hostlist token" ;;
  gethosts) echo "$hostlist" ;;
  status) [ "$token" = good ] || exit 1 ;;
  reset) [ "$2" = bravo ] || exit 5; echo "cycled $2" ;;
  off) exit 1 ;;
  on) exit 0 ;;
  hang) sleep 30 ;;
esac
exit 0
`);
    chmodSync(plugin, 0o755);
    const logs: string[] = [];
    const env = { localNode: "alpha", externalDir: dir, fenceAgentsDir: dir, log: (_l: string, _e: string, m: string) => logs.push(m) };
    const d = new ExternalDevice("external/testplug", plugin, { hostlist: "alpha bravo", token: "good" }, env, 3000);
    assert.equal(await d.hosts(), ["alpha", "bravo"]);
    assert.ok((await d.check()).ok);
    let o = await d.fence({ node: "BRAVO", action: "reboot", reason: "t" });
    assert.ok(o.ok, JSON.stringify(o));
    assert.ok(logs.some((l) => /cycled bravo/.test(l)), "plugin output logged");
    o = await d.fence({ node: "alpha", action: "reboot", reason: "t" });
    assert.is(!o.ok && o.code, "failed");
    assert.match(!o.ok ? o.message : "", /exited 5/);
    o = await d.fence({ node: "bravo", action: "off", reason: "t" });
    assert.is(o.ok, false);
    const lines = readFileSync(calls, "utf8").trim().split("\n");
    assert.ok(lines.includes("reset bravo hostlist=alpha bravo token=good tag=external/testplug"), lines.join("\n"));
    const bad = new ExternalDevice("external/testplug", plugin, { hostlist: "x", token: "bad" }, env, 3000);
    assert.is((await bad.check()).ok, false);
    const slow = new ExternalDevice("external/testplug", plugin, {}, env, 500);
    const started = Date.now();
    // an op that hangs is bounded by the device's time limit
    const hung = await (slow as unknown as { run(a: string[]): Promise<{ timedOut: boolean }> }).run(["hang"]);
    assert.ok(hung.timedOut && Date.now() - started < 5000, "a hung plugin is killed at its time limit");
    chmodSync(plugin, 0o775);
    const { externalType } = await import("../../host/dist/fencing/external.js");
    assert.match(externalType.validate("external/testplug", {}, env).join(" "), /writable by group or others/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

testWhere(t, "fence_NAME: fence-agents' fence_dummy over stdin: off verified by status (exit 2), on, reboot, monitor, list", [FENCE_DUMMY], async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-fa-"));
  try {
    const statusFile = join(dir, "status");
    writeFileSync(statusFile, "on");
    const d = new FenceAgentDevice("fence_dummy", FENCE_DUMMY.path, { status_file: statusFile, pcmk_host_map: "bravo:2" }, 20_000);
    assert.ok((await d.check()).ok);
    let o = await d.fence({ node: "bravo", action: "status", reason: "t" });
    assert.equal(o, { ok: true, state: "on" });
    o = await d.fence({ node: "bravo", action: "off", reason: "t" });
    assert.equal(o, { ok: true, state: "off" });
    assert.is(readFileSync(statusFile, "utf8").trim(), "off");
    o = await d.fence({ node: "bravo", action: "status", reason: "t" });
    assert.equal(o, { ok: true, state: "off" });
    o = await d.fence({ node: "bravo", action: "on", reason: "t" });
    assert.ok(o.ok);
    assert.is(readFileSync(statusFile, "utf8").trim(), "on");
    o = await d.fence({ node: "bravo", action: "reboot", reason: "t" });
    assert.ok(o.ok, JSON.stringify(o));
    const missing = new FenceAgentDevice("fence_nosuch", join(dir, "fence_nosuch"), {}, 5000);
    o = await missing.fence({ node: "bravo", action: "off", reason: "t" });
    assert.is(o.ok, false);
    assert.ok(existsSync(statusFile));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
