import { suite } from "uvu";
import * as assert from "uvu/assert";
import { clStatus, CL_NORMAL_FAIL, CL_OK, CL_PARAMETER_ERROR, CL_UNKNOWN_ERROR } from "./cl-status.js";
import type { AgentStatus } from "./status.js";

const t = suite("cl-status");

function agent(peerStatus: "active" | "dead", linkUp: boolean): AgentStatus {
  return {
    version: "0.1.0", pid: 1, uptimeMs: 10000, keepaliveMs: 1000, deadtimeMs: 30000,
    membership: {
      node: "alpha", status: "active", generation: 7, seq: 10, commUp: true, counters: {},
      peers: [{ name: "bravo", status: peerStatus, heard: true, generation: 3, lastStatusAt: 9000, dt: 30000, missing: 0, delivery: { first: 1, delivered: 9, skipped: 0, next: 10 }, links: [{ link: "eth0", up: linkUp, lastAt: 9000 }] }],
    },
    media: [{ kind: "ucast", link: "eth0", sent: 1, sendErrors: 0, received: 1, droppedBytes: 0, droppedFrames: 0 }],
  };
}

t("hbstatus: running 0, stopped 1, with cl_status's sentences", () => {
  assert.equal(clStatus("hbstatus", [], agent("active", true)), { stdout: "Heartbeat is running on this machine.\n", stderr: "", code: 0 });
  assert.equal(clStatus("hbstatus", [], null), { stdout: "Heartbeat is stopped on this machine.\n", stderr: "", code: 1 });
});

t("nodestatus: the status word, 0 when active/up, 1 when dead, 11 for an unknown node", () => {
  assert.equal(clStatus("nodestatus", ["bravo"], agent("active", true)), { stdout: "active\n", stderr: "", code: CL_OK });
  assert.equal(clStatus("nodestatus", ["bravo"], agent("dead", false)), { stdout: "dead\n", stderr: "", code: CL_NORMAL_FAIL });
  assert.is(clStatus("nodestatus", ["alpha"], agent("dead", false)).stdout, "active\n");
  assert.is(clStatus("nodestatus", ["zulu"], agent("active", true)).code, CL_PARAMETER_ERROR);
  assert.is(clStatus("nodestatus", [], agent("active", true)).code, CL_PARAMETER_ERROR);
  assert.is(clStatus("nodestatus", ["-m", "bravo"], agent("active", true)).stdout, "The cluster node bravo is active\n");
});

t("listnodes, listhblinks and hblinkstatus in cl_status's format", () => {
  assert.is(clStatus("listnodes", [], agent("active", true)).stdout, "alpha\nbravo\n");
  assert.is(clStatus("listhblinks", ["bravo"], agent("active", true)).stdout, "\teth0\n");
  assert.equal(clStatus("hblinkstatus", ["bravo", "eth0"], agent("active", true)), { stdout: "up\n", stderr: "", code: CL_OK });
  assert.equal(clStatus("hblinkstatus", ["bravo", "eth0"], agent("active", false)).code, CL_NORMAL_FAIL);
  assert.is(clStatus("hblinkstatus", ["bravo", "eth9"], agent("active", true)).code, CL_UNKNOWN_ERROR);
});

t("commands that need the agent fail with 1 when it is not running; unknown subcommands with 11", () => {
  assert.is(clStatus("nodestatus", ["bravo"], null).code, CL_NORMAL_FAIL);
  assert.is(clStatus("frobnicate", [], agent("active", true)).code, CL_PARAMETER_ERROR);
});

t.run();
