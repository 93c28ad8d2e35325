// The Check Run of a run `/autopilot cancel` stopped before it did anything (queued, or waiting for
// approvals or a lock). A running migration reports its own cancel, through its outcome.
import type { GitHubClient, RepoRef } from "../github/api/client.js";
import type { Run } from "../store/runs.js";
import { CheckRunReporter } from "./check-run.js";
import { MIGRATE_CHECK_NAME } from "./check-names.js";

/** Concludes the run's Check Run as cancelled: the one it has, or (a migrate run queued before its first) a new one on its commit. */
export async function concludeCancelledCheck(github: GitHubClient, repo: RepoRef, run: Run, by: string, title: string): Promise<void> {
  const summary =
    `@${by} cancelled this run with \`/autopilot cancel\` before it applied anything: nothing of it ran` +
    (run.environment ? ` on **${run.environment}**` : "") +
    ". A new push, or `/autopilot migrate`, starts again.";
  const outcome = { conclusion: "cancelled" as const, title, summary };
  if (run.checkRunId) return CheckRunReporter.existing(github, repo, run.checkRunId).complete(outcome);
  if (run.kind === "migrate") await new CheckRunReporter(github, repo, MIGRATE_CHECK_NAME, run.commitSha).complete(outcome);
}
