// `autopilot drift`: how the database differs from the schema its applied migrations build, with a
// SQL suggestion per difference. Exit 0 when there is none, 1 when there is drift, 2 when it could
// not tell (a bad flag, an unreadable directory, a database or shadow server out of reach).
import { Option, type Command } from "commander";
import { CLI_SHADOW_DATABASE_URL_VARIABLE, processEnvironment } from "../config/process-environment.js";
import { hasErrors } from "../database/errors.js";
import { loadMigrationDirectory } from "../database/migration-files.js";
import { redact, registerSecret } from "../redact.js";
import { connectionOptions, resolveDatabaseUrl, type ConnectionFlags } from "./common.js";

interface DriftFlags extends ConnectionFlags {
  dir: string;
  shadowDatabaseUrl?: string;
  shadowDatabaseUrlEnv?: string;
}

export const DRIFT_EXIT = { none: 0, drift: 1, error: 2 } as const;

export function registerDriftCommands(program: Command): void {
  connectionOptions(
    program.command("drift").description("compare the database's schema with the one its applied migrations build; exit 1 on drift, 2 on error"),
  )
    .requiredOption("--dir <directory>", "migrations directory", "migrations")
    .addOption(
      new Option("--shadow-database-url <url>", "server where a scratch database may be created (prefer the env variable)").env(
        CLI_SHADOW_DATABASE_URL_VARIABLE,
      ),
    )
    .option("--shadow-database-url-env <name>", "name of an environment variable holding the shadow server's connection string")
    .action(async (flags: DriftFlags) => {
      try {
        process.exitCode = await driftCommand(flags);
      } catch (error) {
        console.error(`error: ${redact(error instanceof Error ? error.message : String(error))}`);
        process.exitCode = DRIFT_EXIT.error;
      }
    });
}

async function driftCommand(flags: DriftFlags): Promise<number> {
  const targetUrl = resolveDatabaseUrl(flags);
  const shadowUrl = resolveShadowUrl(flags);
  const { files, problems } = await loadMigrationDirectory(flags.dir);
  for (const p of problems) console.error(`${p.path}${p.line ? `:${p.line}` : ""}: ${p.severity}: ${redact(p.message)}`);
  if (hasErrors(problems)) return DRIFT_EXIT.error;
  const { detectDrift } = await import("../database/drift/detect.js");
  const { driftAsText } = await import("../database/drift/describe.js");
  const report = await detectDrift({ targetUrl, shadowUrl, files, onProgress: (message) => process.stderr.write(`${redact(message)}\n`) });
  if (report.unknownVersions.length) {
    console.error(`warning: applied version(s) ${report.unknownVersions.join(", ")} have no file in ${flags.dir}; what they did is not compared`);
  }
  console.log(redact(driftAsText(report.differences, "the database")));
  return report.differences.length ? DRIFT_EXIT.drift : DRIFT_EXIT.none;
}

function resolveShadowUrl(flags: DriftFlags): string {
  const url = flags.shadowDatabaseUrlEnv ? processEnvironment()[flags.shadowDatabaseUrlEnv] : flags.shadowDatabaseUrl;
  if (!url) {
    throw new Error(
      flags.shadowDatabaseUrlEnv
        ? `environment variable ${flags.shadowDatabaseUrlEnv} is not set`
        : `--shadow-database-url (or ${CLI_SHADOW_DATABASE_URL_VARIABLE}, or --shadow-database-url-env) is required: drift builds a scratch database there`,
    );
  }
  registerSecret(url);
  return url;
}
