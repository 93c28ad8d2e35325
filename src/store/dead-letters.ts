// Jobs that exhausted their retries (a throw on the last attempt, or an expiry): pg-boss moves each
// into one dead-letter queue (the `deadLetter` option jobs/queue.ts sets on every run queue) with
// the run id it carried and its error as output. Nothing works that queue: the jobs wait there,
// visible to `autopilot jobs failed`, `/autopilot status` and /metrics, until `autopilot jobs retry`
// sends one back to its run's queue (or pg-boss's retention drops it, about four weeks on).
import PgBoss from "pg-boss";
import type pg from "pg";
import type { Queryable } from "./health-rollups.js";
import { int8 } from "./int8.js";
import { sendRunJob } from "./run-jobs.js";
import type { RunKind } from "./run-requests.js";
import { getRun, reopenFailedRun, setRunJob, type Run, type RunStatus } from "./runs.js";

export const DEAD_LETTER_QUEUE = "dead-letters";

export interface DeadLetter {
  /** The dead-letter job's id (pg-boss's uuid), which `jobs retry` takes. */
  id: string;
  runId: number;
  /** The run as the store has it now; null when the run row is gone. */
  kind: RunKind | null;
  repo: string | null;
  runStatus: RunStatus | null;
  /** The error of the last attempt (pg-boss's output of the failed job). */
  error: string;
  failedAt: Date;
}

// Waiting dead letters: pg-boss leaves them `created`, as no worker takes them.
const WAITING = `j.name = '${DEAD_LETTER_QUEUE}' and j.state = 'created'`;
const RUN_OF_JOB = `left join runs r on r.id = (j.data->>'runId')::bigint`;

/** Newest first; only `repo`'s when given. An empty list when the queue never ran on this store. */
export async function listDeadLetters(db: pg.Pool, filter: { repo?: string; limit?: number } = {}): Promise<DeadLetter[]> {
  return selectDeadLetters(db, "($1::text is null or lower(r.repo) = lower($1))", [filter.repo ?? null], filter.limit ?? 100);
}

async function getDeadLetter(db: pg.Pool, id: string): Promise<DeadLetter | undefined> {
  if (!UUID.test(id)) throw new Error(`"${id}" is not a job id: \`autopilot jobs failed\` lists them (a uuid)`);
  const [letter] = await selectDeadLetters(db, "j.id = $1::uuid", [id], 1);
  return letter;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function selectDeadLetters(db: pg.Pool, where: string, params: unknown[], limit: number): Promise<DeadLetter[]> {
  if (!(await queueSchemaExists(db))) return [];
  const { rows } = await db.query(
    `select j.id::text as id, j.data->>'runId' as "runId", r.kind, r.repo, r.status as "runStatus",
            coalesce(j.output->>'message', j.output::text, 'no error recorded') as error, j.created_on as "failedAt"
       from pgboss.job j ${RUN_OF_JOB}
      where ${WAITING} and ${where}
      order by j.created_on desc, j.id limit ${Number(limit)}`,
    params,
  );
  return rows.map((row) => ({ ...row, runId: int8(row.runId, "dead letter's runId") }));
}

/** How many jobs of the repository wait in the dead-letter queue. */
export async function countDeadLetters(db: pg.Pool, repo: string): Promise<number> {
  if (!(await queueSchemaExists(db))) return 0;
  const { rows } = await db.query(`select count(*)::int as n from pgboss.job j ${RUN_OF_JOB} where ${WAITING} and lower(r.repo) = lower($1)`, [repo]);
  return rows[0].n;
}

/** Waiting dead letters counted by their run's repository and kind ("unknown" when the run is gone), for /metrics. */
export async function deadLettersByRepoAndKind(db: Queryable): Promise<Array<{ repo: string; kind: string; n: number }>> {
  if (!(await queueSchemaExists(db))) return [];
  const { rows } = await db.query(
    `select coalesce(r.repo, 'unknown') as repo, coalesce(r.kind, 'unknown') as kind, count(*)::int as n
       from pgboss.job j ${RUN_OF_JOB} where ${WAITING} group by 1, 2 order by 1, 2`,
  );
  return rows;
}

/**
 * Sends a dead-lettered job's run back to its own queue, reopened as `/autopilot retry` reopens a
 * failed run (a fresh Check Run, its checkpoints kept), and removes the job from the dead-letter queue.
 * Throws, naming the job, when there is no such letter or its run has moved on since.
 */
export async function retryDeadLetter(db: pg.Pool, id: string): Promise<{ run: Run; jobId: string }> {
  const letter = await getDeadLetter(db, id);
  if (!letter) throw new Error(`no job ${id} waits in the dead-letter queue (see \`autopilot jobs failed\`)`);
  const run = await getRun(db, letter.runId);
  if (!run) throw new Error(`dead-lettered job ${id} names run ${letter.runId}, which is no longer in the store`);
  // The reaper concludes a run whose job failed for good (jobs/reaper.ts) and closes its Check Run;
  // until then it is still `in_progress`, and reopening it would leave that Check Run open.
  if (run.status === "in_progress") throw new Error(`run ${run.id} of job ${id} is still being concluded; try again in a minute`);
  // Its reply (a command's) is kept, so the retried run answers where it was asked.
  const reply = "reply" in run.params ? run.params.reply : undefined;
  if (!(await reopenFailedRun(db, run.id, reply))) {
    throw new Error(`run ${run.id} of job ${id} is ${run.status} now, not failed (retried since?): nothing requeued`);
  }
  const jobId = await withQueueClient(db, async (boss) => {
    const sent = await sendRunJob(boss, db, run);
    await boss.deleteJob(DEAD_LETTER_QUEUE, id);
    return sent;
  });
  await setRunJob(db, run.id, jobId);
  return { run, jobId };
}

/** pg-boss over the store's pool, only to send and delete jobs: no maintenance, no schema changes (the App owns those). */
async function withQueueClient<T>(db: pg.Pool, use: (boss: PgBoss) => Promise<T>): Promise<T> {
  const boss = new PgBoss({
    db: { executeSql: (text: string, values: unknown[] = []) => db.query(text, values) },
    schema: "pgboss",
    supervise: false,
    schedule: false,
    migrate: false,
  });
  await boss.start();
  try {
    return await use(boss);
  } finally {
    await boss.stop({ graceful: false, close: false, wait: true });
  }
}

async function queueSchemaExists(db: Queryable): Promise<boolean> {
  const { rows } = await db.query("select to_regclass('pgboss.job') is not null as ok");
  return rows[0].ok;
}
