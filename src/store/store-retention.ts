// Store retention (server config `store.retention`): old rows are deleted in small batches, so a
// prune never holds a long lock or a long transaction, and by one replica at a time (an advisory
// lock). Raw health samples go only once they are rolled up (store/health-rollups.ts).
import type pg from "pg";
import { DAY_MS, HOURLY_ROLLUP_DAYS, rolledThrough } from "./health-rollups.js";

export interface StoreRetention {
  /** Raw health samples (and scheduler slots), in days. */
  rawDays: number;
  /** Runs (with their steps), audit, alert history and heal actions, in days. */
  days: number;
  /** Audit entries are never pruned. */
  keepAudit: boolean;
}

const PRUNE_LOCK = 7_302_023_002;
const FINISHED_RUNS = "('success', 'failure', 'neutral', 'skipped')";

interface PruneTarget {
  table: string;
  /** Selects the ids of at most $2 rows older than $1. */
  ids: string;
  cutoff: Date | null;
}

function targets(retention: StoreRetention, now: Date, rolled: Date | null): PruneTarget[] {
  const ago = (days: number) => new Date(now.getTime() - days * DAY_MS);
  const raw = ago(retention.rawDays);
  const kept = ago(retention.days);
  return [
    // Never a sample the rollups have not taken in.
    {
      table: "health_log",
      ids: "select id from health_log where at < $1 limit $2",
      cutoff: rolled ? new Date(Math.min(raw.getTime(), rolled.getTime())) : null,
    },
    { table: "heal_slots", ids: "select ctid from heal_slots where slot < $1 limit $2", cutoff: raw },
    {
      table: "health_rollups",
      ids: "select ctid from health_rollups where grain = 'hour' and period_start < $1 limit $2",
      cutoff: ago(HOURLY_ROLLUP_DAYS),
    },
    // Finished runs only, and never the latest success of a kind per repository and environment
    // (the dashboard's applied version and last run read it). Steps and migrations go with their run.
    {
      table: "runs",
      ids: `select id from runs r where created_at < $1 and status in ${FINISHED_RUNS}
               and not (status = 'success' and id = (select max(l.id) from runs l where l.repo = r.repo and l.kind = r.kind
                                                         and l.environment is not distinct from r.environment and l.status = 'success'))
             limit $2`,
      cutoff: kept,
    },
    { table: "audit", ids: "select id from audit where at < $1 limit $2", cutoff: retention.keepAudit ? null : kept },
    { table: "alert_history", ids: "select id from alert_history where at < $1 limit $2", cutoff: kept },
    { table: "heal_actions", ids: "select id from heal_actions where at < $1 limit $2", cutoff: kept },
  ];
}

/**
 * Deletes rows past their retention, `batch` rows per statement and at most `maxBatches` statements
 * per table per call (the rest waits for the next call). Returns the rows deleted per table, or null
 * when another replica is pruning.
 */
export async function pruneStore(
  db: pg.Pool,
  retention: StoreRetention,
  options: { now?: Date; batch?: number; maxBatches?: number } = {},
): Promise<Record<string, number> | null> {
  const { now = new Date(), batch = 2000, maxBatches = 10 } = options;
  const client = await db.connect();
  try {
    if (!(await client.query("select pg_try_advisory_lock($1) as ok", [PRUNE_LOCK])).rows[0].ok) return null;
    try {
      const deleted: Record<string, number> = {};
      for (const target of targets(retention, now, await rolledThrough(client))) {
        if (!target.cutoff) continue;
        const key = target.ids.startsWith("select ctid") ? "ctid" : "id";
        let total = 0;
        for (let i = 0; i < maxBatches; i++) {
          const { rowCount } = await client.query(`delete from ${target.table} where ${key} = any(array(${target.ids}))`, [target.cutoff, batch]);
          total += rowCount ?? 0;
          if ((rowCount ?? 0) < batch) break;
        }
        deleted[target.table] = total;
      }
      return deleted;
    } finally {
      await client.query("select pg_advisory_unlock($1)", [PRUNE_LOCK]);
    }
  } finally {
    client.release();
  }
}
