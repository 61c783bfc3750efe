// ha.cf's logfile, debugfile and logfacility, through the real parts: files
// on disk and util-linux logger writing to a syslog socket (socat listens).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createLogger } from "@lubdub/host/agent/log";
import { logDestination } from "@lubdub/host/agent/log-targets";
import { SOCAT, testWhere } from "./support/require.js";

const t = suite("log targets");
const dir = mkdtempSync(join(tmpdir(), "lubdub-log-"));

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

testWhere(t, "logfile gets info and above, debugfile everything, syslog gets each line with its facility and severity", [SOCAT, { command: "logger", pkg: "bsdutils" }], async () => {
  const sock = join(dir, "syslog.sock");
  const received = join(dir, "syslog.out");
  const socat = spawn("sh", ["-c", `exec socat -u UNIX-RECV:${sock} - > ${received}`]);
  try {
    assert.ok(await waitFor(() => existsSync(sock), 5000), "syslog socket ready");
    const logfile = join(dir, "ha-log");
    const debugfile = join(dir, "ha-debug");
    const dest = logDestination({ stdout: false, logfile, debugfile, logfacility: "local3", syslogSocket: sock, debug: false });
    const log = createLogger("alpha", "debug", dest.stream);
    log.info({ event: "node.status" }, "status update for node bravo: status active");
    log.crit({ event: "node.partition-return" }, "cluster node bravo returning after partition");
    log.debug({ event: "rexmit.sent" }, "retransmitted seq 5");
    assert.ok(await waitFor(() => existsSync(received) && readFileSync(received, "utf8").includes("partition-return"), 5000), "syslog lines arrived");
    const syslog = readFileSync(received, "utf8");
    assert.match(syslog, "<158>"); // local3 (19) * 8 + info (6)
    assert.match(syslog, "<154>"); // local3 * 8 + crit (2)
    assert.match(syslog, "lubdubd[");
    assert.not.match(syslog, "rexmit.sent"); // debug stays out unless ha.cf says debug
    assert.ok(await waitFor(() => existsSync(debugfile) && readFileSync(debugfile, "utf8").includes("rexmit.sent"), 5000));
    const main = readFileSync(logfile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { event: string; level: number });
    assert.equal(main.map((r) => r.event), ["node.status", "node.partition-return"]);
    assert.is(main[1]!.level, 55);
    await dest.close();
  } finally {
    socat.kill("SIGKILL");
  }
});

t("an unknown facility is refused by name", () => {
  assert.throws(() => logDestination({ stdout: false, logfacility: "local9", debug: false }), /local9/);
});

t.after(() => rmSync(dir, { recursive: true, force: true }));
t.run();
