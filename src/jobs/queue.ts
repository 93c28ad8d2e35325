// The durable queue (pg-boss on the store). Webhook handlers only ever enqueue runs here; the work
// happens in runbooks picked up by workers, possibly on another replica.
import { randomUUID } from "node:crypto";
import PgBoss from "pg-boss";
import type pg from "pg";
import type { Logger } from "../logger.js";
import type { ParamsOf, RunKind } from "../store/run-requests.js";
import { recordRun, reopenFailedRun, reopenRun, setRunJob, type NewRun, type Run } from "../store/runs.js";
import { sendRunJob, type RunJobData, type SendOptions } from "../store/run-jobs.js";
import { DEAD_LETTER_QUEUE } from "../store/dead-letters.js";

/**
 * One queue per kind of run, each worked by its own workers (jobs/workers.ts), so a flood of scans or
 * heal cycles never takes a worker from a migration. `serial`: a run of that kind waits until the runs
 * of its serial key (store/run-jobs.ts serialKeyOf) queued before it have finished, in order; its job
 * is put back meanwhile, never holding a worker. Every queue is a pg-boss `standard` one: fairness
 * across repositories comes from each job's priority (see store/run-jobs.ts).
 */
export const RUN_QUEUES = {
  // One active migration per repository: later pushes wait their turn, in order.
  migrate: "serial",
  // One plan per pull request at a time, in order, so its sticky comment is never written twice.
  plan: "serial",
  command: "parallel",
  // Serialized per repository like migrations; the target's advisory lock orders the two.
  rollback: "serial",
  backup: "parallel",
  // One heal cycle per repository at a time; a cycle may wait out `recovery_wait_seconds`.
  heal: "serial",
  scan: "serial",
  // One scheduled drift check per repository at a time: each builds scratch databases on the shadow server.
  drift: "serial",
  // One drill per repository at a time: they only touch scratch databases, but a verdict must not
  // overtake a later one on the incident issue.
  drill: "serial",
} as const satisfies Record<RunKind, "serial" | "parallel">;

export type { RunJobData };

export interface QueueOptions {
  retryLimit: number;
  retryDelaySeconds: number;
  pollingIntervalSeconds: number;
  /**
   * False for a replica that only sends jobs (AUTOPILOT_ROLE=web): pg-boss's maintenance (expiring,
   * archiving) and its cron clock are left to the replicas that work the queues.
   */
  maintains?: boolean;
}

export interface Queue {
  boss: PgBoss;
  options: QueueOptions;
  /** Sends the run's job (see SendOptions); `db` is the pool to count the repository's waiting runs on. Returns the job id. */
  enqueue(run: Run, options?: SendOptions & { db?: pg.Pool }): Promise<string>;
  stop(): Promise<void>;
}

export async function startQueue(connectionString: string, db: pg.Pool, options: QueueOptions, log: Logger): Promise<Queue> {
  const maintains = options.maintains ?? true;
  const boss = new PgBoss({ connectionString, schema: "pgboss", application_name: "autopilot-queue", supervise: maintains, schedule: maintains });
  boss.on("error", (error) => log.error({ err: error }, "queue error"));
  await boss.start();
  // Nothing works this queue: a job lands here (with its error as output) when it failed its last
  // attempt or expired, and waits for `autopilot jobs retry` (store/dead-letters.ts).
  await ensureQueue(boss, DEAD_LETTER_QUEUE, { policy: "standard" });
  for (const name of Object.keys(RUN_QUEUES)) {
    await ensureQueue(boss, name, {
      // Not `singleton` (what serial kinds had before): see store/run-jobs.ts for why.
      policy: "standard",
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
    enqueue: (run, sendOptions) => sendRunJob(boss, sendOptions?.db ?? db, run, sendOptions),
    stop: () => boss.stop({ graceful: true, timeout: 10_000 }),
  };
}

/**
 * Records a run and its job in one transaction (one commit, four round trips: webhooks that start work
 * wait for it); undefined when the same work was already recorded.
 */
export async function recordAndEnqueue(db: pg.Pool, queue: Queue, run: NewRun): Promise<Run | undefined> {
  const jobId = randomUUID();
  const recorded = await recordRun(db, run, {
    jobId,
    alongside: async (client, { run: created, ahead }) => {
      await queue.enqueue(created, { ahead, transaction: { client, jobId } });
    },
  });
  return recorded?.run;
}

/** The dedup key of a webhook delivery: a command it started is not started again by a redelivery. */
export function deliveryKey(deliveryId: string): string {
  return `delivery:${deliveryId}`;
}

/** Queues a run that waited for people (approvals) again; false when it no longer waits. */
export async function requeueRun(db: pg.Pool, queue: Queue, run: Run): Promise<boolean> {
  if (!(await reopenRun(db, run.id))) return false;
  await setRunJob(db, run.id, await queue.enqueue(run));
  return true;
}

/** Queues a failed run again to resume from its checkpoints (`/autopilot retry`); false when it is no longer failed. */
export async function retryRun(db: pg.Pool, queue: Queue, run: Run, reply: ParamsOf<"migrate">["reply"]): Promise<boolean> {
  if (!(await reopenFailedRun(db, run.id, reply))) return false;
  await setRunJob(db, run.id, await queue.enqueue(run));
  return true;
}

async function ensureQueue(boss: PgBoss, name: string, options: Omit<PgBoss.Queue, "name">): Promise<void> {
  const queue = { name, ...options };
  if (await boss.getQueue(name)) await boss.updateQueue(name, queue);
  else await boss.createQueue(name, queue);
}
