// The fence types lubdub knows. A new type is one file exporting a FenceType
// and one line here.

import { baytechType } from "./baytech.js";
import { externalType } from "./external.js";
import { fenceAgentType } from "./fence-agent.js";
import { lubdubType } from "./lubdub.js";
import { manualType } from "./manual.js";
import type { FenceType } from "./types.js";

export const FENCE_TYPES: readonly FenceType[] = [
  lubdubType,
  baytechType,
  externalType,
  fenceAgentType,
  manualType,
];

/** The plugin for a configured type name, or null. */
export function findFenceType(typeName: string): FenceType | null {
  return FENCE_TYPES.find((t) => t.matches(typeName)) ?? null;
}

export function fenceTypeNames(): string[] {
  return FENCE_TYPES.map((t) => t.name);
}
