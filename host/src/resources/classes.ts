// Resource classes by className. The script classes are registered here;
// other classes (the IPaddr and IPaddr2 built-ins) register themselves with
// registerResourceClass, so adding one is a single line.

import type { ResourceClass } from "./resource-class.js";
import { heartbeatClass } from "./class-heartbeat.js";
import { lsbClass } from "./class-lsb.js";
import { ocfClass } from "./class-ocf.js";
import { ipaddrClass } from "./class-ipaddr.js";
import { ipaddr2Class } from "./class-ipaddr2.js";

const registry = new Map<string, ResourceClass>();

/** Adds (or replaces) the class for `cls.name`. */
export function registerResourceClass(cls: ResourceClass): void {
  registry.set(cls.name, cls);
}

/** The class for a className, or undefined when none is registered. */
export function getResourceClass(className: string): ResourceClass | undefined {
  return registry.get(className);
}

/** Registered classNames, for diagnostics. */
export function resourceClassNames(): string[] {
  return [...registry.keys()];
}

for (const cls of [heartbeatClass, lsbClass, ocfClass]) registerResourceClass(cls);
for (const cls of [ipaddrClass, ipaddr2Class]) registerResourceClass(cls);
