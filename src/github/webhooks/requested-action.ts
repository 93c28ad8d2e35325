// check_run.requested_action: the Approve and Roll back buttons on autopilot/migrate runs. Handled
// by the command runbook with the same authorization of the user who pressed it. A Roll back
// button names its migrate run (`rollback:<run id>`), so pressing it reverts that run only.
import type { Context } from "probot";
import type pg from "pg";
import { deliveryKey, recordAndEnqueue, type Queue } from "../../jobs/queue.js";

/** `approve`, `rollback`, or either with `:<run id>`; GitHub caps identifiers at 20 characters.
 *  `confirm:<rollback run id>`: the Confirm restore button of a rollback waiting for confirmation. */
const BUTTON = /^(approve|rollback|confirm)(?::(\d{1,11}))?$/;

export function handleRequestedAction(db: pg.Pool, queue: Queue, appId: number) {
  return async (context: Context<"check_run.requested_action">): Promise<void> => {
    const { check_run: checkRun, requested_action: action, repository, installation, sender } = context.payload;
    const button = BUTTON.exec(action?.identifier ?? "");
    if (checkRun.app?.id !== appId || !installation || !button) return;
    await recordAndEnqueue(db, queue, {
      kind: "command",
      trigger: "button",
      repo: repository.full_name,
      installationId: installation.id,
      ref: null,
      commitSha: checkRun.head_sha,
      requestedBy: sender.login,
      deliveryId: context.id,
      params: { button: button[1] as "approve" | "rollback" | "confirm", checkRunId: checkRun.id, ...(button[2] ? { runId: Number(button[2]) } : {}) },
      dedupKeys: [deliveryKey(context.id)],
    });
  };
}
