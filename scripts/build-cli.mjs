// Builds the command line's bundle: dist/cli by default (npm run build, run by `prepare` on install),
// or the directory given, which tests use so that a build never swaps the chunks of dist/cli under
// another process that is running them. The directory must sit inside the project: the bundle
// leaves packages external and finds them in node_modules from where it lies.
import { rmSync } from "node:fs";
import { build } from "esbuild";

const outdir = process.argv[2] ?? "dist/cli";
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: "src/cli/main.ts", "grammar-worker": "src/database/lint/grammar-worker.ts" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  outdir,
  logLevel: "warning",
});
