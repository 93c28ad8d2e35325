// A restore drill's incident issue: opened (or reopened, or commented) when a drill fails, closed
// when the next one passes. Found again by its hidden marker, like the health checks' incidents,
// under the check name `restore-drill:<environment>`, which heal's reconciliation leaves alone.
import { DEFAULT_POLICY } from "../health/incident-policy.js";
import { listIncidents } from "../github/api/issues.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";
import type { DrillOutcome } from "../runbooks/drill-outcome.js";
import type { DrillTable } from "../store/restore-drills.js";
import { closeIncident, commentIncident, openIncident, reopenIncident } from "./incidents.js";

export const DRILL_INCIDENT_PREFIX = "restore-drill:";

/** The incident's check name; markers are split on whitespace, so the environment's is replaced. */
export function drillIncidentCheck(environment: string): string {
  return `${DRILL_INCIDENT_PREFIX}${environment.replace(/\s+/g, "_")}`;
}

type Drilled = Extract<DrillOutcome, { kind: "drilled" }>;

export async function reportDrill(github: GitHubClient, repo: RepoRef, outcome: Drilled, labels: string[], now = new Date()): Promise<void> {
  const check = drillIncidentCheck(outcome.environment);
  const issues = (await listIncidents(github, repo)).filter((i) => i.check === check);
  const open = issues.find((i) => i.open);
  if (outcome.drill.ok) {
    if (open) await closeIncident(github, repo, open.number, `✅ ${drillHeadline(outcome)}\n\n${tableOf(outcome.drill.tables)}`);
    return;
  }
  if (open) return commentIncident(github, repo, open.number, `🔴 Failed again: ${failureBody(outcome)}`);
  const recent = issues.find((i) => i.closedAt && now.getTime() - i.closedAt.getTime() < DEFAULT_POLICY.reopenWindowMs);
  if (recent) return reopenIncident(github, repo, recent.number, `🔴 Failed again: ${failureBody(outcome)}`);
  await openIncident(github, repo, check, labels, failureBody(outcome), `🔴 restore drill failed (${outcome.environment})`);
}

export function drillHeadline({ environment, backup, drill }: Drilled): string {
  const verdict = drill.ok ? "passed" : "failed";
  return `Restore drill of **${environment}** ${verdict}: backup \`${backup.id}\` taken ${backup.createdAt.toISOString()} (${backup.store ?? "local"} store).`;
}

function failureBody(outcome: Drilled): string {
  return [
    drillHeadline(outcome),
    "",
    `**Why:** ${outcome.drill.details}`,
    "",
    tableOf(outcome.drill.tables),
    `Nothing on ${outcome.environment} was touched: a drill restores into a scratch database on the shadow server, dropped afterwards.`,
    `Until a drill passes, this backup may not bring ${outcome.environment} back. Run one by hand with \`npx autopilot backups verify --id ${outcome.backup.id}\`;`,
    "this issue closes when a scheduled drill passes.",
  ].join("\n");
}

function tableOf(tables: DrillTable[]): string {
  if (!tables.length) return "";
  const cell = (n: number | null, none: string) => (n === null ? none : n.toLocaleString("en-US"));
  const rows = tables.map((t) => `| ${t.table} | ${cell(t.recorded, "—")} | ${cell(t.restored, "missing")} |`);
  return `| Table | Rows recorded | Rows restored |\n|---|---|---|\n${rows.join("\n")}\n`;
}
