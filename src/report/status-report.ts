// `/autopilot status`: one row per environment.
import type { BackupRecord } from "../store/backups.js";
import type { EnvironmentLock } from "../store/locks.js";
import type { RestoreDrill } from "../store/restore-drills.js";
import type { Run } from "../store/runs.js";
import type { Uptime } from "../store/health.js";
import type { DriftFinding } from "../runbooks/drift-outcome.js";
import { driftHeadline } from "./drift-markdown.js";
import type { BreakerState } from "../breakers.js";
import { ageOf } from "../backups/loss-description.js";
import { shownLocation } from "../backups/object-keys.js";

export interface EnvironmentStatus {
  environment: string;
  appliedVersion?: string;
  appliedCount?: number;
  pending?: number;
  lastRun?: Run;
  lock?: EnvironmentLock;
  /** The newest good backup. */
  lastBackup?: BackupRecord;
  openIncidents?: number;
  problem?: string;
  /** The last recorded drift check; set when there is one, or when the target has a shadow server to run one. */
  drift?: DriftStatus;
  /** Circuit breakers open on the target's deploy hook, Slack webhook or database, or a host its site's health checks probe. */
  openBreakers?: BreakerState[];
  /** The last restore drill that passed, and the last one if it failed since. */
  lastVerified?: RestoreDrill;
  lastDrill?: RestoreDrill;
}

/** A drift check's finding and where it came from, or (none recorded yet) the schedule the next one waits for. */
export type DriftStatus = { finding: DriftFinding; checkedAt: Date; source: string; issue: number | null } | { notYet: string };

/** A time to the minute, in UTC ("—" when there is none). */
export const when = (d: Date | null | undefined) => (d ? new Date(d).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—");
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export interface CheckHealth {
  check: string;
  status: string;
  uptime: Uptime;
  incident?: number;
}

const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(2)} %`);

export function renderStatus(
  rows: EnvironmentStatus[],
  checks: CheckHealth[] = [],
  findings: Array<{ summary: string; issue: number | null }> = [],
  now = new Date(),
  /** The repository's jobs waiting in the dead-letter queue (store/dead-letters.ts). */
  deadLetters = 0,
): string {
  const health = checks.length
    ? "\n\n| Check | Status | Uptime 24 h | 7 d | 30 d | Incident |\n|---|---|---|---|---|---|\n" +
      checks
        .map(
          (c) =>
            `| ${c.check} | ${c.status} | ${pct(c.uptime["24h"])} | ${pct(c.uptime["7d"])} | ${pct(c.uptime["30d"])} | ${c.incident ? `#${c.incident}` : "—"} |`,
        )
        .join("\n")
    : "";
  const anomalies = findings.length
    ? `\n\n**Open anomaly findings**\n\n${findings.map((f) => `- ${cell(f.summary)}${f.issue ? ` (#${f.issue})` : ""}`).join("\n")}`
    : "";
  return renderEnvironments(rows, now) + driftLines(rows) + drillLines(rows) + breakerLines(rows) + health + anomalies + deadLetterLine(deadLetters);
}

function deadLetterLine(count: number): string {
  if (count === 0) return "";
  const jobs = count === 1 ? "1 job" : `${count} jobs`;
  return `\n\n**Failed jobs**: ${jobs} exhausted their retries and wait in the dead-letter queue (\`npx autopilot jobs failed\` lists them, \`npx autopilot jobs retry <id>\` requeues one)`;
}

function breakerLines(rows: EnvironmentStatus[]): string {
  const lines = rows.flatMap((r) =>
    (r.openBreakers ?? []).map(
      (b) =>
        `- **${r.environment}**: \`${b.destination}\` failed ${b.failures} times in a row; calls are skipped until ${when(b.openUntil)} (${b.skipped} skipped so far)`,
    ),
  );
  return lines.length ? `\n\n**Circuit breakers open**\n\n${lines.join("\n")}` : "";
}

/** The last verified restore per environment (README "Restore drills"), and a failure since. */
function drillLines(rows: EnvironmentStatus[]): string {
  const lines = rows.flatMap((r) => {
    if (!r.lastVerified && !r.lastDrill) return [];
    const verified = r.lastVerified
      ? `last verified restore ${when(r.lastVerified.finishedAt)} (backup \`${r.lastVerified.backupId}\`)`
      : "no restore verified yet";
    const failed =
      r.lastDrill && !r.lastDrill.ok ? `; ❌ drill of \`${r.lastDrill.backupId}\` failed ${when(r.lastDrill.finishedAt)}: ${cell(r.lastDrill.details)}` : "";
    return [`- **${r.environment}**: ${verified}${failed}`];
  });
  return lines.length ? `\n\n**Restore drills**\n\n${lines.join("\n")}` : "";
}

function driftLines(rows: EnvironmentStatus[]): string {
  const lines = rows.flatMap((r) => (r.drift ? [`- ${driftLine(r.environment, r.drift)}`] : []));
  return lines.length ? `\n\n**Drift**\n\n${lines.join("\n")}` : "";
}

function driftLine(environment: string, drift: DriftStatus): string {
  if ("notYet" in drift) return `${environment}: not checked yet; the scheduled drift check runs on \`${drift.notYet}\` (\`drift.schedule\`)`;
  return `${driftHeadline(drift.finding)} (${drift.source}, ${when(drift.checkedAt)}${drift.issue ? `; #${drift.issue}` : ""})`;
}

/** "`bk_…` · 3 h ago · s3 `backups/acme/shop/production/bk_….dump.enc`": its id, age and where it lives. */
function describeBackup(b: BackupRecord, now: Date): string {
  const taken = new Date(b.createdAt);
  return `\`${b.id}\` · ${ageOf(taken, now)} ago (${when(taken)}) · ${b.store ?? "local"} \`${shownLocation(b)}\``;
}

function renderEnvironments(rows: EnvironmentStatus[], now: Date): string {
  const header = "| Environment | Applied | Pending | Last run | Lock | Last backup | Open incidents |\n|---|---|---|---|---|---|---|";
  const lines = rows.map((r) => {
    const applied = r.problem ? `⚠️ ${r.problem}` : `${r.appliedVersion} (${r.appliedCount})`;
    const run = r.lastRun ? `${r.lastRun.status} · ${r.lastRun.commitSha?.slice(0, 7)} · ${when(r.lastRun.finishedAt ?? r.lastRun.createdAt)}` : "—";
    const lock = r.lock ? `🔒 @${r.lock.lockedBy}${r.lock.reason ? `: ${r.lock.reason}` : ""}` : "—";
    const backup = r.lastBackup ? describeBackup(r.lastBackup, now) : "—";
    const pending = r.pending === undefined ? "—" : String(r.pending);
    return `| **${r.environment}** | ${cell(applied)} | ${pending} | ${cell(run)} | ${cell(lock)} | ${cell(backup)} | ${r.openIncidents ?? 0} |`;
  });
  return `**status**\n\n${header}\n${lines.join("\n")}`;
}
