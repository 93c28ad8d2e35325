// Insights as Markdown: the figures in a table, the trends, query performance, and, when one was
// written, the narrative paragraph. Shared by the CLI and the weekly issue comment.
import type { Insights } from "./insights.js";

export function renderInsights(insights: Insights): string {
  const lines: string[] = [];
  const scope = insights.repo ? `\`${insights.repo}\`` : "all repositories";
  lines.push(`## Autopilot insights: ${scope}`, "", `${day(insights.from)} → ${day(insights.to)} (${periodText(insights)})`, "");
  if (insights.narrative) lines.push(insights.narrative, "");
  lines.push(...figures(insights), "", ...trends(insights), "", ...queryPerformance(insights), "", "_Nothing is applied automatically._");
  return lines.join("\n") + "\n";
}

function figures(i: Insights): string[] {
  const m = i.migrations;
  return [
    "| Figure | Value |",
    "| --- | --- |",
    `| Checks run | ${i.checksRun} |`,
    `| Error rate | ${percent(i.errorRate)} |`,
    `| Migrations | ${m.total} (${m.succeeded} succeeded, ${m.failed} failed) |`,
    `| Migration success rate | ${m.successRate === null ? "–" : percent(m.successRate)} |`,
    `| Rollbacks | ${i.rollbacks} |`,
    `| Incidents (outages of 2+ failed checks) | ${i.incidents.opened} |`,
    `| Downtime | ${duration(i.incidents.downtimeMs)} |`,
  ];
}

function trends(i: Insights): string[] {
  const lines = ["### Trends", ""];
  if (i.trends.length === 0) return [...lines, "Not enough history for a trend yet."];
  const arrow = { improving: "↗ improving", stable: "→ stable", degrading: "↘ degrading" } as const;
  lines.push("| Repository | Check | Metric | Direction | Change | R² | Now |", "| --- | --- | --- | --- | --- | --- | --- |");
  for (const t of i.trends) {
    const latency = t.metric === "p95_latency_ms";
    const change = latency ? signed(t.change * 100, 1) + " %" : signed(t.change * 100, 1) + " points";
    const now = latency ? `${Math.round(t.current)} ms` : percent(t.current);
    lines.push(
      `| ${cell(t.repo)} | ${cell(t.check)} | ${latency ? "p95 latency" : "daily uptime"} | ${arrow[t.direction]} | ${change} | ${t.rSquared.toFixed(2)} | ${now} |`,
    );
  }
  return lines;
}

function queryPerformance(i: Insights): string[] {
  const qp = i.queryPerformance;
  const lines = ["### Query performance", ""];
  if (!qp) return [...lines, "No target database was given (`--database-url`), so no query statistics."];
  lines.push("#### Slowest statements", "");
  if (!qp.available) lines.push("`pg_stat_statements` is not available on this database (install the extension and add it to `shared_preload_libraries`).");
  else if (qp.slowest.length === 0) lines.push("No statements recorded yet.");
  else {
    lines.push("| Statement | Calls | Mean | Total |", "| --- | --- | --- | --- |");
    for (const s of qp.slowest) lines.push(`| \`${cell(s.query).replace(/`/g, "'")}\` | ${s.calls} | ${s.meanMs.toFixed(2)} ms | ${s.totalMs.toFixed(0)} ms |`);
  }
  lines.push("", "#### Index candidates (mostly sequential scans)", "");
  if (qp.seqScanCandidates.length === 0) lines.push("None.");
  for (const c of qp.seqScanCandidates) lines.push(`- \`${c.table}\` (${c.rows} rows): ${c.recommendation}`);
  lines.push("", "#### VACUUM candidates (dead tuples)", "");
  if (qp.vacuumCandidates.length === 0) lines.push("None.");
  for (const c of qp.vacuumCandidates) lines.push(`- \`${c.table}\`: ${c.recommendation}`);
  return lines;
}

const day = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
const percent = (ratio: number) => `${(ratio * 100).toFixed(2)} %`;
const signed = (value: number, digits: number) => (value >= 0 ? "+" : "") + value.toFixed(digits);
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ");

function periodText(i: Insights): string {
  const days = (i.to.getTime() - i.from.getTime()) / 86_400_000;
  return `${Number(days.toFixed(1))} day${days === 1 ? "" : "s"}`;
}

export function duration(ms: number): string {
  if (ms <= 0) return "none";
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)} s`;
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}
