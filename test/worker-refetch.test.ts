// pg-boss waits out the polling interval after every fetch, even one that found a job; a worker that
// found one fetches again at once instead (workers.ts), so a queue of short jobs drains at the speed
// of the jobs, not one job per worker per polling interval. A job that throws must not turn that into
// a busy loop: its retry still waits pg-boss's backoff. Real pg-boss on a real store.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RUN_QUEUES, startQueue, type Queue } from "../src/jobs/queue.js";
import { createRun } from "../src/store/runs.js";
import { RunLocks } from "../src/jobs/liveness.js";
import { startWorkers } from "../src/jobs/workers.js";
import type { RunbookDeps } from "../src/runbooks/deps.js";
import type { RunKind } from "../src/store/run-requests.js";
import { useTestStore, type TestStore } from "./harness/test-store.js";
import { recordingLogger } from "./harness/recording-logger.js";
import { waitFor } from "./harness/app-process.js";

type Runbook = { run: (deps: RunbookDeps, runId: number) => Promise<void> };

/** A store with pg-boss on it; `startWorkers` starts one worker per run kind, each running `runbook`. */
function useOneWorker(name: string, settings: { pollingIntervalSeconds: number; retryLimit: number; retryDelaySeconds: number }, runbook: Runbook) {
  const t = useTestStore(name);
  const log = recordingLogger();
  const runbooks = Object.fromEntries(Object.keys(RUN_QUEUES).map((kind) => [kind, runbook])) as Record<RunKind, Runbook>;
  let queue: Queue | undefined;
  let locks: RunLocks | undefined;
  before(async () => {
    queue = await startQueue(t.store.url, t.store.pool, settings, log);
    locks = new RunLocks(t.store.url, log);
  });
  after(async () => {
    await queue?.stop();
    await locks?.close();
  });
  return {
    queueHealRun: (i: number) => queueHealRun(t, queue!, i),
    startWorkers: () =>
      startWorkers(queue!, { log, db: t.store.pool } as Partial<RunbookDeps> as RunbookDeps, locks!, { concurrency: 1, standIns: 0, runbooks }),
  };
}

/** Queues one heal run (its slot the i-th minute of a day) and returns its id. */
async function queueHealRun(t: TestStore, queue: Queue, i: number): Promise<number> {
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
  return run!.id;
}

describe("a worker that found a job fetches the next at once", () => {
  const POLLING_SECONDS = 10;
  const JOBS = 8;
  const started: number[] = [];
  const world = useOneWorker(
    "refetch",
    { retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: POLLING_SECONDS },
    { run: async (_deps, runId) => void started.push(runId) },
  );

  before(async () => {
    // Queued before any worker starts, so the first fetch finds one.
    for (let i = 0; i < JOBS; i++) await world.queueHealRun(i);
    await world.startWorkers();
  });

  test(`one worker runs ${JOBS} queued short jobs within one polling interval (${POLLING_SECONDS} s), not one per interval`, async () => {
    await waitFor(`${JOBS} jobs started`, () => started.length >= JOBS, (POLLING_SECONDS - 2) * 1000);
    assert.equal(new Set(started).size, JOBS);
  });
});

describe("a job that throws is retried after pg-boss's backoff, not fetched again at once", () => {
  const RETRY_DELAY_SECONDS = 2;
  const attempts = new Map<number, number[]>();
  let failing = 0;
  const world = useOneWorker(
    "refetch-failing",
    { retryLimit: 1, retryDelaySeconds: RETRY_DELAY_SECONDS, pollingIntervalSeconds: 1 },
    {
      run: async (_deps, runId) => {
        attempts.set(runId, [...(attempts.get(runId) ?? []), Date.now()]);
        if (runId === failing) throw new Error("the target database refused the connection");
      },
    },
  );

  before(async () => {
    failing = await world.queueHealRun(0);
    await world.queueHealRun(1);
    await world.startWorkers();
  });

  test("the failing run's second attempt waits at least the retry delay; the worker runs the next job meanwhile", async () => {
    await waitFor("the failing run's retry", () => (attempts.get(failing)?.length ?? 0) >= 2, 20_000);
    const [first, second] = attempts.get(failing)!;
    assert.ok(second - first >= RETRY_DELAY_SECONDS * 1000 * 0.9, `retried after ${second - first} ms, before the ${RETRY_DELAY_SECONDS} s delay`);
    const other = [...attempts].find(([runId]) => runId !== failing)!;
    assert.equal(other[1].length, 1, "the healthy run ran once");
    assert.ok(other[1][0] < second, "the healthy run did not wait behind the failing run's retry");
    // retryLimit 1: two attempts in all, however long the worker keeps fetching.
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_SECONDS * 2000));
    assert.equal(attempts.get(failing)!.length, 2);
  });
});
