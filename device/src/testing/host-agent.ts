// A host agent as the core's unit tests see it: builds signed device requests
// for one host port of a Bench, feeds them to the device and reads back what
// the device wrote to that port (replies, events, relayed frames). Node only.

import { createHmac } from "node:crypto";
import {
  DEV_EVENT, DEV_FENCE, DEV_HELLO, DEV_RESULT, DEV_WD_ARM, DEV_WD_DISARM, DEVICE_NODE, Deframer, type DeviceKey, type Message,
  decodeClassicMessage, deviceMessage, encodeClassic, getField, isDeviceMessage, setString, signDeviceMessage, verifyDeviceMessage,
} from "@lubdub/protocol";
import type { Bench } from "./fake-hal.js";

export function nodeHmac(method: string, key: string, data: string): string | null {
  if (method !== "sha1" && method !== "md5") return null;
  return createHmac(method, Buffer.from(key, "latin1")).update(Buffer.from(data, "latin1")).digest("hex");
}

export interface Reply {
  t: string;
  f: Record<string, string>;
  ok: boolean;
  error: string | null;
  /** "" when signed with the agent's key. */
  auth: string;
}

export interface Opts {
  sign?: boolean;
  key?: DeviceKey;
  nonce?: string | null;
}

export class Agent {
  nonce: string | null = null;
  relayed: string[] = [];
  events: Reply[] = [];
  replies: Reply[] = [];
  private d = new Deframer();
  private seq = 0;

  constructor(readonly bench: Bench, readonly port: number, readonly name: string, readonly key: DeviceKey) {}

  /** Reads what the device wrote to this port since last time. */
  read(): Reply[] {
    const got: Reply[] = [];
    for (const ev of this.d.push(this.bench.hal.take(this.port))) {
      if (ev.frame === null) throw new Error("device wrote a broken frame: " + ev.detail);
      const r = decodeClassicMessage(ev.frame, 0, 0);
      if (!r.ok || !isDeviceMessage(r.message)) {
        this.relayed.push(ev.frame);
        continue;
      }
      const reply = parse(r.message, this.key);
      if (reply.t === DEV_EVENT) this.events.push(reply);
      else {
        this.replies.push(reply);
        if (reply.f.nonce !== undefined) this.nonce = reply.f.nonce;
      }
      got.push(reply);
    }
    return got;
  }

  build(t: string, fields: Record<string, string>, o: Opts = {}): string {
    const msg = deviceMessage(t, this.name, DEVICE_NODE);
    setString(msg, "reqid", `${this.name}-${++this.seq}`);
    const nonce = o.nonce === undefined ? this.nonce : o.nonce;
    if (nonce !== null) setString(msg, "nonce", nonce);
    for (const [k, v] of Object.entries(fields)) setString(msg, k, v);
    if (o.sign !== false) signDeviceMessage(msg, o.key ?? this.key, nodeHmac);
    return encodeClassic(msg);
  }

  /** Sends a frame, returns the one reply (result or status) it got, or null. */
  send(frame: string): Reply | null {
    this.bench.dev.portData(this.port, frame);
    const rs = this.read().filter((r) => r.t !== DEV_EVENT);
    if (rs.length > 1) throw new Error(`${rs.length} replies to one request`);
    return rs[0] ?? null;
  }

  hello(): Reply {
    const r = this.send(encodeClassic(deviceMessage(DEV_HELLO, this.name, DEVICE_NODE)));
    if (r === null) throw new Error("no status");
    return r;
  }

  request(t: string, fields: Record<string, string>, o: Opts = {}): Reply {
    const r = this.send(this.build(t, fields, o));
    if (r === null || r.t !== DEV_RESULT) throw new Error(`no result to ${t}`);
    return r;
  }

  arm(timeout: number, o: Opts = {}): Reply {
    return this.request(DEV_WD_ARM, { timeout: String(timeout) }, o);
  }
  disarm(o: Opts = {}): Reply {
    return this.request(DEV_WD_DISARM, {}, o);
  }
  fence(target: string, action: string, reason = "test", o: Opts = {}): Reply {
    return this.request(DEV_FENCE, { target, action, reason }, o);
  }
}

function parse(msg: Message, key: DeviceKey): Reply {
  const f: Record<string, string> = {};
  for (const x of msg.fields) if (typeof x.value === "string" && f[x.name] === undefined) f[x.name] = x.value;
  return { t: getField(msg, "t") ?? "", f, ok: f.ok === "1", error: f.error ?? null, auth: verifyDeviceMessage(msg, key, nodeHmac) };
}
