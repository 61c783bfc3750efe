// Fencing race through the lubdub device: each server holds a group of its
// own, both links between them (UDP, and the heartbeats the device relays)
// are cut at the same moment, so both declare the other dead together and
// both ask the device to fence. The device's arbitration lets exactly one
// request through: one server stays, takes over both groups; the other is
// power-cycled and never fences the winner afterwards. Repeated (20 times by
// default, LUBDUB_FENCING_REPS) on one lab; auto_failback on brings the
// loser's group home after each run. Links and power: support/fencing-lab.ts.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { deviceRequirements } from "./support/device-proc.js";
import { VIP } from "./support/failover-lab.js";
import { FencingLab, NODES } from "./support/fencing-lab.js";
import { ARPING, NETNS_LAB, NFT, TCPDUMP, testWhere } from "./support/require.js";

const t = suite("fencing: both nodes fence at once");
const REQS = [...NETNS_LAB, ARPING, TCPDUMP, NFT, ...deviceRequirements("sim")];
const REPS = Number(process.env.LUBDUB_FENCING_REPS ?? 20);
const VIP2 = "192.0.2.101";

testWhere(t, `both nodes lose each other at once and both fence: the device's arbitration leaves exactly one running (${REPS} runs)`, REQS, async () => {
  const base = mkdtempSync(join(tmpdir(), "lubdub-fencing-race-"));
  const lab = new FencingLab(base, {
    haresources: `alpha ${VIP}/24/lub0 httpd\nbravo ${VIP2}/24/lub0\n`,
    lubdubCf: "fencing timeout=10s attempt_timeout=3s retry=300ms retry_max=1s\ndevice_watchdog off\n",
    autoFailback: "on",
    // A short hold, so every run is a fresh race (links come back before the loser boots).
    settings: { "fence.hold_ms": "3000" },
  });
  const started = Date.now();
  const wins = [0, 0];
  let bothAsked = 0;
  let loserTried = 0;
  try {
    await lab.start();
    await lab.f.waitServedBy("alpha", 30000);
    await lab.settled({ [VIP]: "alpha", [VIP2]: "bravo" });
    for (let run = 1; run <= REPS; run++) {
      const marks = lab.agents.map((a) => a.records.length);
      const devMark = lab.dev.records.length;
      const powerMark = lab.power.length;
      const cutAt = Date.now();
      lab.cutUdp(true);
      lab.cutSerial(true);
      // Exactly one server loses power; the other takes over both groups.
      const off = await lab.dev.waitRecord((r) => r.event === "outlet" && / off by /.test(String(r.msg)), 15000, devMark, "an outlet switched off");
      const loser = Number(/^outlet (\d+)/.exec(String(off.msg))![1]) - 1;
      const winner = 1 - loser;
      const [w, l] = [NODES[winner]!, NODES[loser]!];
      await lab.agents[winner]!.event("rsc.acquired", {}, 15000, marks[winner]).catch(async (e: Error) => {
        throw new Error(`run ${run}: ${e.message}\n${lab.describe()}`);
      });
      if (loser === 0) await lab.f.waitServedBy("bravo", 10000, cutAt);
      lab.cutSerial(false);
      lab.cutUdp(false);
      wins[winner]!++;
      const fences = lab.deviceEvents("fence", devMark);
      assert.is(fences.length, 1, `run ${run}: fences ${JSON.stringify(fences)}\n${lab.describe()}`);
      assert.match(fences[0]!, new RegExp(`^${l} reboot by .*${w}`));
      const refused = lab.deviceEvents("refused", devMark);
      if (refused.some((m) => m.includes("ldev-fence") && m.includes(l))) bothAsked++;
      if (lab.agents[loser]!.records.slice(marks[loser]).some((r) => r.event === "fence.attempt")) loserTried++;
      assert.equal(lab.power.slice(powerMark).filter((p) => !p.on).map((p) => p.host), [loser + 1], `run ${run}: power ${JSON.stringify(lab.power.slice(powerMark))}`);
      assert.ok(lab.powered[winner], `run ${run}: the winner lost power`);
      // The loser boots, rejoins, and gets its own group back.
      await lab.settled({ [VIP]: "alpha", [VIP2]: "bravo" });
      const winnerFenced = lab.agents[winner]!.records.slice(marks[winner]).filter((r) => r.event === "fence.confirmed").length;
      assert.is(winnerFenced, 1, `run ${run}: ${w} confirmed ${winnerFenced} fences`);
      assert.equal(lab.f.doubleAnswers, [], `run ${run}: the VIP answered from two MACs at once`);
    }
    console.log(`  ${REPS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s: alpha won ${wins[0]}, bravo won ${wins[1]}; the loser had started fencing too in ${loserTried}, and its request reached the device (and was refused) in ${bothAsked}; in the others the winner's deadtime ran out first and the loser lost power before its own did`);
  } finally {
    await lab.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

t.run();
