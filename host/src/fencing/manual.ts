// `manual`: an operator fences the node by hand (pulls the plug, powers it
// off from its management console) and then says so with
// `lubdub fence-confirm NODE`, which reaches the agent over the control
// socket and calls ManualConfirmations.confirm(NODE). Like cluster-glue's
// meatware plugin: only a request that is waiting can be confirmed, so an old
// confirmation never counts for a later failure. Configuration name
// `hostlist` (optional): the nodes this device may fence.

import { abortedOutcome, done, fail, type FenceDevice, type FenceEnv, type FenceOutcome, type FenceRequest, type FenceType } from "./types.js";

interface Pending {
  node: string;
  since: number;
  resolve(): void;
}

export class ManualConfirmations {
  private pending: Pending[] = [];

  /** Nodes waiting for a confirmation, with since when (ms, Date.now()). */
  waiting(): { node: string; since: number }[] {
    return this.pending.map((p) => ({ node: p.node, since: p.since }));
  }

  /** Resolves when an operator confirms `node`; rejects when `signal` aborts. */
  wait(node: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const p: Pending = {
        node: node.toLowerCase(),
        since: Date.now(),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.pending = this.pending.filter((x) => x !== p);
        reject(new Error("aborted"));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.push(p);
    });
  }

  /**
   * An operator's confirmation that `node` is down. Returns an error text
   * when no fencing of that node is waiting (nothing is remembered for later).
   */
  confirm(node: string): { ok: true } | { ok: false; error: string } {
    const n = node.toLowerCase();
    const mine = this.pending.filter((p) => p.node === n);
    if (mine.length === 0) {
      const others = this.pending.map((p) => p.node);
      return { ok: false, error: `no fencing of ${node} is waiting for a confirmation${others.length ? ` (waiting: ${others.join(", ")})` : ""}` };
    }
    this.pending = this.pending.filter((p) => p.node !== n);
    for (const p of mine) p.resolve();
    return { ok: true };
  }
}

export class ManualDevice implements FenceDevice {
  readonly type = "manual";
  readonly describe = "manual (lubdub fence-confirm NODE)";

  constructor(
    private readonly confirmations: ManualConfirmations,
    private readonly hostlist: string[],
    private readonly env: FenceEnv,
  ) {}

  async fence(req: FenceRequest): Promise<FenceOutcome> {
    if (this.hostlist.length > 0 && !this.hostlist.some((h) => h.toLowerCase() === req.node.toLowerCase())) return fail("badhost", `manual: ${req.node} is not in hostlist`);
    if (req.action === "status" || req.action === "on") return fail("failed", `manual: cannot ${req.action} ${req.node} by itself`);
    this.env.log("crit", "fence.manual-wait", `STONITH: operator intervention required: make sure ${req.node} is powered off, then run 'lubdub fence-confirm ${req.node}'`, { node: req.node });
    try {
      await this.confirmations.wait(req.node, req.signal);
    } catch {
      return abortedOutcome(req.signal, "manual: no confirmation");
    }
    this.env.log("warn", "fence.manual-confirmed", `operator confirmed that ${req.node} is down`, { node: req.node });
    return done("off", "confirmed by an operator");
  }

  async check(): Promise<FenceOutcome> {
    return done("unknown");
  }

  async hosts(): Promise<string[]> {
    return this.hostlist;
  }
}

export const manualType: FenceType = {
  name: "manual",
  matches: (t) => t === "manual",
  configNames: () => ({ names: ["hostlist"], required: 0 }),
  validate: () => [],
  create(_t, p, env) {
    if (!env.manual) throw new Error("manual fencing needs the agent's confirmations (FenceEnv.manual)");
    return new ManualDevice(env.manual, (p["hostlist"] ?? "").split(/\s+/).filter(Boolean), env);
  },
};
