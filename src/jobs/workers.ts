// Binds queue jobs to runbooks. Each job runs under its run's liveness lock (all of them on one
// dedicated connection, see liveness.ts); a RetryLater from the runbook goes back to pg-boss, which
// retries with backoff.
import type PgBoss from "pg-boss";
import { RUNBOOKS } from "../runbooks/registry.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import type { RunLocks } from "./liveness.js";
import type { RunKind } from "../store/run-requests.js";
import { RUN_QUEUES, type Queue, type RunJobData } from "./queue.js";

/** Jobs of one kind a replica runs at once. */
export const WORKERS_PER_QUEUE = 4;

export async function startWorkers(queue: Queue, deps: RunbookDeps, runLocks: RunLocks, concurrency = WORKERS_PER_QUEUE): Promise<void> {
  const options = { batchSize: 1, includeMetadata: true as const, pollingIntervalSeconds: queue.options.pollingIntervalSeconds };
  for (const kind of Object.keys(RUN_QUEUES) as RunKind[]) {
    for (let i = 0; i < concurrency; i++) {
      await queue.boss.work<RunJobData>(kind, options, async ([job]: PgBoss.JobWithMetadata<RunJobData>[]) => {
        const attempt = { number: job.retryCount + 1, limit: job.retryLimit + 1 };
        deps.log.info({ kind, run: job.data.runId, job: job.id, attempt: attempt.number }, "job started");
        await runLocks.hold(job.data.runId, () => RUNBOOKS[kind].run(deps, job.data.runId, attempt));
      });
    }
  }
}
