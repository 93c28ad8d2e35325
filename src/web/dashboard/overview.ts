// The overview: a card per repository and environment the signed-in user may see.
import type { EnvironmentFacts, RepoHealth } from "../../store/dashboard-queries.js";
import { shownLocation } from "../../backups/object-keys.js";
import { ago, html, percent, repoPath, type Html } from "./html.js";

export interface OverviewRepo {
  repo: string;
  permission: string;
  environments: string[];
  health?: RepoHealth;
  facts: EnvironmentFacts[];
}

/**
 * 0–100: recent uptime weighs most (24 h half, 7 d three tenths, 30 d a fifth), and a check down now
 * costs 20 points, degraded 10. Unknown when nothing has been measured.
 */
export function healthScore(health: RepoHealth | undefined): number | null {
  if (!health) return null;
  const weights: Array<[number | null, number]> = [
    [health.uptime["24h"], 0.5],
    [health.uptime["7d"], 0.3],
    [health.uptime["30d"], 0.2],
  ];
  const known = weights.filter(([u]) => u !== null) as Array<[number, number]>;
  if (known.length === 0) return null;
  const total = known.reduce((s, [, w]) => s + w, 0);
  const base = (100 * known.reduce((s, [u, w]) => s + u * w, 0)) / total;
  const penalty = health.status === "down" ? 20 : health.status === "degraded" ? 10 : 0;
  return Math.max(0, Math.round(base - penalty));
}

export function overviewPage(repos: OverviewRepo[], now = Date.now()): Html {
  if (repos.length === 0) {
    return html`<p class="notice">No repository to show: Autopilot is not installed on any repository you can access.</p>`;
  }
  return html`<p class="muted">${repos.length} repositories you can access. The page refreshes every 30 seconds.</p>
    <div class="cards">${repos.flatMap((r) => (r.environments.length ? r.environments : ["—"]).map((environment) => card(r, environment, now)))}</div>`;
}

function card(r: OverviewRepo, environment: string, now: number): Html {
  const facts = r.facts.find((f) => f.environment === environment);
  const health = r.health;
  const status = health?.status ?? "unknown";
  const score = healthScore(health);
  return html`<section class="card" aria-label="${r.repo} ${environment}">
    <h2><a href="${repoPath(r.repo)}">${r.repo}</a> <span class="muted">· ${environment}</span></h2>
    <dl>
      <dt>Health</dt>
      <dd><span class="${status}">${status}</span>${health?.since ? html` since ${health.since} (${ago(health.since, now)})` : ""}</dd>
      <dt>Uptime</dt>
      <dd>24 h ${percent(health?.uptime["24h"] ?? null)} · 7 d ${percent(health?.uptime["7d"] ?? null)} · 30 d ${percent(health?.uptime["30d"] ?? null)}</dd>
      <dt>Health score</dt>
      <dd>${score === null ? "—" : `${score}/100`}</dd>
      <dt>Applied</dt>
      <dd>${facts?.appliedVersion ?? "—"}</dd>
      <dt>Pending files</dt>
      <dd>${facts?.pending ? `${facts.pending.files} (as of run #${facts.pending.runId})` : "—"}</dd>
      <dt>Last run</dt>
      <dd>
        ${facts?.lastRun ? html`${facts.lastRun.kind} <span class="${facts.lastRun.status}">${facts.lastRun.status}</span> ${ago(facts.lastRun.at, now)}` : "none"}
      </dd>
      <dt>Lock</dt>
      <dd>${facts?.lock ? html`🔒 locked by ${facts.lock.lockedBy}${facts.lock.reason ? `: ${facts.lock.reason}` : ""}` : "unlocked"}</dd>
      <dt>Last good backup</dt>
      <dd>
        ${facts?.lastBackup ? html`${facts.lastBackup.id} (${ago(facts.lastBackup.at, now)}), ${facts.lastBackup.store} ${shownLocation(facts.lastBackup)}` : "none"}
      </dd>
      <dt>Last verified restore</dt>
      <dd>
        ${facts?.lastVerified ? html`${facts.lastVerified.backupId} (${ago(facts.lastVerified.at, now)})` : "never"}
        ${
          facts?.failedDrill
            ? html`<br /><span class="failure"
                  >drill of ${facts.failedDrill.backupId} failed ${ago(facts.failedDrill.at, now)}: ${facts.failedDrill.details}</span
                >`
            : ""
        }
      </dd>
      <dt>Your permission</dt>
      <dd>${r.permission}</dd>
    </dl>
  </section>`;
}
