#!/usr/bin/env node
// Runs the CLI precompiled into dist/cli/ (`npm run build`, which `npm ci` runs) when it is newer than
// every source file: compiling the TypeScript at each start would cost most of a short command's time.
// Without a build, or after an edit to src/, it registers tsx's loader and runs the TypeScript itself,
// so a change takes effect without a rebuild.
import { existsSync, readdirSync, statSync } from "node:fs";
import module, { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// Node 22 and later keep the compiled JavaScript of the dependencies between runs (Node 20 has no cache).
module.enableCompileCache?.();

const bundle = new URL("../dist/cli/main.cjs", import.meta.url);
const sources = new URL("../src/", import.meta.url);

/** The latest modification time of any file under the directory, in ms. */
function newestChange(directory) {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const child = new URL(entry.name + (entry.isDirectory() ? "/" : ""), directory);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(child) : statSync(child).mtimeMs);
  }
  return newest;
}

if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestChange(sources)) {
  // CommonJS, so required: an import would have the ES module loader scan it for its exports first.
  createRequire(import.meta.url)(fileURLToPath(bundle));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
