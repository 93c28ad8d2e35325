// One transaction on one pooled connection, for work whose statements stand or fall together.
import type pg from "pg";

/** Runs `work` in a transaction: committed when it returns, rolled back when it throws; the connection always goes back. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
