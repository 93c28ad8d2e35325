// Issues and comments the app wrote, found again by the hidden markers in their bodies (never by a
// title). Anyone can paste a marker, so only what the app itself wrote is found.
import { DEFAULT_POLICY, type IncidentIssue } from "../../health/incident-policy.js";
import { appIdentity, writtenByApp } from "./app-identity.js";
import type { GitHubClient, RepoRef } from "./client.js";

/** The label every incident issue carries, whatever else the repository configures. */
export const INCIDENT_LABEL = "autopilot";

export function incidentMarker(repo: string, check: string): string {
  return `<!-- autopilot:incident ${repo.toLowerCase()} ${check} -->`;
}

const INCIDENT_MARKER = /<!-- autopilot:incident (\S+) (\S+) -->/;

/**
 * Autopilot's incident issues that can still matter: every open one, and those closed within
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
    const match = INCIDENT_MARKER.exec(issue.body ?? "");
    if (!match || match[1] !== own || issue.pull_request || !writtenByApp(issue, app)) return [];
    return [{ number: issue.number, check: match[2], open: issue.state === "open", closedAt: issue.closed_at ? new Date(issue.closed_at) : null }];
  });
}

/** The number of the app's open issue labelled `label` that carries `marker`. */
export async function findOpenAppIssue(github: GitHubClient, repo: RepoRef, label: string, marker: string): Promise<number | undefined> {
  return (await openAppIssue(github, repo, label, marker))?.number;
}

/** The app's open issue labelled `label` that carries `marker`: its number and its body as it stands. */
export async function openAppIssue(github: GitHubClient, repo: RepoRef, label: string, marker: string): Promise<{ number: number; body: string } | undefined> {
  const issues = await github.paginate(github.rest.issues.listForRepo, { ...repo, labels: label, state: "open", per_page: 100 });
  const app = await appIdentity(github);
  const issue = issues.find((i) => i.body?.includes(marker) && writtenByApp(i, app));
  return issue && { number: issue.number, body: issue.body ?? "" };
}

/** The id of the app's comment on issue or pull request `number` that carries `marker`. */
export async function findAppComment(github: GitHubClient, repo: RepoRef, number: number, marker: string): Promise<number | undefined> {
  const comments = await github.paginate(github.rest.issues.listComments, { ...repo, issue_number: number, per_page: 100 });
  const app = await appIdentity(github);
  return comments.find((comment) => comment.body?.includes(marker) && writtenByApp(comment, app))?.id;
}

export async function commentBody(github: GitHubClient, repo: RepoRef, commentId: number): Promise<string> {
  const { data } = await github.rest.issues.getComment({ ...repo, comment_id: commentId });
  return data.body ?? "";
}
