// Where the agent's logs go, as ha.cf says:
//   logfile FILE      info and above, one JSON record per line
//   debugfile FILE    everything, debug included
//   logfacility F     syslog with facility F (daemon, local0..7, …); "none" turns it off
// Syslog goes through util-linux's `logger` (Node cannot write to the
// /dev/log datagram socket itself): one long-lived child process reading
// "<PRI>message" lines with --prio-prefix, so each line keeps its own level.

import { spawn, type ChildProcess } from "node:child_process";
import { pino, type DestinationStream, type StreamEntry } from "pino";
import { Writable } from "node:stream";
import { SYSLOG_FACILITIES } from "../config/facilities.js";


/** pino level number → syslog severity. */
function severity(level: number): number {
  if (level >= 60) return 2; // fatal → crit
  if (level >= 55) return 2; // crit
  if (level >= 50) return 3; // error → err
  if (level >= 40) return 4; // warn → warning
  if (level >= 30) return 6; // info
  return 7; // debug
}

/** At most this many bytes wait for a slow or stuck `logger`; beyond, lines are dropped and counted. */
const SYSLOG_BACKLOG_BYTES = 1 << 20;

export class SyslogStream extends Writable {
  private child: ChildProcess | null = null;
  dropped = 0;

  constructor(
    private readonly facility: number,
    private readonly tag: string,
    private readonly socketPath?: string,
  ) {
    super();
    this.spawnLogger();
  }

  private spawnLogger(): void {
    const args = ["--prio-prefix", "-t", this.tag, "--id=" + process.pid];
    if (this.socketPath) args.push("-u", this.socketPath);
    const child = spawn("logger", args, { stdio: ["pipe", "ignore", "ignore"] });
    child.on("error", () => (this.child = null));
    child.on("exit", () => (this.child = null));
    child.stdin?.on("error", () => (this.child = null));
    this.child = child;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    const line = chunk.toString("utf8").trimEnd();
    let level = 30;
    let text = line;
    try {
      const rec = JSON.parse(line) as { level?: number; event?: string; msg?: string };
      level = rec.level ?? 30;
      text = `${rec.event ?? "log"}: ${rec.msg ?? ""}`;
    } catch {
      /* not JSON: pass it on as is */
    }
    if (!this.child) this.spawnLogger();
    const stdin = this.child?.stdin;
    if (!stdin || stdin.writableLength > SYSLOG_BACKLOG_BYTES) {
      this.dropped++;
    } else {
      stdin.write(`<${this.facility * 8 + severity(level)}>${text.replace(/\n/g, " ")}\n`);
    }
    done();
  }

  override _final(done: (e?: Error | null) => void): void {
    const child = this.child;
    if (!child || child.exitCode !== null) return done();
    // Let logger read what is queued and exit; kill it if it does not.
    const timer = setTimeout(() => child.kill("SIGKILL"), CLOSE_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.stdin?.end();
  }
}

export interface LogTargets {
  /** Write to stdout too (foreground runs, tests). */
  stdout: boolean;
  logfile?: string;
  debugfile?: string;
  /** Facility name, or "none"/undefined for no syslog. */
  logfacility?: string;
  /** Alternative syslog socket (tests). */
  syslogSocket?: string;
  /** Lowest level anywhere ("debug" when `debug` is set in ha.cf). */
  debug: boolean;
}

export interface LogDestination {
  /** Give this to pino. */
  stream: DestinationStream;
  /** Flush files and end the syslog child; the agent calls it on shutdown. */
  close(): Promise<void>;
}

/** One destination stream for pino that fans out to every configured target. */
export function logDestination(t: LogTargets): LogDestination {
  const streams: StreamEntry<string>[] = [];
  const base = t.debug ? "debug" : "info";
  if (t.stdout) streams.push({ level: base, stream: pino.destination(1) });
  if (t.logfile) streams.push({ level: "info", stream: pino.destination({ dest: t.logfile, mkdir: true, sync: false }) });
  if (t.debugfile) streams.push({ level: "debug", stream: pino.destination({ dest: t.debugfile, mkdir: true, sync: false }) });
  if (t.logfacility && t.logfacility !== "none") {
    const facility = SYSLOG_FACILITIES[t.logfacility];
    if (facility === undefined) throw new Error(`unknown syslog facility '${t.logfacility}'`);
    streams.push({ level: base, stream: new SyslogStream(facility, "lubdubd", t.syslogSocket) });
  }
  if (streams.length === 0) streams.push({ level: base, stream: pino.destination(1) });
  const stream = pino.multistream(streams, { levels: { ...pino.levels.values, crit: 55 } });
  return { stream, close: () => closeAll(streams.map((s) => s.stream)) };
}

/** Upper bound on waiting for a target to flush at shutdown. */
const CLOSE_TIMEOUT_MS = 2000;

function closeAll(targets: unknown[]): Promise<void> {
  const one = (s: unknown): Promise<void> =>
    new Promise<void>((done) => {
      const timer = setTimeout(done, CLOSE_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        done();
      };
      if (s instanceof SyslogStream) {
        s.end(finish);
        return;
      }
      const sonic = s as { fd?: number; flushSync?: () => void; end?: () => void; once?: (e: string, f: () => void) => void };
      if (sonic.fd === 1 || sonic.fd === 2 || !sonic.end) {
        finish();
        return;
      }
      try {
        sonic.once?.("close", finish);
        sonic.end();
      } catch {
        finish();
      }
    });
  return Promise.all(targets.map(one)).then(() => undefined);
}
