// check_run.rerequested ("Re-run" in GitHub's UI) on one of Autopilot's runs: do that work again.
import type { Context } from "probot";
import type pg from "pg";
import { recordAndEnqueue, type Queue } from "../../jobs/queue.js";
import { MIGRATE_CHECK_NAME, PLAN_CHECK_NAME } from "../../report/check-names.js";
import { planParamsOfPull } from "../../store/run-requests.js";

export function handleCheckRunRerequested(db: pg.Pool, queue: Queue, appId: number) {
  return async (context: Context<"check_run.rerequested">): Promise<void> => {
    const { check_run: checkRun, repository, installation, sender } = context.payload;
    if (checkRun.app?.id !== appId || !installation) return;
    const base = {
      trigger: "rerun" as const,
      repo: repository.full_name,
      installationId: installation.id,
      commitSha: checkRun.head_sha,
      requestedBy: sender.login,
      deliveryId: context.id,
    };
    const branch = checkRun.check_suite.head_branch;
    if (checkRun.name === MIGRATE_CHECK_NAME && branch) {
      await recordAndEnqueue(db, queue, { ...base, kind: "migrate", ref: `refs/heads/${branch}`, params: {} });
    }
    const pull = checkRun.pull_requests[0];
    if (checkRun.name === PLAN_CHECK_NAME && pull) {
      await recordAndEnqueue(db, queue, { ...base, kind: "plan", ref: pull.head.ref, params: planParamsOfPull(pull) });
    }
  };
}
