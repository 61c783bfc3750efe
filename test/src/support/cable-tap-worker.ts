// The pump of a CableTap (fencing-lab.ts), in a worker thread so that a test
// blocked in spawnSync (the lubdub CLI) never stalls the cable: a stalled
// cable would starve the device's watchdog. workerData: { hostFd, devFd, ctl }
// where ctl is an Int32Array on a SharedArrayBuffer: [0] cut (1/0), [1]
// dropped frames, [2] stop (1 ends the pump).

import { readSync, writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { Deframer, decodeClassicMessage, isDeviceMessage } from "@lubdub/protocol";

const { hostFd, devFd, ctl } = workerData as { hostFd: number; devFd: number; ctl: Int32Array };
const buf = Buffer.allocUnsafe(65536);
const deframer = new Deframer();
let toHost = "";
let toDevice = "";

function read(fd: number): string {
  let out = "";
  for (;;) {
    let n = 0;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch {
      return out;
    }
    if (n <= 0) return out;
    out += buf.toString("latin1", 0, n);
  }
}

function write(fd: number, data: string): string {
  let b = Buffer.from(data, "latin1");
  while (b.length > 0) {
    let n = 0;
    try {
      n = writeSync(fd, b);
    } catch {
      break;
    }
    if (n <= 0) break;
    b = b.subarray(n);
  }
  return b.toString("latin1").slice(-65536);
}

const timer = setInterval(() => {
  if (Atomics.load(ctl, 2) === 1) {
    clearInterval(timer); // the descriptors are the main thread's: it closes them
    parentPort?.postMessage("stopped");
    return;
  }
  toDevice += read(hostFd);
  if (toDevice) toDevice = write(devFd, toDevice);
  const fromDevice = read(devFd);
  if (fromDevice) {
    for (const e of deframer.push(fromDevice)) {
      if (e.frame === null) continue;
      if (Atomics.load(ctl, 0) === 1) {
        const d = decodeClassicMessage(e.frame, 0, 0);
        if (!(d.ok && isDeviceMessage(d.message))) {
          Atomics.add(ctl, 1, 1);
          continue;
        }
      }
      toHost += e.frame;
    }
  }
  if (toHost) toHost = write(hostFd, toHost);
}, 2);
