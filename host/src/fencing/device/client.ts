// The host side of the lubdub device protocol (protocol/src/portable/device.ts),
// for the agent and the fence tools: ldev-hello for the status and the port's
// nonce, then signed ldev-fence / ldev-wd-arm / ldev-wd-disarm requests, each
// answered by an ldev-result with the same reqid. Requests go one at a time
// (each one spends the nonce the previous answer gave). Every answer must be
// signed with the cluster key: a reply that does not verify is ignored (it
// may be forged), so it can only make the request time out, never succeed.
// Every wait is bounded.

import { randomBytes } from "node:crypto";
import {
  ACTION_OFF, DEV_EVENT, DEV_FENCE, DEV_HELLO, DEV_RESULT, DEV_STATUS, DEV_WD_ARM, DEV_WD_DISARM, DEVICE_NODE, DF_ACTION, DF_BOOT, DF_ERROR,
  DF_LAST_FENCE, DF_NONCE, DF_OK, DF_OUTLETS, DF_REASON, DF_REQID, DF_STATE, DF_TARGET, DF_TIMEOUT, DF_WATCHDOGS, ERR_STALE_NONCE, MAX_DEVICE_TEXT,
  type DeviceKey, type HmacFn, type Message, deviceMessage, encodeClassic, findMethod, getField, setString, signDeviceMessage, splitDeviceList,
  verifyDeviceMessage,
} from "@lubdub/protocol";
import type { DeviceLink } from "./link.js";

/** How long one request waits for its answer unless told otherwise. */
export const DEVICE_REQUEST_TIMEOUT_MS = 5000;

/** HMAC with the protocol's own Node methods (sha1, md5). */
export const nodeHmac: HmacFn = (method, key, data) => {
  const m = findMethod(method);
  return m && m.keyed ? m.digest(key, data) : null;
};

export type DeviceErrorKind = "timeout" | "down" | "aborted" | "auth";

export class DeviceError extends Error {
  constructor(
    readonly kind: DeviceErrorKind,
    message: string,
  ) {
    super(message);
  }
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

export interface HostDeviceClientOptions {
  /** `src` of requests: this host's node name. */
  name: string;
  timeoutMs?: number;
  hmac?: HmacFn;
}

interface Waiter {
  match(msg: Message): boolean;
  resolve(msg: Message): void;
  reject(e: Error): void;
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

export class HostDeviceClient {
  /** The port's current nonce, from the device's last signed status or result. */
  nonce: string | null = null;
  private waiters: Waiter[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeDown: () => void;
  private readonly eventListeners = new Set<(e: DeviceEvent) => void>();
  private readonly hmac: HmacFn;
  private readonly timeoutMs: number;
  private seq = 0;
  private readonly session = randomBytes(4).toString("hex");
  /** Replies dropped because their signature did not verify. */
  unverified = 0;

  constructor(
    readonly link: DeviceLink,
    private readonly key: DeviceKey,
    private readonly o: HostDeviceClientOptions,
  ) {
    this.hmac = o.hmac ?? nodeHmac;
    this.timeoutMs = o.timeoutMs ?? DEVICE_REQUEST_TIMEOUT_MS;
    this.unsubscribe = link.subscribe((msg) => this.onMessage(msg));
    this.unsubscribeDown = link.onDown ? link.onDown((why) => this.failAll(new DeviceError("down", `${link.name}: ${why.message}`))) : () => {};
  }

  /** ldev-hello → the device's status (and this port's nonce). */
  hello(signal?: AbortSignal): Promise<DeviceStatus> {
    return this.serial(async () => {
      const msg = await this.exchange(deviceMessage(DEV_HELLO, this.o.name, DEVICE_NODE), (m) => getField(m, "t") === DEV_STATUS, "ldev-status", signal);
      return {
        ok: getField(msg, DF_OK) === "1",
        error: getField(msg, DF_ERROR),
        outlets: parseOutlets(getField(msg, DF_OUTLETS) ?? ""),
        watchdogs: parseWatchdogs(getField(msg, DF_WATCHDOGS) ?? ""),
        lastFence: getField(msg, DF_LAST_FENCE) ?? "",
        boot: getField(msg, DF_BOOT) === null ? null : Number(getField(msg, DF_BOOT)),
      };
    });
  }

  /** ldev-fence: target is a node name or an outlet number; action on|off|reboot|status. */
  fence(target: string, action: string = ACTION_OFF, reason = "", signal?: AbortSignal): Promise<DeviceResult> {
    return this.request(DEV_FENCE, { [DF_TARGET]: target, [DF_ACTION]: action, [DF_REASON]: reason.slice(0, MAX_DEVICE_TEXT) }, signal);
  }

  armWatchdog(timeoutMs: number, signal?: AbortSignal): Promise<DeviceResult> {
    return this.request(DEV_WD_ARM, { [DF_TIMEOUT]: String(Math.round(timeoutMs)) }, signal);
  }

  disarmWatchdog(signal?: AbortSignal): Promise<DeviceResult> {
    return this.request(DEV_WD_DISARM, {}, signal);
  }

  /** Unsolicited ldev-event messages (signed ones only). Returns the unsubscribe function. */
  onEvent(listener: (e: DeviceEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeDown();
    this.failAll(new DeviceError("down", "client closed"));
  }

  /** A signed request; a stale nonce (another request of ours raced it, the device rebooted) is refreshed once. */
  private request(t: string, fields: Record<string, string>, signal?: AbortSignal): Promise<DeviceResult> {
    return this.serial(async () => {
      for (let attempt = 0; ; attempt++) {
        if (this.nonce === null) await this.helloNow(signal);
        const reqid = `${this.o.name}-${this.session}-${++this.seq}`;
        const msg = deviceMessage(t, this.o.name, DEVICE_NODE);
        setString(msg, DF_REQID, reqid);
        setString(msg, DF_NONCE, this.nonce!);
        for (const [k, v] of Object.entries(fields)) setString(msg, k, v);
        if (!signDeviceMessage(msg, this.key, this.hmac)) throw new DeviceError("auth", `cannot sign with method ${this.key.method} (the device needs sha1 or md5)`);
        const reply = await this.exchange(msg, (m) => getField(m, "t") === DEV_RESULT && getField(m, DF_REQID) === reqid, `ldev-result ${reqid}`, signal);
        const r: DeviceResult = { ok: getField(reply, DF_OK) === "1", error: getField(reply, DF_ERROR), state: getField(reply, DF_STATE), reqid };
        if (!r.ok && r.error === ERR_STALE_NONCE && attempt === 0) {
          this.nonce = null;
          continue;
        }
        return r;
      }
    });
  }

  private helloNow(signal?: AbortSignal): Promise<Message> {
    return this.exchange(deviceMessage(DEV_HELLO, this.o.name, DEVICE_NODE), (m) => getField(m, "t") === DEV_STATUS, "ldev-status", signal);
  }

  /** Runs requests strictly one after another. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private exchange(msg: Message, match: (m: Message) => boolean, what: string, signal?: AbortSignal): Promise<Message> {
    if (!this.link.up) return Promise.reject(new DeviceError("down", `${this.link.name}: link is down`));
    if (signal?.aborted) return Promise.reject(new DeviceError("aborted", `aborted before ${what}`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        match,
        resolve: (m) => {
          cleanup();
          resolve(m);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.waiters = this.waiters.filter((x) => x !== w);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new DeviceError("timeout", `${this.link.name}: no ${what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const onAbort = () => {
        cleanup();
        reject(new DeviceError("aborted", `aborted waiting for ${what}`));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(w);
      this.link.send(encodeClassic(msg)).catch((e: Error) => {
        cleanup();
        reject(new DeviceError("down", `${this.link.name}: ${e.message}`));
      });
    });
  }

  private failAll(e: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  private onMessage(msg: Message): void {
    const bad = verifyDeviceMessage(msg, this.key, this.hmac);
    if (bad !== "") {
      // Never trusted. An answer to a waiting request that does not verify
      // means the device has another key (or none): fail now rather than
      // wait for the timeout. A forger on the line could only make it fail.
      this.unverified++;
      const w = this.waiters.find((x) => x.match(msg));
      if (w) w.reject(new DeviceError("auth", `${this.link.name}: the device's ${getField(msg, "t")} does not verify with our key (${bad}): authkeys differ from the device's key`));
      return;
    }
    const t = getField(msg, "t");
    if (t === DEV_EVENT) {
      const e: DeviceEvent = { event: getField(msg, "event") ?? "", host: getField(msg, "host"), by: getField(msg, "by"), reason: getField(msg, DF_REASON) };
      for (const l of [...this.eventListeners]) l(e);
      return;
    }
    const nonce = getField(msg, DF_NONCE);
    if (nonce !== null) this.nonce = nonce;
    const w = this.waiters.find((x) => x.match(msg));
    if (w) w.resolve(msg);
  }
}
