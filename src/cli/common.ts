// What every CLI command shares: how it is told which database to use, and how it fails.
import { Option, type Command } from "commander";
import { CLI_DATABASE_URL_VARIABLE, CLI_SHADOW_DATABASE_URL_VARIABLE, processEnvironment } from "../config/process-environment.js";
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

export interface ShadowFlags {
  shadowDatabaseUrl?: string;
  shadowDatabaseUrlEnv?: string;
}

/** Where a command may create (and drop) scratch databases: `drift` and `backups verify`. */
export function shadowOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--shadow-database-url <url>", "server where a scratch database may be created (prefer the env variable)").env(
        CLI_SHADOW_DATABASE_URL_VARIABLE,
      ),
    )
    .option("--shadow-database-url-env <name>", "name of an environment variable holding the shadow server's connection string");
}

/** The shadow server's connection string; `purpose` says in the error what it is needed for. */
export function resolveShadowUrl(flags: ShadowFlags, purpose: string): string {
  const url = flags.shadowDatabaseUrlEnv ? processEnvironment()[flags.shadowDatabaseUrlEnv] : flags.shadowDatabaseUrl;
  if (!url) {
    throw new Error(
      flags.shadowDatabaseUrlEnv
        ? `environment variable ${flags.shadowDatabaseUrlEnv} is not set`
        : `--shadow-database-url (or ${CLI_SHADOW_DATABASE_URL_VARIABLE}, or --shadow-database-url-env) is required: ${purpose}`,
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
