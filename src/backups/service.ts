// Taking, recording and pruning backups of a target. Knows the stores and the backup directory,
// nothing of GitHub. A remote store gets the dump as it is written (or, for Supabase, once it is
// complete) and commits it once it is verified locally; the local copy is only staging then. A store that cannot be reached fails the backup: nothing falls back to disk.
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import { PassThrough } from "node:stream";
import type pg from "pg";
import type { BackupSettings } from "../config/backup-config.js";
import { backupDatabase, type BackupResult } from "../database/backup.js";
import { readTableStats } from "../database/table-stats.js";
import { recordTableStats } from "../store/backup-table-stats.js";
import { redact } from "../redact.js";
import { insertBackup, listBackups, markPruned, type BackupRecord } from "../store/backups.js";
import { LocalBackupStore } from "./local-store.js";
import { backupObjectKeys } from "./object-keys.js";
import { openRemoteStore } from "./open-store.js";
import { uploadBackup, type UploadedBackup } from "./remote-upload.js";
import { selectExpired, type RetentionTiers } from "./retention.js";
import type { BackupStore } from "./store.js";

export interface BackupRequest {
  db: pg.Pool;
  settings: BackupSettings;
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
  const { settings } = request;
  const local = new LocalBackupStore(settings.directory);
  const base = {
    id,
    repo: request.repo,
    environment: request.environment,
    runId: request.runId,
    commitSha: request.commitSha,
    createdAt,
    store: settings.store,
  };
  let staged: string | undefined;
  try {
    const remote = openRemoteStore(settings);
    const file = local.pathFor({ id, repo: request.repo, environment: request.environment, createdAt });
    // The counters just before the dump: a later restore compares with them to say what it discards.
    // Without them the loss report says "unknown"; they never fail the backup.
    const stats = await readTableStats(request.databaseUrl).catch(() => undefined);
    if (remote) staged = file;
    const { result, uploaded } = await dumpAndUpload(request, file, remote, {
      prefix: remotePrefix(settings),
      id,
      repo: request.repo,
      environment: request.environment,
      createdAt,
      encrypted: Boolean(settings.encryptionKey),
    });
    let record: BackupRecord = {
      ...base,
      status: "ok",
      path: result.file,
      sizeBytes: result.sizeBytes,
      sha256: result.sha256,
      durationMs: Math.round(result.durationMs),
      error: null,
      encryptionKeyId: null,
    };
    if (uploaded) {
      record = { ...record, path: uploaded.key, sizeBytes: uploaded.sizeBytes, sha256: uploaded.sha256, encryptionKeyId: settings.encryptionKey?.id ?? null };
      record.durationMs = Date.now() - createdAt.getTime();
    }
    await insertBackup(request.db, record);
    if (stats) await recordTableStats(request.db, id, stats);
    await pruneBackups(request, local, remote).catch((error) => request.onPruneError?.(error as Error));
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
  } finally {
    if (staged) await rm(staged, { force: true });
  }
}

/**
 * Dumps to the local file and, for a remote store, uploads: while pg_dump writes (a store that takes a
 * body of unknown length), or from the verified file after it. Both have ended, one way or the other,
 * before this returns; the error is the first that happened (the others follow from it).
 */
async function dumpAndUpload(
  request: BackupRequest,
  file: string,
  remote: BackupStore | undefined,
  key: Parameters<typeof backupObjectKeys>[0],
): Promise<{ result: BackupResult; uploaded?: UploadedBackup }> {
  const { databaseUrl, settings } = request;
  if (!remote) return { result: await backupDatabase({ databaseUrl, file }) };
  const keys = backupObjectKeys(key);
  if (!remote.streamsUnknownLength) {
    const result = await backupDatabase({ databaseUrl, file });
    return { result, uploaded: await uploadBackup(remote, createReadStream(result.file), result.sizeBytes, keys, settings.encryptionKey) };
  }
  const tap = new PassThrough();
  const dumping = backupDatabase({ databaseUrl, file, tap });
  const uploading = uploadBackup(remote, tap, undefined, keys, settings.encryptionKey, dumping);
  const [result, uploaded] = await firstErrorOf(dumping, uploading);
  return { result, uploaded };
}

/** Both values once both have settled; else the error of the one that failed first. */
async function firstErrorOf<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const failures: unknown[] = [];
  const noted = <T>(p: Promise<T>) => p.catch((error: unknown) => (failures.push(error), undefined));
  const [va, vb] = await Promise.all([noted(a), noted(b)]);
  if (failures.length) throw failures[0];
  return [va as A, vb as B];
}

function remotePrefix(settings: BackupSettings): string {
  return settings.s3?.prefix ?? settings.supabase?.prefix ?? "";
}

/** Expired backups are deleted where they live (each record names its store), never the newest good one. */
async function pruneBackups(request: BackupRequest, local: LocalBackupStore, remote: BackupStore | undefined): Promise<void> {
  const backups = await listBackups(request.db, request.repo, request.environment);
  const byId = new Map(backups.map((b) => [b.id, b]));
  const entries = backups.map((b) => ({ id: b.id, createdAt: b.createdAt, ok: b.status === "ok", path: b.path ?? "" }));
  for (const expired of selectExpired(entries, { retentionDays: request.settings.retentionDays, keep: request.keep, now: new Date() })) {
    const kind = byId.get(expired.id)?.store ?? "local";
    if (expired.path && kind === "local") await local.remove(expired.path);
    else if (expired.path && remote?.kind === kind) await remote.remove(expired.path);
    else if (expired.path) continue; // in a store this target no longer uses: kept, and kept on record
    await markPruned(request.db, expired.id);
  }
}
