// The scan runbook (every 6 hours per repository): anomalies, trends and forecasts over the health
// log; each finding stored, posted as its own issue (updated, not duplicated), and summed up in Slack.
import { recordFindings } from "../analytics/finding-store.js";
import { setFindingIssue } from "../analytics/finding-store.js";
import { scanRepository } from "../analytics/anomalies.js";
import { closeAnomalyIssue, upsertAnomalyIssue } from "../report/anomaly-issues.js";
import type { GitHubClient } from "../github/api/client.js";
import { notifySlack } from "../report/slack.js";
import { redact } from "../redact.js";
import { finishRun, type Run } from "../store/runs.js";
import type { Attempt, RunbookDeps } from "./deps.js";
import { beginRun, RunContext } from "./run-context.js";
import { gatherInsights, hasActivity } from "../analytics/insights.js";
import { renderInsights } from "../analytics/insights-report.js";
import { postWeeklyInsights } from "../report/weekly-issue.js";
import { lastHealAction, recordHealAction } from "../store/health.js";
import { deferredBecause } from "../github/api/rate-budget.js";
import { targetDatabaseDestination } from "../breakers.js";

const WEEK_MS = 7 * 24 * 3_600_000;

export async function runScan(deps: RunbookDeps, runId: number, _attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "scan");
  if (!begun) return;
  const { run, github } = begun;
  // A scheduled scan can wait for the next slot: migrations and incidents need GitHub's budget more.
  const low = run.trigger === "schedule" ? await deps.rateBudgets.low(run.installationId) : undefined;
  if (low) {
    await finishRun(deps.db, run.id, { status: "skipped", title: deferredBecause(low) });
    return;
  }
  // The scan judges the hours up to its slot: a slot on the hour (the default schedule's) reads its
  // hourly buckets from the rollups (analytics/queries.ts).
  const scan = new Scan(deps, run, github, new Date(run.params.slot));
  try {
    const title = await scan.execute();
    await finishRun(deps.db, run.id, { status: "success", title });
    await scan.answerCommand(true, `**scan**: ${title}`);
  } catch (error) {
    const message = redact((error as Error)?.message ?? String(error));
    await finishRun(deps.db, run.id, { status: "failure", title: "scan failed", error: message });
  }
}

export async function concludeInterrupted(deps: RunbookDeps, run: Run): Promise<void> {
  await finishRun(deps.db, run.id, { status: "failure", title: "interrupted: the worker stopped", error: "interrupted" });
}

class Scan extends RunContext {
  constructor(
    deps: RunbookDeps,
    run: Run,
    github: GitHubClient,
    private readonly now: Date,
  ) {
    super(deps, run, github);
  }

  async execute(): Promise<string> {
    const report = await this.step("scan", () => scanRepository(this.deps.db, this.run.repo.toLowerCase(), { now: this.now }));
    const recorded = await recordFindings(this.deps.db, report);
    for (const finding of [...recorded.opened, ...recorded.updated]) {
      const number = await upsertAnomalyIssue(this.github, this.repo, finding);
      if (number !== finding.issueNumber) await setFindingIssue(this.deps.db, finding.id, number);
    }
    for (const finding of recorded.resolved) await closeAnomalyIssue(this.github, this.repo, finding);
    const summary = `${report.findings.length} finding(s) (${recorded.opened.length} new, ${recorded.resolved.length} resolved), ${report.trends.length} trend(s)`;
    if (recorded.opened.length || recorded.resolved.length)
      await this.tellSlack(
        summary,
        [...recorded.opened, ...recorded.updated].map((f) => `• ${f.summary}`),
      );
    await this.weeklyInsights().catch((error) =>
      this.deps.log.warn({ repo: this.run.repo, err: error }, "weekly insights not posted; trying at the next scan"),
    );
    return summary;
  }

  /** At most once a week: the insights of the last 7 days as a comment on the "Autopilot weekly" issue. */
  private async weeklyInsights(): Promise<void> {
    const last = await lastHealAction(this.deps.db, this.run.repo, "weekly insights");
    if (last && Date.now() - new Date(last).getTime() < WEEK_MS) return;
    const [target] = await this.boundTargets();
    const insights = await gatherInsights(this.deps.db, {
      repo: this.run.repo.toLowerCase(),
      databaseUrl: target?.databaseUrl,
      databaseBreaker: target && targetDatabaseDestination(this.run.repo, target.environment),
      env: this.deps.env,
    });
    // A repository without health checks may have had a quiet week: nothing to report, no empty issue.
    if (!hasActivity(insights)) return;
    const number = await postWeeklyInsights(this.github, this.repo, renderInsights(insights));
    await recordHealAction(this.deps.db, this.run.repo, "*", "weekly insights", true, `posted on #${number}`);
  }

  private async tellSlack(summary: string, lines: string[]): Promise<void> {
    await notifySlack(await this.slackUrl(), "warning", `${this.run.repo}: anomaly scan — ${summary}`, lines.join("\n") || "no open findings");
  }
}
