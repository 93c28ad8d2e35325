// `autopilot restore`: replaces a database's content with a backup, either a file (`--file`, from
// `autopilot backup`) or a backup the App recorded (`--id`), fetched from whichever store holds it
// (local, S3, Supabase), checked and decrypted. A restore by id does what the App's rollback to a
// backup does: under the migration lock it prints what the restore discards (the loss report), asks
// for --confirm unless that is nothing, fetches the backup (a wrong key fails here, nothing touched),
// takes a safety backup of the current state, then restores.
import type { Command } from "commander";
import type { BackupRecord } from "../store/backups.js";
import { connectionOptions, resolveDatabaseUrl, runCommand, type ConnectionFlags } from "./common.js";
import { formatDuration, progress } from "./backup-commands.js";
import { withStore } from "./backups-commands.js";

type RestoreFlags = ConnectionFlags & {
  file?: string;
  id?: string;
  sha256?: string;
  lockTimeout: string;
  lockWait: string;
  yes?: boolean;
  confirm?: boolean;
};

export function registerRestoreCommands(program: Command): void {
  connectionOptions(program.command("restore"))
    .description("replace a database's entire content with a backup (a file, or one Autopilot recorded, from any store), in one transaction")
    .option("--file <file>", "backup file written by `autopilot backup`")
    .option("--id <backup-id>", "a backup recorded in Autopilot's store (bk_…), from whichever store holds it")
    .option("--sha256 <hex>", "with --file: refuse unless the file has this sha256")
    .option("--lock-timeout <seconds>", "give up when another session holds a lock this long", "10")
    .option("--lock-wait <seconds>", "how long to wait for a migration or rollback of the database to finish", "60")
    .option("--yes", "with --file: confirm, every schema of the database is replaced by the backup")
    .option("--confirm", "with --id: restore even though the loss report counts writes the restore discards")
    .action((flags: RestoreFlags) => runCommand(() => restoreCommand(flags)));
}

async function restoreCommand(flags: RestoreFlags): Promise<void> {
  if (Boolean(flags.file) === Boolean(flags.id)) throw new Error("give either --file or --id (one of them)");
  const lockTimeoutSeconds = Number(flags.lockTimeout);
  if (!Number.isFinite(lockTimeoutSeconds) || lockTimeoutSeconds <= 0) throw new Error("--lock-timeout must be a positive number of seconds");
  const lockWaitSeconds = Number(flags.lockWait);
  if (!Number.isFinite(lockWaitSeconds) || lockWaitSeconds < 0) throw new Error("--lock-wait must be a number of seconds (0 or more)");
  const timing = { lockTimeoutMs: lockTimeoutSeconds * 1000, lockWaitSeconds };
  if (flags.id) return restoreById(flags, flags.id, timing);
  return restoreFile(flags, flags.file!, timing);
}

type Timing = { lockTimeoutMs: number; lockWaitSeconds: number };

async function restoreFile(flags: RestoreFlags, file: string, timing: Timing): Promise<void> {
  const databaseUrl = resolveDatabaseUrl(flags);
  const { databaseName } = await import("../database/pg-tools.js");
  const database = databaseName(databaseUrl);
  if (!flags.yes) throw new Error(`restore replaces everything in database "${database}" with ${file}; re-run with --yes to confirm`);
  const { restoreDatabase } = await import("../database/restore.js");
  const { durationMs, ownersNotKept } = await underMigrationLock(databaseUrl, timing, () =>
    restoreDatabase({ databaseUrl, file, expectedSha256: flags.sha256, lockTimeoutMs: timing.lockTimeoutMs, onProgress: progress }),
  );
  warnOwners(ownersNotKept);
  console.log(`restore complete: database "${database}" restored from ${file} (${formatDuration(durationMs)})`);
}

async function restoreById(flags: RestoreFlags, id: string, timing: Timing): Promise<void> {
  const { loadServerConfig, resolveTarget } = await import("../config/server-config.js");
  const { backupSecretValues, resolveBackupSettings } = await import("../config/backup-config.js");
  const { readEnvironment } = await import("../config/environment.js");
  const { registerSecret } = await import("../redact.js");
  const config = await loadServerConfig(readEnvironment().AUTOPILOT_SERVER_CONFIG);
  for (const secret of backupSecretValues(config)) registerSecret(secret);
  await withStore(async (db) => {
    const backup = await usableBackup(db, id);
    const settings = resolveBackupSettings(config, backup.repo, backup.environment);
    const databaseUrl =
      flags.databaseUrl || flags.databaseUrlEnv ? resolveDatabaseUrl(flags) : resolveTarget(config, backup.repo, backup.environment)?.databaseUrl;
    if (!databaseUrl) {
      throw new Error(
        `the server config binds no target to ${backup.repo} / ${backup.environment}: give the database with --database-url or --database-url-env`,
      );
    }
    registerSecret(databaseUrl);
    const { estimateRestoreLoss, isZeroLoss } = await import("../backups/loss-report.js");
    const { describeLoss } = await import("../backups/loss-description.js");
    const { withBackupFile } = await import("../backups/fetch-backup.js");
    const { takeBackup } = await import("../backups/service.js");
    const { restoreDatabase } = await import("../database/restore.js");
    await underMigrationLock(databaseUrl, timing, async () => {
      // Under the lock, so no migration lands between the estimate and the restore.
      const loss = await estimateRestoreLoss(db, databaseUrl, backup);
      console.log(describeLoss(loss).replace(/`/g, ""));
      if (!isZeroLoss(loss) && !flags.confirm) throw new Error(`backup ${id} was not restored: re-run with --confirm to discard what the report above counts`);
      await withBackupFile(backup, settings, async ({ file, expectedSha256 }) => {
        progress(`backup ${id} fetched from its ${backup.store ?? "local"} store and checked`);
        const safety = await takeBackup({
          db,
          settings,
          keep: config.backups.keep,
          databaseUrl,
          repo: backup.repo,
          environment: backup.environment,
          runId: null,
          commitSha: null,
        });
        console.log(`safety backup of the current state: ${safety.id} (restore it with --id ${safety.id} to undo)`);
        const { durationMs, ownersNotKept } = await restoreDatabase({
          databaseUrl,
          file,
          expectedSha256,
          lockTimeoutMs: timing.lockTimeoutMs,
          onProgress: progress,
        });
        warnOwners(ownersNotKept);
        console.log(`restore complete: ${backup.repo} / ${backup.environment} restored from backup ${id} (${formatDuration(durationMs)})`);
      });
    });
  });
}

async function usableBackup(db: import("pg").Pool, id: string): Promise<BackupRecord> {
  const { getBackup } = await import("../store/backups.js");
  const backup = await getBackup(db, id);
  if (!backup) throw new Error(`no backup ${id} is recorded in the store`);
  if (backup.status !== "ok" || !backup.path) throw new Error(`backup ${id} is not usable (${backup.status})`);
  return backup;
}

/** The migration lock: a restore never interleaves with Autopilot migrating or rolling back the database. */
async function underMigrationLock<T>(databaseUrl: string, timing: Timing, work: () => Promise<T>): Promise<T> {
  const { holdMigrationLock } = await import("../database/target-session.js");
  const session = {
    databaseUrl,
    applicationName: "autopilot-restore",
    lockWaitSeconds: timing.lockWaitSeconds,
    onWaiting: () => progress("waiting for a migration of this database to finish"),
  };
  return holdMigrationLock(session, work);
}

function warnOwners(ownersNotKept: string[]): void {
  if (ownersNotKept.length) progress(`warning: this role cannot become ${ownersNotKept.join(", ")}; it now owns what they owned`);
}
