// When to open, remind, resolve, reopen or close an incident. Pure: it takes this cycle's results,
// the checks' remembered state and the incident issues as GitHub has them, and says what to do —
// so a transition missed while GitHub was unreachable is simply made on the next cycle.
import type { CheckState, CheckStatus } from "../store/health.js";

export interface CycleResult {
  check: string;
  status: CheckStatus;
  /** Still unhealthy after healing: worth an incident. */
  escalate: boolean;
}

export interface IncidentIssue {
  number: number;
  check: string;
  open: boolean;
  closedAt: Date | null;
}

export type IncidentAction =
  | { kind: "open"; check: string; downSince: Date }
  | { kind: "reopen"; check: string; number: number; downSince: Date }
  | { kind: "remind"; check: string; number: number; downSince: Date }
  | { kind: "resolve"; check: string; number: number; downSince: Date | null; downtimeMs: number | null }
  | { kind: "close-removed"; check: string; number: number };

export interface IncidentPolicy {
  recoverySuccesses: number;
  reopenWindowMs: number;
  reminderIntervalMs: number;
}

export const DEFAULT_POLICY = { reopenWindowMs: 3_600_000, reminderIntervalMs: 3_600_000 };

export function decideIncidents(
  now: Date,
  results: CycleResult[],
  states: Map<string, CheckState>,
  issues: IncidentIssue[],
  policy: IncidentPolicy,
): { states: CheckState[]; actions: IncidentAction[] } {
  const next: CheckState[] = [];
  const actions: IncidentAction[] = [];
  for (const result of results) {
    const prev = states.get(result.check) ?? { check: result.check, status: "healthy", downSince: null, healthyStreak: 0, lastReminderAt: null };
    const open = issues.find((i) => i.open && i.check === result.check);
    const decided = decideCheck(now, result, prev, open, issues, policy);
    next.push(decided.state);
    if (decided.action) actions.push(decided.action);
  }
  const configured = new Set(results.map((r) => r.check));
  for (const issue of issues.filter((i) => i.open && !configured.has(i.check))) {
    actions.push({ kind: "close-removed", check: issue.check, number: issue.number });
  }
  return { states: next, actions };
}

function decideCheck(
  now: Date,
  result: CycleResult,
  prev: CheckState,
  open: IncidentIssue | undefined,
  issues: IncidentIssue[],
  policy: IncidentPolicy,
): { state: CheckState; action?: IncidentAction } {
  // Maintenance: recorded, but nothing changes — an incident is never closed while its check may be down.
  if (result.status === "maintenance") return { state: prev };
  if (result.status === "unhealthy") return decideDown(now, result, prev, open, issues, policy);
  const healthyStreak = prev.healthyStreak + 1;
  if (open && healthyStreak >= policy.recoverySuccesses) {
    const downtimeMs = prev.downSince ? now.getTime() - new Date(prev.downSince).getTime() : null;
    return {
      state: { ...prev, status: result.status, healthyStreak, downSince: null, lastReminderAt: null },
      action: { kind: "resolve", check: result.check, number: open.number, downSince: prev.downSince, downtimeMs },
    };
  }
  // Without an open incident a healthy result ends the outage; with one, the outage lasts until resolved.
  return { state: { ...prev, status: result.status, healthyStreak, downSince: open ? prev.downSince : null } };
}

function decideDown(
  now: Date,
  result: CycleResult,
  prev: CheckState,
  open: IncidentIssue | undefined,
  issues: IncidentIssue[],
  policy: IncidentPolicy,
): { state: CheckState; action?: IncidentAction } {
  const downSince = prev.downSince ? new Date(prev.downSince) : now;
  const state: CheckState = { ...prev, status: "unhealthy", downSince, healthyStreak: 0 };
  if (open) {
    const due = !prev.lastReminderAt || now.getTime() - new Date(prev.lastReminderAt).getTime() >= policy.reminderIntervalMs;
    return due ? { state: { ...state, lastReminderAt: now }, action: { kind: "remind", check: result.check, number: open.number, downSince } } : { state };
  }
  if (!result.escalate) return { state };
  const recent = issues.find((i) => !i.open && i.check === result.check && i.closedAt && now.getTime() - i.closedAt.getTime() < policy.reopenWindowMs);
  const action: IncidentAction = recent
    ? { kind: "reopen", check: result.check, number: recent.number, downSince }
    : { kind: "open", check: result.check, downSince };
  return { state: { ...state, lastReminderAt: now }, action };
}

/** "1 h 12 m", "3 m 5 s". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const [d, h, m, sec] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const parts = d ? [`${d} d`, `${h} h`] : h ? [`${h} h`, `${m} m`] : m ? [`${m} m`, `${sec} s`] : [`${sec} s`];
  return parts.join(" ");
}
