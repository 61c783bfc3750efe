import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  announce,
  arpingArgv,
  cancelAnnouncements,
  checkGarpOptions,
  garpSchedule,
  IPADDR2_GARP,
  IPADDR_GARP,
  pendingAnnouncements,
} from "./garp.js";

const t = suite("garp");

// A stand-in arping on PATH: logs each packet's arguments, prints the banner
// (as iputils arping does before sending) and lingers as arping does.
const dir = mkdtempSync(join(tmpdir(), "lubdub-garp-"));
const log = join(dir, "packets.log");
writeFileSync(
  join(dir, "arping"),
  `#!/bin/sh
for a; do last="$a"; done
if [ "$last" = 192.0.2.99 ]; then echo "arping: Device eth9 not available." >&2; exit 2; fi
echo "$*" >> "${log}"
echo "ARPING $last from $last"
sleep 1
`,
);
chmodSync(join(dir, "arping"), 0o755);
process.env.PATH = `${dir}:${process.env.PATH}`;
const packets = () => {
  try {
    return readFileSync(log, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.after(() => rmSync(dir, { recursive: true, force: true }));

t("defaults are the OCF agents': IPaddr 10 x 500 ms, IPaddr2 5 x 200 ms, no refresh", () => {
  assert.equal({ ...IPADDR_GARP }, { arpCount: 10, arpIntervalMs: 500, arpRefreshAfterMs: 10_000, arpRefreshCount: 0 });
  assert.equal({ ...IPADDR2_GARP }, { arpCount: 5, arpIntervalMs: 200, arpRefreshAfterMs: 10_000, arpRefreshCount: 0 });
});

t("schedule: send_arp's request/reply pairs every interval/2, then the refresh round", () => {
  assert.equal(garpSchedule({ arpCount: 2, arpIntervalMs: 200, arpRefreshAfterMs: 5000, arpRefreshCount: 1 }), [
    { atMs: 0, kind: "request" },
    { atMs: 100, kind: "reply" },
    { atMs: 200, kind: "request" },
    { atMs: 300, kind: "reply" },
    { atMs: 5000, kind: "request" },
    { atMs: 5100, kind: "reply" },
  ]);
  assert.is(garpSchedule(IPADDR2_GARP).length, 10);
  assert.is(garpSchedule(IPADDR_GARP).at(-1)!.atMs, 4750);
  assert.equal(garpSchedule({ ...IPADDR2_GARP, arpCount: 0 }), []);
});

t("arping: -U for the request, -A for the reply, one packet on the interface", () => {
  const target = { iface: "eth0", ip: "192.0.2.10", netns: null };
  assert.equal(arpingArgv("request", target, false), ["arping", "-U", "-c", "1", "-I", "eth0", "192.0.2.10"]);
  assert.equal(arpingArgv("reply", target, true), ["arping", "-A", "-q", "-c", "1", "-I", "eth0", "192.0.2.10"]);
});

t("options are bounded", () => {
  assert.is(checkGarpOptions(IPADDR2_GARP), null);
  assert.match(String(checkGarpOptions({ ...IPADDR2_GARP, arpCount: -1 })), /arpCount/);
  assert.match(String(checkGarpOptions({ ...IPADDR2_GARP, arpCount: 1e6 })), /arpCount/);
  assert.match(String(checkGarpOptions({ ...IPADDR2_GARP, arpIntervalMs: 0 })), /arpIntervalMs/);
  assert.match(String(checkGarpOptions({ ...IPADDR2_GARP, arpIntervalMs: 1.5 })), /arpIntervalMs/);
  assert.match(String(checkGarpOptions({ ...IPADDR2_GARP, arpRefreshCount: NaN })), /arpRefreshCount/);
});

t("announce waits for the first packet only, and the rest follow in the background", async () => {
  rmSync(log, { force: true });
  const target = { iface: "eth0", ip: "192.0.2.10", netns: null };
  const t0 = performance.now();
  const r = await announce(target, { arpCount: 3, arpIntervalMs: 100, arpRefreshAfterMs: 0, arpRefreshCount: 0 }, { waitMs: 2000 });
  const waited = performance.now() - t0;
  assert.is(r.first, "confirmed");
  assert.is(r.scheduled, 5);
  assert.ok(waited < 500, `start waited ${waited} ms for the first packet`);
  assert.equal(packets(), ["-U -c 1 -I eth0 192.0.2.10"]);
  await sleep(600);
  assert.equal(packets(), [
    "-U -c 1 -I eth0 192.0.2.10",
    "-A -q -c 1 -I eth0 192.0.2.10",
    "-U -q -c 1 -I eth0 192.0.2.10",
    "-A -q -c 1 -I eth0 192.0.2.10",
    "-U -q -c 1 -I eth0 192.0.2.10",
    "-A -q -c 1 -I eth0 192.0.2.10",
  ]);
  // The arping processes are still lingering (a second each); cancel kills them.
  assert.ok(pendingAnnouncements(target) > 0);
  cancelAnnouncements(target);
  assert.is(pendingAnnouncements(target), 0);
});

t("cancel stops what is still to come", async () => {
  rmSync(log, { force: true });
  const target = { iface: "eth0", ip: "192.0.2.11", netns: null };
  const r = await announce(target, { arpCount: 5, arpIntervalMs: 200, arpRefreshAfterMs: 0, arpRefreshCount: 0 }, { waitMs: 2000 });
  assert.is(r.first, "confirmed");
  assert.ok(pendingAnnouncements(target) >= 9);
  assert.ok(cancelAnnouncements(target) >= 9);
  await sleep(1100);
  assert.is(packets().length, 1);
  assert.is(cancelAnnouncements(target), 0);
});

t("a new announcement for the same address replaces the old one", async () => {
  rmSync(log, { force: true });
  const target = { iface: "eth0", ip: "192.0.2.12", netns: null };
  await announce(target, { arpCount: 5, arpIntervalMs: 400, arpRefreshAfterMs: 0, arpRefreshCount: 0 }, { waitMs: 2000 });
  await announce({ ...target, iface: "eth1" }, { arpCount: 1, arpIntervalMs: 100, arpRefreshAfterMs: 0, arpRefreshCount: 0 }, { waitMs: 2000 });
  await sleep(1000);
  assert.equal(packets(), ["-U -c 1 -I eth0 192.0.2.12", "-U -c 1 -I eth1 192.0.2.12", "-A -q -c 1 -I eth1 192.0.2.12"]);
  cancelAnnouncements(target);
});

t("arping failures are reported, in the result for the first and to onError for the rest", async () => {
  const errors: string[] = [];
  const target = { iface: "eth9", ip: "192.0.2.99", netns: null };
  const r = await announce(target, { arpCount: 1, arpIntervalMs: 50, arpRefreshAfterMs: 0, arpRefreshCount: 0 }, { waitMs: 2000, onError: (m) => errors.push(m) });
  assert.is(r.first, "failed");
  assert.match(r.detail, /exit 2\): arping: Device eth9 not available\./);
  await sleep(300);
  assert.equal(errors, ["arping -A -q -c 1 -I eth9 192.0.2.99 failed (exit 2): arping: Device eth9 not available."]);
  assert.is(pendingAnnouncements(target), 0);
});

t("arpCount 0 sends nothing; bad options send nothing and say why", async () => {
  const target = { iface: "eth0", ip: "192.0.2.13", netns: null };
  const none = await announce(target, { ...IPADDR2_GARP, arpCount: 0 });
  assert.is(none.first, "none");
  const bad = await announce(target, { ...IPADDR2_GARP, arpIntervalMs: -5 });
  assert.is(bad.first, "failed");
  assert.match(bad.detail, /arpIntervalMs/);
  assert.is(pendingAnnouncements(target), 0);
});

t.run();
