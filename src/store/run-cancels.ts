// `/autopilot cancel`: a queued or waiting run is concluded at once; a running migration gets a
// request its apply loop reads before each next file.
import type pg from "pg";
import { int8 } from "./int8.js";

/** Concludes a run that has not started (queued) or waits for people (action_required) as cancelled; false when it no longer does. */
export async function cancelWaitingRun(db: pg.Pool, id: number, by: string, title: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `update runs set status = 'cancelled', title = $3, waiting_for = null, error = null, finished_at = now(), cancel_requested_by = $2
      where id = $1 and status in ('queued', 'action_required')`,
    [id, by, title],
  );
  return rowCount === 1;
}

/** Records a request to stop a running migrate run before its next file; false when it is not running (any more). */
export async function requestCancel(db: pg.Pool, id: number, by: string): Promise<boolean> {
  const { rowCount } = await db.query(`update runs set cancel_requested_by = $2 where id = $1 and kind = 'migrate' and status = 'in_progress'`, [id, by]);
  return rowCount === 1;
}

/** Who asked to cancel the run, if anyone. */
export async function cancelRequestOf(db: pg.Pool, id: number): Promise<string | undefined> {
  const { rows } = await db.query<{ by: string | null }>(`select cancel_requested_by as by from runs where id = $1`, [id]);
  return rows[0]?.by ?? undefined;
}

/** The repository's newest migrate run still to finish: queued, waiting for people, or running (what `cancel` without a number stops). */
export async function latestCancellableMigrateRun(db: pg.Pool, repo: string): Promise<number | undefined> {
  const { rows } = await db.query(
    `select id from runs where lower(repo) = lower($1) and kind = 'migrate' and status in ('queued', 'action_required', 'in_progress') order by id desc limit 1`,
    [repo],
  );
  return rows[0] ? int8(rows[0].id, "runs.id") : undefined;
}
