// Delivery ids of external events (POST /autopilot/events), remembered to refuse replays.
import type pg from "pg";

/** Kept well past the 5 minutes a signed timestamp is accepted, so clock skew cannot reopen a window. */
const RETENTION = "1 day";

/** Records a delivery; false when this repository's delivery id was seen before. */
export async function claimDelivery(db: pg.Pool, repo: string, deliveryId: string): Promise<boolean> {
  await db.query(`delete from event_deliveries where received_at < now() - interval '${RETENTION}'`);
  const { rowCount } = await db.query(`insert into event_deliveries (repo, delivery_id) values ($1, $2) on conflict do nothing`, [
    repo.toLowerCase(),
    deliveryId,
  ]);
  return rowCount === 1;
}

/** Forgets a delivery whose work did not happen, so the sender's retry of it is not taken for a replay. */
export async function releaseDelivery(db: pg.Pool, repo: string, deliveryId: string): Promise<void> {
  await db.query(`delete from event_deliveries where repo = $1 and delivery_id = $2`, [repo.toLowerCase(), deliveryId]);
}
