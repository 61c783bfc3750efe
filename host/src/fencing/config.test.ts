import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseHaCf } from "../config/hacf.js";
import { namedParams, positionalParams, resolveStonith } from "./config.js";
import { parseOutletTable, parseConsoleAddress } from "./baytech.js";
import { SILENT_LOG, type FenceEnv } from "./types.js";

const t = suite("fencing configuration");
const BASE = "ucast eth1 192.0.2.2\nnode alpha bravo\nauto_failback on\n";

function env(dir: string): FenceEnv {
  return { localNode: "alpha", externalDir: dir, fenceAgentsDir: dir, log: SILENT_LOG };
}

function resolve(hacf: string, dir: string, node = "alpha") {
  const { config } = parseHaCf(BASE + hacf, "ha.cf", node);
  return resolveStonith(config, node, { ...env(dir), localNode: node });
}

t("positional parameters as cluster-glue matches them: the last name takes the rest of the line", () => {
  assert.equal(positionalParams(["ipaddr", "login", "password"], 3, "  10.0.0.1\tadmin  my secret "), { ipaddr: "10.0.0.1", login: "admin", password: "my secret " });
  assert.is(positionalParams(["ipaddr", "login", "password"], 3, "10.0.0.1 admin"), null);
  assert.equal(positionalParams(["hostlist"], 0, ""), {});
  assert.equal(positionalParams(["ttydev", "hostmap"], 1, "/dev/ttyUSB0"), { ttydev: "/dev/ttyUSB0" });
  assert.equal(namedParams("ip=1.2.3.4 password=a=b"), { params: { ip: "1.2.3.4", password: "a=b" } });
  assert.equal(namedParams("ip=1.2.3.4 oops"), { bad: "oops" });
});

t("which line applies: * or this node (any case); the last one wins, with a warning", () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-fcfg-"));
  try {
    let r = resolve("stonith_host bravo baytech 10.0.0.2 admin b\nstonith_host ALPHA baytech 10.0.0.1 admin a\n", dir);
    assert.equal(r.diagnostics, []);
    assert.equal(r.stonith?.params, { ipaddr: "10.0.0.1", login: "admin", password: "a" });
    r = resolve("stonith_host alpha baytech 10.0.0.2 admin b\n", dir, "bravo");
    assert.is(r.stonith, null);
    r = resolve("stonith_host * manual\nstonith_host * lubdub /dev/ttyUSB0 alpha=1 bravo=2\n", dir);
    assert.is(r.stonith?.typeName, "lubdub");
    assert.equal(r.stonith?.params, { ttydev: "/dev/ttyUSB0", hostmap: "alpha=1 bravo=2" });
    assert.ok(r.diagnostics.some((d) => d.severity === "warning" && /only the last one \(line 5\)/.test(d.message)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t("errors name ha.cf:line: missing parameters, a missing file, a bad plugin", () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-fcfg-"));
  try {
    let r = resolve("stonith_host * baytech 10.0.0.1 admin\n", dir);
    assert.is(r.stonith, null);
    assert.equal(r.diagnostics.map((d) => [d.line, d.severity]), [[4, "error"]]);
    assert.match(r.diagnostics[0]!.message, /baytech needs ipaddr login password, in that order/);
    r = resolve(`stonith baytech ${join(dir, "nope")}\n`, dir);
    assert.match(r.diagnostics[0]!.message, /stonith: cannot open .*nope: ENOENT/);
    writeFileSync(join(dir, "rpc.cfg"), "# the console\n\n10.0.0.9:2323 admin s3cret\nignored line\n");
    r = resolve(`stonith baytech ${join(dir, "rpc.cfg")}\n`, dir);
    assert.equal(r.diagnostics, []);
    assert.equal(r.stonith?.params, { ipaddr: "10.0.0.9:2323", login: "admin", password: "s3cret" });
    r = resolve("stonith_host * external/nope x\n", dir);
    assert.match(r.diagnostics[0]!.message, /no such plugin/);
    const plugin = join(dir, "myplug");
    writeFileSync(plugin, "#!/bin/sh\ncase $1 in getconfignames) echo hostlist token;; esac\nexit 0\n");
    chmodSync(plugin, 0o775);
    r = resolve("stonith_host * external/myplug x\n", dir);
    assert.match(r.diagnostics[0]!.message, /writable by group or others/);
    chmodSync(plugin, 0o755);
    r = resolve("stonith_host * external/myplug alpha\n", dir);
    assert.match(r.diagnostics[0]!.message, /external\/myplug needs hostlist token, in that order/, "names from the plugin's getconfignames");
    r = resolve("stonith_host * external/myplug alpha bravo charlie\n", dir);
    assert.equal(r.diagnostics, []);
    assert.equal(r.stonith?.params, { hostlist: "alpha", token: "bravo charlie" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t("fence_NAME takes name=value words; pcmk_host_map checked; the agent must exist", () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-fcfg-"));
  try {
    let r = resolve("stonith_host * fence_x ip=1.2.3.4 login\n", dir);
    assert.match(r.diagnostics[0]!.message, /takes name=value parameters; 'login' is not one/);
    r = resolve("stonith_host * fence_x ip=1.2.3.4\n", dir);
    assert.match(r.diagnostics[0]!.message, /no such fence agent/);
    writeFileSync(join(dir, "fence_x"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(dir, "fence_x"), 0o755);
    r = resolve("stonith_host * fence_x ip=1.2.3.4 pcmk_host_map=alpha:1;bravo:2\n", dir);
    assert.equal(r.diagnostics, []);
    assert.equal(r.stonith?.params, { ip: "1.2.3.4", pcmk_host_map: "alpha:1;bravo:2" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t("baytech: addresses and the outlet table", () => {
  assert.equal(parseConsoleAddress("10.0.0.1"), { host: "10.0.0.1", port: 23 });
  assert.equal(parseConsoleAddress("rpc.example:2323"), { host: "rpc.example", port: 2323 });
  assert.equal(parseConsoleAddress("[::1]:2323"), { host: "::1", port: 2323 });
  assert.equal(parseConsoleAddress("/dev/ttyS1"), { tty: "/dev/ttyS1" });
  assert.is(parseConsoleAddress("a b"), null);
  const screen = "\r\nTrue RMS Current:  0.8 Amps\r\nInternal Temperature: 31.0 C\r\nCircuit Breaker: On\r\nOutlet       Name         Status\r\n      1       alpha              On\r\n      2       Node Two           Off\r\n\r\n";
  assert.equal(parseOutletTable(screen), [{ n: 1, name: "alpha", on: true }, { n: 2, name: "Node Two", on: false }]);
});

t.run();
