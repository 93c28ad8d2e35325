// Binds queue jobs to runbooks. Each job runs under its run's liveness lock (all of them on one
// dedicated connection, see liveness.ts); a RetryLater from the runbook goes back to pg-boss, which
// retries with backoff. A job that only waits lends its worker (worker-lending.ts).
import type PgBoss from "pg-boss";
import { RUNBOOKS } from "../runbooks/registry.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import type { RunLocks } from "./liveness.js";
import type { RunKind } from "../store/run-requests.js";
import { getRun, setRunJob } from "../store/runs.js";
import { runAheadOf } from "../store/run-jobs.js";
import { RUN_QUEUES, type Queue, type RunJobData } from "./queue.js";
import { boundedLender, withLender } from "./worker-lending.js";

/** Jobs of one kind a replica runs at once. */
export const WORKERS_PER_QUEUE = 4;
/** Waiting jobs of one kind a replica lends its worker for at once; beyond that a waiting job keeps its worker. */
export const STAND_INS_PER_QUEUE = 64;

/** The longest a waiting serial run's job is put back for before it looks again. */
const MAX_PUT_BACK_SECONDS = 60;

export interface WorkerOptions {
  concurrency?: number;
  standIns?: number;
  /** The runbook of each kind (tests give their own). */
  runbooks?: Record<RunKind, { run: (deps: RunbookDeps, runId: number, attempt: { number: number; limit: number }) => Promise<void> }>;
}

export async function startWorkers(queue: Queue, deps: RunbookDeps, runLocks: RunLocks, options: WorkerOptions = {}): Promise<void> {
  const { concurrency = WORKERS_PER_QUEUE, standIns = STAND_INS_PER_QUEUE, runbooks = RUNBOOKS } = options;
  for (const kind of Object.keys(RUN_QUEUES) as RunKind[]) {
    await workQueue(queue, deps, kind, { concurrency, standIns }, (runId, attempt) => runLocks.hold(runId, () => runbooks[kind].run(deps, runId, attempt)));
  }
}

export type RunJob = (runId: number, attempt: { number: number; limit: number }) => Promise<void>;

/**
 * `kind`'s workers (exposed for tests): each job's run goes to `runJob` once its turn has come, with
 * the queue's lender, so a job that only waits lends its worker to a stand-in.
 */
export async function workQueue(
  queue: Queue,
  deps: Pick<RunbookDeps, "db" | "log">,
  kind: RunKind,
  { concurrency, standIns }: { concurrency: number; standIns: number },
  runJob: RunJob,
): Promise<void> {
  const options = { batchSize: 1, includeMetadata: true as const, pollingIntervalSeconds: queue.options.pollingIntervalSeconds };
  const startWorker = async (): Promise<string> => {
    let id = "";
    id = await queue.boss.work<RunJobData>(kind, options, async (jobs) => {
      await handler(jobs);
      // pg-boss waits out the polling interval after every fetch, even one that found a job: at 1 s a
      // worker ran at most one short job a second (1,000 heal cycles a minute queued up behind four).
      // A job was there, so more may be: this worker fetches again at once.
      queue.boss.notifyWorker(id);
    });
    return id;
  };
  const lender = boundedLender(standIns, startWorker, async (id) => void (await queue.boss.offWork({ id })));
  async function handler([job]: PgBoss.JobWithMetadata<RunJobData>[]): Promise<void> {
    if (RUN_QUEUES[kind] === "serial" && (await putBackBehindEarlierRun(queue, deps, job))) return;
    const attempt = { number: job.retryCount + 1, limit: job.retryLimit + 1 };
    deps.log.info({ kind, run: job.data.runId, job: job.id, attempt: attempt.number }, "job started");
    await withLender(lender, () => runJob(job.data.runId, attempt));
  }
  for (let i = 0; i < concurrency; i++) await startWorker();
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
