// Incident issues on GitHub. One per failing check, found again by its hidden marker (never by its
// title), labelled `autopilot` plus the configured labels; updates are comments.
import { redact } from "../redact.js";
import { appIdentity, writtenByApp } from "./app-identity.js";
import type { IncidentIssue } from "../health/incident-policy.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "./octokit.js";

export const INCIDENT_LABEL = "autopilot";

export function incidentMarker(repo: string, check: string): string {
  return `<!-- autopilot:incident ${repo.toLowerCase()} ${check} -->`;
}

const MARKER = /<!-- autopilot:incident (\S+) (\S+) -->/;

/** Autopilot's incident issues of the repository, open and closed, newest first; only issues the app filed count. */
export async function listIncidents(github: GitHubClient, repo: RepoRef): Promise<IncidentIssue[]> {
  const issues = await github.paginate(github.rest.issues.listForRepo, {
    ...repo,
    labels: INCIDENT_LABEL,
    state: "all",
    per_page: 100,
    sort: "updated",
    direction: "desc",
  });
  const own = `${repo.owner}/${repo.repo}`.toLowerCase();
  const app = await appIdentity(github);
  return issues.flatMap((issue) => {
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
