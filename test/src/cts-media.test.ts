// CTS scenarios, the paths between the nodes (after cts/CTStests.py's
// redundant-path and bandwidth tests): with two media (ucast over the
// bridge, serial over a socat null-modem pair) losing either one kills
// nobody and moves nothing; a flapping heartbeat path and 30 % random loss
// do not either. The client (probing every 10 ms) must be served by the
// primary throughout, with no pause over 1 s (a failover would take longer and change the answering node, which is asserted separately), and the VIP must never
// answer from two MACs.
//
// ucast is cut with nftables on the heartbeat port only (so the client's
// own traffic to the servers is untouched), serial by killing socat, loss
// with nftables numgen (this kernel may have no netem qdisc).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Cts, LOSSY, sleep } from "./support/cts.js";
import { testWhere } from "./support/require.js";

const t = suite("cts: media");
const REQS = ["root", "netns", { command: "arping", pkg: "iputils-arping" }, { command: "tcpdump", pkg: "tcpdump" }, { command: "nft", pkg: "nftables" }] as const;
const SOCAT = { command: "socat", pkg: "socat" } as const;

testWhere(t, "cut each medium in turn (ucast, then serial) and restore it: the link is reported dead and up again, nobody dies, the service never pauses", [...REQS, SOCAT], () =>
  Cts.run("cut-each", { serial: true }, async (c) => {
    const from = Date.now();
    const dt = c.timing.deadtimeMs;
    let markA = c.alpha.records.length;
    c.cutUcast(1);
    await c.alpha.event("link.dead", { node: "bravo", link: "lub0" }, dt + 5000, markA);
    await sleep(dt);
    c.healUcast(1);
    await c.alpha.event("link.up", { node: "bravo", link: "lub0" }, 15_000, markA);
    const serialLink = c.pty!.a;
    markA = c.alpha.records.length;
    await c.cutSerial();
    await c.alpha.event("link.dead", { node: "bravo", link: serialLink }, dt + 5000, markA);
    await sleep(dt);
    await c.healSerial();
    // The agent reopens a vanished tty at most every 5 s.
    await c.alpha.event("link.up", { node: "bravo", link: serialLink }, 20_000, markA);
    assert.is(c.deaths(c.alpha) + c.deaths(c.bravo), 0, "a node was declared dead with one medium left");
    c.assertUninterrupted("alpha", from);
    c.assertSingleServer(from, 0);
  }),
);

testWhere(t, "a flapping ucast path (heartbeats dropped for 0.6 deadtime, then passed for 0.5 s, 10 times): nobody dies, the service never pauses", [...REQS], () =>
  Cts.run("flap", {}, async (c) => {
    const from = Date.now();
    const dt = c.timing.deadtimeMs;
    for (let i = 0; i < 10; i++) {
      c.cutUcast(1);
      await sleep(0.6 * dt);
      c.healUcast(1);
      await sleep(500);
    }
    await sleep(dt);
    const late = c.alpha.records.filter((r) => r.event === "heartbeat.late").length + c.bravo.records.filter((r) => r.event === "heartbeat.late").length;
    console.log(`  flap: ${late} late heartbeats reported, no death`);
    assert.is(c.deaths(c.alpha) + c.deaths(c.bravo), 0, "a node was declared dead on a path that never stayed down for deadtime");
    c.assertUninterrupted("alpha", from);
    c.assertSingleServer(from, 0);
  }),
);

const LOSS_SECONDS = 20;

testWhere(t, `30 % random loss of heartbeats both ways for ${LOSS_SECONDS} s (keepalive 200 ms, deadtime 2 s): nobody dies, the service never pauses`, [...REQS], () =>
  Cts.run("loss", { timing: LOSSY }, async (c) => {
    const from = Date.now();
    c.lossOut(1, 30);
    c.lossOut(2, 30);
    await sleep(LOSS_SECONDS * 1000);
    const dropped = c.clearLoss(1) + c.clearLoss(2);
    console.log(`  loss: ${dropped} heartbeat packets dropped`);
    assert.ok(dropped > 0, "nothing was dropped");
    assert.is(c.deaths(c.alpha) + c.deaths(c.bravo), 0, "a node was declared dead under 30 % loss");
    c.assertUninterrupted("alpha", from);
    c.assertSingleServer(from, 0);
  }),
);

t.run();
