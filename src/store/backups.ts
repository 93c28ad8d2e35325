// Backup records: what was dumped, where, and whether it is still there.
import type pg from "pg";
import type { BackupStoreKind } from "../config/backup-config.js";
import { nullableInt8 } from "./int8.js";

export interface BackupRecord {
  id: string;
  repo: string;
  environment: string;
  runId: number | null;
  commitSha: string | null;
  status: "ok" | "failed" | "pruned";
  /** Which store holds it; `path` is the file (local) or the object key in that store. */
  store?: BackupStoreKind;
  path: string | null;
  /** The key that sealed it (backups.encryption_key_env); null or absent: stored as pg_dump wrote it. */
  encryptionKeyId?: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  durationMs: number | null;
  error: string | null;
  createdAt: Date;
}

const columns = `id, repo, environment, run_id as "runId", commit_sha as "commitSha", status, path,
  size_bytes::float8 as "sizeBytes", sha256, duration_ms as "durationMs", error, created_at as "createdAt",
  store, encryption_key_id as "encryptionKeyId"`;

const toBackup = (row: Record<string, unknown>): BackupRecord => ({ ...(row as unknown as BackupRecord), runId: nullableInt8(row.runId, "backups.run_id") });

export async function insertBackup(db: pg.Pool, b: Omit<BackupRecord, "createdAt"> & { createdAt?: Date }): Promise<void> {
  await db.query(
    `insert into backups (id, repo, environment, run_id, commit_sha, status, path, size_bytes, sha256, duration_ms, error, created_at, store, encryption_key_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($12, now()), $13, $14)`,
    [
      b.id,
      b.repo,
      b.environment,
      b.runId,
      b.commitSha,
      b.status,
      b.path,
      b.sizeBytes,
      b.sha256,
      b.durationMs,
      b.error,
      b.createdAt ?? null,
      b.store ?? "local",
      b.encryptionKeyId ?? null,
    ],
  );
}

export async function getBackup(db: pg.Pool, id: string): Promise<BackupRecord | undefined> {
  const { rows } = await db.query(`select ${columns} from backups where id = $1`, [id]);
  return rows.map(toBackup)[0];
}

export async function listBackups(db: pg.Pool, repo: string, environment: string): Promise<BackupRecord[]> {
  const { rows } = await db.query(`select ${columns} from backups where repo = $1 and environment = $2 and status <> 'pruned' order by created_at desc`, [
    repo,
    environment,
  ]);
  return rows.map(toBackup);
}

/** The newest good backup of an environment: what `/autopilot status` shows and `backup_age_hours` measures. */
export async function latestGoodBackup(db: pg.Pool, repo: string, environment: string): Promise<BackupRecord | undefined> {
  const { rows } = await db.query(
    `select ${columns} from backups where lower(repo) = lower($1) and environment = $2 and status = 'ok' order by created_at desc limit 1`,
    [repo, environment],
  );
  return rows.map(toBackup)[0];
}

export async function markPruned(db: pg.Pool, id: string): Promise<void> {
  await db.query(`update backups set status = 'pruned', pruned_at = now() where id = $1`, [id]);
}

/** Backups still held (not pruned), newest first, optionally of one repository and environment: `autopilot backups list`. */
export async function findBackups(db: pg.Pool, filter: { repo?: string; environment?: string; limit: number }): Promise<BackupRecord[]> {
  const { rows } = await db.query(
    `select ${columns} from backups where status <> 'pruned' and ($1::text is null or lower(repo) = lower($1)) and ($2::text is null or environment = $2)
     order by created_at desc limit $3`,
    [filter.repo ?? null, filter.environment ?? null, filter.limit],
  );
  return rows.map(toBackup);
}
