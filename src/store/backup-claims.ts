// `/autopilot backup` is bounded: one per environment per interval, whatever the number of comments,
// replicas or workers. The claim is one atomic upsert, so two commands at once cannot both pass.
import type pg from "pg";

export const BACKUP_COMMAND_INTERVAL_MINUTES = 10;

export type BackupClaim = { claimed: true; claimedAt: Date } | { claimed: false; nextAllowedAt: Date };

/** Claims the environment's backup slot; when one was claimed less than the interval ago, says when the next is allowed. */
export async function claimBackupCommand(
  db: pg.Pool,
  repo: string,
  environment: string,
  intervalMinutes = BACKUP_COMMAND_INTERVAL_MINUTES,
): Promise<BackupClaim> {
  // Milliseconds, so the claim time survives a round trip through a run's JSON params (release).
  const { rows } = await db.query<{ claimedAt: Date }>(
    `insert into backup_command_claims as c (repo, environment, claimed_at) values ($1, $2, date_trunc('milliseconds', now()))
     on conflict (repo, environment) do update set claimed_at = excluded.claimed_at
       where c.claimed_at <= now() - make_interval(mins => $3)
     returning claimed_at as "claimedAt"`,
    [repo.toLowerCase(), environment, intervalMinutes],
  );
  if (rows[0]) return { claimed: true, claimedAt: rows[0].claimedAt };
  const held = await db.query<{ nextAllowedAt: Date }>(
    `select claimed_at + make_interval(mins => $3) as "nextAllowedAt" from backup_command_claims where repo = $1 and environment = $2`,
    [repo.toLowerCase(), environment, intervalMinutes],
  );
  // Released between the two statements: the slot is free again, so claim it once more.
  return held.rows[0] ? { claimed: false, nextAllowedAt: held.rows[0].nextAllowedAt } : claimBackupCommand(db, repo, environment, intervalMinutes);
}

/** A backup that failed gives its claim back (unless a later command has claimed the slot since). */
export async function releaseBackupCommand(db: pg.Pool, repo: string, environment: string, claimedAt: Date): Promise<void> {
  await db.query(`delete from backup_command_claims where repo = $1 and environment = $2 and claimed_at = $3`, [repo.toLowerCase(), environment, claimedAt]);
}
