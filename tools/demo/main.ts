// `npm run demo`: a two-node lubdub cluster and its device on this machine,
// with a live terminal view and keys to break it. No root needed; as root,
// the nodes get network namespaces and the resource is a real floating IP.
//
//   npm run demo                       the live view (q or Ctrl-C quits)
//   npm run demo -- --script           the scripted failover tour; exit 0 when the cluster behaved
//   npm run demo -- --help             every option

import { parseArgs } from "node:util";
import { DemoCluster, type DeviceChoice } from "./cluster.js";
import { VIP } from "./netns.js";
import { runTour } from "./tour.js";
import { ANSI, KEYS, render } from "./view.js";

const USAGE = `Usage: npm run demo -- [options]

Two lubdubd nodes (alpha, bravo) and a lubdub device on this machine: serial
heartbeats through the device (socat pty pairs), each node's power on a device
outlet, and a resource that moves.

Without root: UDP heartbeats through a switch on loopback addresses, and an
HTTP service on 127.0.0.1 as the resource.
As root (when \`ip netns\` works): each node in a network namespace of its own
on a bridge, with a client in a third; the resource is a real floating IP,
${VIP}/24 (IPaddr2), and an HTTP service started by an LSB init script,
which the client asks every 250 ms. All of it is removed on exit.

Options:
  --script            run the scripted failover tour and exit (0: the cluster behaved)
  --no-netns          the loopback path even as root
  --netns             insist on network namespaces (exit 70 when they cannot be made)
  --base-port N       first of four ports: service, alpha's and bravo's udpport,
                      device console (default 7940, or the next free block)
  --device KIND       auto (Lua gateway when lua5.1 with luaposix and bitop is
                      installed, else the Node simulator), sim, lua, none
  --fencing MODE      auto (when this lubdubd drives fencing), on, off
  --log               print events as lines instead of the live view
  --no-color          no colours
  --keep              keep the working directory (configs, logs) after exit
  -h, --help          this text

Keys in the live view:
${KEYS.map(([k, w]) => `  ${k}  ${w}`).join("\n")}

Exit codes: 0 ok, 1 the tour failed, 64 bad command line, 70 could not start.`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        script: { type: "boolean", default: false },
        "base-port": { type: "string" },
        device: { type: "string", default: "auto" },
        fencing: { type: "string", default: "auto" },
        log: { type: "boolean", default: false },
        "no-color": { type: "boolean", default: false },
        keep: { type: "boolean", default: false },
        "no-netns": { type: "boolean", default: false },
        netns: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n${USAGE}\n`);
    return 64;
  }
  if (args.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const device = args.device as DeviceChoice;
  if (!["auto", "sim", "lua", "none"].includes(device)) {
    process.stderr.write(`demo: --device must be auto, sim, lua or none\n`);
    return 64;
  }
  if (!["auto", "on", "off"].includes(args.fencing!)) {
    process.stderr.write(`demo: --fencing must be auto, on or off\n`);
    return 64;
  }
  if (args.netns && args["no-netns"]) {
    process.stderr.write(`demo: --netns and --no-netns: pick one\n`);
    return 64;
  }
  let basePort: number | undefined;
  if (args["base-port"] !== undefined) {
    basePort = Number(args["base-port"]);
    if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65530) {
      process.stderr.write(`demo: --base-port must be a number from 1024 to 65530\n`);
      return 64;
    }
  }

  const cluster = new DemoCluster({ device, fencing: args.fencing as "auto", keep: args.keep!, network: args["no-netns"] ? "loopback" : args.netns ? "netns" : "auto", ...(basePort !== undefined ? { basePort } : {}) });
  const live = !args.script && !args.log && process.stdout.isTTY === true;
  const color = !args["no-color"] && process.stdout.isTTY === true && !process.env.NO_COLOR;
  let quitting = false;
  let message = "";
  let frame: NodeJS.Timeout | null = null;

  const restoreTerminal = () => {
    if (live) process.stdout.write(ANSI.showCursor + ANSI.altOff);
    if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
  };
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  const quit = async (code: number) => {
    if (quitting) return;
    quitting = true;
    if (frame) clearInterval(frame);
    message = "stopping: agents, device, cables…";
    draw();
    await cluster.close().catch(() => undefined);
    restoreTerminal();
    if (cluster.dirKept()) process.stdout.write(`demo: working directory kept: ${cluster.dir}\n`);
    finish(code);
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void quit(130));

  function draw(): void {
    if (!live) return;
    const lines = render(cluster.snapshot(), cluster.events, process.stdout.columns || 100, process.stdout.rows || 40, { color }, message, cluster.notes);
    process.stdout.write(ANSI.home + lines.map((l) => l + ANSI.clearLine).join("\n") + ANSI.clearDown);
  }

  if (!live) {
    const t0 = Date.now();
    cluster.listeners.push((e) => {
      if (args.script && e.source !== "demo" && e.source !== "client" && e.level === "info" && !/^(rsc\.|node\.dead|fence\.|device\.watchdog|comm\.)/.test(e.text)) return;
      process.stdout.write(`${((e.at - t0) / 1000).toFixed(1).padStart(6)}s ${e.source.padEnd(6)} ${e.text}\n`);
    });
  } else {
    process.stdout.write(ANSI.altOn + ANSI.hideCursor);
    process.stdout.on("resize", draw);
  }

  try {
    await cluster.start();
  } catch (e) {
    restoreTerminal();
    process.stderr.write(`demo: could not start: ${(e as Error).message}\n`);
    await cluster.close().catch(() => undefined);
    return 70;
  }
  if (!live) {
    const nw = cluster.snapshot().network;
    process.stdout.write(`network: ${nw.mode === "netns" ? `network namespaces on a bridge (${nw.why}), floating IP ${nw.vip}, service ${nw.url}` : `loopback (${nw.why}), service ${nw.url}`}\n`);
    for (const n of cluster.notes) process.stdout.write(`note: ${n}\n`);
  }

  if (args.script) {
    const ok = await runTour(cluster, (l) => process.stdout.write(`${l}\n`));
    await quit(ok ? 0 : 1);
    return done;
  }

  if (live) frame = setInterval(draw, 250);
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    let busy = false;
    process.stdin.on("data", (d: Buffer) => {
      const key = d.toString();
      if (key === "\x03" || key === "q" || key === "Q") {
        void quit(0);
        return;
      }
      if (busy) {
        message = "busy: one action at a time";
        return;
      }
      const act = async (): Promise<string> => {
        switch (key) {
          case "k":
            return cluster.killPrimary();
          case "u":
            return cluster.cutUdp(cluster.snapshot().udp.up);
          case "s":
            return cluster.cutSerial(!cluster.serialCut);
          case "h":
            return cluster.hang();
          case "p":
            return cluster.powerCycle();
          case "t":
            return cluster.standby();
          case "r":
            return cluster.restore();
          default:
            return `keys: ${KEYS.map(([k]) => k).join(" ")}`;
        }
      };
      busy = true;
      message = `${key}…`;
      act().then(
        (m) => {
          message = m;
          busy = false;
        },
        (e: unknown) => {
          message = `error: ${(e as Error).message}`;
          busy = false;
        },
      );
    });
  }
  return done;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(70);
  },
);
