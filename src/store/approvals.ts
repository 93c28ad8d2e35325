// Approvals of a migration that waits for `approvals: N` distinct users with write permission.
import type pg from "pg";

export async function recordApproval(db: pg.Pool, runId: number, approver: string, source: "command" | "button" | "review"): Promise<boolean> {
  const { rowCount } = await db.query(`insert into approvals (run_id, approver, source) values ($1, $2, $3) on conflict do nothing`, [
    runId,
    approver.toLowerCase(),
    source,
  ]);
  return rowCount === 1;
}

export async function approversOf(db: pg.Pool, runId: number): Promise<string[]> {
  const { rows } = await db.query<{ approver: string }>(`select approver from approvals where run_id = $1 order by id`, [runId]);
  return rows.map((r) => r.approver);
}
