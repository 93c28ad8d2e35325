// issue_comment.created: a comment that may hold `/autopilot …` commands. Recorded and queued; the
// command runbook parses, authorizes, reacts and answers. Edits never re-run a comment, and bots
// (Autopilot included) are never obeyed. A comment runs once: its run claims the delivery id and the
// comment id, so a redelivery (same X-GitHub-Delivery) or the same comment delivered again is dropped.
import type { Context } from "probot";
import type pg from "pg";
import { deliveryKey, recordAndEnqueue, type Queue } from "../../jobs/queue.js";

const MENTION = /^[ \t]*[/@]autopilot\b/im;

export function handleIssueComment(db: pg.Pool, queue: Queue) {
  return async (context: Context<"issue_comment.created">): Promise<void> => {
    const { comment, issue, repository, installation, sender } = context.payload;
    if (!installation || sender.type === "Bot" || comment.user?.type === "Bot" || !MENTION.test(comment.body)) return;
    await recordAndEnqueue(db, queue, {
      kind: "command",
      trigger: "comment",
      repo: repository.full_name,
      installationId: installation.id,
      ref: null,
      commitSha: null,
      requestedBy: sender.login,
      deliveryId: context.id,
      params: { commentId: comment.id, issueNumber: issue.number, isPullRequest: Boolean(issue.pull_request), body: comment.body.slice(0, 20_000) },
      dedupKeys: [deliveryKey(context.id), `comment:${repository.full_name.toLowerCase()}#${comment.id}`],
    });
  };
}
