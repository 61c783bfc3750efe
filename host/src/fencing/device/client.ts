// The host side of the lubdub device protocol (protocol/src/portable/device.ts),
// for the agent and the fence tools: HostDeviceClient, a thin promise-and-
// timer shell around DeviceClientCore (client-core.ts), which holds every
// rule: ldev-hello for the status and the port's nonce, signed ldev-fence /
// ldev-wd-arm / ldev-wd-disarm requests one at a time (each spends the nonce
// the previous answer gave), one stale-nonce refresh, replies checked against
// the cluster key (one that does not verify is never trusted, and fails the
// exchange it answers at once), every wait bounded.

import { randomBytes } from "node:crypto";
import { ACTION_OFF, type DeviceKey, type HmacFn, type Message } from "@lubdub/protocol";
import type { FenceAction, FenceOutcome } from "../types.js";
import {
  DeviceClientCore, armRequest, disarmRequest, failureOutcome, fenceRequest, type DeviceClientEffect, type DeviceErrorKind, type DeviceEvent, type DeviceFailure,
  type DeviceOp, type DeviceOpResult, type DeviceResult, type DeviceStatus,
} from "./client-core.js";
import type { DeviceLink } from "./link.js";

export {
  DEVICE_REQUEST_TIMEOUT_MS, nodeHmac, parseOutlets, parseWatchdogs, type DeviceErrorKind, type DeviceEvent, type DeviceFailure, type DeviceOutlet,
  type DeviceResult, type DeviceStatus, type DeviceWatchdog,
} from "./client-core.js";

export class DeviceError extends Error {
  constructor(
    readonly kind: DeviceErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface HostDeviceClientOptions {
  /** `src` of requests: this host's node name. */
  name: string;
  timeoutMs?: number;
  hmac?: HmacFn;
  /** The clock the timeouts are measured on (ms); a monotonic one by default. */
  now?: () => number;
}

/** fence-node's answer: the outcome, and the failed exchange it came from (null when the device answered). */
export interface FenceNodeResult {
  outcome: FenceOutcome;
  failure: DeviceFailure | null;
}

interface Pending {
  resolve(r: DeviceOpResult): void;
  cleanup(): void;
}

/**
 * The promise-and-timer shell around DeviceClientCore: it writes the core's
 * frames to the link, feeds it the link's messages, the link's failures and
 * the clock (one timer, set to the core's next deadline), and settles each
 * operation's promise.
 */
export class HostDeviceClient {
  private readonly core: DeviceClientCore;
  private readonly pending = new Map<number, Pending>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeDown: () => void;
  private readonly eventListeners = new Set<(e: DeviceEvent) => void>();
  private readonly clock: () => number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDue = Infinity;

  constructor(
    readonly link: DeviceLink,
    key: DeviceKey,
    o: HostDeviceClientOptions,
  ) {
    this.clock = o.now ?? (() => performance.now());
    this.core = new DeviceClientCore({
      name: o.name, session: randomBytes(4).toString("hex"), key, linkName: link.name,
      ...(o.hmac !== undefined ? { hmac: o.hmac } : {}), ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    });
    this.unsubscribe = link.subscribe((msg) => this.onMessage(msg));
    this.unsubscribeDown = link.onDown ? link.onDown((why) => this.apply(this.core.linkDown(this.clock(), why.message))) : () => {};
  }

  /** The port's current nonce, from the device's last signed status or result. */
  get nonce(): string | null {
    return this.core.nonce;
  }
  set nonce(v: string | null) {
    this.core.nonce = v;
  }

  /** Replies dropped because their signature did not verify. */
  get unverified(): number {
    return this.core.unverified;
  }

  /** ldev-hello → the device's status (and this port's nonce). */
  async hello(signal?: AbortSignal): Promise<DeviceStatus> {
    const r = await this.op({ kind: "hello" }, signal, "ldev-status");
    if (r.kind !== "status") throw unexpected(r);
    return r.status;
  }

  /** ldev-fence: target is a node name or an outlet number; action on|off|reboot|status. */
  fence(target: string, action: string = ACTION_OFF, reason = "", signal?: AbortSignal): Promise<DeviceResult> {
    return this.request(fenceRequest(target, action, reason), signal);
  }

  armWatchdog(timeoutMs: number, signal?: AbortSignal): Promise<DeviceResult> {
    return this.request(armRequest(timeoutMs), signal);
  }

  disarmWatchdog(signal?: AbortSignal): Promise<DeviceResult> {
    return this.request(disarmRequest(), signal);
  }

  /**
   * One fence attempt as the `lubdub` fence type makes it: the request, an
   * off read back, the answers as a FenceOutcome. Never rejects; `failure`
   * says the outcome comes from a failed exchange rather than an answer.
   */
  async fenceNode(target: string, action: FenceAction, reason: string, where: string, signal?: AbortSignal): Promise<FenceNodeResult> {
    const r = await this.op({ kind: "fence-node", target, action, reason, where }, signal, "ldev-result", false);
    if (r.kind === "outcome") return { outcome: r.outcome, failure: r.failure };
    if (r.kind === "error") return { outcome: failureOutcome(r.error, where), failure: r.error };
    throw unexpected(r);
  }

  /** Unsolicited ldev-event messages (signed ones only). Returns the unsubscribe function. */
  onEvent(listener: (e: DeviceEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeDown();
    this.apply(this.core.close(this.clock(), { kind: "down", message: "client closed" }));
  }

  private async request(op: DeviceOp, signal: AbortSignal | undefined): Promise<DeviceResult> {
    const r = await this.op(op, signal, "ldev-result");
    if (r.kind !== "result") throw unexpected(r);
    return r.result;
  }

  /** Runs one operation through the core; with `rejectErrors`, a failure rejects with a DeviceError. */
  private op(op: DeviceOp, signal: AbortSignal | undefined, what: string, rejectErrors = true): Promise<DeviceOpResult> {
    if (signal?.aborted) {
      const error: DeviceFailure = { kind: "aborted", message: `aborted before ${what}` };
      return rejectErrors ? Promise.reject(new DeviceError(error.kind, error.message)) : Promise.resolve({ kind: "error", error });
    }
    return new Promise<DeviceOpResult>((resolve, reject) => {
      const { id, effects } = this.core.submit(this.clock(), op);
      const onAbort = () => this.apply(this.core.abort(this.clock(), id, `aborted waiting for ${what}`));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        resolve: (r) => {
          if (rejectErrors && r.kind === "error") reject(new DeviceError(r.error.kind, r.error.message));
          else resolve(r);
        },
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      });
      this.apply(effects);
    });
  }

  private onMessage(msg: Message): void {
    this.apply(this.core.receive(this.clock(), msg));
  }

  private apply(effects: DeviceClientEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "send":
          if (!this.link.up) {
            this.apply(this.core.sendFailed(this.clock(), e.xid, "link is down"));
            break;
          }
          this.link.send(e.frame).catch((err: Error) => this.apply(this.core.sendFailed(this.clock(), e.xid, err.message)));
          break;
        case "settled": {
          const p = this.pending.get(e.op);
          if (!p) break;
          this.pending.delete(e.op);
          p.cleanup();
          p.resolve(e.result);
          break;
        }
        case "event":
          for (const l of [...this.eventListeners]) l(e.event);
          break;
      }
    }
    this.arm();
  }

  /** One timer, at the core's next deadline. */
  private arm(): void {
    const due = this.core.nextWakeup();
    if (due === this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = due;
    if (due === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = Infinity;
      this.apply(this.core.tick(Math.max(this.clock(), due)));
    }, Math.max(0, Math.ceil(due - this.clock())));
  }
}

function unexpected(r: DeviceOpResult): Error {
  return new Error(`device client: unexpected ${r.kind} result`);
}
