// Binds queue jobs to runbooks. Each job runs under its run's liveness lock (all of them on one
// dedicated connection, see liveness.ts); a RetryLater from the runbook goes back to pg-boss, which
// retries with backoff. A job that only waits lends its worker (worker-lending.ts).
import type PgBoss from "pg-boss";
import { RUNBOOKS } from "../runbooks/registry.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import type { RunLocks } from "./liveness.js";
import type { RunKind } from "../store/run-requests.js";
import { RUN_QUEUES, type Queue, type RunJobData } from "./queue.js";
import { boundedLender, withLender } from "./worker-lending.js";

/** Jobs of one kind a replica runs at once. */
export const WORKERS_PER_QUEUE = 4;
/** Waiting jobs of one kind a replica lends its worker for at once; beyond that a waiting job keeps its worker. */
export const STAND_INS_PER_QUEUE = 64;

export interface WorkerOptions {
  concurrency?: number;
  standIns?: number;
  /** The runbook of each kind (tests give their own). */
  runbooks?: Record<RunKind, { run: (deps: RunbookDeps, runId: number, attempt: { number: number; limit: number }) => Promise<void> }>;
}

export async function startWorkers(queue: Queue, deps: RunbookDeps, runLocks: RunLocks, options: WorkerOptions = {}): Promise<void> {
  const { concurrency = WORKERS_PER_QUEUE, standIns = STAND_INS_PER_QUEUE, runbooks = RUNBOOKS } = options;
  const work = { batchSize: 1, includeMetadata: true as const, pollingIntervalSeconds: queue.options.pollingIntervalSeconds };
  for (const kind of Object.keys(RUN_QUEUES) as RunKind[]) {
    const startWorker = () => queue.boss.work<RunJobData>(kind, work, handler);
    const lender = boundedLender(standIns, startWorker, async (id) => void (await queue.boss.offWork({ id })));
    async function handler([job]: PgBoss.JobWithMetadata<RunJobData>[]): Promise<void> {
      const attempt = { number: job.retryCount + 1, limit: job.retryLimit + 1 };
      deps.log.info({ kind, run: job.data.runId, job: job.id, attempt: attempt.number }, "job started");
      await runLocks.hold(job.data.runId, () => withLender(lender, () => runbooks[kind].run(deps, job.data.runId, attempt)));
    }
    for (let i = 0; i < concurrency; i++) await startWorker();
  }
}
