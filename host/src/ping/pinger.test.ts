// The pinger against a fake `ping` (a shell script that behaves per address):
// reply parsing, restarts with backoff, the hung-process watchdog, a missing
// program, and stop(). The real ping in network namespaces is in
// test/src/ping-nodes.test.ts.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Pinger } from "./pinger.js";

const t = suite("pinger");

const FAKE_PING = `#!/bin/sh
# Fake iputils ping: the address (last argument) says how to behave.
for a; do addr=$a; done
echo "$$ $*" >> "$(dirname "$0")/starts.log"
echo "PING $addr ($addr) 56(84) bytes of data."
case $addr in
  192.0.2.1) i=1; while :; do
      echo "64 bytes from $addr: icmp_seq=$i ttl=64 time=0.05 ms"
      echo "64 bytes from 192.0.2.99: icmp_seq=$i ttl=64 time=0.05 ms"
      i=$((i+1)); sleep 0.05; done ;;
  192.0.2.2) echo "64 bytes from $addr: icmp_seq=1 ttl=64 time=0.05 ms"; echo "ping: sendmsg: Network is unreachable" >&2; exit 1 ;;
  192.0.2.3) echo "64 bytes from $addr: icmp_seq=1 ttl=64 time=0.05 ms"; exec sleep 30 ;;
esac
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t("replies, restarts, the hung-ping watchdog and stop()", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-pinger-"));
  const cmd = join(dir, "ping");
  writeFileSync(cmd, FAKE_PING);
  chmodSync(cmd, 0o755);
  const replies = new Map<string, number>();
  const problems: string[] = [];
  const p = new Pinger({
    addresses: ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1"],
    intervalMs: 100, // rounded up to the minimum
    command: cmd,
    silenceLimitMs: 600,
    onReply: (a) => replies.set(a, (replies.get(a) ?? 0) + 1),
    onProblem: (a, d) => problems.push(`${a} ${d}`),
  });
  try {
    assert.is(p.intervalMs, 200);
    p.start();
    await sleep(2500);
    const stats = p.stats();
    assert.equal(stats.map((s) => s.address), ["192.0.2.1", "192.0.2.2", "192.0.2.3"], "each address probed once");
    const byAddr = Object.fromEntries(stats.map((s) => [s.address, s]));
    // A healthy ping: many replies, one process, and only its own address counts.
    assert.ok((replies.get("192.0.2.1") ?? 0) >= 20, `replies ${replies.get("192.0.2.1")}`);
    assert.is(replies.get("192.0.2.99"), undefined);
    assert.is(byAddr["192.0.2.1"]!.starts, 1);
    // A ping that exits is started again with a growing delay (200, 400, 800 ms...).
    const s2 = byAddr["192.0.2.2"]!.starts;
    assert.ok(s2 >= 3 && s2 <= 5, `192.0.2.2 started ${s2} times`);
    assert.ok(problems.some((x) => x.startsWith("192.0.2.2 ") && /exit 1.*sendmsg: Network is unreachable/.test(x)), problems.join("\n"));
    assert.is(problems.filter((x) => x.startsWith("192.0.2.2 ") && /exit 1/.test(x)).length, 1, "the same problem is reported once a minute at most");
    // A ping that goes quiet is killed and started again.
    assert.ok(byAddr["192.0.2.3"]!.starts >= 2, `192.0.2.3 started ${byAddr["192.0.2.3"]!.starts} times`);
    assert.ok(problems.some((x) => x.startsWith("192.0.2.3 ") && /printed nothing/.test(x)), problems.join("\n"));
    // The arguments iputils gets.
    const log = readFileSync(join(dir, "starts.log"), "utf8");
    assert.match(log, /^\d+ -n -O -i 0\.2 -w 3600 192\.0\.2\.1$/m);
    // stop() ends every process it started.
    const pids = stats.map((s) => s.pid).filter((x): x is number => x !== null);
    assert.ok(pids.length >= 2);
    await p.stop();
    await sleep(100);
    for (const pid of pids) assert.not.ok(alive(pid), `pid ${pid} still runs`);
    const after = p.stats();
    assert.ok(after.every((s) => !s.running));
    const starts = readFileSync(join(dir, "starts.log"), "utf8").split("\n").length;
    await sleep(1000);
    assert.is(readFileSync(join(dir, "starts.log"), "utf8").split("\n").length, starts, "nothing restarts after stop()");
  } finally {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

t("a missing ping program is a problem, not an exception", async () => {
  const problems: string[] = [];
  const p = new Pinger({
    addresses: ["192.0.2.1"],
    intervalMs: 200,
    command: "/nonexistent/lubdub-ping",
    onReply: () => {},
    onProblem: (_a, d) => problems.push(d),
  });
  try {
    p.start();
    await sleep(700);
    assert.ok(problems.some((d) => /ENOENT/.test(d)), problems.join("\n"));
    assert.ok(p.stats()[0]!.starts >= 2, "it keeps trying");
  } finally {
    await p.stop();
  }
});

t.run();
