// The durable queue (pg-boss on the store). Webhook handlers only ever call `enqueue*` here;
// the work happens in runbooks picked up by workers, possibly on another replica.
import PgBoss from "pg-boss";
import type { Logger } from "../logger.js";

export const MIGRATE_QUEUE = "migrate";

export interface MigrateJobData {
  runId: number;
}

export interface QueueOptions {
  retryLimit: number;
  retryDelaySeconds: number;
  pollingIntervalSeconds: number;
}

export interface Queue {
  boss: PgBoss;
  options: QueueOptions;
  enqueueMigrate(data: MigrateJobData, repo: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startQueue(connectionString: string, options: QueueOptions, log: Logger): Promise<Queue> {
  const boss = new PgBoss({ connectionString, schema: "pgboss", application_name: "autopilot-queue" });
  boss.on("error", (error) => log.error({ err: error }, "queue error"));
  await boss.start();
  await ensureQueue(boss, MIGRATE_QUEUE, {
    // One active migration per repository: later pushes wait their turn in order.
    policy: "singleton",
    retryLimit: options.retryLimit,
    retryDelay: options.retryDelaySeconds,
    retryBackoff: true,
    // A backstop only: a dead worker is detected much sooner by the reaper (jobs/reaper.ts).
    expireInSeconds: 6 * 3600,
  });
  return {
    boss,
    options,
    async enqueueMigrate(data, repo) {
      const id = await boss.send(MIGRATE_QUEUE, data, { singletonKey: repo.toLowerCase() });
      if (!id) throw new Error(`the queue refused a migrate job for ${repo}`);
      return id;
    },
    stop: () => boss.stop({ graceful: true, timeout: 10_000 }),
  };
}

async function ensureQueue(boss: PgBoss, name: string, options: Omit<PgBoss.Queue, "name">): Promise<void> {
  const queue = { name, ...options };
  if (await boss.getQueue(name)) await boss.updateQueue(name, queue);
  else await boss.createQueue(name, queue);
}
