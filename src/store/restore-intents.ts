// A migrate run's intent to restore its pre-run backup, kept on the run before the restore starts.
// A retry of the run (after a crash mid-restore) reads it back and resumes the restore; nothing here
// knows what a restore is, only what must survive the crash.
import type pg from "pg";

export interface RestoreIntent<Report = unknown, Recovery = unknown> {
  /** The pre-run backup to restore. */
  backupId: string;
  environment: string;
  /** What the run reports about the failure that called for the restore (as it would have without a crash). */
  report: Report;
  /** Backups of the state right before each restore attempt, oldest first. */
  safetyBackupIds: string[];
  /** Set once the restore is over (done or failed): a retry reports it instead of restoring again. */
  recovery?: Recovery;
}

export async function recordRestoreIntent(db: pg.Pool, runId: number, intent: Omit<RestoreIntent, "safetyBackupIds" | "recovery">): Promise<void> {
  const stored: RestoreIntent = { ...intent, safetyBackupIds: [] };
  await db.query("update runs set restore_intent = $2 where id = $1", [runId, JSON.stringify(stored)]);
}

export async function restoreIntentOf<Report, Recovery>(db: pg.Pool, runId: number): Promise<RestoreIntent<Report, Recovery> | undefined> {
  const { rows } = await db.query<{ intent: RestoreIntent<Report, Recovery> | null }>("select restore_intent as intent from runs where id = $1", [runId]);
  return rows[0]?.intent ?? undefined;
}

export async function addSafetyBackup(db: pg.Pool, runId: number, backupId: string): Promise<void> {
  await db.query(
    `update runs set restore_intent = jsonb_set(restore_intent, '{safetyBackupIds}', (restore_intent->'safetyBackupIds') || to_jsonb($2::text))
      where id = $1`,
    [runId, backupId],
  );
}

export async function recordRestoreOutcome(db: pg.Pool, runId: number, recovery: unknown): Promise<void> {
  await db.query("update runs set restore_intent = jsonb_set(restore_intent, '{recovery}', $2::jsonb) where id = $1", [runId, JSON.stringify(recovery)]);
}
