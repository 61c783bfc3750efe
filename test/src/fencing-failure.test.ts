// Fencing that cannot succeed: the device is unplugged (both servers'
// cables pulled out: their ttys go away) and then the UDP link is cut. The
// node that would take over (bravo) declares alpha dead, tries to fence it,
// retries until the fencing timeout, gives up loudly (fence.gave-up), runs
// the alert command, and does NOT take over: the client keeps being served by
// alpha alone. The device watchdog is off here: with the cables out the
// device would (rightly) power-cycle both silent hosts.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { sleep } from "./support/agent-proc.js";
import { deviceRequirements } from "./support/device-proc.js";
import { VIP } from "./support/failover-lab.js";
import { FencingLab } from "./support/fencing-lab.js";
import { ARPING, NETNS_LAB, NFT, TCPDUMP, testWhere } from "./support/require.js";

const t = suite("fencing: the device unplugged");
const REQS = [...NETNS_LAB, ARPING, TCPDUMP, NFT, ...deviceRequirements("sim")];

testWhere(t, "fence failure (device unplugged): no takeover, the event is logged, the alert command ran", REQS, async () => {
  const base = mkdtempSync(join(tmpdir(), "lubdub-fencing-fail-"));
  const alert = join(base, "alert.sh");
  const alerted = join(base, "alerted");
  writeFileSync(alert, `#!/bin/sh\necho "$@ $LUBDUB_FENCE_NODE $LUBDUB_FENCE_RESULT" >> ${alerted}\n`);
  chmodSync(alert, 0o755);
  const lab = new FencingLab(base, {
    haresources: `alpha ${VIP}/24/lub0 httpd\n`,
    lubdubCf: `fencing timeout=3s attempt_timeout=1s retry=300ms retry_max=1s alert=${alert}\ndevice_watchdog off\n`,
  });
  try {
    await lab.start();
    await lab.f.waitServedBy("alpha", 30000);
    await lab.settled({ [VIP]: "alpha" });
    const bravo = lab.agents[1]!;
    const mark = bravo.records.length;
    for (const tap of lab.taps) await tap.unplug();
    await bravo.event("medium.error", {}, 5000, mark);
    const cutAt = Date.now();
    lab.cutUdp(true);
    const gaveUp = await bravo.event("fence.gave-up", {}, 15000, mark);
    assert.match(String(gaveUp.msg), /FENCING alpha FAILED, NOT taking over/);
    assert.ok(bravo.records.slice(mark).filter((r) => r.event === "fence.attempt-failed").length >= 2, "retried");
    await bravo.event("fence.alert", {}, 10000, mark);
    assert.ok(existsSync(alerted), "the alert command ran");
    assert.match(readFileSync(alerted, "utf8"), /^alpha bad alpha bad$/m);
    await sleep(1500);
    assert.is(bravo.records.slice(mark).find((r) => r.event === "rsc.acquire"), undefined, "bravo took over without a fence");
    const after = lab.f.probes.filter((p) => p.t >= cutAt);
    assert.ok(after.length > 100 && after.every((p) => p.ok && p.node === "alpha"), `the client saw ${JSON.stringify(after.filter((p) => !(p.ok && p.node === "alpha")).slice(0, 3))}`);
    assert.equal(lab.f.doubleAnswers, []);
    const st = bravo.status();
    assert.is(st.fencing.last.result, "bad");
    assert.is(st.device.reachable, false);
  } catch (e) {
    console.log(lab.describe());
    throw e;
  } finally {
    await lab.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});

t.run();
