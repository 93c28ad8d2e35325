// Entry point of `autopilot` (bin/autopilot.js loads it through tsx).
import { buildProgram } from "./program.js";

await buildProgram().parseAsync(process.argv);
