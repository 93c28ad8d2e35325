// check_run.rerequested on an autopilot/migrate run ("Re-run" in GitHub's UI): migrate that commit again.
import type { Context } from "probot";
import type pg from "pg";
import type { Queue } from "../jobs/queue.js";
import { MIGRATE_CHECK_NAME } from "../report/migrate-report.js";
import { createRun, setRunJob } from "../store/runs.js";

export function handleCheckRunRerequested(db: pg.Pool, queue: Queue, appId: number) {
  return async (context: Context<"check_run.rerequested">): Promise<void> => {
    const { check_run: checkRun, repository, installation, sender } = context.payload;
    if (checkRun.name !== MIGRATE_CHECK_NAME || checkRun.app?.id !== appId || !installation) return;
    const branch = checkRun.check_suite.head_branch;
    if (!branch) return;
    const run = await createRun(db, {
      kind: "migrate",
      trigger: "rerun",
      repo: repository.full_name,
      installationId: installation.id,
      ref: `refs/heads/${branch}`,
      commitSha: checkRun.head_sha,
      requestedBy: sender.login,
      deliveryId: context.id,
    });
    if (!run) return;
    await setRunJob(db, run.id, await queue.enqueueMigrate({ runId: run.id }, repository.full_name));
  };
}
