// Loads the client's TypeScript modules into Node, for tests and benches
// that run the app's own code without a browser: each module is transpiled
// with the project's TypeScript into node_modules/.cache (so that packages
// still resolve), relative imports get the `.mjs` they need, and
// src/automerge.ts, whose wasm URL only Vite understands, is replaced by the
// Node build of the same library. `source(path)` may read another version
// of a file (the bench reads the code before a change from git).

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const webClientDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const AUTOMERGE_SHIM = `import * as A from "@automerge/automerge";
export { A };
export function initAutomerge() { return Promise.resolve(); }
`;

/**
 * Transpiles `entry` (a path under src/, e.g. "live.ts") and what it imports
 * at run time into `outDir`, and imports it.
 */
export async function loadSrc(entry, { outDir = "node", source = (p) => readFileSync(join(webClientDir, "src", p), "utf8") } = {}) {
  const out = join(webClientDir, "node_modules/.cache/cartroom-src", outDir);
  rmSync(out, { recursive: true, force: true });
  const done = new Set();
  const emit = (file) => {
    if (done.has(file)) return;
    done.add(file);
    const target = join(out, file.replace(/\.ts$/, ".mjs"));
    mkdirSync(dirname(target), { recursive: true });
    if (file === "automerge.ts") {
      writeFileSync(target, AUTOMERGE_SHIM);
      return;
    }
    const js = ts.transpileModule(source(file), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    // Type-only imports are gone now; what remains is loaded at run time.
    const rewritten = js.replace(/(from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)"/g, (_, lead, spec) => {
      const dep = relative(join(webClientDir, "src"), resolve(join(webClientDir, "src"), dirname(file), spec));
      emit(`${dep}.ts`);
      return `${lead}"${spec}.mjs"`;
    });
    writeFileSync(target, rewritten);
  };
  emit(entry);
  return import(pathToFileURL(join(out, entry.replace(/\.ts$/, ".mjs"))).href);
}
