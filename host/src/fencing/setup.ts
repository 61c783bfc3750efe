// Everything the agent needs for fencing, from its loaded configuration:
//   const f = createAgentFencing({ loaded, node, log: fenceLogFrom(logger) });
//   new ResourceShell({ ..., fence: f.hook });          // instead of NO_FENCING
//   serveControl(path, handle, onError, f.controlHandler);   // lubdub fence-confirm
//   on shutdown: await f.hook.close();

import type { Authkeys, DeviceKey } from "@lubdub/protocol";
import { logEvent, type AgentLogger } from "../agent/log.js";
import type { HaConfig } from "../config/types.js";
import type { LubdubCf, FencingSpec } from "../config/lubdub-cf.js";
import { fenceConfirmHandler } from "../control/fence-confirm.js";
import type { ExtraRequestHandler } from "../control/socket.js";
import { createFenceDevice, type ResolvedStonith } from "./config.js";
import type { DeviceLink } from "./device/link.js";
import { ManualConfirmations } from "./manual.js";
import { type Clock, createFenceHook, DEFAULT_FENCE_POLICY, type FencePolicyConfig, type PolicyFenceHook } from "./policy.js";
import { DEFAULT_EXTERNAL_DIR, DEFAULT_FENCE_AGENTS_DIR, type FenceDevice, type FenceEnv, type FenceLog } from "./types.js";

/** The policy for this node from lubdub.cf's fencing lines (defaults for what they leave out). */
export function policyConfig(spec: FencingSpec | undefined, node: string): FencePolicyConfig {
  const d = DEFAULT_FENCE_POLICY;
  return {
    action: spec?.action ?? d.action,
    delayMs: spec?.delays[node.toLowerCase()] ?? 0,
    totalTimeoutMs: spec?.totalTimeoutMs ?? d.totalTimeoutMs,
    attemptTimeoutMs: spec?.attemptTimeoutMs ?? d.attemptTimeoutMs,
    retryMinMs: spec?.retryMinMs ?? d.retryMinMs,
    retryMaxMs: spec?.retryMaxMs ?? d.retryMaxMs,
    alert: spec?.alert ? [spec.alert] : [],
  };
}

/** The device's key: authkeys' active entry when it is sha1 or md5 (the device refuses crc). */
export function deviceKeyFrom(keys: Authkeys | null): DeviceKey | undefined {
  const e = keys?.entries.get(keys.active);
  if (!e || (e.method.name !== "sha1" && e.method.name !== "md5")) return undefined;
  return { index: e.index, method: e.method.name, secret: e.key };
}

/** pino through the agent's logEvent (crit included). */
export function fenceLogFrom(log: AgentLogger): FenceLog {
  return (level, event, msg, fields) => logEvent(log, level, event, msg, fields ?? {});
}

export interface AgentFencingOptions {
  loaded: { config: HaConfig | null; keys: Authkeys | null; lubdub: LubdubCf; stonith: ResolvedStonith | null };
  node: string;
  log: FenceLog;
  /** The serial medium's link to the device, for a `lubdub` type on a tty the medium owns. */
  deviceLink?: (tty: string) => DeviceLink | null;
  clock?: Clock;
  /** Why, as the device records it (default: "NODE declared dead by THIS-NODE"). */
  reason?: (node: string) => string;
}

export interface AgentFencing {
  /** The FenceHook for ResourceShell (n_stnth when no STONITH is configured). */
  hook: PolicyFenceHook;
  device: FenceDevice | null;
  manual: ManualConfirmations;
  /** The policy in force (lubdub.cf fencing lines over the defaults). */
  policy: FencePolicyConfig;
  /** serveControl's extra handler: answers fence-confirm requests. */
  controlHandler: ExtraRequestHandler;
}

export function createAgentFencing(o: AgentFencingOptions): AgentFencing {
  const manual = new ManualConfirmations();
  const spec = o.loaded.lubdub.fencing;
  const env: FenceEnv = {
    localNode: o.node,
    externalDir: spec?.externalDir ?? DEFAULT_EXTERNAL_DIR,
    fenceAgentsDir: spec?.agentsDir ?? DEFAULT_FENCE_AGENTS_DIR,
    log: o.log,
    manual,
    ...(o.loaded.config ? { deviceBaud: o.loaded.config.baud } : {}),
    ...(o.deviceLink ? { deviceLink: o.deviceLink } : {}),
  };
  const key = deviceKeyFrom(o.loaded.keys);
  if (key) env.deviceKey = key;
  const device = o.loaded.stonith ? createFenceDevice(o.loaded.stonith, env) : null;
  const reason = o.reason ?? ((peer: string) => `${peer} declared dead by ${o.node}`);
  const policy = policyConfig(spec, o.node);
  const hook = createFenceHook({ device, policy, log: o.log, reason, ...(o.clock ? { clock: o.clock } : {}) });
  return { hook, device, manual, policy, controlHandler: fenceConfirmHandler(manual, o.log) };
}
