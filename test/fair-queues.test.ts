// Fairness of the run queues, on real pg-boss over a throw-away store: one repository's flood never
// holds another repository's run behind it, serial kinds keep one run per key at a time and in order,
// and a flood of one kind never takes the workers of another. Each run here is a real run row; the
// work a worker does is replaced by marking the run started, holding it a while and finishing it, so
// the order is read from the store's own `started_at` / `finished_at`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startQueue, recordAndEnqueue, type Queue } from "../src/jobs/queue.js";
import { WORKERS_PER_QUEUE, workQueue } from "../src/jobs/workers.js";
import { createLogger } from "../src/logger.js";
import { finishRun, startAttempt, type NewRun } from "../src/store/runs.js";
import type { RunKind } from "../src/store/run-requests.js";
import { waitFor } from "./harness/app-process.js";
import { useTestStore } from "./harness/test-store.js";

const log = createLogger("silent");

interface Timing {
  id: number;
  repo: string;
  startedAt: Date;
  finishedAt: Date;
}

describe("fair queues", () => {
  const t = useTestStore("fair_queues");
  let queue: Queue;
  const holdMs = new Map<RunKind, number>();

  before(async () => {
    queue = await startQueue(t.store.url, t.store.pool, { retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 }, log);
    const deps = { db: t.store.pool, log };
    for (const kind of ["command", "backup", "heal", "scan", "migrate"] as const) {
      await workQueue(queue, deps, kind, { concurrency: WORKERS_PER_QUEUE, standIns: 0 }, async (runId) => {
        if (!(await startAttempt(t.store.pool, runId))) return;
        await sleep(holdMs.get(kind) ?? 200);
        await finishRun(t.store.pool, runId, { status: "success", title: "done" });
      });
    }
  });
  after(() => queue.stop());

  let commentId = 0;
  const common = { installationId: 1, requestedBy: "ada", deliveryId: null } as const;
  function commandRun(repo: string): NewRun {
    commentId++;
    return {
      ...common,
      repo,
      ref: null,
      kind: "command",
      trigger: "comment",
      commitSha: null,
      params: { commentId, issueNumber: 1, isPullRequest: false, body: "/autopilot status" },
    };
  }
  function backupRun(repo: string): NewRun {
    return {
      ...common,
      repo,
      ref: null,
      kind: "backup",
      trigger: "command",
      commitSha: "c0",
      params: { environment: "production", claimedAt: new Date(Date.now() + commentId++).toISOString() },
    };
  }
  let slot = Date.UTC(2026, 0, 1);
  function scheduledRun(repo: string, kind: "heal" | "scan"): NewRun {
    slot += 60_000;
    return { ...common, repo, ref: null, kind, trigger: "schedule", commitSha: null, params: { slot: new Date(slot).toISOString() } };
  }
  function migrateRun(repo: string): NewRun {
    return { ...common, repo, ref: "refs/heads/main", kind: "migrate", trigger: "push", commitSha: `c${commentId++}`, params: {} };
  }

  async function enqueue(runs: NewRun[]): Promise<number[]> {
    const ids: number[] = [];
    for (const run of runs) {
      const created = await recordAndEnqueue(t.store.pool, queue, run);
      assert.ok(created, `run of ${run.repo} recorded`);
      ids.push(created.id);
    }
    return ids;
  }

  /** The runs' start and finish as the store recorded them, once all have finished. */
  async function timingsOf(ids: number[]): Promise<Timing[]> {
    return waitFor(`${ids.length} runs finished`, async () => {
      const { rows } = await t.store.pool.query<Timing & { id: string }>(
        `select id, repo, started_at as "startedAt", finished_at as "finishedAt" from runs where id = any($1::bigint[]) and finished_at is not null order by id`,
        [ids],
      );
      return rows.length === ids.length ? rows.map((r) => ({ ...r, id: Number(r.id) })) : undefined;
    });
  }

  for (const kind of ["command", "backup"] as const) {
    test(`30 ${kind}s of one repository do not hold another repository's ${kind} behind them`, async () => {
      holdMs.set(kind, 200);
      const make = kind === "command" ? commandRun : backupRun;
      const flood = await enqueue(Array.from({ length: 30 }, () => make(`acme/busy-${kind}`)));
      const [single] = await enqueue([make(`acme/quiet-${kind}`)]);
      const all = await timingsOf([...flood, single]);
      const quiet = all.find((r) => r.id === single)!;
      const busy = all.filter((r) => r.id !== single);
      const startedBefore = busy.filter((r) => r.startedAt < quiet.startedAt).length;
      // The workers busy when it arrived, then the next free one: at most one round of the flood goes first.
      assert.ok(startedBefore <= 2 * WORKERS_PER_QUEUE, `${startedBefore} of the 30 started before the other repository's one`);
      assert.ok(
        busy.some((r) => r.startedAt > quiet.startedAt),
        "the flood was not done when the other repository's run started",
      );
    });
  }

  test("a serial queue runs one heal per repository at a time, in order, and another repository's goes meanwhile", async () => {
    holdMs.set("heal", 600);
    const flood = await enqueue(Array.from({ length: 4 }, () => scheduledRun("acme/slow", "heal")));
    const [single] = await enqueue([scheduledRun("acme/other", "heal")]);
    const all = await timingsOf([...flood, single]);
    const slow = all.filter((r) => r.id !== single);
    for (let i = 1; i < slow.length; i++) {
      assert.ok(slow[i].startedAt >= slow[i - 1].finishedAt, `heal ${slow[i].id} started after ${slow[i - 1].id} finished, in order`);
    }
    const other = all.find((r) => r.id === single)!;
    // pg-boss's `singleton` policy left it behind all four: its fetch took the oldest job, whose key was busy, and then nothing.
    assert.ok(other.startedAt < slow[0].finishedAt, "the other repository's heal started while the first of the slow one's was running");
  });

  test("a flood of scans does not delay a migration", async () => {
    holdMs.set("scan", 400);
    holdMs.set("migrate", 100);
    const scans = await enqueue(Array.from({ length: 30 }, (_, i) => scheduledRun(`acme/scanned-${i}`, "scan")));
    const [migration] = await enqueue([migrateRun("acme/shop")]);
    const all = await timingsOf([...scans, migration]);
    const migrated = all.find((r) => r.id === migration)!;
    const scansStartedBefore = all.filter((r) => r.id !== migration && r.startedAt < migrated.startedAt).length;
    assert.ok(scansStartedBefore <= 2 * WORKERS_PER_QUEUE, `${scansStartedBefore} scans started before the migration`);
    assert.ok(
      all.some((r) => r.id !== migration && r.startedAt > migrated.finishedAt),
      "the migration was done before the scan flood was",
    );
  });
});
