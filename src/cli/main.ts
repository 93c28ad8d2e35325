// Entry point of `autopilot`: bin/autopilot.js loads it from the dist/cli/ bundle, or through tsx.
import { setFlagsFromString } from "node:v8";

// V8's flags for a command line, in one place, before anything else is compiled.
//
// A command runs for seconds, not hours: V8's default (67,584 bytes of bytecode run before a function
// is queued for its optimizing compiler) is tuned for long-lived pages, and here that compiler's
// background threads took the cores the command's two threads need. Fifteen times the default:
// `plan --lint` over bench:lint's 1,000 files went from 599 to 443 ms (best of 20 alternated runs;
// first quartile 649 to 508 ms) and its CPU time from 1,057 to 691 ms; 0.6 to 3 million measured
// alike. Set first, so that every function and the lint's worker thread (which starts with the
// flags of the moment) get it.
setFlagsFromString("--interrupt-budget=1000000");
// The lint parses each file once or twice, so most of the parser's WebAssembly functions run a few
// thousand times at most: the optimizing compiler that WebAssembly tiers up to cost more CPU than it
// saved, and compiling everything optimized up front (--no-liftoff) cost 0.6 s per grammar before the
// first file. The baseline compiler (Liftoff) alone took a quarter less CPU over bench:lint's 1,000
// files. V8 reads it when it compiles a module, so it must be set before a grammar loads.
setFlagsFromString("--liftoff-only");

// The lint's parse thread starts before anything else loads: its start-up is what `plan --lint`
// first waits for. A `--lint` that turns out to mean something else leaves an idle thread that does
// not hold the process.
async function main(): Promise<void> {
  if (process.argv.includes("--lint")) (await import("../database/lint/lint-worker.js")).startLintWorkerEarly();
  const { registerEnvironmentSecrets } = await import("../redact.js");
  const { buildProgram } = await import("./program.js");

  // A reader that goes away early (`autopilot audit | head -1`) is not a failure: the rest of the
  // output is dropped and the command runs to its end, so a migration is never cut short because
  // nobody reads its log any more.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
    });
  }
  registerEnvironmentSecrets();
  await buildProgram().parseAsync(process.argv);
}

// Not a top-level await: the bundle is CommonJS (scripts/build-cli.mjs). A failure the commands do not
// report themselves ends the process as an uncaught error would.
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
