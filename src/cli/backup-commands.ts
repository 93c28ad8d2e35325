// `autopilot backup` and `autopilot restore`: the same domain code the jobs run, for an operator's
// terminal. Progress goes to stderr, the result line to stdout; a failure prints one redacted line
// and exits 1, never a stack trace. The database code (and pg) is imported when a command runs, so
// other commands start without it.
import path from "node:path";
import type { Command } from "commander";
import type { BackupResult } from "../database/backup.js";
import { connectionOptions, resolveDatabaseUrl, runCommand, type ConnectionFlags } from "./common.js";

const DEFAULT_DIRECTORY = "./.autopilot/backups";

export function registerBackupCommands(program: Command): void {
  connectionOptions(program.command("backup"))
    .description("dump a database (pg_dump custom format), verify the archive and write it atomically")
    .option("--out <file>", "write the backup to this file")
    .option("--dir <directory>", `write <database>_<timestamp>.dump into this directory (default ${DEFAULT_DIRECTORY})`)
    .action((flags: ConnectionFlags & { out?: string; dir?: string }) => runCommand(() => backupCommand(flags)));

  connectionOptions(program.command("restore"))
    .description("replace a database's entire content with a backup, in one transaction")
    .requiredOption("--file <file>", "backup file written by `autopilot backup`")
    .option("--sha256 <hex>", "refuse unless the file has this sha256")
    .option("--lock-timeout <seconds>", "give up when another session holds a lock this long", "10")
    .option("--lock-wait <seconds>", "how long to wait for a migration or rollback of the database to finish", "60")
    .option("--yes", "confirm: every schema of the database is replaced by the backup")
    .action((flags: RestoreFlags) => runCommand(() => restoreCommand(flags)));
}

async function backupCommand(flags: ConnectionFlags & { out?: string; dir?: string }): Promise<void> {
  if (flags.out && flags.dir) throw new Error("give either --out or --dir, not both");
  const databaseUrl = resolveDatabaseUrl(flags);
  const { databaseName } = await import("../database/pg-tools.js");
  const { backupDatabase } = await import("../database/backup.js");
  const file = flags.out ?? defaultBackupPath(flags.dir ?? DEFAULT_DIRECTORY, databaseName(databaseUrl));
  const result = await backupDatabase({ databaseUrl, file, onProgress: progress });
  console.log(`backup written: ${result.file} (${describe(result)})`);
}

type RestoreFlags = ConnectionFlags & { file: string; sha256?: string; lockTimeout: string; lockWait: string; yes?: boolean };

async function restoreCommand(flags: RestoreFlags): Promise<void> {
  const databaseUrl = resolveDatabaseUrl(flags);
  const { databaseName } = await import("../database/pg-tools.js");
  const database = databaseName(databaseUrl);
  if (!flags.yes) {
    throw new Error(`restore replaces everything in database "${database}" with ${flags.file}; re-run with --yes to confirm`);
  }
  const lockTimeoutSeconds = Number(flags.lockTimeout);
  if (!Number.isFinite(lockTimeoutSeconds) || lockTimeoutSeconds <= 0) throw new Error("--lock-timeout must be a positive number of seconds");
  const lockWaitSeconds = Number(flags.lockWait);
  if (!Number.isFinite(lockWaitSeconds) || lockWaitSeconds < 0) throw new Error("--lock-wait must be a number of seconds (0 or more)");
  const { holdMigrationLock } = await import("../database/target-session.js");
  const { restoreDatabase } = await import("../database/restore.js");
  // The migration lock: a restore never interleaves with Autopilot migrating or rolling back the database.
  const session = {
    databaseUrl,
    applicationName: "autopilot-restore",
    lockWaitSeconds,
    onWaiting: () => progress("waiting for a migration of this database to finish"),
  };
  const { durationMs, ownersNotKept } = await holdMigrationLock(session, () =>
    restoreDatabase({ databaseUrl, file: flags.file, expectedSha256: flags.sha256, lockTimeoutMs: lockTimeoutSeconds * 1000, onProgress: progress }),
  );
  if (ownersNotKept.length) progress(`warning: this role cannot become ${ownersNotKept.join(", ")}; it now owns what they owned`);
  console.log(`restore complete: database "${database}" restored from ${flags.file} (${formatDuration(durationMs)})`);
}

function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

export function defaultBackupPath(directory: string, database: string): string {
  const safeName = database.replace(/[^A-Za-z0-9._-]/g, "_");
  const stamp = new Date().toISOString().replace(/[-:.]/g, "");
  return path.join(directory, `${safeName}_${stamp}.dump`);
}

function describe(result: BackupResult): string {
  return `${formatBytes(result.sizeBytes)}, sha256 ${result.sha256}, ${formatDuration(result.durationMs)}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
