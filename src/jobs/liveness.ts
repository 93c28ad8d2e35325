// A worker holds a session-level advisory lock on the store for each run it is executing. The lock
// dies with the session that took it, so "lock is free but the run is in progress" means the worker
// is gone — on this replica or any other.
//
// All of a replica's run locks live on ONE dedicated connection (RunLocks), never on the pool the
// jobs query through: a lock per pooled connection let ten jobs take every slot of the pool and then
// wait forever for a slot of their own (and webhooks, /healthz and the reaper with them).
import pg from "pg";
import type { Logger } from "../logger.js";

const RUN_LOCK_CLASS = 0x4150; // "AP"

export interface RunLockOptions {
  /** How often a lock another replica holds is tried again. */
  contendedRetryMs?: number;
  /** Pause between attempts to re-establish a lost connection. */
  reconnectDelayMs?: number;
  /** How often the connection is checked while it holds locks, so a silent drop is noticed. */
  heartbeatMs?: number;
}

const DEFAULTS: Required<RunLockOptions> = { contendedRetryMs: 1000, reconnectDelayMs: 1000, heartbeatMs: 10_000 };
// A connection attempt or a lock query that takes longer than this is treated as a lost connection.
const SESSION_TIMEOUT_MS = 10_000;
const CONNECT_ATTEMPTS = 3;

export class RunLocks {
  private readonly options: Required<RunLockOptions>;
  /** Runs a job of this replica is executing, each with a promise settled when that job ends. */
  private readonly busy = new Map<number, Promise<void>>();
  /** Runs whose lock is taken on the current session (and must be taken again on a new one). */
  private readonly locked = new Set<number>();
  private session?: Promise<pg.Client>;
  private current?: pg.Client;
  private restoring = false;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    options: RunLockOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.heartbeat = setInterval(() => void this.checkSession(), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Runs `work` while this replica holds the run's lock; a second job of the same run waits for the first. */
  async hold<T>(runId: number, work: () => Promise<T>): Promise<T> {
    while (this.busy.has(runId)) await this.busy.get(runId);
    let done!: () => void;
    this.busy.set(runId, new Promise((resolve) => (done = resolve)));
    try {
      await this.acquire(runId);
      return await work();
    } finally {
      await this.release(runId);
      this.busy.delete(runId);
      done();
    }
  }

  /** Ends the session, which frees every lock it holds. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    const client = this.current;
    this.current = undefined;
    this.session = undefined;
    this.locked.clear();
    await client?.end().catch(() => undefined);
  }

  private async acquire(runId: number): Promise<void> {
    let waiting = false;
    for (let failures = 0; ;) {
      if (this.closed) throw new Error(`run ${runId}: the run-lock session is closed (shutting down)`);
      let got: boolean;
      try {
        got = await this.tryLock(runId);
      } catch (error) {
        // The session may just have dropped: a fresh one gets a few tries before the job fails (and is retried by the queue).
        if (++failures >= CONNECT_ATTEMPTS) throw error;
        await sleep(this.options.reconnectDelayMs);
        continue;
      }
      if (got) return;
      // A worker elsewhere still runs this run (its job was handed out again): wait as a blocking lock would.
      if (!waiting) this.log.warn({ run: runId }, "another worker holds this run's lock; waiting for it");
      waiting = true;
      await sleep(this.options.contendedRetryMs);
    }
  }

  private async tryLock(runId: number): Promise<boolean> {
    const client = await this.connection();
    const { rows } = await client.query<{ got: boolean }>("select pg_try_advisory_lock($1, $2) as got", [RUN_LOCK_CLASS, runId]);
    if (rows[0].got) this.locked.add(runId);
    return rows[0].got;
  }

  private async release(runId: number): Promise<void> {
    if (!this.locked.delete(runId)) return;
    const client = this.current;
    // A lost session already let the lock go; nothing to undo.
    await client?.query("select pg_advisory_unlock($1, $2)", [RUN_LOCK_CLASS, runId]).catch(() => undefined);
  }

  private connection(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error("the run-lock session is closed"));
    this.session ??= this.connect().catch((error: Error) => {
      this.session = undefined;
      throw new Error(`cannot open the store connection that holds run locks: ${error.message}`);
    });
    return this.session;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: "autopilot-liveness",
      connectionTimeoutMillis: SESSION_TIMEOUT_MS,
      query_timeout: SESSION_TIMEOUT_MS,
      keepAlive: true,
    });
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client));
    await client.connect();
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new Error("the run-lock session is closed");
    }
    this.current = client;
    return client;
  }

  /** The session ended under us: every lock it held is gone, so take them again on a new one. */
  private lost(client: pg.Client, error?: Error): void {
    if (this.current !== client) return;
    this.current = undefined;
    this.session = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.log.warn({ err: error, runs: [...this.locked] }, "the store connection holding run locks was lost; re-establishing it");
    void this.restore();
  }

  private async restore(): Promise<void> {
    if (this.restoring) return;
    this.restoring = true;
    try {
      while (!this.closed && this.locked.size > 0) {
        try {
          const client = await this.connection();
          for (const runId of [...this.locked]) {
            const { rows } = await client.query<{ got: boolean }>("select pg_try_advisory_lock($1, $2) as got", [RUN_LOCK_CLASS, runId]);
            // In the gap another replica's reaper may have handed the run out again; it now owns it.
            if (!rows[0].got) this.log.warn({ run: runId }, "run lock taken over by another worker while the connection was down");
          }
          this.log.info({ runs: [...this.locked] }, "run locks re-established");
          return;
        } catch (error) {
          this.log.warn({ err: error }, "re-establishing the run-lock connection failed; trying again");
          await sleep(this.options.reconnectDelayMs);
        }
      }
    } finally {
      this.restoring = false;
    }
  }

  /** A connection that died without a word (a network partition) is noticed here, not by the reaper elsewhere. */
  private async checkSession(): Promise<void> {
    const client = this.current;
    if (!client || this.locked.size === 0) return;
    await client.query("select 1").catch((error: Error) => {
      this.lost(client, error);
    });
  }
}

/**
 * Runs `work` holding the lock of a run no live worker holds, so no worker can start it meanwhile;
 * undefined (and `work` not run) when a worker holds it. Runs on the shared pool: another session
 * than the holder's.
 */
export async function whileOrphaned<T>(db: pg.Pool, runId: number, work: () => Promise<T>): Promise<T | undefined> {
  const client = await db.connect();
  try {
    const { rows } = await client.query<{ got: boolean }>("select pg_try_advisory_lock($1, $2) as got", [RUN_LOCK_CLASS, runId]);
    if (!rows[0].got) return undefined;
    try {
      return await work();
    } finally {
      await client.query("select pg_advisory_unlock($1, $2)", [RUN_LOCK_CLASS, runId]);
    }
  } finally {
    client.release();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
