// The process logger: pino, with every line passed through `redact` before it is written, so a
// connection string in an error message never reaches a log file.
import { pino, type Logger as PinoLogger } from "pino";
import { logLevel } from "./config/environment.js";
import { redact } from "./redact.js";

export type Logger = PinoLogger;

export function createLogger(level = logLevel()): Logger {
  return pino({
    level,
    name: "autopilot",
    hooks: { streamWrite: (line: string) => redact(line) },
  });
}
