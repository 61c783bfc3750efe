// A host agent's side of the lubdub device protocol, for integration tests:
// opens a host port tty of a device (the simulator, the Lua gateway build, an
// Espruino board behind a pty), says ldev-hello, keeps the port's nonce from
// every reply and sends signed ldev-wd-arm / ldev-wd-disarm / ldev-fence
// requests. Replies and events come back parsed, with their signature checked.
// Frames that are not device messages (heartbeats relayed from the other host)
// are collected in `relayed`.
//
//   const c = await DeviceClient.open(pty.a, { index: 1, method: "sha1", secret: "s3cret" }, { name: "alpha" });
//   const st = await c.hello();                   // ldev-status, st.fields.outlets ...
//   const r = await c.fence("bravo", "off", "test");   // r.ok, r.error, r.fields.state
//   await c.write(r.sent);                        // a replay ...
//   const again = await c.waitResult(r.reqid);    // ... refused: again.error === "stale-nonce"
//   const ev = await c.waitEvent("wd-cycle");
//   await c.close();
//
// The tty is opened with node:tty streams in raw mode (ptys made by socat, see
// pty.ts); the baud rate is whatever the line already has.

import { openSync } from "node:fs";
import { constants } from "node:fs";
import { ReadStream, WriteStream } from "node:tty";
import { createHmac } from "node:crypto";
import {
  ACTION_OFF, DEV_EVENT, DEV_FENCE, DEV_HELLO, DEV_RESULT, DEV_STATUS, DEV_WD_ARM, DEV_WD_DISARM, DEVICE_NODE, DF_ACTION, DF_ERROR, DF_EVENT,
  DF_NONCE, DF_OK, DF_REASON, DF_REQID, DF_TARGET, DF_TIMEOUT, Deframer, type DeviceKey, type Message, decodeClassicMessage, deviceMessage,
  encodeClassic, getField, isDeviceMessage, setString, signDeviceMessage, verifyDeviceMessage,
} from "@lubdub/protocol";

/** How long a request waits for its reply unless told otherwise. */
export const DEVICE_REPLY_TIMEOUT_MS = 5000;

/** HMAC through node:crypto over byte strings (the HAL's hmac on Node). */
export function nodeHmac(method: string, key: string, data: string): string | null {
  if (method !== "sha1" && method !== "md5") return null;
  return createHmac(method, Buffer.from(key, "latin1")).update(Buffer.from(data, "latin1")).digest("hex");
}

export interface DeviceReply {
  /** ldev-status, ldev-result or ldev-event. */
  t: string;
  /** Every field as text (first occurrence). */
  fields: Record<string, string>;
  ok: boolean;
  /** The ERR_ code when ok is false. */
  error: string | null;
  nonce: string | null;
  reqid: string | null;
  /** "" when the signature checks out with the client's key, else why not (unsigned, bad-signature...). */
  auth: string;
  message: Message;
  /** The frame as received. */
  raw: string;
  /** For replies to requests: the exact request frame that was sent (to replay it). */
  sent: string;
}

export interface RequestOptions {
  /** Sign the request (default true; false sends it unsigned). */
  sign?: boolean;
  /** Key to sign with (default the client's); a forged signature is a wrong key. */
  key?: DeviceKey;
  /** Nonce to send (default the last one the device gave; null sends none). */
  nonce?: string | null;
  timeoutMs?: number;
}

interface Waiter {
  match(r: DeviceReply): boolean;
  resolve(r: DeviceReply): void;
}

export interface DeviceClientOptions {
  /** `src` of requests (the host's node name; default "client"). */
  name?: string;
}

export class DeviceClient {
  /** Non-device frames received (heartbeats relayed from the other port), in order. */
  readonly relayed: string[] = [];
  /** Every ldev-event received, in order. */
  readonly events: DeviceReply[] = [];
  /** Every device message received, in order. */
  readonly received: DeviceReply[] = [];
  /** The port's current nonce, from the device's last status or result. */
  nonce: string | null = null;
  private readonly deframer = new Deframer();
  private waiters: Waiter[] = [];
  private seq = 0;
  private closed = false;

  private constructor(
    readonly tty: string,
    readonly key: DeviceKey | null,
    readonly name: string,
    private readonly input: ReadStream,
    private readonly output: WriteStream,
  ) {
    input.on("data", (d: Buffer | string) => this.onData(typeof d === "string" ? d : d.toString("latin1")));
    input.on("error", () => {});
    output.on("error", () => {});
  }

  /** Opens a host port tty of the device. `key` signs requests (null: only unsigned hellos make sense). */
  static async open(tty: string, key: DeviceKey | null, o: DeviceClientOptions = {}): Promise<DeviceClient> {
    const fd = openSync(tty, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    const input = new ReadStream(fd);
    input.setRawMode(true);
    const output = new WriteStream(fd);
    return new DeviceClient(tty, key, o.name ?? "client", input, output);
  }

  /** Writes raw bytes (latin1) to the port: a replayed request, noise, interpreter commands. */
  write(bytes: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.output.write(Buffer.from(bytes, "latin1"), (e) => (e ? reject(e) : resolve()));
    });
  }

  /** ldev-hello → ldev-status (its nonce becomes the client's). */
  async hello(timeoutMs = DEVICE_REPLY_TIMEOUT_MS): Promise<DeviceReply> {
    const msg = deviceMessage(DEV_HELLO, this.name, DEVICE_NODE);
    const sent = encodeClassic(msg);
    const p = this.wait((r) => r.t === DEV_STATUS, timeoutMs, "ldev-status");
    await this.write(sent);
    const r = await p;
    r.sent = sent;
    return r;
  }

  armWatchdog(timeoutMs: number, o: RequestOptions = {}): Promise<DeviceReply> {
    return this.request(DEV_WD_ARM, { [DF_TIMEOUT]: String(timeoutMs) }, o);
  }

  disarmWatchdog(o: RequestOptions = {}): Promise<DeviceReply> {
    return this.request(DEV_WD_DISARM, {}, o);
  }

  /** target: a node name or an outlet number; action on|off|reboot|status. */
  fence(target: string, action = ACTION_OFF, reason = "test", o: RequestOptions = {}): Promise<DeviceReply> {
    return this.request(DEV_FENCE, { [DF_TARGET]: target, [DF_ACTION]: action, [DF_REASON]: reason }, o);
  }

  /** Builds the frame of a request (signed per `o`) without sending it. */
  build(t: string, fields: Record<string, string>, o: RequestOptions = {}): { frame: string; reqid: string } {
    const reqid = `${this.name}-${process.pid}-${++this.seq}`;
    const msg = deviceMessage(t, this.name, DEVICE_NODE);
    setString(msg, DF_REQID, reqid);
    const nonce = o.nonce === undefined ? this.nonce : o.nonce;
    if (nonce !== null) setString(msg, DF_NONCE, nonce);
    for (const [k, v] of Object.entries(fields)) setString(msg, k, v);
    const key = o.key ?? this.key;
    if (o.sign !== false && key !== null) {
      if (!signDeviceMessage(msg, key, nodeHmac)) throw new Error(`device-client: cannot sign with method ${key.method}`);
    }
    return { frame: encodeClassic(msg), reqid };
  }

  /** Sends a request and waits for the ldev-result with its reqid. */
  async request(t: string, fields: Record<string, string>, o: RequestOptions = {}): Promise<DeviceReply> {
    const { frame, reqid } = this.build(t, fields, o);
    const p = this.waitResult(reqid, o.timeoutMs);
    await this.write(frame);
    const r = await p;
    r.sent = frame;
    return r;
  }

  /** The next ldev-result with this reqid (also for a replayed request: the device answers it again). */
  waitResult(reqid: string, timeoutMs = DEVICE_REPLY_TIMEOUT_MS): Promise<DeviceReply> {
    return this.wait((r) => r.t === DEV_RESULT && r.reqid === reqid, timeoutMs, `ldev-result ${reqid}`);
  }

  /** An ldev-event (already received or the next one) with this event name. */
  waitEvent(event: string, timeoutMs = DEVICE_REPLY_TIMEOUT_MS): Promise<DeviceReply> {
    const seen = this.events.find((e) => e.fields[DF_EVENT] === event);
    if (seen) {
      this.events.splice(this.events.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return this.wait((r) => r.t === DEV_EVENT && r.fields[DF_EVENT] === event, timeoutMs, `ldev-event ${event}`, true);
  }

  /** Resolves once `n` relayed frames have arrived (returns them all). */
  async waitRelayed(n: number, timeoutMs = DEVICE_REPLY_TIMEOUT_MS): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    while (this.relayed.length < n) {
      if (Date.now() > until) throw new Error(`device-client ${this.tty}: ${this.relayed.length} of ${n} relayed frames after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.relayed.slice();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.destroy();
    this.output.destroy();
  }

  private wait(match: (r: DeviceReply) => boolean, timeoutMs: number, what: string, takeEvent = false): Promise<DeviceReply> {
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        match,
        resolve: (r) => {
          clearTimeout(timer);
          if (takeEvent) this.events.splice(this.events.indexOf(r), 1);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`device-client ${this.tty}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  private onData(bytes: string): void {
    for (const ev of this.deframer.push(bytes)) {
      if (ev.frame === null) continue;
      const d = ev.frame.startsWith(">>>") ? decodeClassicMessage(ev.frame, 0, 0) : null;
      if (d === null || !d.ok || !isDeviceMessage(d.message)) {
        this.relayed.push(ev.frame);
        continue;
      }
      const reply = this.parse(d.message, ev.frame);
      this.received.push(reply);
      if (reply.nonce !== null && reply.t !== DEV_EVENT) this.nonce = reply.nonce;
      if (reply.t === DEV_EVENT) this.events.push(reply);
      const w = this.waiters.find((x) => x.match(reply));
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(reply);
      }
    }
  }

  private parse(msg: Message, raw: string): DeviceReply {
    const fields: Record<string, string> = {};
    for (const f of msg.fields) if (!(f.name in fields) && typeof f.value === "string") fields[f.name] = f.value;
    return {
      t: getField(msg, "t") ?? "",
      fields,
      ok: getField(msg, DF_OK) === "1",
      error: getField(msg, DF_ERROR),
      nonce: getField(msg, DF_NONCE),
      reqid: getField(msg, DF_REQID),
      auth: this.key === null ? "no-key" : verifyDeviceMessage(msg, this.key, nodeHmac),
      message: msg,
      raw,
      sent: "",
    };
  }
}
