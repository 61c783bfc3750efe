// GroupActions over the haresources group runner: what the resource shell
// asks for, done with the real scripts and agents each group names.

import type { GroupActionResult, GroupActions } from "../failover/group-actions.js";
import { groupStatus, startGroup, stopGroup, type GroupRunOptions } from "../resources/group-runner.js";
import type { ResourceGroup } from "../resources/haresources.js";

/** Bounded output in logs: the script's last words are what matter. */
const DETAIL_CHARS = 2000;

function tail(s: string): string {
  return s.length > DETAIL_CHARS ? `…${s.slice(-DETAIL_CHARS)}` : s;
}

export function haresourcesActions(groups: ResourceGroup[], options: GroupRunOptions): GroupActions {
  const byKey = new Map(groups.map((g) => [g.key, g]));
  const find = (key: string): ResourceGroup => {
    const g = byKey.get(key);
    if (!g) throw new Error(`no resource group '${key}' in haresources`);
    return g;
  };
  return {
    async start(key): Promise<GroupActionResult> {
      const r = await startGroup(find(key), options);
      if (r.ok) return { ok: true, detail: r.alreadyRunning.length ? `already running: ${r.alreadyRunning.join(" ")}` : "" };
      const f = r.failed;
      return { ok: false, detail: f ? `${f.resource.raw}: exit ${f.result.exitCode ?? "none"}${f.result.timedOut ? " (timed out)" : ""}: ${tail(f.result.output.trim())}` : "cancelled" };
    },
    async stop(key): Promise<GroupActionResult> {
      const r = await stopGroup(find(key), options);
      if (r.ok) return { ok: true, detail: r.stopFailedButStopped.length ? `stop failed but status says stopped: ${r.stopFailedButStopped.join(" ")}` : "" };
      return { ok: false, detail: r.stuck.map((s) => `${s.resource.raw} still runs: ${tail(s.result.output.trim())}`).join("; ") || "cancelled" };
    },
    async running(key): Promise<boolean> {
      // Any part of the group running counts: a half-started group must be cleaned up too.
      return (await groupStatus(find(key), options)).state !== "none";
    },
    async healthy(key): Promise<boolean> {
      return (await groupStatus(find(key), options)).state === "all";
    },
  };
}
