// Incident issues on GitHub. One per failing check, found again by its hidden marker (never by its
// title), labelled `autopilot` plus the configured labels; updates are comments.
import { redact } from "../redact.js";
import { appIdentity, writtenByApp } from "../github/api/app-identity.js";
import { DEFAULT_POLICY, type IncidentIssue } from "../health/incident-policy.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";

export const INCIDENT_LABEL = "autopilot";

export function incidentMarker(repo: string, check: string): string {
  return `<!-- autopilot:incident ${repo.toLowerCase()} ${check} -->`;
}

const MARKER = /<!-- autopilot:incident (\S+) (\S+) -->/;

/**
 * Autopilot's incident issues that can still matter (only issues the app filed count): every open one, and those closed within
 * `closedWithinMs` (a relapse then reopens the issue instead of filing a twin). Two narrow listings
 * instead of paging through every incident ever filed: their cost stays flat as the history grows.
 */
export async function listIncidents(
  github: GitHubClient,
  repo: RepoRef,
  closedWithinMs = DEFAULT_POLICY.reopenWindowMs,
  now = new Date(),
): Promise<IncidentIssue[]> {
  const query = { ...repo, labels: INCIDENT_LABEL, per_page: 100, sort: "updated", direction: "desc" } as const;
  const open = await github.paginate(github.rest.issues.listForRepo, { ...query, state: "open" });
  // `since` filters on the last update, which closing is: an issue closed in the window was updated in it.
  const since = new Date(now.getTime() - closedWithinMs).toISOString();
  const closed = await github.paginate(github.rest.issues.listForRepo, { ...query, state: "closed", since });
  const own = `${repo.owner}/${repo.repo}`.toLowerCase();
  const app = await appIdentity(github);
  return [...open, ...closed].flatMap((issue) => {
    const match = MARKER.exec(issue.body ?? "");
    if (!match || match[1] !== own || issue.pull_request || !writtenByApp(issue, app)) return [];
    return [{ number: issue.number, check: match[2], open: issue.state === "open", closedAt: issue.closed_at ? new Date(issue.closed_at) : null }];
  });
}

const fit = (text: string) => truncate(redact(text), COMMENT_LIMIT);

export async function openIncident(
  github: GitHubClient,
  repo: RepoRef,
  check: string,
  labels: string[],
  body: string,
  title = `🔴 ${check} is down`,
): Promise<number> {
  const { data } = await github.rest.issues.create({
    ...repo,
    title,
    body: fit(`${body}\n\n${incidentMarker(`${repo.owner}/${repo.repo}`, check)}`),
    labels: [...new Set([INCIDENT_LABEL, ...labels])],
  });
  return data.number;
}

export async function reopenIncident(github: GitHubClient, repo: RepoRef, number: number, comment: string): Promise<void> {
  await github.rest.issues.update({ ...repo, issue_number: number, state: "open" });
  await github.rest.issues.createComment({ ...repo, issue_number: number, body: fit(comment) });
}

export async function commentIncident(github: GitHubClient, repo: RepoRef, number: number, comment: string): Promise<void> {
  await github.rest.issues.createComment({ ...repo, issue_number: number, body: fit(comment) });
}

export async function closeIncident(github: GitHubClient, repo: RepoRef, number: number, comment: string): Promise<void> {
  await github.rest.issues.createComment({ ...repo, issue_number: number, body: fit(comment) });
  await github.rest.issues.update({ ...repo, issue_number: number, state: "closed", state_reason: "completed" });
}
