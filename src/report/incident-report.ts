// The words of an incident issue: what failed, since when, what was tried, and what to do next.
import type { CheckResult } from "../health/check-result.js";
import { formatDuration } from "../health/incident-policy.js";
import type { Uptime } from "../store/health.js";

/** What an incident quotes of its check's latest result. */
type QuotedResult = Pick<CheckResult, "check" | "httpStatus" | "error" | "latencyMs" | "detail">;

export interface HealActionSummary {
  action: string;
  ok: boolean;
  detail: string;
}

export interface LastMigration {
  version: string;
  name: string;
  commitSha: string;
  at: Date;
}

/** A migration finished this shortly before an outage is called out as a likely cause. */
const SUSPECT_WINDOW_MS = 2 * 3_600_000;

const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(2)} %`);

export function incidentBody(p: { probe: QuotedResult; downSince: Date; actions: HealActionSummary[]; lastMigration?: LastMigration; uptime: Uptime }): string {
  return [
    `**${p.probe.check}** is down since ${p.downSince.toISOString()} and healing did not bring it back.`,
    `| | |\n|---|---|\n| Result | ${p.probe.httpStatus ? `HTTP ${p.probe.httpStatus}` : "no answer"}${p.probe.error ? ` — ${p.probe.error}` : ""} |\n| Latency | ${Math.round(p.probe.latencyMs)} ms |${p.probe.detail ? `\n| Detail | ${p.probe.detail} |` : ""}`,
    `**Heal actions**\n\n${p.actions.length ? p.actions.map((a) => `- ${a.ok ? "✅" : "❌"} ${a.action}: ${a.detail}`).join("\n") : "- none available (no deploy hook or target configured)"}`,
    migrationNote(p.downSince, p.lastMigration),
    `**Uptime** 24 h ${pct(p.uptime["24h"])} · 7 d ${pct(p.uptime["7d"])} · 30 d ${pct(p.uptime["30d"])}`,
    "Autopilot comments here while it is down (at most hourly) and closes this issue when the check recovers.",
  ].join("\n\n");
}

function migrationNote(downSince: Date, last?: LastMigration): string {
  if (!last) return "**Last migration**: none recorded.";
  const line = `**Last migration**: \`${last.version}_${last.name}\` (commit ${last.commitSha.slice(0, 7)}) at ${last.at.toISOString()}.`;
  const before = downSince.getTime() - last.at.getTime();
  if (before >= 0 && before <= SUSPECT_WINDOW_MS) {
    return `${line}\n\n⚠️ It finished ${formatDuration(before)} before the outage began. If it is the cause: \`/autopilot rollback last\`.`;
  }
  return line;
}

export function reminderBody(probe: QuotedResult, downSince: Date, now: Date): string {
  return `Still down after ${formatDuration(now.getTime() - downSince.getTime())}: ${probe.httpStatus ? `HTTP ${probe.httpStatus}` : "no answer"}${probe.error ? ` — ${probe.error}` : ""} (${Math.round(probe.latencyMs)} ms).`;
}

export function reopenBody(probe: QuotedResult, downSince: Date): string {
  return `🔴 Down again since ${downSince.toISOString()}: ${probe.httpStatus ? `HTTP ${probe.httpStatus}` : "no answer"}${probe.error ? ` — ${probe.error}` : ""}. Healing did not bring it back.`;
}

/** An alert rule about the incident's check, as it stands when the incident resolves. */
export interface AlertOnIncident {
  rule: string;
  severity: string;
  firing: boolean;
  value: number | null;
}

export function resolvedBody(downSince: Date | null, downtimeMs: number | null, uptime: Uptime, alerts: AlertOnIncident[] = []): string {
  const duration = downtimeMs === null ? "" : ` after ${formatDuration(downtimeMs)}`;
  const resolved = `✅ Resolved${duration}${downSince ? `; down since ${downSince.toISOString()}` : ""}. Uptime 24 h ${pct(uptime["24h"])}.`;
  return alerts.length ? `${resolved}\n\n${alertsNote(alerts)}` : resolved;
}

/** Where the outage's alerts stand: a lagging one (24 h uptime) keeps firing after the check recovers. */
function alertsNote(alerts: AlertOnIncident[]): string {
  const lines = alerts.map((a) => {
    const value = a.value === null ? "—" : Number(a.value.toFixed(3));
    return a.firing
      ? `- 🔴 \`${a.rule}\` (${a.severity}) is still firing (value ${value}); it resolves by itself when the value recovers, without an issue of its own.`
      : `- ✅ \`${a.rule}\` (${a.severity}) fired during the outage and has resolved (value ${value}).`;
  });
  return `**Alerts**\n\n${lines.join("\n")}`;
}

export function removedBody(check: string): string {
  return `Closing: the check \`${check}\` is no longer in \`.github/autopilot.yml\`.`;
}
