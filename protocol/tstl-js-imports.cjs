// typescript-to-lua plugin for the Lua build of the portable subset.
//
// The sources import siblings as "./limits.js" (what NodeNext requires), and
// TSTL 1.37.1 only looks for "./limits.js.ts". Map a relative ".js" import to
// the extensionless path so TSTL finds the .ts file beside it. Anything else
// is left to TSTL (the portable check forbids non-relative imports anyway).
module.exports = {
  moduleResolution(moduleIdentifier) {
    const relative = moduleIdentifier.startsWith("./") || moduleIdentifier.startsWith("../");
    if (relative && moduleIdentifier.endsWith(".js")) return moduleIdentifier.slice(0, -3);
    return undefined;
  },
};
