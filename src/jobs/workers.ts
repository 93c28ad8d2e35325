// Binds queue jobs to runbooks. Each job runs under its run's liveness lock (all of them on one
// dedicated connection, see liveness.ts); a RetryLater from the runbook goes back to pg-boss, which
// retries with backoff.
import type PgBoss from "pg-boss";
import { RUNBOOKS } from "../runbooks/registry.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import type { RunLocks } from "./liveness.js";
import type { RunKind } from "../store/run-requests.js";
import { getRun, setRunJob } from "../store/runs.js";
import { runAheadOf } from "../store/run-jobs.js";
import { RUN_QUEUES, type Queue, type RunJobData } from "./queue.js";

/** Jobs of one kind a replica runs at once. */
export const WORKERS_PER_QUEUE = 4;

/** The longest a waiting serial run's job is put back for before it looks again. */
const MAX_PUT_BACK_SECONDS = 60;

export async function startWorkers(queue: Queue, deps: RunbookDeps, runLocks: RunLocks, concurrency = WORKERS_PER_QUEUE): Promise<void> {
  for (const kind of Object.keys(RUN_QUEUES) as RunKind[]) {
    await workQueue(queue, deps, kind, concurrency, (runId, attempt) => runLocks.hold(runId, () => RUNBOOKS[kind].run(deps, runId, attempt)));
  }
}

export type RunJob = (runId: number, attempt: { number: number; limit: number }) => Promise<void>;

/** `kind`'s workers (exposed for tests): each job's run goes to `runJob` once its turn has come. */
export async function workQueue(queue: Queue, deps: Pick<RunbookDeps, "db" | "log">, kind: RunKind, concurrency: number, runJob: RunJob): Promise<void> {
  const options = { batchSize: 1, includeMetadata: true as const, pollingIntervalSeconds: queue.options.pollingIntervalSeconds };
  for (let i = 0; i < concurrency; i++) {
    await queue.boss.work<RunJobData>(kind, options, async ([job]: PgBoss.JobWithMetadata<RunJobData>[]) => {
      if (RUN_QUEUES[kind] === "serial" && (await putBackBehindEarlierRun(queue, deps, job))) return;
      const attempt = { number: job.retryCount + 1, limit: job.retryLimit + 1 };
      deps.log.info({ kind, run: job.data.runId, job: job.id, attempt: attempt.number }, "job started");
      await runJob(job.data.runId, attempt);
    });
  }
}

/**
 * A serial run whose key has an earlier run still to finish is sent back to the queue for later (the
 * deeper in the line, the later it looks again) and this job completes: waiting never holds a worker,
 * so another repository's run takes it. True when the run was put back.
 */
async function putBackBehindEarlierRun(queue: Queue, deps: Pick<RunbookDeps, "db" | "log">, job: PgBoss.Job<RunJobData>): Promise<boolean> {
  const run = await getRun(deps.db, job.data.runId);
  if (!run || (run.status !== "queued" && run.status !== "in_progress")) return false;
  const ahead = await runAheadOf(deps.db, run);
  if (!ahead) return false;
  const startAfterSeconds = Math.min(MAX_PUT_BACK_SECONDS, ahead.ahead * Math.max(1, queue.options.pollingIntervalSeconds));
  await setRunJob(deps.db, run.id, await queue.enqueue(run, { startAfterSeconds }));
  deps.log.debug({ kind: run.kind, run: run.id, waitsFor: ahead.id, startAfterSeconds }, "run waits for an earlier run of its key");
  return true;
}
