// The host side of the lubdub device protocol as a pure, synchronous state
// machine (the functional core behind HostDeviceClient, and the one the
// cluster simulator drives in virtual time). It is fed operations, the
// device's messages, link failures and the clock; it answers with effects:
// frames to write, operations settled, unsolicited device events.
//
// What it does: ldev-hello for the status and the port's nonce; signed
// ldev-fence / ldev-wd-arm / ldev-wd-disarm requests, each answered by an
// ldev-result with the same reqid and spending the nonce the previous answer
// gave, so operations run strictly one at a time; a stale nonce (another
// request raced ours, the device rebooted) is refreshed once. Every answer
// must be signed with the cluster key: a reply that does not verify is never
// trusted, and one that answers the exchange in progress fails it at once
// (auth) rather than letting it wait for the timeout. Every exchange is
// bounded by the timeout, measured on the clock the caller passes in.
//
// A "fence-node" operation is one fence attempt as the `lubdub` fence type
// makes it (LubdubDevice.fence): the request, an off read back with a status
// request, and the answers mapped to a FenceOutcome.

import {
  ACTION_OFF, DEV_EVENT, DEV_FENCE, DEV_HELLO, DEV_RESULT, DEV_STATUS, DEV_WD_ARM, DEV_WD_DISARM, DEVICE_NODE, DF_ACTION, DF_BOOT, DF_ERROR,
  DF_LAST_FENCE, DF_NONCE, DF_OK, DF_OUTLETS, DF_REASON, DF_REQID, DF_STATE, DF_TARGET, DF_TIMEOUT, DF_WATCHDOGS, ERR_STALE_NONCE, ERR_UNKNOWN_TARGET,
  MAX_DEVICE_TEXT, type DeviceKey, type HmacFn, type Message, deviceMessage, encodeClassic, findMethod, getField, setString, signDeviceMessage,
  splitDeviceList, verifyDeviceMessage,
} from "@lubdub/protocol";
import { done, fail, type FenceAction, type FenceOutcome, type PowerState } from "../types.js";

/** How long one exchange waits for its answer unless told otherwise. */
export const DEVICE_REQUEST_TIMEOUT_MS = 5000;

/** HMAC with the protocol's own Node methods (sha1, md5). */
export const nodeHmac: HmacFn = (method, key, data) => {
  const m = findMethod(method);
  return m && m.keyed ? m.digest(key, data) : null;
};

export type DeviceErrorKind = "timeout" | "down" | "aborted" | "auth";

export interface DeviceFailure {
  kind: DeviceErrorKind;
  message: string;
}

export interface DeviceOutlet {
  n: number;
  name: string;
  state: "on" | "off" | "cycling";
}

export interface DeviceWatchdog {
  port: string;
  host: string;
  state: string;
  timeoutMs: number;
  cycles: number;
}

export interface DeviceStatus {
  /** false when the device has no key configured (it can do nothing then). */
  ok: boolean;
  error: string | null;
  outlets: DeviceOutlet[];
  watchdogs: DeviceWatchdog[];
  /** "target action by ageMs reason" of the last fence, or "". */
  lastFence: string;
  boot: number | null;
}

export interface DeviceResult {
  ok: boolean;
  /** One of the protocol's ERR_ codes when ok is false. */
  error: string | null;
  /** ldev-fence: the target's state after the request (on, off, cycling). */
  state: string | null;
  reqid: string;
}

export interface DeviceEvent {
  event: string;
  host: string | null;
  by: string | null;
  reason: string | null;
}

export function parseOutlets(v: string): DeviceOutlet[] {
  const out: DeviceOutlet[] = [];
  for (const e of splitDeviceList(v)) {
    const first = e.indexOf(" ");
    const last = e.lastIndexOf(" ");
    if (first <= 0 || last <= first) continue;
    const state = e.slice(last + 1);
    if (state !== "on" && state !== "off" && state !== "cycling") continue;
    out.push({ n: Number(e.slice(0, first)), name: e.slice(first + 1, last), state });
  }
  return out;
}

export function parseWatchdogs(v: string): DeviceWatchdog[] {
  return splitDeviceList(v).map((e) => {
    const [port = "", host = "", state = "", timeout = "0", cycles = "0"] = e.split(" ");
    return { port, host, state, timeoutMs: Number(timeout), cycles: Number(cycles) };
  });
}

export function parseStatus(msg: Message): DeviceStatus {
  return {
    ok: getField(msg, DF_OK) === "1",
    error: getField(msg, DF_ERROR),
    outlets: parseOutlets(getField(msg, DF_OUTLETS) ?? ""),
    watchdogs: parseWatchdogs(getField(msg, DF_WATCHDOGS) ?? ""),
    lastFence: getField(msg, DF_LAST_FENCE) ?? "",
    boot: getField(msg, DF_BOOT) === null ? null : Number(getField(msg, DF_BOOT)),
  };
}

/** The FenceOutcome of a device failure (the link, the clock, the key). */
export function failureOutcome(f: DeviceFailure, where: string): FenceOutcome {
  return fail(f.kind === "timeout" ? "timeout" : f.kind === "aborted" ? "aborted" : f.kind === "auth" ? "config" : "unreachable", `${where}: ${f.message}`);
}

// ---- operations ---------------------------------------------------------------

export type DeviceOp =
  /** ldev-hello → the device's status. */
  | { kind: "hello" }
  /** A signed request (ldev-fence, ldev-wd-arm, ldev-wd-disarm) → its ldev-result. */
  | { kind: "request"; t: string; fields: Record<string, string> }
  /** One fence attempt as the `lubdub` fence type makes it → a FenceOutcome. `where` prefixes its messages. */
  | { kind: "fence-node"; target: string; action: FenceAction; reason: string; where: string };

export type DeviceOpResult =
  | { kind: "status"; status: DeviceStatus }
  | { kind: "result"; result: DeviceResult }
  /**
   * fence-node's answer. `failure` is set when the outcome comes from a
   * failed exchange (timeout, link down, aborted, a reply that does not
   * verify) rather than from an answer of the device: the fence type drops
   * its client (and link) then, except when aborted.
   */
  | { kind: "outcome"; outcome: FenceOutcome; failure: DeviceFailure | null }
  | { kind: "error"; error: DeviceFailure };

export type DeviceClientEffect =
  /** Write this classic frame to the device's port; report a failed write with sendFailed(xid). */
  | { kind: "send"; xid: number; frame: string }
  | { kind: "settled"; op: number; result: DeviceOpResult }
  /** An unsolicited ldev-event (signed ones only). */
  | { kind: "event"; event: DeviceEvent };

export interface DeviceClientCoreOptions {
  /** `src` of requests: this host's node name. */
  name: string;
  /** Part of every reqid, different for each client process (so a restarted client's reqids are new). */
  session: string;
  key: DeviceKey;
  hmac?: HmacFn;
  timeoutMs?: number;
  /** Prefix of failure messages (the link's name, e.g. the tty). */
  linkName?: string;
}

/** One message exchange: a frame sent, and the answer it waits for. */
interface Exchange {
  xid: number;
  what: string;
  deadline: number;
  match(m: Message): boolean;
  answer(m: Message): void;
}

/** A running operation: its steps are continuations of exchanges. */
interface Running {
  id: number;
  op: DeviceOp;
  fail(f: DeviceFailure): void;
}

export class DeviceClientCore {
  /** The port's current nonce, from the device's last signed status or result. */
  nonce: string | null = null;
  /** Replies dropped because their signature did not verify. */
  unverified = 0;
  private readonly queue: Array<{ id: number; op: DeviceOp }> = [];
  private running: Running | null = null;
  private exchange: Exchange | null = null;
  private nextOp = 1;
  private nextXid = 1;
  private seq = 0;
  private now = 0;
  private out: DeviceClientEffect[] = [];
  private readonly hmac: HmacFn;
  private readonly timeoutMs: number;
  private readonly prefix: string;

  constructor(private readonly o: DeviceClientCoreOptions) {
    this.hmac = o.hmac ?? nodeHmac;
    this.timeoutMs = o.timeoutMs ?? DEVICE_REQUEST_TIMEOUT_MS;
    this.prefix = o.linkName !== undefined ? `${o.linkName}: ` : "";
  }

  // ---- inputs ---------------------------------------------------------------

  /** Queues an operation; operations run one after another. */
  submit(now: number, op: DeviceOp): { id: number; effects: DeviceClientEffect[] } {
    const id = this.nextOp++;
    const effects = this.run(now, () => {
      this.queue.push({ id, op });
      this.pump();
    });
    return { id, effects };
  }

  /** A message from the device (a decoded ldev-* frame). */
  receive(now: number, msg: Message): DeviceClientEffect[] {
    return this.run(now, () => {
      const x = this.exchange;
      const bad = verifyDeviceMessage(msg, this.o.key, this.hmac);
      if (bad !== "") {
        // Never trusted. An answer to the exchange in progress that does not
        // verify means the device has another key (or none): fail now rather
        // than wait for the timeout. A forger on the line could only make it fail.
        this.unverified++;
        if (x && x.match(msg)) {
          this.failRunning({ kind: "auth", message: `${this.prefix}the device's ${getField(msg, "t")} does not verify with our key (${bad}): authkeys differ from the device's key` });
        }
        return;
      }
      if (getField(msg, "t") === DEV_EVENT) {
        this.out.push({ kind: "event", event: { event: getField(msg, "event") ?? "", host: getField(msg, "host"), by: getField(msg, "by"), reason: getField(msg, DF_REASON) } });
        return;
      }
      const nonce = getField(msg, DF_NONCE);
      if (nonce !== null) this.nonce = nonce;
      if (x && x.match(msg)) {
        this.exchange = null;
        x.answer(msg);
      }
    });
  }

  /** The clock moved: an exchange past its deadline fails (timeout). */
  tick(now: number): DeviceClientEffect[] {
    return this.run(now, () => {
      const x = this.exchange;
      if (x && now >= x.deadline) this.failRunning({ kind: "timeout", message: `${this.prefix}no ${x.what} within ${this.timeoutMs} ms` });
    });
  }

  /** When tick must be called next (Infinity: nothing waits). */
  nextWakeup(): number {
    return this.exchange ? this.exchange.deadline : Infinity;
  }

  /** Writing exchange `xid`'s frame failed (or the link was down): its operation fails (down). */
  sendFailed(now: number, xid: number, message: string): DeviceClientEffect[] {
    return this.run(now, () => {
      if (this.exchange?.xid === xid) this.failRunning({ kind: "down", message: `${this.prefix}${message}` });
    });
  }

  /** The link went down: the operation in progress fails (down); queued ones still run (and fail at their send if it stays down). */
  linkDown(now: number, message: string): DeviceClientEffect[] {
    return this.run(now, () => {
      if (this.running) this.failRunning({ kind: "down", message: `${this.prefix}${message}` });
    });
  }

  /** Fails operation `id` (running or queued) as aborted. */
  abort(now: number, id: number, message = "aborted"): DeviceClientEffect[] {
    return this.run(now, () => {
      if (this.running?.id === id) return this.failRunning({ kind: "aborted", message });
      const i = this.queue.findIndex((q) => q.id === id);
      if (i < 0) return;
      this.queue.splice(i, 1);
      this.settle(id, { kind: "error", error: { kind: "aborted", message } });
    });
  }

  /** Fails every operation, running and queued, with `failure`. */
  close(now: number, failure: DeviceFailure): DeviceClientEffect[] {
    return this.run(now, () => {
      const queued = this.queue.splice(0);
      if (this.running) this.failRunning(failure);
      for (const q of queued) this.settle(q.id, { kind: "error", error: failure });
    });
  }

  // ---- operations -------------------------------------------------------------

  private pump(): void {
    while (!this.running) {
      const next = this.queue.shift();
      if (!next) return;
      this.start(next.id, next.op);
    }
  }

  private start(id: number, op: DeviceOp): void {
    const finish = (result: DeviceOpResult) => {
      if (this.running !== r) return;
      this.running = null;
      this.exchange = null;
      this.settle(id, result);
      this.pump();
    };
    let onFail = (f: DeviceFailure) => finish({ kind: "error", error: f });
    const r: Running = { id, op, fail: (f) => onFail(f) };
    this.running = r;
    switch (op.kind) {
      case "hello":
        this.hello((status) => finish({ kind: "status", status }));
        return;
      case "request":
        this.request(op.t, op.fields, (result) => finish({ kind: "result", result }));
        return;
      case "fence-node": {
        const { target, action, where } = op;
        onFail = (f) => finish({ kind: "outcome", outcome: failureOutcome(f, where), failure: f });
        const outcome = (o: FenceOutcome) => finish({ kind: "outcome", outcome: o, failure: null });
        const fence = (a: string, reason: string, then: (res: DeviceResult) => void) =>
          this.request(DEV_FENCE, { [DF_TARGET]: target, [DF_ACTION]: a, [DF_REASON]: reason.slice(0, MAX_DEVICE_TEXT) }, then);
        fence(action, op.reason, (res) => {
          if (!res.ok) return outcome(fail(res.error === ERR_UNKNOWN_TARGET ? "badhost" : "refused", `${where}: ${action} ${target} refused: ${res.error}`));
          const state = (res.state ?? "unknown") as PowerState;
          if (action === ACTION_OFF) {
            // Read it back: the device's answer and a fresh status must agree.
            fence("status", "verify off", (back) => {
              if (!back.ok || back.state !== "off") return outcome(fail("unverified", `${where}: off ${target} answered ${state}, read back ${back.ok ? back.state : back.error}`));
              outcome(done("off"));
            });
            return;
          }
          if (action === "reboot" && state !== "cycling" && state !== "on" && state !== "off") return outcome(fail("unverified", `${where}: reboot ${target} answered state ${state}`));
          outcome(done(state));
        });
        return;
      }
    }
  }

  private hello(then: (status: DeviceStatus) => void): void {
    this.send(deviceMessage(DEV_HELLO, this.o.name, DEVICE_NODE), (m) => getField(m, "t") === DEV_STATUS, "ldev-status", (m) => then(parseStatus(m)));
  }

  /** A signed request; a stale nonce is refreshed once. */
  private request(t: string, fields: Record<string, string>, then: (r: DeviceResult) => void, attempt = 0): void {
    if (this.nonce === null) {
      this.hello(() => {
        if (this.nonce === null) return this.failRunning({ kind: "auth", message: `${this.prefix}the device's ldev-status carries no nonce` });
        this.request(t, fields, then, attempt);
      });
      return;
    }
    const reqid = `${this.o.name}-${this.o.session}-${++this.seq}`;
    const msg = deviceMessage(t, this.o.name, DEVICE_NODE);
    setString(msg, DF_REQID, reqid);
    setString(msg, DF_NONCE, this.nonce);
    for (const [k, v] of Object.entries(fields)) setString(msg, k, v);
    if (!signDeviceMessage(msg, this.o.key, this.hmac)) {
      return this.failRunning({ kind: "auth", message: `cannot sign with method ${this.o.key.method} (the device needs sha1 or md5)` });
    }
    this.send(msg, (m) => getField(m, "t") === DEV_RESULT && getField(m, DF_REQID) === reqid, `ldev-result ${reqid}`, (reply) => {
      const r: DeviceResult = { ok: getField(reply, DF_OK) === "1", error: getField(reply, DF_ERROR), state: getField(reply, DF_STATE), reqid };
      if (!r.ok && r.error === ERR_STALE_NONCE && attempt === 0) {
        this.nonce = null;
        return this.request(t, fields, then, 1);
      }
      then(r);
    });
  }

  private send(msg: Message, match: (m: Message) => boolean, what: string, answer: (m: Message) => void): void {
    const xid = this.nextXid++;
    this.exchange = { xid, what, deadline: this.now + this.timeoutMs, match, answer };
    this.out.push({ kind: "send", xid, frame: encodeClassic(msg) });
  }

  private failRunning(f: DeviceFailure): void {
    this.exchange = null;
    this.running?.fail(f);
  }

  private settle(op: number, result: DeviceOpResult): void {
    this.out.push({ kind: "settled", op, result });
  }

  private run(now: number, f: () => void): DeviceClientEffect[] {
    this.now = now;
    const outer = this.out;
    this.out = [];
    f();
    const effects = this.out;
    this.out = outer;
    return effects;
  }
}

/** The fields of the signed requests HostDeviceClient offers. */
export function fenceRequest(target: string, action: string, reason: string): DeviceOp {
  return { kind: "request", t: DEV_FENCE, fields: { [DF_TARGET]: target, [DF_ACTION]: action, [DF_REASON]: reason.slice(0, MAX_DEVICE_TEXT) } };
}
export function armRequest(timeoutMs: number): DeviceOp {
  return { kind: "request", t: DEV_WD_ARM, fields: { [DF_TIMEOUT]: String(Math.round(timeoutMs)) } };
}
export function disarmRequest(): DeviceOp {
  return { kind: "request", t: DEV_WD_DISARM, fields: {} };
}
