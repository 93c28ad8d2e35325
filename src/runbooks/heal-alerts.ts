// Alert rules, evaluated after each heal cycle: Slack hears every alert that fires or resolves, and
// a critical one reaches GitHub through the incident issues. One outage is one issue: a critical
// alert about a check whose incident is open is a comment on that incident; only an alert without
// one (no open incident for its check, or a repository-wide rule) files an issue of its own.
// Maintenance windows silence the notifications; evaluation goes on.
import {
  effectiveRules,
  isNotifiable,
  loadAlertStates,
  restoreAlertState,
  runAlertCycle,
  type AlertTransition,
  type StoredAlertState,
} from "../analytics/alerts.js";
import { scheduledBackups } from "../backups/schedules.js";
import type { RepoConfig } from "../config/repo-config.js";
import { DEFAULT_POLICY, type IncidentIssue } from "../health/incident-policy.js";
import type { AlertOnIncident } from "../report/incident-report.js";
import { closeIncident, commentIncident, incidentLabels, openIncident, reopenIncident } from "../report/incidents.js";
import { notifySlack } from "../report/slack.js";
import type { RunContext } from "./run-context.js";

export const ALERT_PREFIX = "alert:";

/**
 * Steps every alert of the repository (store only) and returns the transitions to notify. It runs
 * before the check incidents are updated, so an incident that resolves can say where its alerts stand.
 */
export async function stepAlerts(ctx: RunContext, config: RepoConfig, now: Date): Promise<AlertTransition[]> {
  const scope = { backupEnvironments: scheduledBackups(ctx.deps.serverConfig, ctx.run.repo).map((b) => b.environment) };
  const cycle = await runAlertCycle(ctx.deps.db, ctx.run.repo, effectiveRules(config.alerts ?? [], scope), now, scope);
  return cycle.transitions;
}

/** The alerts about one check worth noting on its incident: firing now, or fired since it went down. */
export async function alertsOnCheck(ctx: RunContext, check: string, downSince: Date | null): Promise<AlertOnIncident[]> {
  const states = [...(await loadAlertStates(ctx.deps.db, ctx.run.repo)).values()];
  return states.filter((s) => s.subject === check && (s.state.state === "firing" || firedDuring(s, downSince))).map(toAlertOnIncident);
}

function firedDuring(s: StoredAlertState, downSince: Date | null): boolean {
  return s.state.state === "resolved" && downSince !== null && s.state.firedAt !== null && new Date(s.state.firedAt) >= new Date(downSince);
}

function toAlertOnIncident(s: StoredAlertState): AlertOnIncident {
  return { rule: s.rule, severity: s.severity, firing: s.state.state === "firing", value: s.state.value };
}

/**
 * Tells Slack and GitHub about the transitions. `issues` are the incident issues as this cycle left
 * them (an incident opened this cycle included), so an alert that fires with its check's outage
 * lands on that outage's issue.
 */
export async function notifyAlerts(
  ctx: RunContext,
  config: RepoConfig,
  transitions: AlertTransition[],
  issues: IncidentIssue[],
  opts: { silenced: (subject: string) => boolean; slackUrl?: string; now: Date },
): Promise<void> {
  issues = await foldIntoOutages(ctx, issues).catch((error) => {
    ctx.deps.log.warn({ repo: ctx.run.repo, err: error }, "could not move alert issues onto their incidents; retried next cycle");
    return issues;
  });
  for (const transition of transitions.filter(isNotifiable)) {
    if (opts.silenced(transition.subject)) continue;
    const verb = transition.to === "firing" ? "firing" : "resolved";
    await notifySlack(
      opts.slackUrl,
      transition.to === "firing" ? (transition.severity === "critical" ? "failure" : "warning") : "success",
      `${ctx.run.repo}: alert ${transition.ruleName} ${verb} (${transition.subject})`,
      describe(transition),
    );
    if (transition.severity === "critical") {
      // The transition is already saved: undone, the next cycle makes it (and tells GitHub) again.
      await criticalIncident(ctx, config, issues, transition, opts.now).catch(async (error) => {
        ctx.deps.log.warn({ repo: ctx.run.repo, err: error }, "alert incident update failed; retried next cycle");
        await restoreAlertState(ctx.deps.db, transition).catch((err) =>
          ctx.deps.log.warn({ repo: ctx.run.repo, err }, "could not undo the alert's transition"),
        );
      });
    }
  }
}

/**
 * An alert that filed an issue of its own before its check's incident opened (GitHub refused the
 * incident that cycle, say) moves onto the incident: one outage, one open issue.
 */
async function foldIntoOutages(ctx: RunContext, issues: IncidentIssue[]): Promise<IncidentIssue[]> {
  let current = issues;
  for (const alertIssue of issues.filter((i) => i.open && i.check.startsWith(ALERT_PREFIX))) {
    // Check names cannot hold ':', so the subject is what follows the key's last one.
    const subject = alertIssue.check.slice(alertIssue.check.lastIndexOf(":") + 1);
    const outage = subject ? issues.find((i) => i.open && i.check === subject) : undefined;
    if (!outage) continue;
    await commentIncident(ctx.github, ctx.repo, outage.number, `🔔 The critical alert of #${alertIssue.number} is about this outage; it continues here.`);
    await closeIncident(ctx.github, ctx.repo, alertIssue.number, `Continued in #${outage.number}, the incident of **${subject}**.`);
    current = current.map((i) => (i.number === alertIssue.number ? { ...i, open: false, closedAt: new Date() } : i));
  }
  return current;
}

async function criticalIncident(ctx: RunContext, config: RepoConfig, issues: IncidentIssue[], t: AlertTransition, now: Date): Promise<void> {
  const key = `${ALERT_PREFIX}${t.ruleName}:${t.subject}`;
  const own = issues.find((i) => i.open && i.check === key);
  const outage = t.subject ? issues.find((i) => i.open && i.check === t.subject) : undefined;
  if (t.to === "resolved") {
    if (own) await closeIncident(ctx.github, ctx.repo, own.number, `✅ Alert resolved: ${describe(t)}`);
    else if (outage) await commentIncident(ctx.github, ctx.repo, outage.number, `✅ Alert **${t.ruleName}** resolved: ${describe(t)}`);
    return;
  }
  if (own) return;
  if (outage) {
    const comment = `🔔 Critical alert **${t.ruleName}** is firing for **${t.subject}**: ${describe(t)}. Noted on this incident rather than filed as an issue of its own.`;
    return commentIncident(ctx.github, ctx.repo, outage.number, comment);
  }
  const recent = issues.find((i) => !i.open && i.check === key && i.closedAt && now.getTime() - i.closedAt.getTime() < DEFAULT_POLICY.reopenWindowMs);
  if (recent) return reopenIncident(ctx.github, ctx.repo, recent.number, `🔴 Firing again: ${describe(t)}`);
  const labels = incidentLabels(config);
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
