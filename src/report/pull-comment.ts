// The result comment on the merged pull request that brought a commit in. One comment per
// (commit, environment): a retried job edits it instead of posting a twin.
import { redact } from "../redact.js";
import { appIdentity, writtenByApp } from "../github/api/app-identity.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";

/** Creates or updates the app's own comment carrying `marker` on issue/PR `number` (a marker pasted by someone else is ignored). */
export async function upsertMarkedComment(github: GitHubClient, repo: RepoRef, number: number, marker: string, body: string): Promise<void> {
  const text = truncate(redact(`${body}\n\n${marker}`), COMMENT_LIMIT);
  const comments = await github.paginate(github.rest.issues.listComments, { ...repo, issue_number: number, per_page: 100 });
  const app = await appIdentity(github);
  const existing = comments.find((c) => c.body?.includes(marker) && writtenByApp(c, app));
  if (existing) await github.rest.issues.updateComment({ ...repo, comment_id: existing.id, body: text });
  else await github.rest.issues.createComment({ ...repo, issue_number: number, body: text });
}
