// Fence types behind one interface. A fence type is a plugin: one file that
// exports a FenceType, and one line in registry.ts. The agent never knows
// which kind of device it fences through; it asks a FenceDevice to switch a
// node off (or cycle it) and gets back a FenceOutcome that says whether the
// node is known to be powered down or cycled.
//
// Parameters arrive the way Heartbeat's stonith_host / stonith lines give
// them: positional words matched to the type's configuration names (its
// getconfignames order), the last name taking the rest of the line.

/** What a fence request asks for. reboot = power-cycle; off = stay off; status = read the state. */
export type FenceAction = "off" | "on" | "reboot" | "status";

/** The power state a device reported after an operation ("unknown" when the device cannot tell). */
export type PowerState = "on" | "off" | "cycling" | "unknown";

/**
 * Why an operation failed. Stable words: logs and the policy key on them.
 *  - unreachable: the device could not be reached (connection refused, tty gone)
 *  - timeout: no answer within the step's time limit
 *  - refused: the device said no (login, signature, arbitration)
 *  - badhost: the device does not control that node (retrying cannot help)
 *  - failed: the device answered but the operation did not happen
 *  - unverified: the device claims success but the state read back disagrees
 *  - aborted: the caller gave up (its own timeout)
 *  - config: the configuration cannot work (missing plugin, bad parameter)
 */
export type FenceErrorCode = "unreachable" | "timeout" | "refused" | "badhost" | "failed" | "unverified" | "aborted" | "config";

export type FenceOutcome =
  | { ok: true; state: PowerState; detail?: string }
  | { ok: false; code: FenceErrorCode; message: string };

export interface FenceRequest {
  /** The cluster node to act on (as ha.cf names it). */
  node: string;
  action: FenceAction;
  /** Why (logged by devices that keep a record, e.g. the lubdub device). */
  reason: string;
  /** Aborted when the caller's time is up: the device stops waiting and answers "aborted". */
  signal?: AbortSignal;
}

/** A configured fence device, ready to use. */
export interface FenceDevice {
  /** The type name as configured: "baytech", "external/ssh", "fence_ipmilan", "manual", "lubdub". */
  readonly type: string;
  /** Short description for logs (the address, plugin path… never a password). */
  readonly describe: string;
  /** Switches `req.node` (or reads its state). Never throws: every failure is an outcome. */
  fence(req: FenceRequest): Promise<FenceOutcome>;
  /** Whether the device is reachable and usable (cluster-glue's status, fence-agents' monitor). */
  check(signal?: AbortSignal): Promise<FenceOutcome>;
  /** Node names the device can fence, when it can tell. */
  hosts?(signal?: AbortSignal): Promise<string[]>;
  /** Releases what the device holds (connections, ttys). */
  close?(): Promise<void>;
}

/** A logger as the fencing code uses it: stable event name, message, fields. */
export type FenceLog = (level: "debug" | "info" | "warn" | "error" | "crit", event: string, msg: string, fields?: Record<string, unknown>) => void;

export const SILENT_LOG: FenceLog = () => {};

/** What fence types may need from the machine and the agent. */
export interface FenceEnv {
  /** This node's name. */
  localNode: string;
  /** cluster-glue external plugins directory (default /usr/lib/stonith/plugins/external). */
  externalDir: string;
  /** fence-agents directory (default /usr/sbin). */
  fenceAgentsDir: string;
  log: FenceLog;
  /** The cluster key for the lubdub device (from authkeys), when there is one. */
  deviceKey?: import("@lubdub/protocol").DeviceKey;
  /**
   * A link to the lubdub device that another part of the agent already holds
   * (the serial heartbeat medium on that tty). Null: the fence type opens
   * the port itself.
   */
  deviceLink?: (tty: string) => import("./device/link.js").DeviceLink | null;
  /** Baud rate of the device's host port (ha.cf baud). */
  deviceBaud?: number;
  /** Operator confirmations for the manual type (the control socket feeds it). */
  manual?: import("./manual.js").ManualConfirmations;
}

export const DEFAULT_EXTERNAL_DIR = "/usr/lib/stonith/plugins/external";
export const DEFAULT_FENCE_AGENTS_DIR = "/usr/sbin";

/** A fence type (plugin). */
export interface FenceType {
  /** Name for listings: "baytech", "external/NAME", "fence_NAME", "manual", "lubdub". */
  readonly name: string;
  /** Whether this plugin handles a configured type name. */
  matches(typeName: string): boolean;
  /**
   * The configuration names in order (cluster-glue's getconfignames): the
   * positional words of a stonith_host line / stonith file are matched to
   * them, the last one taking the rest of the line. Null: the words are
   * `name=value` pairs (fence-agents style). External plugins are asked
   * (their getconfignames), so this may run a program.
   */
  configNames(typeName: string, env: FenceEnv): { names: string[] | null; required: number } | { error: string };
  /** Problems with a set of parameters (empty when they can work). */
  validate(typeName: string, params: Record<string, string>, env: FenceEnv): string[];
  /** The device. Call validate first: create may assume valid parameters. */
  create(typeName: string, params: Record<string, string>, env: FenceEnv): FenceDevice;
}

/** Outcome helpers. */
export function fail(code: FenceErrorCode, message: string): FenceOutcome {
  return { ok: false, code, message };
}
export function done(state: PowerState, detail?: string): FenceOutcome {
  return detail === undefined ? { ok: true, state } : { ok: true, state, detail };
}

/** Outcome of an operation that was aborted or timed out, from its AbortSignal. */
export function abortedOutcome(signal: AbortSignal | undefined, what: string): FenceOutcome {
  return fail("aborted", `${what}: ${signal?.reason instanceof Error ? signal.reason.message : "aborted"}`);
}

/** Whether an outcome confirms the action (off: the node is off; reboot: it was cycled). */
export function confirms(action: FenceAction, o: FenceOutcome): boolean {
  if (!o.ok) return false;
  if (action === "off") return o.state === "off";
  if (action === "on") return o.state === "on" || o.state === "unknown";
  return true;
}
