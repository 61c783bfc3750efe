// The device client core on a fake clock against a scripted device: the
// nonce fetched first, a stale nonce refreshed once (not twice), replies
// that do not verify fail at once, timeouts from tick, aborts, and the
// fence-node mapping (off read back, unknown target).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  DEV_HELLO, DEV_RESULT, DEV_STATUS, DEVICE_NODE, DF_ACTION, DF_ERROR, DF_NONCE, DF_OK, DF_REQID, DF_STATE, ERR_STALE_NONCE, ERR_UNKNOWN_TARGET,
  decodeClassicMessage, deviceMessage, getField, setString, signDeviceMessage, type DeviceKey, type Message,
} from "@lubdub/protocol";
import { DeviceClientCore, nodeHmac, type DeviceClientEffect, type DeviceOpResult } from "./client-core.js";

const t = suite("device client core");
const KEY: DeviceKey = { index: 1, method: "sha1", secret: "test-key" };
const OTHER: DeviceKey = { index: 1, method: "sha1", secret: "not-the-key" };

/** Frames the core sent, decoded; settled results by op id. */
class Harness {
  readonly core = new DeviceClientCore({ name: "alpha", session: "s1", key: KEY, timeoutMs: 1000, linkName: "/dev/ttyT" });
  readonly sent: Message[] = [];
  readonly settled = new Map<number, DeviceOpResult>();
  lastXid = 0;
  now = 0;

  apply(effects: DeviceClientEffect[]): void {
    for (const e of effects) {
      if (e.kind === "send") {
        const d = decodeClassicMessage(e.frame, 0, 0);
        assert.ok(d.ok);
        if (d.ok) this.sent.push(d.message);
        this.lastXid = e.xid;
      } else if (e.kind === "settled") this.settled.set(e.op, e.result);
    }
  }

  last(): Message {
    return this.sent[this.sent.length - 1]!;
  }

  /** The device answers the last request. */
  reply(t: string, fields: Record<string, string>, key: DeviceKey = KEY): void {
    const req = this.last();
    const msg = deviceMessage(t, DEVICE_NODE, "alpha");
    const reqid = getField(req, DF_REQID);
    if (reqid !== null) setString(msg, DF_REQID, reqid);
    for (const [k, v] of Object.entries(fields)) setString(msg, k, v);
    signDeviceMessage(msg, key, nodeHmac);
    this.apply(this.core.receive(this.now, msg));
  }
}

t("a request without a nonce says hello first, then spends the status's nonce; a stale nonce is refreshed once", () => {
  const h = new Harness();
  const { id, effects } = h.core.submit(0, { kind: "request", t: "ldev-wd-disarm", fields: {} });
  h.apply(effects);
  assert.is(getField(h.last(), "t"), DEV_HELLO);
  h.reply(DEV_STATUS, { [DF_OK]: "1", [DF_NONCE]: "n1" });
  assert.is(getField(h.last(), DF_NONCE), "n1");
  assert.is(getField(h.last(), DF_REQID), "alpha-s1-1");
  h.reply(DEV_RESULT, { [DF_OK]: "0", [DF_ERROR]: ERR_STALE_NONCE, [DF_NONCE]: "n2" });
  // Refreshed: hello again (the nonce was dropped), then the request again.
  assert.is(getField(h.last(), "t"), DEV_HELLO);
  h.reply(DEV_STATUS, { [DF_OK]: "1", [DF_NONCE]: "n3" });
  assert.is(getField(h.last(), DF_NONCE), "n3");
  assert.is(getField(h.last(), DF_REQID), "alpha-s1-2");
  h.reply(DEV_RESULT, { [DF_OK]: "0", [DF_ERROR]: ERR_STALE_NONCE, [DF_NONCE]: "n4" });
  // Only once: the second stale answer is the result.
  const r = h.settled.get(id);
  assert.ok(r && r.kind === "result" && !r.result.ok && r.result.error === ERR_STALE_NONCE, JSON.stringify(r));
  assert.is(h.sent.length, 4);
});

t("a reply that does not verify fails the exchange at once (auth); an unrelated one is only counted", () => {
  const h = new Harness();
  h.core.nonce = "n1";
  const { id, effects } = h.core.submit(0, { kind: "request", t: "ldev-wd-disarm", fields: {} });
  h.apply(effects);
  const stray = deviceMessage(DEV_RESULT, DEVICE_NODE, "alpha");
  setString(stray, DF_REQID, "someone-else-1");
  signDeviceMessage(stray, OTHER, nodeHmac);
  h.apply(h.core.receive(1, stray));
  assert.is(h.settled.size, 0);
  assert.is(h.core.unverified, 1);
  h.reply(DEV_RESULT, { [DF_OK]: "1" }, OTHER);
  const r = h.settled.get(id);
  assert.ok(r && r.kind === "error" && r.error.kind === "auth", JSON.stringify(r));
  assert.match(r.kind === "error" ? r.error.message : "", /^\/dev\/ttyT: the device's ldev-result does not verify/);
});

t("every exchange is bounded: tick past the deadline fails it (timeout), and the next queued operation runs", () => {
  const h = new Harness();
  h.core.nonce = "n1";
  const a = h.core.submit(0, { kind: "request", t: "ldev-wd-disarm", fields: {} });
  const b = h.core.submit(0, { kind: "hello" });
  h.apply(a.effects);
  h.apply(b.effects);
  assert.is(h.sent.length, 1, "one at a time");
  assert.is(h.core.nextWakeup(), 1000);
  h.apply(h.core.tick(999));
  assert.is(h.settled.size, 0);
  h.apply(h.core.tick(1000));
  const r = h.settled.get(a.id);
  assert.ok(r && r.kind === "error" && r.error.kind === "timeout", JSON.stringify(r));
  assert.is(getField(h.last(), "t"), DEV_HELLO, "the queued hello went out");
  h.now = 1500;
  h.reply(DEV_STATUS, { [DF_OK]: "1", [DF_NONCE]: "n2", outlets: "1 alpha on" });
  const s = h.settled.get(b.id);
  assert.ok(s && s.kind === "status" && s.status.ok && s.status.outlets.length === 1, JSON.stringify(s));
  assert.is(h.core.nextWakeup(), Infinity);
});

t("abort fails the running operation; a failed send fails it as down", () => {
  const h = new Harness();
  h.core.nonce = "n1";
  const a = h.core.submit(0, { kind: "hello" });
  h.apply(a.effects);
  h.apply(h.core.abort(5, a.id, "aborted waiting for ldev-status"));
  const r = h.settled.get(a.id);
  assert.ok(r && r.kind === "error" && r.error.kind === "aborted");
  const b = h.core.submit(10, { kind: "hello" });
  h.apply(b.effects);
  h.apply(h.core.sendFailed(11, h.lastXid, "link is down"));
  const d = h.settled.get(b.id);
  assert.ok(d && d.kind === "error" && d.error.kind === "down" && d.error.message === "/dev/ttyT: link is down", JSON.stringify(d));
});

t("fence-node: off is read back with a status request; an unknown target is badhost; a timeout is a failure outcome", () => {
  let h = new Harness();
  h.core.nonce = "n1";
  let op = h.core.submit(0, { kind: "fence-node", target: "bravo", action: "off", reason: "peer bravo declared dead", where: "lubdub device" });
  h.apply(op.effects);
  assert.is(getField(h.last(), DF_ACTION), "off");
  h.reply(DEV_RESULT, { [DF_OK]: "1", [DF_STATE]: "off", [DF_NONCE]: "n2" });
  assert.is(getField(h.last(), DF_ACTION), "status");
  h.reply(DEV_RESULT, { [DF_OK]: "1", [DF_STATE]: "off", [DF_NONCE]: "n3" });
  assert.equal(h.settled.get(op.id), { kind: "outcome", outcome: { ok: true, state: "off" }, failure: null });

  h = new Harness();
  h.core.nonce = "n1";
  op = h.core.submit(0, { kind: "fence-node", target: "charlie", action: "reboot", reason: "", where: "lubdub device" });
  h.apply(op.effects);
  h.reply(DEV_RESULT, { [DF_OK]: "0", [DF_ERROR]: ERR_UNKNOWN_TARGET, [DF_NONCE]: "n2" });
  const bad = h.settled.get(op.id);
  assert.ok(bad && bad.kind === "outcome" && !bad.outcome.ok && bad.outcome.code === "badhost" && bad.failure === null, JSON.stringify(bad));

  h = new Harness();
  h.core.nonce = "n1";
  op = h.core.submit(0, { kind: "fence-node", target: "bravo", action: "reboot", reason: "", where: "lubdub device" });
  h.apply(op.effects);
  h.apply(h.core.tick(1000));
  const late = h.settled.get(op.id);
  assert.ok(late && late.kind === "outcome" && !late.outcome.ok && late.outcome.code === "timeout" && late.failure?.kind === "timeout", JSON.stringify(late));
  assert.match(late.kind === "outcome" && !late.outcome.ok ? late.outcome.message : "", /^lubdub device: \/dev\/ttyT: no ldev-result alpha-s1-1 within 1000 ms$/);
});

t.run();
