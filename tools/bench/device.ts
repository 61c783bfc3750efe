// Device relay benchmark: heartbeat frames into host port A of a running
// device (the Node simulator `lubdub-device-sim`, and the Lua gateway build
// `lua5.1 device/dist/gateway.lua`), out of host port B, over socat pty pairs
// (test/src/support/device-proc.ts starts them), at 19200 and 115200 baud.
//
//   latency     one frame at a time: from the moment the last byte of the
//               frame is written into port A's pty to the moment the last
//               byte arrives at port B's pty (median and 95th percentile)
//   throughput  frames written back to back into A until all came out of B
//
// Ptys do not pace bytes at the baud rate, so what is measured is the
// device's own time (reading, deframing, writing). On a real line the last
// byte out of B comes one line time (10 bits per byte at the baud rate) after
// the device starts sending, so the relay's cost beyond the line time is the
// measured latency itself; the report gives the line time beside it.
// Also reports the size of the Espruino bundle (device/dist/espruino.js).

import { existsSync, openSync, readFileSync, writeSync, closeSync, constants } from "node:fs";
import { join, resolve } from "node:path";
import { ReadStream } from "node:tty";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Benchmark, BenchOptions, BenchReport, CaseResult } from "./harness.js";
import { machine } from "./harness.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");
const FRAME =
  ">>>\nt=status\nst=active\ndt=2710\nprotocol=1\nsrc=alpha\n(1)srcuuid=AAAAAAAAAAAAAAAAAAAAAA==\nseq=1\nhg=1\nts=6650a1b2\nld=0.00 0.00 0.00 1/100 1\nttl=3\nauth=1 0123456789abcdef0123456789abcdef01234567\n<<<\n";

interface Dev {
  hostA: string;
  hostB: string;
  stop(): Promise<void>;
}

async function startDevice(impl: string, baud: number): Promise<Dev> {
  const mod = (await import(pathToFileURL(join(ROOT, "test", "dist", "support", "device-proc.js")).href)) as {
    DeviceProc: { start(o: object): Promise<Dev> };
  };
  return mod.DeviceProc.start({ impl: impl, baud: baud, console: false });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(impl: string, baud: number, latencyFrames: number, burstFrames: number): Promise<CaseResult[]> {
  const dev = await startDevice(impl, baud);
  const fdA = openSync(dev.hostA, constants.O_RDWR | constants.O_NOCTTY);
  const fdB = openSync(dev.hostB, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  const inB = new ReadStream(fdB);
  inB.setRawMode(true);
  let got = 0;
  let waiter: (() => void) | null = null;
  let want = 0;
  inB.on("data", (d: Buffer) => {
    got += d.length;
    if (waiter !== null && got >= want) {
      const w = waiter;
      waiter = null;
      w();
    }
  });
  const until = (bytes: number, ms: number): Promise<boolean> =>
    new Promise((done) => {
      want = bytes;
      if (got >= bytes) return done(true);
      const t = setTimeout(() => {
        waiter = null;
        done(false);
      }, ms);
      waiter = () => {
        clearTimeout(t);
        done(true);
      };
    });
  const lineMs = (FRAME.length * 10 * 1000) / baud;
  const lat: number[] = [];
  let lost = 0;
  try {
    await sleep(300);
    // warm-up
    for (let i = 0; i < 5; i++) {
      writeSync(fdA, FRAME);
      await until(got + FRAME.length, 2000);
    }
    for (let i = 0; i < latencyFrames; i++) {
      const target = got + FRAME.length;
      writeSync(fdA, FRAME);
      const t0 = process.hrtime.bigint();
      const ok = await until(target, 2000);
      if (!ok) {
        lost++;
        got = target;
        continue;
      }
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await sleep(5);
    }
    // throughput: a burst, paced only by the pty buffers
    const start = got;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < burstFrames; i++) writeSync(fdA, FRAME);
    const ok = await until(start + burstFrames * FRAME.length, 30000);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const passed = Math.floor((got - start) / FRAME.length);
    lat.sort((a, b) => a - b);
    const med = lat.length > 0 ? quantile(lat, 0.5) : NaN;
    const p95 = lat.length > 0 ? quantile(lat, 0.95) : NaN;
    const base = { format: "classic", method: null, bytesPerUnit: FRAME.length, rounds: 1, goalUs: null, meetsGoal: null } as const;
    return [
      {
        ...base,
        name: `${impl} ${baud} relay latency`,
        op: "relay A->B, last byte in to last byte out",
        unit: "frame",
        units: lat.length,
        unitsPerSec: 1000 / med,
        usPerUnit: med * 1000,
        usPerUnitMin: (lat[0] ?? NaN) * 1000,
        usPerUnitMax: (lat[lat.length - 1] ?? NaN) * 1000,
        mbPerSec: FRAME.length / med / 1000,
        goalUs: 5000,
        meetsGoal: med < 5,
        checks: { p95Ms: Number(p95.toFixed(3)), lineTimeMs: Number(lineMs.toFixed(2)), lost: lost },
      },
      {
        ...base,
        name: `${impl} ${baud} relay throughput`,
        op: `relay A->B, ${burstFrames} frames back to back`,
        unit: "frame",
        units: passed,
        unitsPerSec: passed / secs,
        usPerUnit: (secs * 1e6) / Math.max(1, passed),
        usPerUnitMin: NaN,
        usPerUnitMax: NaN,
        mbPerSec: (passed * FRAME.length) / secs / 1e6,
        checks: { complete: ok, lineFramesPerSec: Number((baud / 10 / FRAME.length).toFixed(1)) },
      },
    ];
  } finally {
    inB.destroy();
    closeSync(fdA);
    await dev.stop();
  }
}

async function runDevice(o: BenchOptions): Promise<BenchReport> {
  const cases: CaseResult[] = [];
  const notes: string[] = [];
  const bundle = join(ROOT, "device", "dist", "espruino.js");
  if (existsSync(bundle)) notes.push(`Espruino bundle device/dist/espruino.js: ${readFileSync(bundle).length} bytes (budget 8192)`);
  notes.push(`frame: a ${FRAME.length}-byte classic heartbeat; ptys do not pace at the baud rate, so latency is the device's own time beyond the line time`);
  const impls = o.rest.includes("--impl=sim") ? ["sim"] : o.rest.includes("--impl=lua") ? ["lua"] : ["sim", "lua"];
  const frames = Math.max(20, Math.round(o.seconds * 50));
  for (const impl of impls) {
    for (const baud of [19200, 115200]) {
      try {
        for (const c of await measure(impl, baud, frames, 200)) {
          cases.push(c);
          o.onCase?.(c);
        }
      } catch (e) {
        notes.push(`${impl} ${baud}: not measured: ${(e as Error).message}`);
      }
    }
  }
  return { benchmark: "device", ...machine(), seconds: o.seconds, rounds: 1, date: new Date().toISOString(), cases: cases, notes: notes, sink: 0 };
}

export const deviceBenchmark: Benchmark = {
  name: "device",
  describe: "relay latency and throughput of the device simulator and Lua gateway over socat ptys at 19200/115200 baud; Espruino bundle size",
  run: (o) => runDevice(o),
};
