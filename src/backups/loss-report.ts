// What restoring a backup discards: the writes counted by the target's statistics since the backup
// was taken (pg_stat_user_tables now, minus what was recorded with the backup). The counters are
// estimates and can be reset; where they cannot be compared the estimate says why instead of
// claiming that nothing is lost.
import type pg from "pg";
import { readTableStats, type TableCounters, type TableStatsSnapshot } from "../database/table-stats.js";
import { redact } from "../redact.js";
import { tableStatsOf } from "../store/backup-table-stats.js";

export interface TableLoss {
  /** "schema.table" */
  table: string;
  inserted: number;
  updated: number;
  deleted: number;
  /** Created since the backup: the restore drops it. */
  created: boolean;
  /** Its counters were reset since the backup: the figures are a lower bound. */
  atLeast: boolean;
}

export interface LossEstimate {
  backupId: string;
  backupTakenAt: Date;
  /** Tables with writes since the backup, most written first. */
  tables: TableLoss[];
  /** Why the figures are incomplete or unknown; empty when they are complete. */
  caveats: string[];
}

/** Nothing would be lost, as far as the statistics can tell: no writes counted and nothing unknown. */
export function isZeroLoss(estimate: LossEstimate): boolean {
  return estimate.tables.length === 0 && estimate.caveats.length === 0;
}

/** Reads what was recorded with the backup and the target's counters now, and compares them. */
export async function estimateRestoreLoss(db: pg.Pool, databaseUrl: string, backup: { id: string; createdAt: Date }): Promise<LossEstimate> {
  const recorded = await tableStatsOf(db, backup.id);
  let current: TableStatsSnapshot | string;
  try {
    current = await readTableStats(databaseUrl);
  } catch (error) {
    current = redact((error as Error).message);
  }
  return estimateLoss(backup, recorded, current);
}

/** `current`: the counters now, or why they could not be read. */
export function estimateLoss(
  backup: { id: string; createdAt: Date },
  recorded: TableStatsSnapshot | undefined,
  current: TableStatsSnapshot | string,
): LossEstimate {
  const estimate: LossEstimate = { backupId: backup.id, backupTakenAt: backup.createdAt, tables: [], caveats: [] };
  if (typeof current === "string")
    return { ...estimate, caveats: [`the target's statistics could not be read (${current}), so what the restore discards is unknown`] };
  if (!recorded) {
    return { ...estimate, caveats: [`no table statistics were recorded with backup ${backup.id}, so what the restore discards is unknown`] };
  }
  // PostgreSQL moves the database's reset time on a reset of one table's counters too, so a later time
  // means some counters may have restarted from zero: every figure is then a lower bound.
  const resetSince = Boolean(current.statsResetAt && current.statsResetAt.getTime() > recorded.capturedAt.getTime());
  if (resetSince) {
    estimate.caveats.push(
      `the target's statistics were reset at ${current.statsResetAt!.toISOString()}, after the backup: writes counted before the reset are missing, so the figures are a lower bound`,
    );
  }
  const before = new Map(recorded.tables.map((t) => [t.table, t]));
  const resetTables: string[] = [];
  for (const now of current.tables) {
    const then = before.get(now.table);
    const loss = tableLoss(now, then, resetSince);
    if (then && isCounterReset(now, then)) resetTables.push(now.table);
    if (loss.inserted || loss.updated || loss.deleted) estimate.tables.push(loss);
  }
  if (resetTables.length) {
    estimate.caveats.push(
      `the statistics of ${resetTables.join(", ")} were reset since the backup (counters lower than recorded): their figures are a lower bound`,
    );
  }
  estimate.tables.sort((a, b) => total(b) - total(a) || a.table.localeCompare(b.table));
  return estimate;
}

/**
 * Counters only grow until a reset: lower than recorded means this table's were reset, and all it has
 * counted since is a lower bound. Otherwise the difference is exact, or a lower bound after a reset.
 */
function tableLoss(now: TableCounters, then: TableCounters | undefined, resetSince: boolean): TableLoss {
  if (!then) return { table: now.table, created: true, inserted: now.inserted, updated: now.updated, deleted: now.deleted, atLeast: false };
  const base = { table: now.table, created: false };
  if (isCounterReset(now, then)) return { ...base, inserted: now.inserted, updated: now.updated, deleted: now.deleted, atLeast: true };
  return { ...base, inserted: now.inserted - then.inserted, updated: now.updated - then.updated, deleted: now.deleted - then.deleted, atLeast: resetSince };
}

const isCounterReset = (now: TableCounters, then: TableCounters) => now.inserted < then.inserted || now.updated < then.updated || now.deleted < then.deleted;

const total = (t: TableLoss) => t.inserted + t.updated + t.deleted;
