// pg-boss waits out the polling interval after every fetch, even one that found a job; a worker that
// found one fetches again at once instead (workers.ts), so a queue of short jobs drains at the speed
// of the jobs, not one job per worker per polling interval. Real pg-boss on a real store.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RUN_QUEUES, startQueue, type Queue } from "../src/jobs/queue.js";
import { createRun } from "../src/store/runs.js";
import { RunLocks } from "../src/jobs/liveness.js";
import { startWorkers } from "../src/jobs/workers.js";
import type { RunbookDeps } from "../src/runbooks/deps.js";
import type { RunKind } from "../src/store/run-requests.js";
import { useTestStore } from "./harness/test-store.js";
import { recordingLogger } from "./harness/recording-logger.js";
import { waitFor } from "./harness/app-process.js";

const POLLING_SECONDS = 10;
const JOBS = 8;

describe("a worker that found a job fetches the next at once", () => {
  const t = useTestStore("refetch");
  let queue: Queue;
  let locks: RunLocks;
  const log = recordingLogger();
  const started: number[] = [];
  const runbook = { run: async (_deps: RunbookDeps, runId: number) => void started.push(runId) };
  const runbooks = Object.fromEntries(Object.keys(RUN_QUEUES).map((kind) => [kind, runbook])) as Record<RunKind, typeof runbook>;

  before(async () => {
    queue = await startQueue(t.store.url, t.store.pool, { retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: POLLING_SECONDS }, log);
    // Queued before any worker starts, so the first fetch finds one.
    for (let i = 0; i < JOBS; i++) {
      const slot = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
      const run = await createRun(t.store.pool, {
        kind: "heal",
        trigger: "schedule",
        repo: `acme/repo-${i}`,
        installationId: 1,
        requestedBy: "autopilot",
        deliveryId: null,
        ref: null,
        commitSha: null,
        params: { slot },
      });
      await queue.enqueue(run!);
    }
    locks = new RunLocks(t.store.url, log);
    await startWorkers(queue, { log, db: t.store.pool } as Partial<RunbookDeps> as RunbookDeps, locks, { concurrency: 1, standIns: 0, runbooks });
  });
  after(async () => {
    await queue?.stop();
    await locks?.close();
  });

  test(`one worker runs ${JOBS} queued short jobs within one polling interval (${POLLING_SECONDS} s), not one per interval`, async () => {
    await waitFor(`${JOBS} jobs started`, () => started.length >= JOBS, (POLLING_SECONDS - 2) * 1000);
    assert.equal(new Set(started).size, JOBS);
  });
});
