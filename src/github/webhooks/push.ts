// push: record the run and enqueue it. Everything slow happens in the migrate job.
import type { Context } from "probot";
import type pg from "pg";
import { recordAndEnqueue, type Queue } from "../../jobs/queue.js";

export function handlePush(db: pg.Pool, queue: Queue) {
  return async (context: Context<"push">): Promise<void> => {
    const { payload } = context;
    if (payload.deleted || !payload.ref.startsWith("refs/heads/") || !payload.installation) return;
    const run = await recordAndEnqueue(db, queue, {
      kind: "migrate",
      trigger: "push",
      repo: payload.repository.full_name,
      installationId: payload.installation.id,
      ref: payload.ref,
      commitSha: payload.after,
      requestedBy: payload.sender?.login ?? payload.pusher.name,
      deliveryId: context.id,
      params: {},
    });
    if (!run) context.log.info({ commit: payload.after }, "push already recorded (redelivery); not enqueued again");
  };
}
