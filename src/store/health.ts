// The monitor's memory: every probe result (the health log), each check's current state, heal
// actions, uptime, and the scheduler's claimed slots.
import type pg from "pg";
import type { CheckResult, HealthStatus } from "../health/check-result.js";
import { uptimeByWindow } from "../analytics/queries.js";

/** A check in a maintenance window is recorded as such, whatever its probe found. */
export type CheckStatus = HealthStatus | "maintenance";

/**
 * A check's result as the health log keeps it: whose check it is, and the maintenance state in place
 * of the probe's status. The retry count is not kept.
 */
export type RecordedCheckResult = Omit<CheckResult, "status" | "attempts"> & { repo: string; status: CheckStatus };

export async function recordHealth(db: pg.Pool, results: RecordedCheckResult[]): Promise<void> {
  for (const r of results) {
    await db.query(`insert into health_log (repo, check_name, kind, status, http_status, error, latency_ms, detail) values ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      r.repo.toLowerCase(),
      r.check,
      r.kind,
      r.status,
      r.httpStatus ?? null,
      r.error ?? null,
      Math.round(r.latencyMs),
      r.detail ?? null,
    ]);
  }
}

export interface CheckState {
  check: string;
  status: CheckStatus;
  downSince: Date | null;
  healthyStreak: number;
  lastReminderAt: Date | null;
}

export async function checkStates(db: pg.Pool, repo: string): Promise<Map<string, CheckState>> {
  const { rows } = await db.query<CheckState>(
    `select check_name as "check", status, down_since as "downSince", healthy_streak as "healthyStreak", last_reminder_at as "lastReminderAt"
       from health_state where repo = $1`,
    [repo.toLowerCase()],
  );
  return new Map(rows.map((r) => [r.check, r]));
}

export async function saveCheckState(db: pg.Pool, repo: string, state: CheckState): Promise<void> {
  await db.query(
    `insert into health_state (repo, check_name, status, down_since, healthy_streak, last_reminder_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, now())
     on conflict (repo, check_name) do update set status = $3, down_since = $4, healthy_streak = $5, last_reminder_at = $6, updated_at = now()`,
    [repo.toLowerCase(), state.check, state.status, state.downSince, state.healthyStreak, state.lastReminderAt],
  );
}

export async function recordHealAction(db: pg.Pool, repo: string, check: string, action: string, ok: boolean, detail: string): Promise<void> {
  await db.query(`insert into heal_actions (repo, check_name, action, ok, detail) values ($1, $2, $3, $4, $5)`, [
    repo.toLowerCase(),
    check,
    action,
    ok,
    detail,
  ]);
}

export interface Uptime {
  "24h": number | null;
  "7d": number | null;
  "30d": number | null;
}

/** Share of healthy or degraded results per window; maintenance does not count either way. */
export async function uptimeOf(db: pg.Pool, repo: string, check: string): Promise<Uptime> {
  const uptime: Uptime = { "24h": null, "7d": null, "30d": null };
  for (const w of await uptimeByWindow(db, new Date(), repo.toLowerCase(), check)) uptime[w.window] = w.ratio;
  return uptime;
}

/** Claims a scheduler slot for a repository; only the first replica to ask gets true. */
export async function claimSlot(db: pg.Pool, repo: string, slot: Date): Promise<boolean> {
  const { rowCount } = await db.query(`insert into heal_slots (repo, slot) values ($1, $2) on conflict do nothing`, [repo.toLowerCase(), slot]);
  return rowCount === 1;
}

/** When an action was last recorded for a repository (e.g. the hourly summary). */
export async function lastHealAction(db: pg.Pool, repo: string, action: string): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(`select max(at) as at from heal_actions where repo = $1 and action = $2`, [repo.toLowerCase(), action]);
  return rows[0].at;
}
