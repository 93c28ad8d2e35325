// The durable queue (pg-boss on the store). Webhook handlers only ever enqueue runs here; the work
// happens in runbooks picked up by workers, possibly on another replica.
import PgBoss from "pg-boss";
import type pg from "pg";
import type { Logger } from "../logger.js";
import type { ParamsOf, RunKind } from "../store/run-requests.js";
import { createRun, reopenFailedRun, reopenRun, setRunJob, type NewRun, type Run } from "../store/runs.js";
import { serialKeyOf as serialKey, sendRunJob, type RunJobData } from "../store/run-jobs.js";
import { DEAD_LETTER_QUEUE } from "../store/dead-letters.js";

/** One queue per kind of run. */
export const RUN_QUEUES = {
  // One active migration per repository: later pushes wait their turn, in order.
  migrate: "singleton",
  // One plan per pull request at a time, in order, so its sticky comment is never written twice.
  plan: "singleton",
  command: "standard",
  // Serialized per repository like migrations; the target's advisory lock orders the two.
  rollback: "singleton",
  backup: "standard",
  // One heal cycle per repository at a time; a cycle may wait out `recovery_wait_seconds`.
  heal: "singleton",
  scan: "singleton",
  // One scheduled drift check per repository at a time: each builds scratch databases on the shadow server.
  drift: "singleton",
  // One drill per repository at a time: they only touch scratch databases, but a verdict must not
  // overtake a later one on the incident issue.
  drill: "singleton",
} as const satisfies Record<RunKind, PgBoss.QueuePolicy>;

export type { RunJobData };

export interface QueueOptions {
  retryLimit: number;
  retryDelaySeconds: number;
  pollingIntervalSeconds: number;
}

export interface Queue {
  boss: PgBoss;
  options: QueueOptions;
  /** `serialKey`: runs sharing it (in a singleton queue) run one at a time, in order. */
  enqueue(kind: RunKind, runId: number, serialKey: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startQueue(connectionString: string, options: QueueOptions, log: Logger): Promise<Queue> {
  const boss = new PgBoss({ connectionString, schema: "pgboss", application_name: "autopilot-queue" });
  boss.on("error", (error) => log.error({ err: error }, "queue error"));
  await boss.start();
  // Nothing works this queue: a job lands here (with its error as output) when it failed its last
  // attempt or expired, and waits for `autopilot jobs retry` (store/dead-letters.ts).
  await ensureQueue(boss, DEAD_LETTER_QUEUE, { policy: "standard" });
  for (const [name, policy] of Object.entries(RUN_QUEUES)) {
    await ensureQueue(boss, name, {
      policy,
      deadLetter: DEAD_LETTER_QUEUE,
      retryLimit: options.retryLimit,
      retryDelay: options.retryDelaySeconds,
      retryBackoff: true,
      // A backstop only: a dead worker is detected much sooner by the reaper (jobs/reaper.ts).
      expireInSeconds: 6 * 3600,
    });
  }
  return {
    boss,
    options,
    enqueue: (kind, runId, serialKey) => sendRunJob(boss, kind, runId, serialKey),
    stop: () => boss.stop({ graceful: true, timeout: 10_000 }),
  };
}

/** Records a run and enqueues it; undefined when the same work was already recorded. */
export async function recordAndEnqueue(db: pg.Pool, queue: Queue, run: NewRun): Promise<Run | undefined> {
  const created = await createRun(db, run);
  if (!created) return undefined;
  await setRunJob(db, created.id, await queue.enqueue(created.kind, created.id, serialKey(created)));
  return created;
}

/** The dedup key of a webhook delivery: a command it started is not started again by a redelivery. */
export function deliveryKey(deliveryId: string): string {
  return `delivery:${deliveryId}`;
}

/** Queues a run that waited for people (approvals) again; false when it no longer waits. */
export async function requeueRun(db: pg.Pool, queue: Queue, run: Run): Promise<boolean> {
  if (!(await reopenRun(db, run.id))) return false;
  await setRunJob(db, run.id, await queue.enqueue(run.kind, run.id, serialKey(run)));
  return true;
}

/** Queues a failed run again to resume from its checkpoints (`/autopilot retry`); false when it is no longer failed. */
export async function retryRun(db: pg.Pool, queue: Queue, run: Run, reply: ParamsOf<"migrate">["reply"]): Promise<boolean> {
  if (!(await reopenFailedRun(db, run.id, reply))) return false;
  await setRunJob(db, run.id, await queue.enqueue(run.kind, run.id, serialKey(run)));
  return true;
}

async function ensureQueue(boss: PgBoss, name: string, options: Omit<PgBoss.Queue, "name">): Promise<void> {
  const queue = { name, ...options };
  if (await boss.getQueue(name)) await boss.updateQueue(name, queue);
  else await boss.createQueue(name, queue);
}
