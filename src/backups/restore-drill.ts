// Restore drills: proof that a backup can be brought back. The backup is fetched from its store
// (checked against its sha256, decrypted), restored into a scratch database on the shadow server —
// always dropped afterwards, as plan rehearsals' are — and each restored table's rows are counted and
// compared with the live rows recorded when the backup was taken (store/backup-table-stats.ts).
// The result is recorded (store/restore-drills.ts) whoever asked: the scheduler's drill runbook or
// `autopilot backups verify`. Nothing here knows GitHub.
import pg from "pg";
import type { BackupSettings } from "../config/backup-config.js";
import type { TableStatsSnapshot } from "../database/table-stats.js";
import { RestoreError, restoreDatabase } from "../database/restore.js";
import { createScratchDatabase, dropScratchDatabase, scratchDatabaseName, scratchDatabaseUrl } from "../database/scratch-databases.js";
import { redact } from "../redact.js";
import { tableStatsOf } from "../store/backup-table-stats.js";
import type { BackupRecord } from "../store/backups.js";
import { recordDrill, type DrillTable, type RestoreDrill } from "../store/restore-drills.js";
import { BackupFetchError, withBackupFile } from "./fetch-backup.js";

export interface DrillRequest {
  db: pg.Pool;
  backup: BackupRecord;
  settings: BackupSettings;
  /** The shadow server the scratch database is created on (it needs CREATEDB). */
  shadowUrl: string;
  runId: number | null;
  /** A scratch database that could not be dropped (the start-up sweep drops it later). */
  onDropError?: (error: Error) => void;
}

/** The drill could not be run at all (the shadow server refused a scratch database): nothing was learnt of the backup. */
export class DrillUnavailableError extends Error {}

/**
 * `pg_stat_user_tables` live rows are estimates (ANALYZE and VACUUM re-estimate them) read just before
 * pg_dump's snapshot, so a restored count within 1 % (at least 10 rows) of the recorded one matches.
 * A table restored empty when rows were recorded, or missing, never does.
 */
export const ROW_COUNT_TOLERANCE = { share: 0.01, rows: 10 } as const;

interface DrillOutcome {
  ok: boolean;
  details: string;
  tables: DrillTable[];
}

/** Runs one drill of `backup` and records its result; throws DrillUnavailableError when it could not run. */
export async function drillBackup(request: DrillRequest): Promise<RestoreDrill> {
  const { backup } = request;
  const startedAt = new Date();
  const outcome = usable(backup) ?? (await rehearse(request, await tableStatsOf(request.db, backup.id)));
  return recordDrill(request.db, {
    backupId: backup.id,
    repo: backup.repo,
    environment: backup.environment,
    runId: request.runId,
    startedAt,
    ...outcome,
  });
}

/** A failed outcome when the record itself says the backup cannot be restored. */
function usable(backup: BackupRecord): DrillOutcome | undefined {
  if (backup.status !== "ok") return { ok: false, details: `backup ${backup.id} is ${backup.status}: there is nothing to restore`, tables: [] };
  if (!backup.path) return { ok: false, details: `backup ${backup.id} has no recorded location`, tables: [] };
  return undefined;
}

async function rehearse(request: DrillRequest, recorded: TableStatsSnapshot | undefined): Promise<DrillOutcome> {
  const { backup, settings, shadowUrl } = request;
  try {
    return await withBackupFile(backup, settings, async ({ file, expectedSha256 }) => {
      const name = scratchDatabaseName();
      try {
        await createScratchDatabase(shadowUrl, name);
      } catch (error) {
        throw new DrillUnavailableError(`no scratch database for the restore drill of ${backup.id}: ${(error as Error).message}`);
      }
      try {
        const url = scratchDatabaseUrl(shadowUrl, name);
        // Grants name the target's roles, which the shadow server need not have: the data is what is drilled.
        await restoreDatabase({ databaseUrl: url, file, expectedSha256, keepPrivileges: false });
        return compareCounts(backup.id, recorded, await countRows(url));
      } finally {
        await dropScratchDatabase(shadowUrl, name).catch((error) => request.onDropError?.(error as Error));
      }
    });
  } catch (error) {
    // What the backup itself failed: unreadable, damaged, undecryptable, or refused by PostgreSQL.
    if (error instanceof BackupFetchError || error instanceof RestoreError) {
      return { ok: false, details: redact(`backup ${backup.id} could not be restored: ${error.message}`), tables: [] };
    }
    throw error;
  }
}

/** Exact row counts of every table of the restored copy, by "schema.table" (pg_stat_user_tables' names). */
async function countRows(databaseUrl: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "autopilot-restore-drill" });
  client.on("error", () => undefined); // a dropped connection surfaces as the query's error
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table: string; ref: string }>(
      `select n.nspname || '.' || c.relname as "table", c.oid::regclass::text as ref
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'm', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'autopilot')
          and n.nspname not like 'pg\\_toast%' order by 1`,
    );
    const counts = new Map<string, number>();
    // ONLY: each table's own rows, as its statistics count them (a partitioned parent has none).
    for (const t of tables) counts.set(t.table, Number((await client.query(`select count(*) as n from only ${t.ref}`)).rows[0].n));
    return counts;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function countsMatch(recorded: number, restored: number): boolean {
  if (recorded > 0 && restored === 0) return false;
  return Math.abs(restored - recorded) <= Math.max(ROW_COUNT_TOLERANCE.rows, Math.ceil(recorded * ROW_COUNT_TOLERANCE.share));
}

/** Every recorded table must be back with about as many rows; tables only the copy has are listed, not judged. */
export function compareCounts(backupId: string, recorded: TableStatsSnapshot | undefined, restored: Map<string, number>): DrillOutcome {
  const rows = [...restored.values()].reduce((sum, n) => sum + n, 0);
  const restoredOnly = (names: Iterable<string>) => [...names].map((table) => ({ table, recorded: null, restored: restored.get(table) ?? null }));
  if (!recorded) {
    return {
      ok: true,
      details: `backup ${backupId} restored: ${restored.size} table(s), ${fmt(rows)} row(s); no row counts were recorded with it, so none were compared`,
      tables: restoredOnly(restored.keys()),
    };
  }
  const known = new Set(recorded.tables.map((t) => t.table));
  const tables: DrillTable[] = [
    ...recorded.tables.map((t) => ({ table: t.table, recorded: t.liveRows, restored: restored.get(t.table) ?? null })),
    ...restoredOnly([...restored.keys()].filter((name) => !known.has(name))),
  ];
  const wrong = tables.filter((t) => t.recorded !== null && (t.restored === null || !countsMatch(t.recorded, t.restored)));
  if (wrong.length) {
    const each = wrong.map((t) =>
      t.restored === null
        ? `${t.table} is missing (${fmt(t.recorded!)} row(s) recorded)`
        : `${t.table} has ${fmt(t.restored)} row(s), ${fmt(t.recorded!)} recorded`,
    );
    return { ok: false, details: `backup ${backupId} restored, but its row counts differ from those recorded when it was taken: ${each.join("; ")}`, tables };
  }
  return {
    ok: true,
    details: `backup ${backupId} restored: ${restored.size} table(s), ${fmt(rows)} row(s); the row counts of all ${known.size} recorded table(s) match`,
    tables,
  };
}

const fmt = (n: number) => n.toLocaleString("en-US");
