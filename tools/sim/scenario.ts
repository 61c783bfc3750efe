// One seeded run: the world, then alternating chaos and calm. Chaos injects
// faults at random (loss, delay, reordering, duplication and partitions per
// medium, serial cables cut and noisy, crashes, kill -9, SIGSTOP hangs,
// SIGTERM restarts, wall-clock jumps, the device down, rebooted or refusing,
// operator standby/takeover and outlets). Calm heals everything and sets a
// liveness obligation; then, sometimes, one clean failure of one node while
// fencing works for the other, with the tight obligation.

import { World, type SimOptions, type SimResult } from "./world.js";
import type { Rng } from "./rng.js";

type Fault = (w: World, r: Rng, until: number) => void;

const FAULTS: [number, Fault][] = [
  [4, (w, r, until) => {
    // a medium turns bad: loss, jitter, reordering, duplication
    const name = r.pick([...w.udp.keys(), "serial"]);
    const u = w.udp.get(name);
    if (u) {
      const [loss, dup, reorder, maxDelay] = [r.pick([0, 0.05, 0.2, 0.5, 0.9]), r.pick([0, 0.02, 0.2]), r.pick([0, 0.1, 0.5]), r.pick([2, 20, 200])];
      w.disturb(`${name}: loss ${loss} dup ${dup} reorder ${reorder} delay ≤${maxDelay} ms`);
      Object.assign(u, { loss, dup, reorder, maxDelay });
      w.at(r.int(w.now, until), () => {
        w.disturb(`${name}: clean again`);
        Object.assign(u, { loss: 0, dup: 0, reorder: 0, maxDelay: 2 });
      });
    } else {
      const m = r.pick(w.machines);
      const [loss, noise] = [r.pick([0, 0.1, 0.5]), r.pick([0.05, 0.3])];
      w.disturb(`serial ${m.name}: frame loss ${loss}, noise ${noise}`);
      for (const d of [m.tx, m.rx]) Object.assign(d, { loss, noise });
      w.at(r.int(w.now, until), () => {
        w.disturb(`serial ${m.name}: clean again`);
        for (const d of [m.tx, m.rx]) Object.assign(d, { loss: 0, noise: 0 });
      });
    }
  }],
  [4, (w, r, until) => {
    // partition of one medium, one way or both
    const name = r.pick([...w.udp.keys(), "serial"]);
    const dirs = r.pick([[0], [1], [0, 1]]);
    const u = w.udp.get(name);
    if (u) {
      w.disturb(`${name}: partition ${dirs.map((d) => (d === 0 ? "alpha→bravo" : "bravo→alpha")).join(" ")}`);
      for (const d of dirs) u.cut[d] = true;
      w.at(r.int(w.now, until), () => {
        w.disturb(`${name}: partition healed`);
        u.cut = [false, false];
      });
    } else {
      const m = r.pick(w.machines);
      const which = r.pick(["tx", "rx", "both"]);
      w.disturb(`serial cable of ${m.name} cut (${which})`);
      if (which !== "rx") m.tx.cut = true;
      if (which !== "tx") m.rx.cut = true;
      w.at(r.int(w.now, until), () => {
        w.disturb(`serial cable of ${m.name} back`);
        m.tx.cut = m.rx.cut = false;
      });
    }
  }],
  [2, (w, r, until) => {
    // every medium cut: the network, and one node's serial cable (the other still reaches the device)
    const m = r.pick(w.machines);
    w.disturb(`full partition: every network cut, serial cable of ${m.name} cut`);
    for (const u of w.udp.values()) u.cut = [true, true];
    m.tx.cut = m.rx.cut = true;
    w.at(r.int(w.now, until), () => {
      w.disturb("full partition healed");
      for (const u of w.udp.values()) u.cut = [false, false];
      m.tx.cut = m.rx.cut = false;
    });
  }],
  [2, (w, r) => {
    const m = r.pick(w.machines);
    if (!m.up) return;
    w.disturb(`${m.name} crashes (kernel panic)${r.chance(0.5) ? "" : ", reboots by itself"}`);
    w.machineDown(m, "crash");
    if (r.chance(0.5)) w.at(w.now + r.int(1000, 30000), () => w.boot(m));
  }],
  [2, (w, r) => {
    const m = r.pick(w.machines);
    if (!m.proc) return;
    w.disturb(`kill -9 lubdubd on ${m.name}`);
    w.killProc(m, true);
  }],
  [3, (w, r) => {
    const m = r.pick(w.machines);
    if (!m.proc) return;
    const ms = Math.round(w.cfg.deadtimeMs * r.pick([0.3, 0.8, 1.2, 3]));
    w.disturb(`SIGSTOP lubdubd on ${m.name} for ${ms} ms`);
    w.hang(m, ms);
  }],
  [2, (w, r) => {
    const m = r.pick(w.machines);
    if (!m.proc) return;
    w.disturb(`SIGTERM lubdubd on ${m.name} (restarted)`);
    w.shutdown(m, true);
  }],
  [1, (w, r) => {
    const m = r.pick(w.machines);
    if (!m.proc) return;
    const jump = r.pick([-1, 1]) * r.int(1, 72) * 3_600_000;
    w.disturb(`wall clock of ${m.name} steps ${jump / 3_600_000} h`);
    m.proc.wallOffset += jump;
  }],
  [1, (w, r, until) => {
    if (w.deviceDown) return;
    w.disturb("device stops (power lost)");
    w.stopDevice();
    w.at(r.int(w.now, until), () => {
      if (!w.deviceDown) return;
      w.disturb("device boots");
      w.startDevice();
    });
  }],
  [1, (w) => {
    if (w.deviceDown) return;
    w.disturb("device reboots");
    w.stopDevice();
    w.startDevice();
  }],
  [1, (w, r, until) => {
    if (w.deviceDown || w.deviceKeyBad) return;
    w.disturb("device refuses: its key no longer matches");
    w.setDeviceKey(false);
    w.at(r.int(w.now, until), () => {
      if (w.deviceDown) return;
      w.disturb("device key restored");
      w.setDeviceKey(true);
    });
  }],
  [2, (w, r) => {
    const m = r.pick(w.machines);
    w.disturb(`operator command on ${m.name}`);
    w.command(m, r.pick(["standby", "takeover"] as const), r.pick(["all", "local", "foreign"] as const));
  }],
];
const FAULT_WEIGHT = FAULTS.reduce((a, [x]) => a + x, 0);

function pickFault(r: Rng): Fault {
  let x = r.next() * FAULT_WEIGHT;
  for (const [wt, f] of FAULTS) {
    x -= wt;
    if (x < 0) return f;
  }
  return FAULTS[0]![1];
}

/** Everything back to normal: media, cables, the device, machines and processes. */
function heal(w: World): void {
  w.disturb("heal: every fault repaired");
  for (const u of w.udp.values()) Object.assign(u, { loss: 0, dup: 0, reorder: 0, minDelay: 0.2, maxDelay: 2, cut: [false, false] });
  for (const m of w.machines) for (const d of [m.tx, m.rx]) Object.assign(d, { cut: false, loss: 0, noise: 0 });
  if (w.deviceDown) w.startDevice();
  if (w.deviceKeyBad) w.setDeviceKey(true);
  for (const m of w.machines) {
    if (!m.powered) w.device.core.switchOutlet(m.idx + 1, true, "operator");
    else if (!m.up) w.boot(m);
    const p = m.proc;
    if (m.up && !p) w.startProc(m);
    if (p && p.hungUntil > w.now) {
      p.hungUntil = w.now;
      w.resume(p);
    }
    if (p && p.stopping) m.restartOnExit = true;
  }
}

export function simulate(o: SimOptions): SimResult {
  const w = new World(o);
  const r = w.rng.fork(2);
  const end = o.minutes * 60_000;
  w.startDevice();
  const calm = (why: string) => {
    if (why !== "start") heal(w);
    const bound = w.calmBound();
    w.obligation(bound, why);
    const checkAt = w.now + bound + 1000;
    w.at(checkAt, () => {
      const [a, b] = w.machines;
      const healthy = a.proc?.running && b.proc?.running && !a.proc.stopping && !b.proc.stopping;
      if (healthy && r.chance(0.7)) {
        const victim = r.pick(w.machines);
        const survivor = w.machines[1 - victim.idx]!;
        if (w.fencingWorks(survivor)) {
          const kind = r.pick(["power", "kill", "hang", "sigterm"] as const);
          w.disturb(`clean failure of ${victim.name}: ${kind}`);
          if (kind === "power") w.machineDown(victim, "crash");
          else if (kind === "kill") w.killProc(victim, false);
          else if (kind === "hang") w.hang(victim, 10 * 60_000);
          else w.shutdown(victim, false);
          const tight = w.tightBound(survivor, true);
          w.obligation(tight, `${kind} of ${victim.name} with ${survivor.name} healthy`);
          w.at(w.now + tight + 1000, chaos);
          return;
        }
      }
      w.obligation(0, "a calm period", true);
      w.at(w.now + 1000, chaos);
    });
  };
  const chaos = () => {
    const until = w.now + r.int(20_000, 120_000);
    const n = r.int(1, 8);
    for (let i = 0; i < n; i++) w.at(r.int(w.now, until), () => pickFault(r)(w, r, until));
    w.at(until, () => calm("heal"));
  };
  calm("start");
  w.run(end);
  return { seed: o.seed, violation: w.violation, trace: w.traceLines(), stats: w.stats, config: w.describe() };
}
