// Asks a real Heartbeat 3.0.6 what it thinks of a configuration: starts
// Debian's heartbeat with the given ha.cf and authkeys as /etc/ha.d, in
// private mount, UTS, network and PID namespaces (so it binds nothing on the
// host, names itself as told, and every process it forks dies with the
// namespace), and reads its log for the verdict.

import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STOCK_HEARTBEAT_BIN, STOCK_PRIVATE_NODE_SH } from "./stock-node.js";

export const STOCK_HEARTBEAT = STOCK_HEARTBEAT_BIN;
/** A stock start that has not decided within this long is reported as undecided. */
const VERDICT_TIMEOUT_MS = 20000;

export interface StockVerdict {
  started: boolean;
  /** ERROR/WARN lines of its log, prefixes stripped. */
  problems: string[];
  log: string;
}

export interface StockConfig {
  hacf: string;
  authkeys?: string;
  authkeysMode?: number;
  node: string;
}

export function stockHeartbeatVerdict(c: StockConfig): Promise<StockVerdict> {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-stock-"));
  const etc = join(dir, "etc");
  mkdirSync(etc);
  const log = join(dir, "log");
  writeFileSync(join(etc, "ha.cf"), `${c.hacf}\nlogfile ${log}\n`);
  writeFileSync(join(etc, "authkeys"), c.authkeys ?? "auth 1\n1 crc\n");
  chmodSync(join(etc, "authkeys"), c.authkeysMode ?? 0o600);
  writeFileSync(join(etc, "haresources"), "");
  // Inside the namespaces: heartbeat daemonises and returns; wait until it
  // logged a verdict, then leave (PID 1 exiting ends all of heartbeat's processes).
  const script = `
    set -u
    ip link set lo up
    ${STOCK_PRIVATE_NODE_SH}
    ${STOCK_HEARTBEAT} >"$3/stdout" 2>&1
    for i in $(seq 1 40); do
      grep -q -E "Configuration validated|not started" "$3/log" 2>/dev/null && break
      sleep 0.25
    done
  `;
  return new Promise((done) => {
    const child = spawn("unshare", ["--mount", "--uts", "--net", "--pid", "--mount-proc", "--fork", "sh", "-c", script, "sh", c.node, etc, dir], { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), VERDICT_TIMEOUT_MS);
    child.on("close", () => {
      clearTimeout(timer);
      let text = "";
      try {
        text = readFileSync(log, "utf8");
      } catch {
        /* no log: it never got that far */
      }
      rmSync(dir, { recursive: true, force: true });
      const problems = text
        .split("\n")
        .map((l) => l.replace(/^.*heartbeat: \[\d+\]: /, ""))
        .filter((l) => /^(ERROR|WARN):/.test(l) && !/core|Core|Logging daemon|cores/.test(l));
      done({ started: /Configuration validated/.test(text), problems, log: text });
    });
  });
}
