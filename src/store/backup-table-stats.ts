// The target's table counters recorded with each backup (migrations/0013_backup_table_stats.sql).
import type pg from "pg";
import type { TableCounters, TableStatsSnapshot } from "../database/table-stats.js";

export async function recordTableStats(db: pg.Pool, backupId: string, stats: TableStatsSnapshot): Promise<void> {
  await db.query(
    `insert into backup_table_stats (backup_id, captured_at, stats_reset_at, tables) values ($1, $2, $3, $4)
     on conflict (backup_id) do nothing`,
    [backupId, stats.capturedAt, stats.statsResetAt, JSON.stringify(stats.tables)],
  );
}

export async function tableStatsOf(db: pg.Pool, backupId: string): Promise<TableStatsSnapshot | undefined> {
  const { rows } = await db.query<{ capturedAt: Date; statsResetAt: Date | null; tables: TableCounters[] }>(
    `select captured_at as "capturedAt", stats_reset_at as "statsResetAt", tables from backup_table_stats where backup_id = $1`,
    [backupId],
  );
  return rows[0];
}
