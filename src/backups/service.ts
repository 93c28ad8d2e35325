// Taking, recording and pruning backups of a target. Knows the store and the backup directory,
// nothing of GitHub.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { backupDatabase } from "../database/backup.js";
import { readTableStats } from "../database/table-stats.js";
import { recordTableStats } from "../store/backup-table-stats.js";
import { redact } from "../redact.js";
import { insertBackup, listBackups, markPruned, type BackupRecord } from "../store/backups.js";
import { LocalBackupStore } from "./local-store.js";
import { selectExpired, type RetentionTiers } from "./retention.js";

export interface BackupRequest {
  db: pg.Pool;
  directory: string;
  retentionDays: number;
  /** Retention tiers (server config `backups.keep`), kept besides the retention window. */
  keep?: RetentionTiers;
  databaseUrl: string;
  repo: string;
  environment: string;
  runId: number | null;
  commitSha: string | null;
  /** Pruning is housekeeping: its failure is reported here and never fails the backup itself. */
  onPruneError?: (error: Error) => void;
}

export class BackupFailedError extends Error {}

export function newBackupId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:TZ.]/g, "")
    .slice(0, 14);
  return `bk_${stamp}_${randomBytes(3).toString("hex")}`;
}

/** Dumps the target, records the backup (good or failed), and prunes expired ones after a good one. */
export async function takeBackup(request: BackupRequest): Promise<BackupRecord> {
  const createdAt = new Date();
  const id = newBackupId(createdAt);
  const store = new LocalBackupStore(request.directory);
  const base = { id, repo: request.repo, environment: request.environment, runId: request.runId, commitSha: request.commitSha, createdAt };
  try {
    const file = store.pathFor({ id, repo: request.repo, environment: request.environment, createdAt });
    // The counters just before the dump: a later restore compares with them to say what it discards.
    // Without them the loss report says "unknown"; they never fail the backup.
    const stats = await readTableStats(request.databaseUrl).catch(() => undefined);
    const result = await backupDatabase({ databaseUrl: request.databaseUrl, file });
    const record: BackupRecord = {
      ...base,
      status: "ok",
      path: result.file,
      sizeBytes: result.sizeBytes,
      sha256: result.sha256,
      durationMs: Math.round(result.durationMs),
      error: null,
    };
    await insertBackup(request.db, record);
    if (stats) await recordTableStats(request.db, id, stats);
    await pruneBackups(request, store).catch((error) => request.onPruneError?.(error as Error));
    return record;
  } catch (error) {
    const message = redact((error as Error).message);
    await insertBackup(request.db, {
      ...base,
      status: "failed",
      path: null,
      sizeBytes: null,
      sha256: null,
      durationMs: null,
      error: message,
    });
    throw new BackupFailedError(message);
  }
}

async function pruneBackups(request: BackupRequest, store: LocalBackupStore): Promise<void> {
  const backups = await listBackups(request.db, request.repo, request.environment);
  const entries = backups.map((b) => ({ id: b.id, createdAt: b.createdAt, ok: b.status === "ok", path: b.path ?? "" }));
  for (const expired of selectExpired(entries, { retentionDays: request.retentionDays, keep: request.keep, now: new Date() })) {
    if (expired.path) await store.remove(expired.path);
    await markPruned(request.db, expired.id);
  }
}
