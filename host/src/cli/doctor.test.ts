// lubdub doctor against made-up hosts: a configuration directory in a
// temporary folder, and a DoctorEnv that says which commands, ttys and ports
// the host has.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { AgentStatus } from "../control/status.js";
import { type CheckResult, type DoctorEnv, formatResults, runDoctor } from "./doctor.js";

const HACF = ["keepalive 1", "deadtime 10", "initdead 20", "udpport 7694", "baud 19200", "serial /dev/ttyDOCTOR0", "ucast eth0 192.0.2.2", "node alpha bravo", "auto_failback on", ""].join("\n");

function configDir(o: { hacf?: string; haresources?: string; authMode?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-doctor-"));
  writeFileSync(join(dir, "ha.cf"), o.hacf ?? HACF);
  writeFileSync(join(dir, "authkeys"), "auth 1\n1 sha1 secret\n");
  chmodSync(join(dir, "authkeys"), o.authMode ?? 0o600);
  writeFileSync(join(dir, "haresources"), o.haresources ?? "alpha 192.0.2.10\n");
  mkdirSync(join(dir, "resource.d"));
  return dir;
}

function env(over: Partial<DoctorEnv> = {}): DoctorEnv {
  return {
    have: () => true,
    succeeds: () => true,
    openable: () => null,
    exists: () => true,
    mode: (p) => (p.endsWith("authkeys") ? 0o600 : 0o644),
    isRoot: true,
    nodeMajor: 20,
    udpFree: async () => true,
    agentStatus: async () => null,
    readFile: () => null,
    ...over,
  };
}

function find(rs: CheckResult[], check: string): CheckResult[] {
  return rs.filter((r) => r.check === check);
}

const opts = (dir: string) => ({ configDir: dir, nodeName: "alpha", runDir: join(dir, "run") });

test("a healthy host: every check ok or warn, nothing failed", async () => {
  const dir = configDir();
  try {
    const rs = await runDoctor(opts(dir), env({ mode: (p) => (p.endsWith("authkeys") ? 0o600 : null) }));
    assert.equal(rs.filter((r) => r.verdict === "fail"), [], formatResults(rs));
    assert.is(find(rs, "config")[0]!.verdict, "ok");
    assert.is(find(rs, "tty")[0]!.verdict, "ok");
    assert.ok(find(rs, "tty")[0]!.detail.includes("/dev/ttyDOCTOR0"));
    assert.is(find(rs, "port")[0]!.detail, "udp 7694 is free");
    assert.is(find(rs, "haresources")[0]!.verdict, "warn", "not compared without an agent or a peer file");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("authkeys readable by others fails with chmod 600 as the fix (the real file mode is read)", async () => {
  const dir = configDir({ authMode: 0o644 });
  try {
    const rs = await runDoctor(opts(dir), { ...env(), mode: (await import("./doctor.js")).realEnv.mode });
    const a = find(rs, "authkeys")[0]!;
    assert.is(a.verdict, "fail");
    assert.ok(a.fix!.includes("chmod 600"), a.fix);
    assert.ok(formatResults(rs).includes("FAIL  authkeys"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a tty that cannot be opened, a missing watchdog device, no arping with IP resources, a taken port: each fails with a fix", async () => {
  const dir = configDir({ hacf: HACF + "watchdog /dev/watchdogDOCTOR\n" });
  try {
    const rs = await runDoctor(
      opts(dir),
      env({
        isRoot: false,
        openable: (p) => (p === "/dev/ttyDOCTOR0" ? "permission denied" : p === "/dev/watchdogDOCTOR" ? "does not exist" : null),
        have: (c) => c !== "arping",
        udpFree: async () => false,
      }),
    );
    const tty = find(rs, "tty")[0]!;
    assert.is(tty.verdict, "fail");
    assert.ok(tty.fix!.includes("dialout"), tty.fix);
    const wd = find(rs, "watchdog")[0]!;
    assert.is(wd.verdict, "fail");
    assert.ok(wd.fix!.includes("modprobe softdog"));
    assert.is(find(rs, "arping")[0]!.verdict, "fail");
    const port = find(rs, "port")[0]!;
    assert.is(port.verdict, "fail");
    assert.ok(port.fix!.includes("ss -ulpn"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no IP resources: a missing arping is only a warning; missing socat and lua are warnings", async () => {
  const dir = configDir({ haresources: "" });
  try {
    const rs = await runDoctor(opts(dir), env({ have: (c) => c === "ip" }));
    assert.is(find(rs, "arping")[0]!.verdict, "warn");
    assert.is(find(rs, "socat")[0]!.verdict, "warn");
    assert.is(find(rs, "lua5.1")[0]!.verdict, "warn");
    assert.equal(rs.filter((r) => r.verdict === "fail"), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("haresources compared with the peer's file: same passes, different fails naming the group", async () => {
  const dir = configDir();
  try {
    const same = await runDoctor({ ...opts(dir), peerHaresources: "/peer/haresources" }, env({ readFile: () => "alpha 192.0.2.10\n" }));
    assert.is(find(same, "haresources")[0]!.verdict, "ok", formatResults(same));
    const other = await runDoctor({ ...opts(dir), peerHaresources: "/peer/haresources" }, env({ readFile: () => "bravo 192.0.2.10\n" }));
    const h = find(other, "haresources")[0]!;
    assert.is(h.verdict, "fail");
    assert.ok(h.detail.includes("192.0.2.10"), h.detail);
    const none = await runDoctor({ ...opts(dir), peerHaresources: "/peer/haresources" }, env({ readFile: () => null }));
    assert.is(find(none, "haresources")[0]!.verdict, "fail");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("with a running agent: its haresources warning fails the check, its ports count as held", async () => {
  const dir = configDir();
  const status = (warnings?: string[]) =>
    ({ pid: 4242, warnings, membership: { peers: [{ name: "bravo", status: "active" }] } }) as unknown as AgentStatus;
  try {
    const bad = await runDoctor(opts(dir), env({ agentStatus: async () => status(["haresources differs from bravo's"]), udpFree: async () => false }));
    assert.is(find(bad, "haresources")[0]!.verdict, "fail");
    assert.is(find(bad, "port")[0]!.verdict, "ok");
    assert.ok(find(bad, "port")[0]!.detail.includes("4242"));
    const good = await runDoctor(opts(dir), env({ agentStatus: async () => status() }));
    assert.is(find(good, "haresources")[0]!.verdict, "ok");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a configuration that does not load fails with lubdub check as the fix; a missing directory too", async () => {
  const dir = configDir({ hacf: "keepalive banana\nnode alpha bravo\nucast eth0 192.0.2.2\n" });
  try {
    const rs = await runDoctor(opts(dir), env());
    const c = find(rs, "config")[0]!;
    assert.is(c.verdict, "fail");
    assert.ok(c.fix!.includes("lubdub check"));
    const missing = await runDoctor(opts(join(dir, "nope")), env({ exists: () => false, mode: () => null }));
    assert.is(find(missing, "config")[0]!.verdict, "fail");
    assert.is(find(missing, "authkeys")[0]!.verdict, "fail");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Node older than 20 fails", async () => {
  const dir = configDir();
  try {
    const rs = await runDoctor(opts(dir), env({ nodeMajor: 18 }));
    assert.is(find(rs, "node")[0]!.verdict, "fail");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
