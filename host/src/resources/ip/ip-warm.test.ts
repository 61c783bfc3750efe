// A waiting `ip -batch` against the real ip in a network namespace made for
// the test (root only): success, an error with ip's own message, an
// interface deleted and made again under the same name, a namespace made
// again under the same name, and a waiting ip that is gone.

import { spawnSync } from "node:child_process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { closeWarmIp, runIp4, waitingIp, warmIp } from "./ip-warm.js";
import { ADDRESS_ABSENT, ADDRESS_EXISTS } from "./takeover.js";

const t = suite("ip-warm");
const NS = `lubdub-warm-${process.pid}`;
const root = process.getuid?.() === 0 && spawnSync("ip", ["-V"]).status === 0;

function sh(cmd: string): void {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}
function makeNs(): void {
  sh(`ip netns add ${NS} && ip -n ${NS} link add w0 type veth peer name w1 && ip -n ${NS} link set w0 up && ip -n ${NS} addr add 10.77.0.1/24 dev w0`);
}
function addrs(): string {
  return spawnSync("ip", ["-n", NS, "-4", "-o", "addr", "show"], { encoding: "utf8" }).stdout;
}
/** A waiting ip, started now (not after REWARM_DELAY_MS), and ready. */
async function warmed(): Promise<void> {
  closeWarmIp();
  warmIp(NS);
  assert.ok(waitingIp(NS));
  await new Promise((r) => setTimeout(r, 100));
}
const O = { timeoutMs: 5000, warm: true };

t.after(() => {
  closeWarmIp();
  spawnSync("ip", ["netns", "del", NS]);
});

t("add, add again, del, del again: results and ip's messages as a separate ip would give", async () => {
  if (!root) return console.log("  skipped: needs root and iproute2");
  makeNs();
  await warmed();
  let r = await runIp4(["addr", "add", "10.77.0.9/24", "brd", "10.77.0.255", "dev", "w0"], NS, O);
  assert.ok(r.ok, r.stderr);
  assert.is(r.argv.join(" "), `ip -n ${NS} -4 addr add 10.77.0.9/24 brd 10.77.0.255 dev w0`);
  assert.is(r.stderr, "");
  assert.match(addrs(), /10\.77\.0\.9\/24 brd 10\.77\.0\.255/);
  await warmed();
  r = await runIp4(["addr", "add", "10.77.0.9/24", "dev", "w0"], NS, O);
  assert.not.ok(r.ok);
  assert.is(r.exitCode, 1);
  assert.ok(ADDRESS_EXISTS.test(r.stderr), r.stderr);
  assert.not.match(r.stderr, /Command failed|lubdub-sentinel/);
  await warmed();
  r = await runIp4(["addr", "del", "10.77.0.9/24", "dev", "w0"], NS, O);
  assert.ok(r.ok, r.stderr);
  assert.not.match(addrs(), /10\.77\.0\.9/);
  await warmed();
  r = await runIp4(["addr", "del", "10.77.0.9/24", "dev", "w0"], NS, O);
  assert.not.ok(r.ok);
  assert.ok(ADDRESS_ABSENT.test(r.stderr), r.stderr);
});

t("the interface made again under the same name, then the namespace: the command reaches the new ones", async () => {
  if (!root) return console.log("  skipped: needs root and iproute2");
  await warmed();
  sh(`ip -n ${NS} link del w0 && ip -n ${NS} link add w0 type veth peer name w1 && ip -n ${NS} link set w0 up`);
  let r = await runIp4(["addr", "add", "10.77.0.10/24", "dev", "w0"], NS, O);
  assert.ok(r.ok, r.stderr);
  assert.match(addrs(), /w0\s+inet 10\.77\.0\.10\/24/);
  await warmed();
  sh(`ip netns del ${NS}`);
  makeNs();
  r = await runIp4(["addr", "add", "10.77.0.11/24", "dev", "w0"], NS, O);
  assert.ok(r.ok, r.stderr);
  assert.match(addrs(), /10\.77\.0\.11\/24/);
});

t("no waiting ip (gone, or none yet), or words ip's batch would split: the command runs as its own ip", async () => {
  if (!root) return console.log("  skipped: needs root and iproute2");
  closeWarmIp();
  let r = await runIp4(["addr", "add", "10.77.0.12/24", "dev", "w0"], NS, O);
  assert.ok(r.ok, r.stderr);
  await warmed();
  const c = waitingIp(NS)!;
  // The agent never waits for a waiting ip (unref); the test does.
  c.ref();
  const gone = new Promise((res) => c.once("exit", res));
  c.kill("SIGKILL");
  await gone;
  r = await runIp4(["addr", "del", "10.77.0.12/24", "dev", "w0"], NS, O);
  assert.ok(r.ok, r.stderr);
  await warmed();
  // In a batch line "w0:a b" would be two words (and the add would fail); on its own ip it is one label.
  r = await runIp4(["addr", "add", "10.77.0.13/24", "dev", "w0", "label", "w0:a b"], NS, O);
  assert.ok(r.ok, r.stderr);
  assert.match(addrs(), /inet 10\.77\.0\.13\/24 .*w0:a b/);
});

t.run();
