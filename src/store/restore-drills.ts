// Restore drills' results (migrations/0022_restore_drills.sql): what `status`, `/metrics` and the
// incident logic read back.
import type pg from "pg";
import { nullableInt8 } from "./int8.js";

export interface DrillTable {
  /** "schema.table" */
  table: string;
  /** Live rows recorded when the backup was taken; null when none were recorded for this table. */
  recorded: number | null;
  /** Rows in the restored copy; null when the table is missing from it. */
  restored: number | null;
}

export interface RestoreDrill {
  backupId: string;
  repo: string;
  environment: string;
  runId: number | null;
  startedAt: Date;
  finishedAt: Date;
  ok: boolean;
  details: string;
  tables: DrillTable[];
}

const columns = `backup_id as "backupId", repo, environment, run_id as "runId", started_at as "startedAt", finished_at as "finishedAt", ok, details, tables`;

const toDrill = (row: Record<string, unknown>): RestoreDrill => ({
  ...(row as unknown as RestoreDrill),
  runId: nullableInt8(row.runId, "restore_drills.run_id"),
});

export async function recordDrill(db: pg.Pool, drill: Omit<RestoreDrill, "finishedAt">): Promise<RestoreDrill> {
  const { rows } = await db.query(
    `insert into restore_drills (backup_id, repo, environment, run_id, started_at, ok, details, tables)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${columns}`,
    [drill.backupId, drill.repo, drill.environment, drill.runId, drill.startedAt, drill.ok, drill.details, JSON.stringify(drill.tables)],
  );
  return toDrill(rows[0]);
}

/** The newest drill of an environment; `passed` only: the last verified restore. */
export async function latestDrill(db: pg.Pool, repo: string, environment: string, opts: { passed?: boolean } = {}): Promise<RestoreDrill | undefined> {
  const { rows } = await db.query(
    `select ${columns} from restore_drills where lower(repo) = lower($1) and environment = $2 and ($3::boolean is null or ok = $3)
     order by finished_at desc, id desc limit 1`,
    [repo, environment, opts.passed ?? null],
  );
  return rows.map(toDrill)[0];
}
