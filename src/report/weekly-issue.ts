// The "Autopilot weekly" issue: one per repository, found by its marker, pinned when GitHub allows,
// with a comment of insights each week.
import { redact } from "../redact.js";
import { findOpenAppIssue } from "../github/api/issues.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";

const MARKER = "<!-- autopilot:weekly -->";
export const WEEKLY_LABEL = "autopilot-weekly";

export async function postWeeklyInsights(github: GitHubClient, repo: RepoRef, markdown: string): Promise<number> {
  const number = (await findOpenAppIssue(github, repo, WEEKLY_LABEL, MARKER)) ?? (await createWeeklyIssue(github, repo));
  await github.rest.issues.createComment({ ...repo, issue_number: number, body: truncate(redact(markdown), COMMENT_LIMIT) });
  return number;
}

async function createWeeklyIssue(github: GitHubClient, repo: RepoRef): Promise<number> {
  const { data } = await github.rest.issues.create({
    ...repo,
    title: "Autopilot weekly",
    body: `Each week Autopilot comments here with the checks run, error rate, migrations and their success rate, rollbacks, incidents and downtime, trends, and query-performance recommendations. Nothing is applied automatically.\n\n${MARKER}`,
    labels: [WEEKLY_LABEL],
  });
  // Pinning exists only in GitHub's GraphQL API; a server without it (GHES, a fake) just leaves it unpinned.
  await github.graphql(`mutation($id: ID!) { pinIssue(input: { issueId: $id }) { issue { number } } }`, { id: data.node_id }).catch(() => undefined);
  return data.number;
}
