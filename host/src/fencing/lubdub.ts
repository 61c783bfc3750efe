// `lubdub`: the lubdub device, reached over the serial port it is on, with
// requests signed by the cluster key (authkeys' active entry, sha1 or md5)
// and the port's nonce. Configuration names: `ttydev` (the host port's tty)
// and optionally `hostmap` (node=outlet pairs, for outlets not named after
// the nodes). When ttydev is also a ha.cf `serial` medium, the agent hands
// the medium's DeviceLink in (FenceEnv.deviceLink) and no second opener
// fights over the tty.
//
//   stonith_host * lubdub /dev/ttyUSB0
//   stonith_host * lubdub /dev/ttyUSB0 alpha=1 bravo=2

import { DeviceError, HostDeviceClient } from "./device/client.js";
import type { DeviceLink } from "./device/link.js";
import { SerialDeviceLink } from "./device/serial-link.js";
import { abortedOutcome, done, fail, type FenceDevice, type FenceEnv, type FenceOutcome, type FenceRequest, type FenceType } from "./types.js";

export const LUBDUB_NAMES = ["ttydev", "hostmap"];

/** "alpha=1 bravo=2" (or alpha:1) → node → target; null when malformed. */
export function parseDeviceHostMap(text: string): Map<string, string> | null {
  const map = new Map<string, string>();
  for (const w of text.split(/[\s;,]+/).filter(Boolean)) {
    const m = /^([A-Za-z0-9._-]+)[=:]([A-Za-z0-9 ._-]+)$/.exec(w);
    if (!m) return null;
    map.set(m[1]!.toLowerCase(), m[2]!);
  }
  return map;
}

function deviceFailure(e: unknown, signal: AbortSignal | undefined, where: string): FenceOutcome {
  if (signal?.aborted) return abortedOutcome(signal, where);
  if (e instanceof DeviceError) return fail(e.kind === "timeout" ? "timeout" : e.kind === "aborted" ? "aborted" : e.kind === "auth" ? "config" : "unreachable", `${where}: ${e.message}`);
  return fail("unreachable", `${where}: ${(e as Error).message}`);
}

export interface LubdubDeviceOptions {
  ttydev: string;
  hostmap: Map<string, string>;
  env: FenceEnv;
  baud?: number;
  timeoutMs?: number;
}

export class LubdubDevice implements FenceDevice {
  readonly type = "lubdub";
  readonly describe: string;
  private link: DeviceLink | null = null;
  private ownLink: SerialDeviceLink | null = null;
  private client: HostDeviceClient | null = null;

  constructor(private readonly o: LubdubDeviceOptions) {
    this.describe = `lubdub device on ${o.ttydev}`;
  }

  /** The device client, opening the tty when no medium provides the link. */
  async connect(): Promise<HostDeviceClient> {
    if (this.client && this.link?.up) return this.client;
    await this.close();
    const key = this.o.env.deviceKey;
    if (!key) throw new DeviceError("auth", "no cluster key for the device (authkeys needs an sha1 or md5 entry)");
    const shared = this.o.env.deviceLink?.(this.o.ttydev) ?? null;
    if (shared) this.link = shared;
    else {
      this.ownLink = await SerialDeviceLink.open(this.o.ttydev, this.o.baud !== undefined ? { baud: this.o.baud } : {});
      this.link = this.ownLink;
    }
    this.client = new HostDeviceClient(this.link, key, { name: this.o.env.localNode, ...(this.o.timeoutMs !== undefined ? { timeoutMs: this.o.timeoutMs } : {}) });
    return this.client;
  }

  target(node: string): string {
    return this.o.hostmap.get(node.toLowerCase()) ?? node;
  }

  async fence(req: FenceRequest): Promise<FenceOutcome> {
    const where = `lubdub device ${this.o.ttydev}`;
    let c: HostDeviceClient;
    try {
      c = await this.connect();
    } catch (e) {
      const o = deviceFailure(e, req.signal, where);
      if (!o.ok && o.code !== "aborted") await this.close();
      return o;
    }
    // The request, an off read back, the answers mapped to an outcome: the device client core's fence-node.
    const r = await c.fenceNode(this.target(req.node), req.action, req.reason || `fence ${req.node}`, where, req.signal);
    if (r.failure === null) return r.outcome;
    if (req.signal?.aborted) return abortedOutcome(req.signal, where);
    if (!r.outcome.ok && r.outcome.code !== "aborted") await this.close();
    return r.outcome;
  }

  async check(signal?: AbortSignal): Promise<FenceOutcome> {
    try {
      const st = await (await this.connect()).hello(signal);
      if (!st.ok) return fail("refused", `lubdub device ${this.o.ttydev}: ${st.error ?? "not configured"}`);
      return done("unknown", `${st.outlets.length} outlets`);
    } catch (e) {
      await this.close();
      return deviceFailure(e, signal, `lubdub device ${this.o.ttydev}`);
    }
  }

  async hosts(signal?: AbortSignal): Promise<string[]> {
    const st = await (await this.connect()).hello(signal);
    return [...new Set(st.outlets.map((o) => o.name))];
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = null;
    this.link = null;
    const own = this.ownLink;
    this.ownLink = null;
    if (own) await own.close();
  }
}

export const lubdubType: FenceType = {
  name: "lubdub",
  matches: (t) => t === "lubdub",
  configNames: () => ({ names: LUBDUB_NAMES, required: 1 }),
  validate(_t, p) {
    const problems: string[] = [];
    if (!p["ttydev"] || !p["ttydev"].startsWith("/")) problems.push(`lubdub: ttydev '${p["ttydev"] ?? ""}' is not a device path`);
    if (p["hostmap"] !== undefined && parseDeviceHostMap(p["hostmap"]) === null) problems.push(`lubdub: hostmap '${p["hostmap"]}' is not node=outlet pairs`);
    return problems;
  },
  create: (_t, p, env) => new LubdubDevice({ ttydev: p["ttydev"]!, hostmap: parseDeviceHostMap(p["hostmap"] ?? "") ?? new Map(), env, ...(env.deviceBaud !== undefined ? { baud: env.deviceBaud } : {}) }),
};
