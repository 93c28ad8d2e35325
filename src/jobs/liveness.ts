// A worker holds a session-level advisory lock on the store for each run it is executing. The lock
// dies with the worker's connection, so "lock is free but the run is in progress" means the worker
// is gone — on this replica or any other.
import type pg from "pg";

const RUN_LOCK_CLASS = 0x4150; // "AP"

export async function holdRunLock<T>(db: pg.Pool, runId: number, work: () => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query("select pg_advisory_lock($1, $2)", [RUN_LOCK_CLASS, runId]);
    return await work();
  } finally {
    await client.query("select pg_advisory_unlock($1, $2)", [RUN_LOCK_CLASS, runId]).catch(() => undefined);
    client.release();
  }
}

/** True when no live worker holds the run's lock. */
export async function isOrphaned(db: pg.Pool, runId: number): Promise<boolean> {
  const client = await db.connect();
  try {
    const { rows } = await client.query<{ got: boolean }>("select pg_try_advisory_lock($1, $2) as got", [RUN_LOCK_CLASS, runId]);
    if (rows[0].got) await client.query("select pg_advisory_unlock($1, $2)", [RUN_LOCK_CLASS, runId]);
    return rows[0].got;
  } finally {
    client.release();
  }
}
