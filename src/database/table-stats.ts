// The target's per-table write counters (pg_stat_user_tables): live rows and the inserts, updates and
// deletes counted since the statistics were last reset. Estimates, not exact counts; the loss report
// compares two of these snapshots.
import pg from "pg";

export interface TableCounters {
  /** "schema.table" */
  table: string;
  liveRows: number;
  inserted: number;
  updated: number;
  deleted: number;
}

export interface TableStatsSnapshot {
  capturedAt: Date;
  /** When the database's counters were last reset (pg_stat_database.stats_reset); null: never. */
  statsResetAt: Date | null;
  tables: TableCounters[];
}

const TABLES_SQL = `select schemaname || '.' || relname as "table", n_live_tup::float8 as "liveRows", n_tup_ins::float8 as inserted,
  n_tup_upd::float8 as updated, n_tup_del::float8 as deleted
  from pg_stat_user_tables where schemaname <> 'autopilot' order by 1`;

export async function readTableStats(databaseUrl: string): Promise<TableStatsSnapshot> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "autopilot-stats" });
  client.on("error", () => undefined); // a dropped connection surfaces as the query's error
  await client.connect();
  try {
    const { rows: reset } = await client.query<{ statsResetAt: Date | null; capturedAt: Date }>(
      `select stats_reset as "statsResetAt", now() as "capturedAt" from pg_stat_database where datname = current_database()`,
    );
    const { rows } = await client.query<TableCounters>(TABLES_SQL);
    return { capturedAt: reset[0]?.capturedAt ?? new Date(), statsResetAt: reset[0]?.statsResetAt ?? null, tables: rows };
  } finally {
    await client.end().catch(() => undefined);
  }
}
