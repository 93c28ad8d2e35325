// `autopilot rollback --dir DIR --to VERSION`: reverts the migrations applied after VERSION with their
// down files from a local directory, through the same planning (planRevertTo) and the same locked,
// one-transaction-per-file revert (applyDownMigrations) as the App's `/autopilot rollback <version>`.
import os from "node:os";
import type { Command } from "commander";
import type { DownFile } from "../database/rollback.js";
import { connectionOptions, resolveDatabaseUrl, runCommand, type ConnectionFlags } from "./common.js";
import { loadFiles, type TargetFlags } from "./migrate-commands.js";
import { DEFAULT_DIRECTORY } from "../database/migration-files.js";

interface RollbackFlags extends ConnectionFlags {
  dir: string;
  layout?: string;
  to: string;
  lockTimeout: string;
  statementTimeout: string;
  lockWait: string;
  revertedBy?: string;
}

export function registerRollbackCommands(program: Command): void {
  connectionOptions(program.command("rollback"))
    .description("revert the migrations applied after a version with their down files, newest first, each in its own transaction")
    .requiredOption("--to <version>", "the version to go back to (it stays applied; every later one is reverted)")
    .requiredOption("--dir <directory>", "migrations directory holding the down files", DEFAULT_DIRECTORY)
    .option("--layout <layout>", "how the files are named (default: detected from the files)")
    .option("--lock-timeout <duration>", "lock_timeout for each down file", "10s")
    .option("--statement-timeout <duration>", "statement_timeout for each down file (0 = none)", "0")
    .option("--lock-wait <seconds>", "how long to wait for a migration of the database to finish", "60")
    .option("--reverted-by <who>", "recorded in the history (default cli:<user>)")
    .action((flags: RollbackFlags) => runCommand(() => rollbackCommand(flags)));
}

async function rollbackCommand(flags: RollbackFlags): Promise<void> {
  const lockWaitSeconds = Number(flags.lockWait);
  if (!Number.isFinite(lockWaitSeconds) || lockWaitSeconds < 0) throw new Error("--lock-wait must be a number of seconds (0 or more)");
  const databaseUrl = resolveDatabaseUrl(flags);
  const loaded = await loadFiles(flags as TargetFlags);
  const downs = new Map<string, DownFile>();
  for (const f of loaded.files) if (f.down) downs.set(f.version, { version: f.version, name: f.name, path: f.down.path, sql: f.down.sql });
  const { readHistoryFromUrl } = await import("../database/history.js");
  const { applyDownMigrations, planRevertTo } = await import("../database/rollback.js");
  const plan = planRevertTo(flags.to, await readHistoryFromUrl(databaseUrl), downs, flags.dir);
  if ("error" in plan) throw new Error(plan.error);
  if (plan.missing.length) throw new Error(`nothing was reverted: these migrations have no down file: ${plan.missing.map((m) => m.expectedPath).join(", ")}`);
  const result = await applyDownMigrations({
    databaseUrl,
    downs: plan.downs,
    lockTimeout: flags.lockTimeout,
    statementTimeout: flags.statementTimeout,
    lockWaitSeconds,
    revertedBy: flags.revertedBy ?? `cli:${os.userInfo().username}`,
    onProgress: (e) => process.stderr.write(`Reverting ${e.position} of ${e.total}: ${e.file.version}_${e.file.name}\n`),
  });
  for (const r of result.reverted) console.log(`reverted ${r.file.version}_${r.file.name} (${r.durationMs} ms)`);
  if (result.failure) {
    const f = result.failure;
    const kept = f.revertedBefore.length ? `; ${f.revertedBefore.length} down file(s) before it stay reverted` : "";
    throw new Error(`${f.file.path}:${f.line}: ${f.message}${f.code ? ` (SQLSTATE ${f.code})` : ""}${kept}`);
  }
  console.log(`rolled back to ${flags.to}: ${result.reverted.length} migration(s) reverted`);
}
