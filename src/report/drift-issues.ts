// The `drift` issue of an environment: one per environment, found again by its hidden marker, its
// body edited to the latest check (with a comment when the differences change), closed with a
// comment once a check finds no drift. Credentials are redacted from everything written.
import { createHash } from "node:crypto";
import { describeDifference } from "../database/drift/describe.js";
import { openAppIssue } from "../github/api/issues.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";
import { redact } from "../redact.js";
import type { DriftFinding } from "../runbooks/drift-outcome.js";
import { driftHeadline, driftMarkdown } from "./drift-markdown.js";
import { closeIncident, commentIncident } from "./incidents.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import { when } from "./status-report.js";

export const DRIFT_LABEL = "drift";

export type Compared = Extract<DriftFinding, { kind: "compared" }>;

/** What the check did to the environment's issue. */
export type DriftIssueChange = "opened" | "updated" | "changed" | "closed" | "none";

const marker = (repo: RepoRef, environment: string) => `<!-- autopilot:drift ${`${repo.owner}/${repo.repo}`.toLowerCase()} ${environment} -->`;
const stateMarker = (finding: Compared) => `<!-- autopilot:drift-state ${fingerprint(finding)} -->`;

export const driftIssueTitle = (environment: string) => `Schema drift in ${environment}`;

/**
 * Opens, edits or closes the environment's `drift` issue to match `finding`; returns the number of
 * the issue left open (none when there is no drift) and what was done.
 */
export async function reconcileDriftIssue(
  github: GitHubClient,
  repo: RepoRef,
  finding: Compared,
  checkedAt: Date,
): Promise<{ number?: number; change: DriftIssueChange }> {
  const open = await openAppIssue(github, repo, DRIFT_LABEL, marker(repo, finding.environment));
  if (finding.differences.length === 0) {
    if (!open) return { change: "none" };
    await closeIncident(github, repo, open.number, `✅ ${driftHeadline(finding)} (checked ${when(checkedAt)}); closing.`);
    return { change: "closed" };
  }
  const title = driftIssueTitle(finding.environment);
  const body = issueBody(repo, finding, checkedAt);
  if (!open) {
    const { data } = await github.rest.issues.create({ ...repo, title, body, labels: [DRIFT_LABEL] });
    return { number: data.number, change: "opened" };
  }
  await github.rest.issues.update({ ...repo, issue_number: open.number, title, body });
  if (open.body.includes(stateMarker(finding))) return { number: open.number, change: "updated" };
  await commentIncident(github, repo, open.number, `🔄 The drift changed (checked ${when(checkedAt)}): ${driftHeadline(finding)}`);
  return { number: open.number, change: "changed" };
}

/** The markers first: a body cut to GitHub's limit still carries them. */
function issueBody(repo: RepoRef, finding: Compared, checkedAt: Date): string {
  const text = [
    marker(repo, finding.environment),
    stateMarker(finding),
    driftMarkdown(finding, `### ${finding.environment} differs from its migrations`),
    `_Last checked ${when(checkedAt)} by the scheduled drift check (\`drift.schedule\`). Autopilot edits this issue while the drift persists, comments when it changes, and closes it when ${finding.environment} matches its migrations again. Each SQL suggestion is for a person to review (a \`DROP\` loses data); Autopilot runs none of them._`,
  ].join("\n\n");
  return truncate(redact(text), COMMENT_LIMIT, "run `npx autopilot drift` for the whole list");
}

/** The same set of differences gives the same fingerprint, whatever the order they were found in. */
function fingerprint(finding: Compared): string {
  const lines = finding.differences.map((d) => `${describeDifference(d, finding.environment)}\n${d.suggestion}`).sort();
  return createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 16);
}
