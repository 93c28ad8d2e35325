// `autopilot adopt` and `autopilot baseline`: take over a database from the command line, as
// `/autopilot adopt` and `/autopilot baseline` do on GitHub. Every refusal or mismatch exits 1.
import os from "node:os";
import type { Command } from "commander";
import { hasErrors } from "../database/errors.js";
import { DEFAULT_DIRECTORY } from "../database/migration-files.js";
import { LAYOUT_NAMES } from "../database/layouts/index.js";
import { loadFiles } from "./migrate-commands.js";
import type { TakeOverResult } from "../database/take-over.js";
import { redact } from "../redact.js";
import { connectionOptions, resolveDatabaseUrl, runCommand, type ConnectionFlags } from "./common.js";

interface TakeOverFlags extends ConnectionFlags {
  dir: string;
  layout?: string;
  lockWait: string;
}

interface BaselineFlags extends TakeOverFlags {
  version: string;
  appliedBy?: string;
}

function takeOverOptions(command: Command): Command {
  return connectionOptions(command)
    .requiredOption("--dir <directory>", "migrations directory (absent migrations/: supabase/migrations, or diesel.toml's)", DEFAULT_DIRECTORY)
    .option("--layout <layout>", `how the files are named: ${LAYOUT_NAMES.join(", ")} (default: detected from the files)`)
    .option("--lock-wait <seconds>", "how long to wait for another migration run to finish", "60");
}

export function registerAdoptCommands(program: Command): void {
  takeOverOptions(
    program.command("adopt").description("record what another tool (Flyway, Supabase CLI, Prisma, …) applied as Autopilot history; exit 1 on any mismatch"),
  ).action((flags: TakeOverFlags) => runCommand(() => adoptCommand(flags)));

  takeOverOptions(program.command("baseline").description("on a database with no history, record every file up to --version as applied without running it"))
    .requiredOption("--version <version>", "the last migration the database already has")
    .option("--applied-by <who>", "recorded in the history (default cli:<user>)")
    .action((flags: BaselineFlags) => runCommand(() => baselineCommand(flags)));
}

async function adoptCommand(flags: TakeOverFlags): Promise<void> {
  const { adoptForeignHistory } = await import("../database/take-over.js");
  const options = await targetOptions(flags);
  if (options) report("adopt", await adoptForeignHistory(options));
}

async function baselineCommand(flags: BaselineFlags): Promise<void> {
  if (!/^\d+([._]\d+)*$/.test(flags.version))
    throw new Error(`--version must be a migration version (digits, e.g. 0042, or Flyway's 1.1), got "${flags.version}"`);
  const { baselineHistory } = await import("../database/take-over.js");
  const options = await targetOptions(flags);
  if (options) report("baseline", await baselineHistory({ ...options, version: flags.version, by: flags.appliedBy ?? `cli:${os.userInfo().username}` }));
}

/** The target and the directory's files; undefined (exit 1) when a file name is wrong. */
async function targetOptions(flags: TakeOverFlags) {
  const lockWaitSeconds = Number(flags.lockWait);
  if (!Number.isFinite(lockWaitSeconds) || lockWaitSeconds < 0) throw new Error("--lock-wait must be a number of seconds");
  const databaseUrl = resolveDatabaseUrl(flags);
  const { files, problems } = await loadFiles(flags);
  for (const p of problems) console.error(`${p.path}${p.line ? `:${p.line}` : ""}: ${p.severity}: ${redact(p.message)}`);
  if (hasErrors(problems)) return void (process.exitCode = 1);
  return { databaseUrl, refs: files, lockWaitSeconds };
}

function report(verb: string, result: TakeOverResult): void {
  if (result.kind === "recorded") {
    const last = result.recorded.at(-1)?.version ?? "none";
    console.log(
      `Recorded ${result.recorded.length} migration(s) up to ${last} (${verb === "adopt" ? `adopted from ${result.from}` : result.from}) without running them.`,
    );
    return;
  }
  process.exitCode = 1;
  if (result.kind === "refused") return console.error(`error: ${redact(result.reason)}`);
  console.error(`Nothing recorded: ${result.from}'s history does not match the files:`);
  for (const mismatch of result.mismatches) console.error(`  - ${redact(mismatch)}`);
}
