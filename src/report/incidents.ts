// Incident issues on GitHub. One per failing check, found again by its hidden marker (listIncidents
// in github/api/issues.ts), labelled `autopilot` plus the configured labels; updates are comments.
import { redact } from "../redact.js";
import { INCIDENT_LABEL, incidentMarker } from "../github/api/issues.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";

/** The labels an incident carries besides `autopilot`: the repo config's `incidents.labels`, or these. */
export const DEFAULT_INCIDENT_LABELS = ["incident", "urgent"];

export function incidentLabels(config: { incidents?: { labels?: string[] } } | undefined): string[] {
  return config?.incidents?.labels ?? DEFAULT_INCIDENT_LABELS;
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
