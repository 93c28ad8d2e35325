// `autopilot drift`: how the database differs from the schema its applied migrations build, with a
// SQL suggestion per difference. Exit 0 when there is none, 1 when there is drift, 2 when it could
// not tell (a bad flag, an unreadable directory, a database or shadow server out of reach).
import type { Command } from "commander";
import { hasErrors } from "../database/errors.js";
import { loadMigrationDirectory } from "../database/migration-files.js";
import { redact } from "../redact.js";
import { connectionOptions, resolveDatabaseUrl, resolveShadowUrl, shadowOptions, type ConnectionFlags, type ShadowFlags } from "./common.js";

interface DriftFlags extends ConnectionFlags, ShadowFlags {
  dir: string;
}

export const DRIFT_EXIT = { none: 0, drift: 1, error: 2 } as const;

export function registerDriftCommands(program: Command): void {
  shadowOptions(
    connectionOptions(
      program.command("drift").description("compare the database's schema with the one its applied migrations build; exit 1 on drift, 2 on error"),
    ).requiredOption("--dir <directory>", "migrations directory", "migrations"),
  ).action(async (flags: DriftFlags) => {
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
  const shadowUrl = resolveShadowUrl(flags, "drift builds a scratch database there");
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
