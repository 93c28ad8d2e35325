// `/autopilot status`: one row per environment.
import type { BackupRecord } from "../store/backups.js";
import type { EnvironmentLock } from "../store/locks.js";
import type { Run } from "../store/runs.js";
import type { Uptime } from "../store/health.js";
import type { DriftFinding } from "../runbooks/drift-outcome.js";
import { driftHeadline } from "./drift-markdown.js";
import { ageOf } from "./loss-report.js";

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
  /** Set when the target has a shadow server to rebuild its applied files on. */
  drift?: DriftFinding;
}

const when = (d: Date | null | undefined) => (d ? new Date(d).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—");
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
  return renderEnvironments(rows, now) + driftLines(rows) + health + anomalies;
}

function driftLines(rows: EnvironmentStatus[]): string {
  const lines = rows.flatMap((r) => (r.drift ? [`- ${driftHeadline(r.drift)}`] : []));
  return lines.length ? `\n\n**Drift**\n\n${lines.join("\n")}` : "";
}

/** "`bk_…` · 3 h ago · s3 `backups/acme/shop/production/bk_….dump.enc`": its id, age and where it lives. */
function describeBackup(b: BackupRecord, now: Date): string {
  const taken = new Date(b.createdAt);
  return `\`${b.id}\` · ${ageOf(taken, now)} ago (${when(taken)}) · ${b.store ?? "local"} \`${locationOf(b)}\``;
}

/**
 * The object key in a remote store; for a local file, its path under the backup directory
 * (owner/repo/environment/file): the server's own directories are not for readers of a comment.
 */
function locationOf(b: BackupRecord): string {
  if (!b.path) return "—";
  return (b.store ?? "local") === "local" ? b.path.split(/[\\/]/).slice(-4).join("/") : b.path;
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
