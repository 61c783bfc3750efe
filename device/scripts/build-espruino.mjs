// Builds device/dist/espruino.js, the bundle for Espruino 2v29 boards and
// Espruino's Linux build (device-targets.md §2.2):
//
//   esbuild --bundle --format=iife --target=es2015 --minify
//           (never the espruino CLI's own minifier: it mis-compiles ES2015)
//   useDefineForClassFields: false (class fields as plain assignments)
//   "@lubdub/protocol/portable" from the protocol's TypeScript source
//   post-pass: a class expression that names itself (`var a = class b {…b…}`)
//           becomes `var b, a = b = class {…b…}`, since Espruino does not bind
//           the inner name
//   post-pass: `espruinoRequire` (how the source names Espruino's require, so
//           that esbuild leaves it alone) becomes `require`
//
// Prints the size; device/src/build-check checks the result (syntax and the
// 8 KB budget).

import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const device = join(here, "..");
const root = join(device, "..");
const outfile = join(device, "dist", "espruino.js");

/** Rewrites `X=class Y{` (Y named, bound only inside) into `Y,X=Y=class{`: Espruino binds no inner class name. */
export function fixClassNames(code) {
  // (var|let|const|,) NAME = class INNER (extends …)? {
  return code.replace(/(\b(?:var|let|const)\s+|,\s*)([\w$]+)\s*=\s*class\s+([\w$]+)(?=\s*(?:extends\b|\{))/g, (m, lead, outer, inner) => {
    if (outer === inner) return `${lead}${outer}=class`;
    return `${lead}${inner},${outer}=${inner}=class`;
  });
}

export async function buildEspruino() {
  const result = await build({
    entryPoints: [join(device, "src", "targets", "espruino", "main.ts")],
    bundle: true,
    format: "iife",
    target: "es2015",
    minify: true,
    write: false,
    charset: "ascii",
    legalComments: "none",
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
    alias: { "@lubdub/protocol/portable": join(root, "protocol", "src", "portable", "index.ts") },
    logLevel: "warning",
    metafile: true,
  });
  let code = result.outputFiles[0].text;
  code = fixClassNames(code);
  // Espruino's require: the source calls it espruinoRequire so that esbuild
  // does not replace it with its Proxy-based shim (no Proxy on Espruino).
  code = code.replace(/\bespruinoRequire\b/g, "require");
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, code);
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  const sizes = Object.keys(inputs).map((file) => ({ file: file, bytes: inputs[file].bytesInOutput }));
  sizes.sort((a, b) => b.bytes - a.bytes);
  return { code: code, sizes: sizes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { code, sizes } = await buildEspruino();
  console.log(`device/dist/espruino.js: ${Buffer.byteLength(code)} bytes (budget 8192)`);
  if (process.argv.includes("--sizes")) {
    for (const s of sizes) console.log(`  ${String(s.bytes).padStart(6)}  ${s.file}`);
  }
}
