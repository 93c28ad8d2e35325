// Anomaly findings on GitHub: one issue labelled `anomaly` per finding, found by its fingerprint
// marker and edited in place when a later scan sees it again; closed when it is gone.
import type { StoredFinding } from "../analytics/finding-store.js";
import { redact } from "../redact.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";
import { findOpenAppIssue } from "../github/api/issues.js";

export const ANOMALY_LABEL = "anomaly";

const marker = (fingerprint: string) => `<!-- autopilot:anomaly ${fingerprint} -->`;

function body(f: StoredFinding): string {
  return truncate(
    redact(
      [
        `**${f.summary}**`,
        `| | |\n|---|---|\n| Check | ${f.check} |\n| Kind | ${f.kind} |\n| Severity | ${f.severity} |\n| Onset | ${f.onsetAt ? new Date(f.onsetAt).toISOString() : "—"} |\n| First seen | ${new Date(f.firstSeenAt).toISOString()} |\n| Seen in scans | ${f.seenCount} |`,
        "Autopilot updates this issue while the finding persists and closes it when a scan no longer sees it.",
        marker(f.fingerprint),
      ].join("\n\n"),
    ),
    COMMENT_LIMIT,
  );
}

/**
 * Creates the finding's issue, or edits the one it already has; returns the issue number. Without a
 * stored number the app's open issue with the finding's marker is looked for first: a scan that
 * filed the issue and was cut short before it stored the number must not file a twin on its retry.
 */
export async function upsertAnomalyIssue(github: GitHubClient, repo: RepoRef, f: StoredFinding): Promise<number> {
  const title = `📈 ${f.kind.replace(/_/g, " ")}: ${f.check}`.slice(0, 200);
  const existing = f.issueNumber ?? (await findOpenAppIssue(github, repo, ANOMALY_LABEL, marker(f.fingerprint)));
  if (existing) {
    await github.rest.issues.update({ ...repo, issue_number: existing, title, body: body(f), state: "open" });
    return existing;
  }
  const { data } = await github.rest.issues.create({ ...repo, title, body: body(f), labels: [ANOMALY_LABEL] });
  return data.number;
}

export async function closeAnomalyIssue(github: GitHubClient, repo: RepoRef, f: StoredFinding): Promise<void> {
  if (!f.issueNumber) return;
  await github.rest.issues.createComment({ ...repo, issue_number: f.issueNumber, body: "✅ The latest scan no longer sees this; closing." });
  await github.rest.issues.update({ ...repo, issue_number: f.issueNumber, state: "closed" });
}
