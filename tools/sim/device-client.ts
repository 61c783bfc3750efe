// The host side of the device protocol for the simulator: what
// host/src/fencing/device/client.ts (HostDeviceClient) and
// host/src/fencing/lubdub.ts (LubdubDevice.fence) do, written without
// promises or real timers so that it runs inside one step of the event
// queue. The wire behaviour is the same: ldev-hello when no nonce is known,
// signed requests carrying the port's nonce, one stale-nonce refresh, replies
// that do not verify fail the request (auth), every exchange bounded by
// DEVICE_REQUEST_TIMEOUT_MS; and the same mapping of answers to
// FenceOutcome (unknown-target → badhost, other refusals → refused, an off
// read back with a status request, a client dropped after a failure).
//
// The pure part of HostDeviceClient (matching, nonce, retry) could live in the
// host as a core both use; until then this file mirrors it.

import {
  DEV_EVENT, DEV_FENCE, DEV_HELLO, DEV_RESULT, DEV_STATUS, DEVICE_NODE, DF_ACTION, DF_ERROR, DF_NONCE, DF_OK, DF_REASON, DF_REQID, DF_STATE,
  DF_TARGET, ERR_STALE_NONCE, ERR_UNKNOWN_TARGET, MAX_DEVICE_TEXT, deviceMessage, encodeClassic, getField, setString, signDeviceMessage,
  verifyDeviceMessage, type DeviceKey, type HmacFn, type Message,
} from "@lubdub/protocol";
import { clientModule, fenceTypesModule, type FenceOutcome } from "./host-modules.js";

const { DEVICE_REQUEST_TIMEOUT_MS, nodeHmac } = clientModule;
const { done, fail } = fenceTypesModule;

export interface ClientIo {
  /** Writes one classic frame to the device's host port. */
  send(frame: string): void;
  /** Calls fn after ms on the host's clock; returns a cancel function. */
  timer(ms: number, fn: () => void): () => void;
}

type Failure = { kind: "timeout" | "down" | "aborted" | "auth"; message: string };
type Reply = { ok: boolean; error: string | null; state: string | null };

interface Waiter {
  match(m: Message): boolean;
  resolve(m: Message): void;
  reject(f: Failure): void;
}

export class SimDeviceClient {
  nonce: string | null = null;
  unverified = 0;
  private waiter: Waiter | null = null;
  private seq = 0;
  private readonly hmac: HmacFn = nodeHmac;

  constructor(
    private readonly io: ClientIo,
    private readonly key: DeviceKey,
    private readonly name: string,
    private readonly session: string,
  ) {}

  /** A frame from the device (already known to be an ldev-* message). */
  onMessage(msg: Message): void {
    const bad = verifyDeviceMessage(msg, this.key, this.hmac);
    if (bad !== "") {
      this.unverified++;
      const w = this.waiter;
      if (w && w.match(msg)) w.reject({ kind: "auth", message: `the device's ${getField(msg, "t")} does not verify (${bad})` });
      return;
    }
    if (getField(msg, "t") === DEV_EVENT) return;
    const nonce = getField(msg, DF_NONCE);
    if (nonce !== null) this.nonce = nonce;
    const w = this.waiter;
    if (w && w.match(msg)) w.resolve(msg);
  }

  /** Fails the exchange in progress (the caller's time is up). */
  abort(): void {
    this.waiter?.reject({ kind: "aborted", message: "aborted" });
  }

  private exchange(msg: Message, match: (m: Message) => boolean, what: string, ok: (m: Message) => void, bad: (f: Failure) => void): void {
    let cancel: () => void = () => undefined;
    const w: Waiter = {
      match,
      resolve: (m) => {
        cancel();
        if (this.waiter === w) this.waiter = null;
        ok(m);
      },
      reject: (f) => {
        cancel();
        if (this.waiter === w) this.waiter = null;
        bad(f);
      },
    };
    this.waiter = w;
    cancel = this.io.timer(DEVICE_REQUEST_TIMEOUT_MS, () => w.reject({ kind: "timeout", message: `no ${what} within ${DEVICE_REQUEST_TIMEOUT_MS} ms` }));
    this.io.send(encodeClassic(msg));
  }

  /** A signed request; a stale nonce is refreshed once. */
  request(t: string, fields: Record<string, string>, cb: (r: Reply | Failure) => void, attempt = 0): void {
    if (this.nonce === null) {
      this.exchange(deviceMessage(DEV_HELLO, this.name, DEVICE_NODE), (m) => getField(m, "t") === DEV_STATUS, "ldev-status",
        () => (this.nonce === null ? cb({ kind: "auth", message: "status without nonce" }) : this.request(t, fields, cb, attempt)), cb);
      return;
    }
    const reqid = `${this.name}-${this.session}-${++this.seq}`;
    const msg = deviceMessage(t, this.name, DEVICE_NODE);
    setString(msg, DF_REQID, reqid);
    setString(msg, DF_NONCE, this.nonce);
    for (const k in fields) setString(msg, k, fields[k]!);
    if (!signDeviceMessage(msg, this.key, this.hmac)) return cb({ kind: "auth", message: `cannot sign with ${this.key.method}` });
    this.exchange(msg, (m) => getField(m, "t") === DEV_RESULT && getField(m, DF_REQID) === reqid, `ldev-result ${reqid}`, (reply) => {
      const r: Reply = { ok: getField(reply, DF_OK) === "1", error: getField(reply, DF_ERROR), state: getField(reply, DF_STATE) };
      if (!r.ok && r.error === ERR_STALE_NONCE && attempt === 0) {
        this.nonce = null;
        this.request(t, fields, cb, 1);
        return;
      }
      cb(r);
    }, cb);
  }

  /** LubdubDevice.fence: one fence attempt as a FenceOutcome. */
  fence(target: string, action: "reboot" | "off", reason: string, cb: (o: FenceOutcome, closeClient: boolean) => void): void {
    const where = "lubdub device";
    const failure = (f: Failure) => {
      const code = f.kind === "timeout" ? "timeout" : f.kind === "aborted" ? "aborted" : f.kind === "auth" ? "config" : "unreachable";
      cb(fail(code, `${where}: ${f.message}`), code !== "aborted");
    };
    this.request(DEV_FENCE, { [DF_TARGET]: target, [DF_ACTION]: action, [DF_REASON]: reason.slice(0, MAX_DEVICE_TEXT) }, (r) => {
      if ("kind" in r) return failure(r);
      if (!r.ok) return cb(fail(r.error === ERR_UNKNOWN_TARGET ? "badhost" : "refused", `${where}: ${action} ${target} refused: ${r.error}`), false);
      const state = r.state ?? "unknown";
      if (action === "off") {
        this.request(DEV_FENCE, { [DF_TARGET]: target, [DF_ACTION]: "status", [DF_REASON]: "verify off" }, (back) => {
          if ("kind" in back) return failure(back);
          if (!back.ok || back.state !== "off") return cb(fail("unverified", `${where}: off ${target} answered ${state}, read back ${back.ok ? back.state : back.error}`), false);
          cb(done("off"), false);
        });
        return;
      }
      if (state !== "cycling" && state !== "on" && state !== "off") return cb(fail("unverified", `${where}: reboot ${target} answered state ${state}`), false);
      cb(done(state), false);
    });
  }
}
