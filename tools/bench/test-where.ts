// For the benchmarks' own tests: register a test, or a skip whose reason is
// printed (as test/src/support/require.ts testWhere does; tools cannot import
// from test/).

import type { Test } from "uvu";

export function testWhere(t: Test, name: string, why: () => string | null, fn: () => void | Promise<void>): void {
  const reason = why();
  if (reason) {
    console.log(`SKIP ${name}: ${reason}`);
    t.skip(name, fn);
  } else t(name, fn);
}
