// Turns ha.cf's media lines into Medium plugins through the media registry.

import type { HaConfig, MediumDirective } from "../config/types.js";
import type { Medium } from "../media/medium.js";
import { createMedia } from "../media/registry.js";

function args(m: MediumDirective): { directive: string; args: string[]; udpport?: number } {
  switch (m.kind) {
    case "ucast":
      return { directive: "ucast", args: [m.iface, m.peer], udpport: m.port };
    case "bcast":
      return { directive: "bcast", args: [m.iface], udpport: m.port };
    case "mcast":
      return { directive: "mcast", args: [m.iface, m.group, String(m.port), String(m.ttl), m.loop ? "1" : "0"] };
    case "serial":
      return { directive: "serial", args: [m.device] };
  }
}

/** One Medium per configured link; a line that cannot become a medium is reported, the others go on. */
export function mediaFromConfig(cfg: HaConfig, onError: (m: MediumDirective, e: Error) => void): Medium[] {
  const out: Medium[] = [];
  for (const m of cfg.media) {
    const a = args(m);
    try {
      out.push(...createMedia(a.directive, a.args, { udpport: a.udpport ?? cfg.udpport, baud: cfg.baud }));
    } catch (e) {
      onError(m, e as Error);
    }
  }
  return out;
}
