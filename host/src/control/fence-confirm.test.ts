import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { main } from "../cli/main.js";
import { ManualConfirmations, ManualDevice } from "../fencing/manual.js";
import { SILENT_LOG } from "../fencing/types.js";
import { fenceConfirmHandler } from "./fence-confirm.js";
import { controlSocketPath, serveControl } from "./socket.js";

const t = suite("lubdub fence-confirm");

t("manual fencing waits for the operator; fence-confirm over the control socket releases it; nothing is remembered for later", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-confirm-"));
  const manual = new ManualConfirmations();
  const logs: string[] = [];
  const server = await serveControl(controlSocketPath(dir), () => ({ ok: false, error: "no agent here" }), () => {}, fenceConfirmHandler(manual, (_l, ev) => logs.push(ev)));
  try {
    process.exitCode = 0;
    assert.is(await main(["fence-confirm", "bravo", "--run-dir", dir]), 1, "nothing waits yet");
    process.exitCode = 0;
    const device = new ManualDevice(manual, [], { localNode: "alpha", externalDir: "", fenceAgentsDir: "", log: SILENT_LOG });
    let outcome: unknown = null;
    const p = device.fence({ node: "bravo", action: "reboot", reason: "test" }).then((o) => (outcome = o));
    await new Promise((r) => setTimeout(r, 50));
    assert.is(outcome, null, "still waiting");
    assert.equal(manual.waiting().map((w) => w.node), ["bravo"]);
    assert.is(await main(["fence-confirm", "charlie", "--run-dir", dir]), 1, "another node");
    process.exitCode = 0;
    assert.is(await main(["fence-confirm", "BRAVO", "--run-dir", dir]), 0);
    await p;
    assert.equal(outcome, { ok: true, state: "off", detail: "confirmed by an operator" });
    assert.equal(manual.waiting(), []);
    assert.ok(logs.includes("control.fence-confirm"));
  } finally {
    process.exitCode = 0;
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

t("no agent: exit 3", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-confirm-"));
  try {
    assert.is(await main(["fence-confirm", "bravo", "--run-dir", dir]), 3);
  } finally {
    process.exitCode = 0;
    rmSync(dir, { recursive: true, force: true });
  }
});

t("an aborted wait (the policy's time is up) answers aborted", async () => {
  const manual = new ManualConfirmations();
  const device = new ManualDevice(manual, ["bravo"], { localNode: "alpha", externalDir: "", fenceAgentsDir: "", log: SILENT_LOG });
  const ac = new AbortController();
  const p = device.fence({ node: "bravo", action: "off", reason: "x", signal: ac.signal });
  ac.abort(new Error("attempt timed out"));
  const o = await p;
  assert.is(o.ok, false);
  assert.equal(manual.waiting(), []);
  const other = await device.fence({ node: "charlie", action: "off", reason: "x" });
  assert.is(!other.ok && other.code, "badhost");
});

t.run();
