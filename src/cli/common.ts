// What every CLI command shares: how it is told which database to use, and how it fails.
import { Option, type Command } from "commander";
import { CLI_DATABASE_URL_VARIABLE, processEnvironment } from "../config/process-environment.js";
import { redact, registerSecret } from "../redact.js";

export interface ConnectionFlags {
  databaseUrl?: string;
  databaseUrlEnv?: string;
}

export function connectionOptions(command: Command): Command {
  return command
    .addOption(new Option("--database-url <url>", "connection string (prefer the env variable: argv is visible to other users)").env(CLI_DATABASE_URL_VARIABLE))
    .option("--database-url-env <name>", "name of an environment variable holding the connection string");
}

/** The connection string the flags point at; registered as a secret so no later message shows it. */
export function resolveDatabaseUrl(flags: ConnectionFlags): string {
  const url = flags.databaseUrlEnv ? processEnvironment()[flags.databaseUrlEnv] : flags.databaseUrl;
  if (!url) {
    throw new Error(
      flags.databaseUrlEnv
        ? `environment variable ${flags.databaseUrlEnv} is not set`
        : `--database-url (or ${CLI_DATABASE_URL_VARIABLE}, or --database-url-env) is required`,
    );
  }
  registerSecret(url);
  return url;
}

/** Any thrown error becomes one redacted line and exit code 1, never a stack trace. */
export async function runCommand(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    console.error(`error: ${redact(error instanceof Error ? error.message : String(error))}`);
    process.exitCode = 1;
  }
}
