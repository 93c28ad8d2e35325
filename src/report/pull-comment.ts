// The result comment on the merged pull request that brought a commit in. One comment per
// (commit, environment): a retried job edits it instead of posting a twin.
import { redact } from "../redact.js";
import { findAppComment } from "../github/api/issues.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";

/** Creates or updates the app's own comment carrying `marker` on issue/PR `number` (a marker pasted by someone else is ignored). */
export async function upsertMarkedComment(github: GitHubClient, repo: RepoRef, number: number, marker: string, body: string): Promise<void> {
  const text = truncate(redact(`${body}\n\n${marker}`), COMMENT_LIMIT);
  const existing = await findAppComment(github, repo, number, marker);
  if (existing) await github.rest.issues.updateComment({ ...repo, comment_id: existing, body: text });
  else await github.rest.issues.createComment({ ...repo, issue_number: number, body: text });
}
