// Alert rules, evaluated after each heal cycle: Slack hears every alert that fires or resolves, and
// a critical one opens (and later closes) an incident issue through the same incident code as the
// health checks. Maintenance windows silence the notifications; evaluation goes on.
import { effectiveRules, isNotifiable, runAlertCycle, type AlertTransition } from "../analytics/alerts.js";
import type { RepoConfig } from "../config/repo-config.js";
import { DEFAULT_POLICY, type IncidentIssue } from "../health/incident-policy.js";
import { closeIncident, openIncident, reopenIncident } from "../report/incidents.js";
import { notifySlack } from "../report/slack.js";
import type { RunContext } from "./run-context.js";

export const ALERT_PREFIX = "alert:";

export async function evaluateAlerts(
  ctx: RunContext,
  config: RepoConfig,
  issues: IncidentIssue[],
  opts: { silenced: (subject: string) => boolean; slackUrl?: string; now: Date },
): Promise<void> {
  const cycle = await runAlertCycle(ctx.deps.db, ctx.run.repo, effectiveRules(config.alerts ?? []), opts.now);
  for (const transition of cycle.transitions.filter(isNotifiable)) {
    if (opts.silenced(transition.subject)) continue;
    const verb = transition.to === "firing" ? "firing" : "resolved";
    await notifySlack(
      opts.slackUrl,
      transition.to === "firing" ? (transition.severity === "critical" ? "failure" : "warning") : "success",
      `${ctx.run.repo}: alert ${transition.ruleName} ${verb} (${transition.subject})`,
      describe(transition),
    );
    if (transition.severity === "critical") {
      await criticalIncident(ctx, config, issues, transition, opts.now).catch((error) =>
        ctx.deps.log.warn({ repo: ctx.run.repo, err: error }, "alert incident update failed; retried next cycle"),
      );
    }
  }
}

async function criticalIncident(ctx: RunContext, config: RepoConfig, issues: IncidentIssue[], t: AlertTransition, now: Date): Promise<void> {
  const key = `${ALERT_PREFIX}${t.ruleName}:${t.subject}`;
  const open = issues.find((i) => i.open && i.check === key);
  if (t.to === "resolved") {
    if (open) await closeIncident(ctx.github, ctx.repo, open.number, `✅ Alert resolved: ${describe(t)}`);
    return;
  }
  if (open) return;
  const recent = issues.find((i) => !i.open && i.check === key && i.closedAt && now.getTime() - i.closedAt.getTime() < DEFAULT_POLICY.reopenWindowMs);
  if (recent) return reopenIncident(ctx.github, ctx.repo, recent.number, `🔴 Firing again: ${describe(t)}`);
  const labels = config.incidents?.labels ?? ["incident", "urgent"];
  await openIncident(
    ctx.github,
    ctx.repo,
    key,
    labels,
    `🔴 Critical alert **${t.ruleName}** is firing for **${t.subject}**: ${describe(t)}`,
    `🔴 alert ${t.ruleName} is firing (${t.subject})`,
  );
}

function describe(t: AlertTransition): string {
  const rule = t.rule
    ? `${t.rule.metric} ${t.rule.condition} ${t.rule.threshold}${t.rule.for_minutes ? ` for ${t.rule.for_minutes} min` : ""}`
    : "rule removed";
  return `${rule}; value ${t.value === null ? "—" : Number(t.value.toFixed(3))}`;
}
