// pull_request_review.submitted: an approving review of a pull request that is already merged may
// be the approval its waiting migration needs. Recorded and queued; the command runbook puts the
// waiting run back in line, and the migrate runbook counts the reviews again.
import type { Context } from "probot";
import type pg from "pg";
import { deliveryKey, recordAndEnqueue, type Queue } from "../../jobs/queue.js";

export function handlePullRequestReview(db: pg.Pool, queue: Queue) {
  return async (context: Context<"pull_request_review.submitted">): Promise<void> => {
    const { review, pull_request: pull, repository, installation, sender } = context.payload;
    // Before the merge there is no migration waiting: the run that waits reads the reviews itself.
    if (!installation || review.state.toLowerCase() !== "approved" || !pull.merged_at || !pull.merge_commit_sha) return;
    await recordAndEnqueue(db, queue, {
      kind: "command",
      trigger: "review",
      repo: repository.full_name,
      installationId: installation.id,
      ref: null,
      commitSha: pull.merge_commit_sha,
      requestedBy: sender.login,
      deliveryId: context.id,
      params: { review: { pull: pull.number, reviewId: review.id } },
      dedupKeys: [deliveryKey(context.id)],
    });
  };
}
