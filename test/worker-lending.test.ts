// A job that only waits (verification between probes, a heal's recovery wait) lends its worker: with
// one worker per queue, a second repository's job runs while the first one waits, and the number of
// stand-ins is bounded. Real pg-boss on a real store, real run locks; the runbooks are the test's own,
// so the waits are gates the test opens.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startQueue, type Queue } from "../src/jobs/queue.js";
import { createRun, type NewRun } from "../src/store/runs.js";
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
    queue = await startQueue(t.store.url, t.store.pool, { retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 }, log);
    locks = new RunLocks(t.store.url, log);
    // One worker per queue, at most one stand-in: the bound is reached with two waiting jobs.
    await startWorkers(queue, { log, db: t.store.pool } as Partial<RunbookDeps> as RunbookDeps, locks, { concurrency: 1, standIns: 1, runbooks });
  });
  after(async () => {
    for (const g of gates.values()) g.open();
    await queue?.stop();
    await locks?.close();
  });

  let slot = Date.UTC(2026, 0, 1);
  /** Records a real run of `kind` for `repo` (waiting on a gate when `waits`) and sends its job; its id. */
  async function send(kind: "migrate" | "heal", repo: string, waits = false): Promise<number> {
    slot += 60_000;
    const common = { installationId: 1, requestedBy: "ada", deliveryId: null, repo, ref: null, commitSha: null } as const;
    const run: NewRun =
      kind === "migrate"
        ? { ...common, kind, trigger: "push", ref: "refs/heads/main", commitSha: `c${slot}`, params: {} }
        : { ...common, kind, trigger: "schedule", params: { slot: new Date(slot).toISOString() } };
    const created = (await createRun(t.store.pool, run))!;
    if (waits) gates.set(created.id, gate());
    await queue.enqueue(created);
    return created.id;
  }

  test("a second repository's migration runs while the first one's verification waits", async () => {
    const verifying = await send("migrate", "acme/verifying", true);
    await waitFor("the first run waiting", () => started.includes(verifying));
    const other = await send("migrate", "acme/other");
    await waitFor("the second run ran on the stand-in worker", () => started.includes(other), 15_000);
    gates.get(verifying)!.open();
  });

  test("stand-ins are bounded: with one lent, the next waiting job keeps its worker and later jobs wait for one", async () => {
    const first = await send("heal", "acme/a", true);
    await waitFor("the first heal waiting", () => started.includes(first));
    const second = await send("heal", "acme/b", true);
    await waitFor("the second heal waiting on the stand-in", () => started.includes(second), 15_000);
    const third = await send("heal", "acme/c");
    // Both workers of the queue are taken by waiting jobs: the third waits (its poll comes every 0.5 s).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.ok(!started.includes(third), "no third worker: the bound holds");
    gates.get(first)!.open();
    await waitFor("the third heal ran once a worker came back", () => started.includes(third), 15_000);
    gates.get(second)!.open();
  });
});
