// A rollback that stopped to ask before discarding writes (status action_required) is confirmed at
// most once: the first authorized press takes it, so a double press never restores twice.
import type pg from "pg";

export async function takeConfirmation(db: pg.Pool, rollbackRunId: number, confirmedBy: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `update runs set status = 'neutral', title = $2, finished_at = now() where id = $1 and kind = 'rollback' and status = 'action_required'`,
    [rollbackRunId, `restore confirmed by @${confirmedBy}; a new rollback run restores`],
  );
  return rowCount === 1;
}
