// The agent's side of `lubdub fence-confirm NODE`: an ExtraRequestHandler for
// serveControl that hands the confirmation to the manual fence type.

import type { ManualConfirmations } from "../fencing/manual.js";
import type { FenceLog } from "../fencing/types.js";
import type { ExtraRequestHandler } from "./socket.js";
import { parseFenceConfirmRequest, type FenceConfirmResponse } from "./status.js";

export function fenceConfirmHandler(manual: ManualConfirmations, log: FenceLog): ExtraRequestHandler {
  return (raw) => {
    const req = parseFenceConfirmRequest(raw);
    if (req === null) return null;
    const r = manual.confirm(req.node);
    log(r.ok ? "warn" : "info", "control.fence-confirm", r.ok ? `operator confirmed ${req.node} is down` : `fence-confirm ${req.node}: ${r.error}`, { node: req.node, ok: r.ok });
    const response: FenceConfirmResponse = r.ok ? { ok: true, node: req.node } : { ok: false, error: r.error };
    return response;
  };
}
