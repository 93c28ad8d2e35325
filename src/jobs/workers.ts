// Binds queue jobs to runbooks. Each job runs under its run's liveness lock; a RetryLater from the
// runbook goes back to pg-boss, which retries with backoff.
import type PgBoss from "pg-boss";
import { runMigrate } from "../runbooks/migrate.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import { holdRunLock } from "./liveness.js";
import { MIGRATE_QUEUE, type MigrateJobData, type Queue } from "./queue.js";

export async function startWorkers(queue: Queue, deps: RunbookDeps, concurrency = 4): Promise<void> {
  const options = { batchSize: 1, includeMetadata: true as const, pollingIntervalSeconds: queue.options.pollingIntervalSeconds };
  for (let i = 0; i < concurrency; i++) {
    await queue.boss.work<MigrateJobData>(MIGRATE_QUEUE, options, async ([job]: PgBoss.JobWithMetadata<MigrateJobData>[]) => {
      const attempt = { number: job.retryCount + 1, limit: job.retryLimit + 1 };
      deps.log.info({ run: job.data.runId, job: job.id, attempt: attempt.number }, "migrate job started");
      await holdRunLock(deps.db, job.data.runId, () => runMigrate(deps, job.data.runId, attempt));
    });
  }
}
