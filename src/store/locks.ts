// Environment locks: while one is held, pushes and commands leave that environment alone.
import type pg from "pg";

export interface EnvironmentLock {
  repo: string;
  environment: string;
  lockedBy: string;
  reason: string | null;
  lockedAt: Date;
}

const columns = `repo, environment, locked_by as "lockedBy", reason, locked_at as "lockedAt"`;

/** Takes the lock; returns the existing lock instead when someone already holds it. */
export async function lockEnvironment(db: pg.Pool, lock: Omit<EnvironmentLock, "lockedAt">): Promise<{ taken: boolean; lock: EnvironmentLock }> {
  const inserted = await db.query<EnvironmentLock>(
    `insert into environment_locks (repo, environment, locked_by, reason) values ($1, $2, $3, $4)
     on conflict do nothing returning ${columns}`,
    [lock.repo.toLowerCase(), lock.environment, lock.lockedBy, lock.reason],
  );
  if (inserted.rows[0]) return { taken: true, lock: inserted.rows[0] };
  return { taken: false, lock: (await findLock(db, lock.repo, lock.environment))! };
}

export async function unlockEnvironment(db: pg.Pool, repo: string, environment: string): Promise<EnvironmentLock | undefined> {
  const { rows } = await db.query<EnvironmentLock>(`delete from environment_locks where repo = $1 and environment = $2 returning ${columns}`, [
    repo.toLowerCase(),
    environment,
  ]);
  return rows[0];
}

export async function findLock(db: pg.Pool, repo: string, environment: string): Promise<EnvironmentLock | undefined> {
  const { rows } = await db.query<EnvironmentLock>(`select ${columns} from environment_locks where repo = $1 and environment = $2`, [
    repo.toLowerCase(),
    environment,
  ]);
  return rows[0];
}

export function describeLock(lock: EnvironmentLock): string {
  return `${lock.environment} is locked by @${lock.lockedBy} since ${lock.lockedAt.toISOString()}${lock.reason ? `: ${lock.reason}` : ""}`;
}
