// A job that only waits (verification between probes, a heal's recovery wait) lends its worker: with
// one worker per queue, a second repository's job runs while the first one waits, and the number of
// stand-ins is bounded. Real pg-boss on a real store, real run locks; the runbooks are the test's own,
// so the waits are gates the test opens.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startQueue, type Queue } from "../src/jobs/queue.js";
import { RunLocks } from "../src/jobs/liveness.js";
import { startWorkers } from "../src/jobs/workers.js";
import { whileWaiting } from "../src/jobs/worker-lending.js";
import type { RunbookDeps } from "../src/runbooks/deps.js";
import type { RunKind } from "../src/store/run-requests.js";
import { useTestStore } from "./harness/test-store.js";
import { recordingLogger } from "./harness/recording-logger.js";
import { waitFor } from "./harness/app-process.js";

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe("a waiting job lends its worker", () => {
  const t = useTestStore("lending");
  let queue: Queue;
  let locks: RunLocks;
  const log = recordingLogger();
  /** Runs that started, in order, and the gate each waiting run waits on. */
  const started: number[] = [];
  const gates = new Map<number, ReturnType<typeof gate>>();

  // Every kind's runbook: record the start; runs with a gate wait on it the way verification waits between probes.
  const runbook = {
    run: async (_deps: RunbookDeps, runId: number) => {
      started.push(runId);
      const g = gates.get(runId);
      if (g) await whileWaiting(() => g.wait);
    },
  };
  const runbooks = {
    migrate: runbook,
    plan: runbook,
    command: runbook,
    rollback: runbook,
    backup: runbook,
    heal: runbook,
    scan: runbook,
    drift: runbook,
    drill: runbook,
  } satisfies Record<RunKind, typeof runbook>;

  before(async () => {
    queue = await startQueue(t.db.url, { retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 }, log);
    locks = new RunLocks(t.db.url, log);
    // One worker per queue, at most one stand-in: the bound is reached with two waiting jobs.
    await startWorkers(queue, { log } as Partial<RunbookDeps> as RunbookDeps, locks, { concurrency: 1, standIns: 1, runbooks });
  });
  after(async () => {
    for (const g of gates.values()) g.open();
    await queue?.stop();
    await locks?.close();
  });

  const send = (kind: RunKind, runId: number, repo: string) => queue.enqueue(kind, runId, `${repo}`);

  test("a second repository's migration runs while the first one's verification waits", async () => {
    gates.set(1, gate());
    await send("migrate", 1, "acme/verifying");
    await waitFor("run 1 waiting", () => started.includes(1));
    await send("migrate", 2, "acme/other");
    await waitFor("run 2 ran on the stand-in worker", () => started.includes(2), 15_000);
    gates.get(1)!.open();
  });

  test("stand-ins are bounded: with one lent, the next waiting job keeps its worker and later jobs wait for one", async () => {
    gates.set(11, gate());
    gates.set(12, gate());
    await send("heal", 11, "acme/a");
    await waitFor("run 11 waiting", () => started.includes(11));
    await send("heal", 12, "acme/b");
    await waitFor("run 12 waiting on the stand-in", () => started.includes(12), 15_000);
    await send("heal", 13, "acme/c");
    // Both workers of the queue are taken by waiting jobs: 13 waits (its poll comes every 0.5 s).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.ok(!started.includes(13), "no third worker: the bound holds");
    gates.get(11)!.open();
    await waitFor("run 13 ran once a worker came back", () => started.includes(13), 15_000);
    gates.get(12)!.open();
  });
});
