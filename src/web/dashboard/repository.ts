// One repository: its charts, incidents, alerts and findings, activity, runs, audit trail, and the
// buttons the user's permission allows.
import type { StoredFinding } from "../../analytics/finding-store.js";
import type { auditTrail, dailyUptime, hourlyActivity, hourlyLatency, incidents, recentRuns, timelineMarks } from "../../store/dashboard-queries.js";
import { latencyChart, uptimeChart } from "./charts.js";
import { ago, duration, html, repoPath, type Html } from "./html.js";
import { actionButtons, type AllowedActions } from "./actions.js";
import type { DeadLetter } from "../../store/dead-letters.js";
import { redact } from "../../redact.js";

export interface RepositoryView {
  repo: string;
  webUrl: string;
  environments: string[];
  allowed: AllowedActions;
  csrf: string;
  notice?: string;
  latency: Awaited<ReturnType<typeof hourlyLatency>>;
  uptime: Awaited<ReturnType<typeof dailyUptime>>;
  marks: Awaited<ReturnType<typeof timelineMarks>>;
  incidents: Awaited<ReturnType<typeof incidents>>;
  findings: StoredFinding[];
  activity: Awaited<ReturnType<typeof hourlyActivity>>;
  runs: Awaited<ReturnType<typeof recentRuns>>;
  /** Jobs of the repository that exhausted their retries (README "Failed jobs"). */
  deadLetters: DeadLetter[];
  audit: Awaited<ReturnType<typeof auditTrail>>;
}

export function repositoryPage(v: RepositoryView, now = Date.now()): Html {
  const github = `${v.webUrl}/${v.repo}`;
  return html`${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ""}
    <nav aria-label="Sections">
      <a href="#charts">Charts</a> · <a href="#incidents">Incidents</a> · <a href="#activity">Activity</a> · <a href="#runs">Runs</a> ·
      <a href="#failed-jobs">Failed jobs</a> ·
      <a href="#audit">Audit</a>
    </nav>
    <section aria-labelledby="actions-h">
      <h2 id="actions-h">Actions</h2>
      ${actionButtons(v.repo, v.environments, v.allowed, v.csrf)}
    </section>
    <section id="charts" aria-labelledby="charts-h">
      <h2 id="charts-h">Last 7 days</h2>
      <h3>Response time (p50, p95 per hour)</h3>
      ${latencyChart(v.latency, v.uptime.maintenanceHours, v.marks, now)}
      <h3>Uptime per day</h3>
      ${uptimeChart(v.uptime.days, v.uptime.maintenanceHours, v.marks, now)}
    </section>
    <section id="incidents" aria-labelledby="incidents-h">
      <h2 id="incidents-h">Incidents</h2>
      ${table(
        ["Check not healthy now", "Status", "Down since", "Duration"],
        v.incidents.open.map((i) => [
          i.check,
          html`<span class="${i.status}">${i.status}</span>`,
          i.downSince ?? "—",
          i.downSince ? duration(now - i.downSince.getTime()) : "—",
        ]),
        "No open incident.",
      )}
      <h3>Incident issues, open and closed in the last 30 days</h3>
      ${table(
        ["Issue", "Check", "State", "Started", "Duration", "Heal actions tried"],
        v.incidents.issues.map((i) => {
          const start = i.downSince ?? i.openedAt;
          return [
            html`<a href="${github}/issues/${i.number}">#${i.number}</a>`,
            i.check,
            html`<span class="${i.closedAt ? "ok" : "failure"}">${i.closedAt ? "closed" : "open"}</span>`,
            start,
            duration((i.closedAt?.getTime() ?? now) - start.getTime()) + (i.closedAt ? "" : " so far"),
            i.healsTried.join(", ") || "none",
          ];
        }),
        "No incident issue in the last 30 days.",
      )}
      <p><a href="${github}/issues?q=${encodeURIComponent("label:autopilot")}">All incident issues on GitHub</a></p>
      <h3>Heal actions tried (7 days)</h3>
      ${table(
        ["When", "Check", "Action", "Result", "Detail"],
        v.incidents.heals.map((h) => [
          h.at,
          h.check,
          h.action,
          html`<span class="${h.ok ? "ok" : "failure"}">${h.ok ? "ok" : "failed"}</span>`,
          h.detail ?? "",
        ]),
        "No heal action in the last 7 days.",
      )}
      <h3>Firing alerts</h3>
      ${table(
        ["Rule", "Subject", "Severity", "Value", "Since"],
        v.incidents.alerts.map((a) => [a.rule, a.subject || "—", a.severity, a.value ?? "—", a.firedAt ?? "—"]),
        "No alert firing.",
      )}
      <h3>Open anomaly findings</h3>
      ${table(
        ["Check", "Kind", "Severity", "Summary", "Issue"],
        v.findings.map((f) => [
          f.check,
          f.kind,
          f.severity,
          f.summary,
          f.issueNumber ? html`<a href="${github}/issues/${f.issueNumber}">#${f.issueNumber}</a>` : "—",
        ]),
        "No open finding.",
      )}
    </section>
    <section id="activity" aria-labelledby="activity-h">
      <h2 id="activity-h">Activity, last 24 hours</h2>
      ${table(
        ["Hour", "Runs", "Checks", "Failed checks", "Heal actions", "Alert changes"],
        v.activity.filter((a) => a.runs + a.checks + a.heals + a.alerts > 0).map((a) => [a.hour, a.runs, a.checks, a.failed, a.heals, a.alerts]),
        "Nothing happened in the last 24 hours.",
      )}
    </section>
    <section id="runs" aria-labelledby="runs-h">
      <h2 id="runs-h">Runs</h2>
      ${table(
        ["#", "Kind", "Trigger", "Environment", "Status", "Result", "Steps", "Backup", "Links", "When"],
        v.runs.map((r) => [
          r.id,
          r.kind,
          r.requestedBy ? html`${r.trigger} by ${r.requestedBy}` : r.trigger,
          r.environment ?? "—",
          html`<span class="${r.status}">${r.status}</span>`,
          r.title ?? "",
          r.steps.length
            ? html`<ul>
                ${r.steps.map((s) => html`<li>${s.step}: <span class="${s.status}">${s.status}</span> ${s.durationMs} ms</li>`)}
              </ul>`
            : "—",
          r.backupId ?? "—",
          html`${r.checkRunId ? html`<a href="${github}/runs/${r.checkRunId}">Check Run</a> ` : ""}${r.commitSha ? html`<a href="${github}/commit/${r.commitSha}">${r.commitSha.slice(0, 7)}</a>` : ""}`,
          ago(r.createdAt, now),
        ]),
        "No run yet.",
      )}
    </section>
    <section id="failed-jobs" aria-labelledby="failed-jobs-h">
      <h2 id="failed-jobs-h">Failed jobs</h2>
      ${table(
        ["Job", "Kind", "Run", "Error", "Failed"],
        v.deadLetters.map((d) => [html`<code>${d.id}</code>`, d.kind ?? "unknown", `#${d.runId}`, redact(d.error), ago(d.failedAt, now)]),
        "No job waits in the dead-letter queue.",
      )}
      ${v.deadLetters.length ? html`<p class="muted">Requeue one with <code>npx autopilot jobs retry &lt;job&gt;</code> (or <code>/autopilot retry &lt;run&gt;</code> for a migrate run).</p>` : ""}
    </section>
    <section id="audit" aria-labelledby="audit-h">
      <h2 id="audit-h">Audit trail</h2>
      ${table(
        ["When", "Who", "Environment", "Action", "Outcome", "Detail"],
        v.audit.map((a) => [
          a.at,
          a.actor ?? "—",
          a.environment ?? "—",
          a.action,
          html`<span class="${a.outcome}">${a.outcome}</span>`,
          JSON.stringify(a.detail),
        ]),
        "Nothing recorded yet.",
      )}
    </section>
    <p><a href="${repoPath(v.repo)}">Reload</a> · <a href="/autopilot">All repositories</a></p>`;
}

function table(headers: string[], rows: unknown[][], empty: string): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          ${headers.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              ${r.map((c) => html`<td>${c}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
