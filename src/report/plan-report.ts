// Renders a plan for the Check Run on the pull request's head and for its sticky comment.
import { formatProblem } from "../config/yaml-errors.js";
import { severityCounts, statusOf, type PlanFinding, type PlanOutcome, type PlanReport } from "../runbooks/plan-outcome.js";
import type { Annotation, CheckRunOutcome } from "./check-run.js";
import { hasDrift } from "../runbooks/drift-outcome.js";
import { driftMarkdown } from "./drift-markdown.js";

export const PLAN_COMMENT_MARKER = "<!-- autopilot:plan -->";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function renderPlan(outcome: PlanOutcome): CheckRunOutcome {
  return { conclusion: statusOf(outcome), ...describeOutcome(outcome) };
}

function describeOutcome(outcome: PlanOutcome): Omit<CheckRunOutcome, "conclusion"> {
  switch (outcome.kind) {
    case "config-invalid":
      return {
        title: `Invalid .github/autopilot.yml (${plural(outcome.problems.length, "problem")})`,
        summary: outcome.problems.map((p) => `- \`${formatProblem(p)}\``).join("\n"),
        annotations: outcome.problems.map((p) => ({ path: p.file, line: p.line ?? 1, level: "failure", message: `${p.key ? `${p.key}: ` : ""}${p.message}` })),
      };
    case "crashed":
      return { title: `Plan failed after ${plural(outcome.attempts, "attempt")}`, summary: "```\n" + outcome.error + "\n```" };
    case "planned":
      return { title: titleOf(outcome.report), summary: planMarkdown(outcome.report), annotations: annotationsOf(outcome.report) };
  }
}

function titleOf(report: PlanReport): string {
  if (report.notLinted) return `Refused: ${report.notLinted}`.slice(0, 200);
  const where = report.environment ? ` for ${report.environment}` : "";
  const counts = severityCounts(report);
  const parts = [`${plural(report.pending.length, "migration")} to apply${where}`];
  if (counts.errors) parts.push(plural(counts.errors, "error"));
  if (counts.warnings) parts.push(plural(counts.warnings, "warning"));
  if (counts.notices) parts.push(plural(counts.notices, "notice"));
  if (report.rehearsal) parts.push(report.rehearsal.ok ? "rehearsal passed" : "rehearsal failed");
  if (hasDrift(report.drift)) parts.push(`${report.environment} has drifted`);
  return parts.join(" · ");
}

/** The whole plan as Markdown: the Check Run summary and the pull-request comment share it. */
export function planMarkdown(report: PlanReport): string {
  return [
    planSection(report),
    integritySection(report),
    lintSection(report),
    downFilesSection(report),
    rehearsalSection(report),
    report.drift ? driftMarkdown(report.drift) : "",
  ]
    .filter(Boolean)
    .join("\n\n");
}

function planSection(report: PlanReport): string {
  const head = `### Plan${report.environment ? ` for **${report.environment}**` : ""}`;
  const note = `${report.layout ? `\n\nLayout: ${report.layout}` : ""}${report.targetNote ? `\n\n> ${report.targetNote}` : ""}`;
  const applied = report.appliedCount !== undefined ? `\n\n${plural(report.appliedCount, "migration")} already applied.` : "";
  if (report.pending.length === 0) return `${head}${note}${applied}\n\nNothing to apply.`;
  const rows = report.pending.map((f, i) => `| ${i + 1} | ${f.version} | ${f.name} | \`${f.path}\` |`);
  return `${head}${note}${applied}\n\n| # | Version | Name | File |\n|---|---|---|---|\n${rows.join("\n")}`;
}

function integritySection(report: PlanReport): string {
  if (report.problems.length === 0) return "### Integrity\n\n✅ No applied migration is edited or deleted; versions are unique and in order.";
  const lines = report.problems.map((p) => `- ${p.severity === "error" ? "❌" : "⚠️"} \`${p.path}${p.line ? `:${p.line}` : ""}\` ${p.message}`);
  return `### Integrity\n\n${lines.join("\n")}`;
}

function lintSection(report: PlanReport): string {
  if (report.notLinted) return `### Lint\n\n❌ Nothing was downloaded, linted or rehearsed: ${report.notLinted}.`;
  return `### Lint\n\n${findingsTable(report.findings)}`;
}

/** Rollbacks take locks too; shown apart so a reader of the plan sees what applying would do first. */
function downFilesSection(report: PlanReport): string {
  if (!report.downFindings) return "";
  return `### Down files\n\nWhat rolling back would do (\`.down.sql\` files of the migrations above):\n\n${findingsTable(report.downFindings)}`;
}

const SEVERITY_MARK = { error: "❌", warning: "⚠️", notice: "ℹ️" } as const;

function findingsTable(findings: PlanFinding[]): string {
  if (findings.length === 0) return "✅ No findings.";
  const rows = findings.map((f) => {
    const mark = f.ignored ? "🙈" : SEVERITY_MARK[f.severity];
    const what = [f.message, f.cost && `— ${f.cost}`, f.downgraded && `(${f.downgraded})`].filter(Boolean).join(" ");
    const instead = f.ignored ? `ignored: ${f.ignored.reason}` : f.instead;
    return `| ${mark} | \`${f.rule}\` | \`${f.path}:${f.line}\` | ${escapeCell(what)} | ${escapeCell(instead)} |`;
  });
  return `| | Rule | Where | Finding | Safer way |\n|---|---|---|---|---|\n${rows.join("\n")}`;
}

function rehearsalSection(report: PlanReport): string {
  if (!report.rehearsal) return report.rehearsalNote ? `### Rehearsal\n\n${report.rehearsalNote}` : "";
  const r = report.rehearsal;
  if (r.setupError) return `### Rehearsal\n\n❌ The rehearsal did not run to the end: ${r.setupError}`;
  const from = { target: "the target's schema", migrations: "the migrations already in the repository", empty: "an empty database" }[r.schemaFrom];
  const rows = r.files.map((f) => {
    const result =
      f.status === "applied" ? "✅ applied" : f.status === "failed" ? `❌ \`${f.path}:${f.error?.line}\` ${escapeCell(f.error?.message ?? "")}` : "not run";
    return `| \`${f.path}\` | ${result} | ${f.durationMs !== undefined ? `${Math.round(f.durationMs)} ms` : ""} |`;
  });
  const sandbox = r.fork
    ? ` As this pull request comes from a fork, its files ran as a throw-away unprivileged role, each statement limited to ${r.fork.statementTimeout} and the whole rehearsal to ${r.fork.rehearsalTimeoutSeconds} s, and errors show only their SQLSTATE and line.`
    : "";
  return `### Rehearsal\n\nOn a scratch database built from ${from} (dropped afterwards):${sandbox}\n\n| File | Result | Duration |\n|---|---|---|\n${rows.join("\n")}`;
}

function annotationsOf(report: PlanReport): Annotation[] {
  const problems: Annotation[] = report.problems.map((p) => ({
    path: p.path,
    line: p.line ?? 1,
    level: p.severity === "error" ? "failure" : "warning",
    title: p.code,
    message: p.message,
  }));
  const findings: Annotation[] = [...report.findings, ...(report.downFindings ?? [])]
    .filter((f) => !f.ignored)
    .map((f) => ({
      path: f.path,
      line: f.line,
      level: ANNOTATION_LEVEL[f.severity],
      title: f.rule,
      message: `${f.message}${f.cost ? ` — ${f.cost}` : ""}${f.downgraded ? ` (${f.downgraded})` : ""}\nWhy: ${f.why}\nInstead: ${f.instead}`,
    }));
  const rehearsal: Annotation[] = (report.rehearsal?.files ?? [])
    .filter((f) => f.status === "failed" && f.error)
    .map((f) => ({
      path: f.path,
      line: f.error!.line,
      level: "failure",
      title: "rehearsal failed",
      message: `${f.error!.message}${f.error!.code && !f.error!.message.includes(f.error!.code) ? ` (SQLSTATE ${f.error!.code})` : ""}`,
    }));
  return [...problems, ...findings, ...rehearsal];
}

const ANNOTATION_LEVEL = { error: "failure", warning: "warning", notice: "notice" } as const;

const escapeCell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
