// Entry point of `autopilot`: bin/autopilot.js loads it from the dist/cli/ bundle, or through tsx.
import { registerEnvironmentSecrets } from "../redact.js";
import { buildProgram } from "./program.js";

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
