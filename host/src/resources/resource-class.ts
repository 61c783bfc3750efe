// A resource class, as haresources names them: built-ins (IPaddr, IPaddr2),
// Heartbeat resource.d scripts, LSB init scripts and OCF agents. Each class is
// one file implementing this interface; the group runner never knows which
// kind it drives.

/** What one action (start, stop, status) came to. */
export interface ActionResult {
  /** For status: the resource is running. For start/stop: the action succeeded. */
  ok: boolean;
  /** Exit code of the script, or null when it was killed (timeout) or none ran (built-ins may leave it null). */
  exitCode: number | null;
  timedOut: boolean;
  /** stdout+stderr of the script (bounded), for logs when it fails. */
  output: string;
  /**
   * For status: what the answer means, when the class can tell. "failed" is a
   * status that is neither running nor cleanly stopped (an OCF or LSB error
   * code, a timeout); `ok` is false for it, as for "stopped".
   */
  state?: "running" | "stopped" | "failed";
}

export type Action = "start" | "stop" | "status";

export interface ActionContext {
  /** Every action has a timeout; past it the script's whole process group is killed. */
  timeoutMs: number;
  /** Extra environment (HA_* variables Heartbeat sets for scripts). */
  env: Record<string, string>;
  /** Cancels a running action (agent shutdown). */
  signal?: AbortSignal;
  /**
   * Offered by the group runner to start: a class may return as soon as the
   * group's next resource can start, and hand over the rest of its action
   * (work that can no longer fail it, such as confirming that the first
   * gratuitous ARP left) as a promise of the text that completes its output.
   * The runner waits for every such rest before the group counts as started,
   * and the step's output is the whole text. Without it (a class called
   * directly), the class finishes everything before it returns.
   */
  finishLater?: (rest: Promise<string>) => void;
}

/** One resource of a group, resolved: its class, name and arguments as haresources gave them. */
export interface ResourceSpec {
  /** As written in haresources, e.g. "IPaddr::192.0.2.10/24/eth0" or "ocf:heartbeat:Dummy::state=/run/d". */
  raw: string;
  /** Class name: "IPaddr", "IPaddr2", "heartbeat" (resource.d), "lsb" (init.d), "ocf". */
  className: string;
  /** Resource name: script or agent name ("apache", "Dummy", "IPaddr2"). */
  name: string;
  /** Positional arguments (`::`-separated) for IPaddr/IPaddr2/resource.d scripts. */
  args: string[];
  /** OCF parameters (name=value after ::) for ocf: resources. */
  params: Record<string, string>;
  /** Path of the script or agent that will run, when there is one. */
  path: string | null;
  /** OCF provider (ocf:PROVIDER:AGENT) for ocf: resources. */
  provider?: string;
  /** OCF_RESOURCE_INSTANCE for ocf: resources (stable for the same haresources entry). */
  instance?: string;
}

/**
 * A status taken ahead of the group's starts (ResourceClass.probe): the
 * answer, and, when the class can, a start made from the same look at the
 * system.
 */
export interface Probe {
  status: ActionResult;
  /**
   * Starts from what the status saw, without looking again: the same result
   * and effects as run(start) while nothing has changed since the probe. The
   * group runner calls it only when no resource was started after the probe
   * (otherwise it calls run(start), which looks again), and only when the
   * status said not running.
   */
  start?: (ctx: ActionContext) => Promise<ActionResult>;
}

export interface ResourceClass {
  /** The className it handles. */
  readonly name: string;
  run(spec: ResourceSpec, action: Action, ctx: ActionContext): Promise<ActionResult>;
  /**
   * Optional: the status, as run(status) answers it, with a start that reuses
   * the same look (the IP classes read the interfaces once for both). The
   * group runner uses it when it is there.
   */
  probe?(spec: ResourceSpec, ctx: ActionContext): Promise<Probe>;
}
