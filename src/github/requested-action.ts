// check_run.requested_action: the Approve and Roll back buttons on autopilot/migrate runs. Handled
// by the command runbook exactly as `/autopilot approve` and `/autopilot rollback last` would be,
// with the same authorization of the user who pressed it.
import type { Context } from "probot";
import type pg from "pg";
import { recordAndEnqueue, type Queue } from "../jobs/queue.js";

const BUTTONS = new Set(["approve", "rollback"]);

export function handleRequestedAction(db: pg.Pool, queue: Queue, appId: number) {
  return async (context: Context<"check_run.requested_action">): Promise<void> => {
    const { check_run: checkRun, requested_action: action, repository, installation, sender } = context.payload;
    if (checkRun.app?.id !== appId || !installation || !action || !BUTTONS.has(action.identifier ?? "")) return;
    await recordAndEnqueue(db, queue, {
      kind: "command",
      trigger: "button",
      repo: repository.full_name,
      installationId: installation.id,
      ref: null,
      commitSha: checkRun.head_sha,
      requestedBy: sender.login,
      deliveryId: context.id,
      params: { button: action.identifier, checkRunId: checkRun.id },
    });
  };
}
