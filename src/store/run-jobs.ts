// How a run becomes a pg-boss job: shared by the queue (jobs/queue.ts) and the CLI's `jobs retry`
// (which may not import jobs/), so both send a run to its queue the same way.
//
// Fairness. pg-boss 10 takes a queue's jobs by `priority desc, created_on`. Each job is sent with a
// priority of minus the number of its repository's runs of that kind already waiting or running, so
// the queue serves repositories in turn: a repository's 30th command waits behind every other
// repository's first. Runs of a serial kind (migrations, plans, …) also go one at a time per serial
// key, in order; that is checked when a job starts (`runAheadOf`), not by pg-boss's `singleton`
// policy, whose fetch takes the oldest job even when its key is busy and then takes nothing: one
// repository's backlog would stall every other repository's jobs of that kind behind it.
import type PgBoss from "pg-boss";
import type { Queryable } from "./health-rollups.js";
import { int8 } from "./int8.js";
import type { RunKind } from "./run-requests.js";
import { unfinishedRunsOfRepository, type Run } from "./runs.js";

export interface RunJobData {
  runId: number;
}

/** Migrations and rollbacks queue per repository; plans per pull request. */
export function serialKeyOf(run: Run): string {
  return run.kind === "plan" && run.params.pull ? `${run.repo}#${run.params.pull}` : run.repo;
}

// A job of the queue not yet finished (pg-boss's states: created < retry < active < completed …), and its run.
const LIVE_JOB_OF_RUN = `from pgboss.job j join runs r on r.id = (j.data->>'runId')::bigint
  where j.name = $1 and j.state < 'completed'`;

export interface SendOptions {
  /** Holds the job back that long. */
  startAfterSeconds?: number;
  /** The repository's unfinished runs of the run's kind, when already counted (store/runs.ts recordRun). */
  ahead?: number;
  /**
   * Inserts the job on a transaction's connection (pg-boss's `db` option), under an id chosen up
   * front so the run can name it in the same commit; otherwise pg-boss's own pool inserts it.
   */
  transaction?: { client: Queryable; jobId: string };
}

/** Sends `run` to its kind's queue; `db` counts the repository's waiting runs. Returns the job id. */
export async function sendRunJob(boss: PgBoss, db: Queryable, run: Run, options: SendOptions = {}): Promise<string> {
  const serialKey = serialKeyOf(run);
  const { transaction } = options;
  const id = await boss.send(run.kind, { runId: run.id } satisfies RunJobData, {
    singletonKey: serialKey.toLowerCase(),
    priority: -(options.ahead ?? (await jobsOfRepository(db, run))),
    ...(transaction ? { id: transaction.jobId, db: { executeSql: (text: string, values: unknown[]) => transaction.client.query(text, values) } } : {}),
    ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
  });
  if (!id) throw new Error(`the queue refused a ${run.kind} job for ${serialKey}`);
  return id;
}

/** How many runs of the run's repository and kind (other than itself) wait or run: its jobs in the queue (see migration 0035). */
async function jobsOfRepository(db: Queryable, run: Run): Promise<number> {
  const { rows } = await db.query(`${unfinishedRunsOfRepository("$1", "$2")} and id <> $3`, [run.kind, run.repo, run.id]);
  return rows[0].count;
}

/**
 * The earliest run of the same kind and serial key queued before `run` and not finished, whose job is
 * still in the queue (so a run whose job was lost never holds the line); undefined when `run` may go.
 */
export async function runAheadOf(db: Queryable, run: Run): Promise<{ id: number; ahead: number } | undefined> {
  const { rows } = await db.query(
    `select min(r.id) as id, count(*)::int as ahead ${LIVE_JOB_OF_RUN}
       and j.singleton_key = $2 and r.id < $3 and r.status in ('queued', 'in_progress')`,
    [run.kind, serialKeyOf(run).toLowerCase(), run.id],
  );
  return rows[0].ahead > 0 ? { id: int8(rows[0].id, "runs.id"), ahead: rows[0].ahead } : undefined;
}
