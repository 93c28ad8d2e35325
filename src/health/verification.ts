// Did a change (a migration, a rollback) make the site worse? Compares what the verification probes
// see with the hour of health log before the change. Plain inputs, plain results: no GitHub here.
import type pg from "pg";
import type { CheckStatus } from "../store/health.js";

/** What one probe of a check found, as the health log keeps it. */
export interface VerificationSample {
  check: string;
  status: CheckStatus;
  latencyMs: number;
}

/** A check's error rate and p95 latency over some probes; null figures when there were none. */
export interface CheckFigures {
  samples: number;
  /** Share of unhealthy probes, 0..1. */
  errorRate: number | null;
  /** Nearest-rank 95th percentile of the latency of the probes that answered. */
  p95Ms: number | null;
}

/** A check's figures over the hour before the change, and whether it was down when the change landed. */
export interface BaselineFigures extends CheckFigures {
  /** Its last probe before the change failed (or was skipped: its host's circuit breaker was open). */
  downAtChange: boolean;
}

export type RegressionRule = "down" | "latency" | "errors";

export interface Regression {
  check: string;
  rule: RegressionRule;
  baseline: CheckFigures;
  now: CheckFigures;
  /** The latency rule's floor (`health.degraded_ms`). */
  degradedMs: number;
}

export interface Verdict {
  regressed: boolean;
  checks: Array<{ check: string; baseline: CheckFigures; now: CheckFigures }>;
  regressions: Regression[];
}

/** A verification's end: the verdict over the probes it made, and how long it was meant to watch. */
export type Verification = Verdict & { environment: string; minutes: number; probes: number };

export const BASELINE_WINDOW_MS = 3_600_000;
export const LATENCY_FACTOR = 2;
export const ERROR_RATE_FACTOR = 3;

/** Error rate and p95 of `samples`; a check in maintenance is counted neither way. */
export function figuresOf(samples: VerificationSample[]): CheckFigures {
  const counted = samples.filter((s) => s.status !== "maintenance");
  if (counted.length === 0) return { samples: 0, errorRate: null, p95Ms: null };
  const answered = counted.filter((s) => s.status !== "unhealthy").map((s) => s.latencyMs);
  const errors = counted.length - answered.length;
  return { samples: counted.length, errorRate: errors / counted.length, p95Ms: percentile95(answered) };
}

function percentile95(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.95 * sorted.length) - 1];
}

/** Each check's figures over the hour of health log before `changeAt`, and its state when the change landed. */
export async function baselineOf(db: pg.Pool, repo: string, checks: string[], changeAt: Date): Promise<Map<string, BaselineFigures>> {
  const { rows } = await db.query<{ check: string; status: CheckStatus; latencyMs: number }>(
    `select check_name as "check", status, latency_ms as "latencyMs" from health_log
      where repo = $1 and check_name = any($2) and at >= $3 and at < $4 order by at, id`,
    [repo.toLowerCase(), checks, new Date(changeAt.getTime() - BASELINE_WINDOW_MS), changeAt],
  );
  return new Map(
    checks.map((check) => {
      const own = rows.filter((r) => r.check === check);
      const last = own.filter((r) => r.status !== "maintenance").at(-1);
      return [check, { ...figuresOf(own), downAtChange: last?.status === "unhealthy" }];
    }),
  );
}

/**
 * The regression rules, per check: its latest probe is down; or its p95 is over 2× the baseline's
 * and over `degradedMs`; or its error rate is over 3× the baseline's (no history counts as none).
 * A check that was already down when the change landed and has not answered since is not taken
 * down by the change: neither "down" nor "errors" holds for it (a rollback would not bring it back).
 */
export function judge(baseline: Map<string, BaselineFigures>, samples: VerificationSample[], degradedMs: number): Verdict {
  const checks = [...baseline.keys()].map((check) => {
    const own = samples.filter((s) => s.check === check);
    return { check, baseline: baseline.get(check)!, now: figuresOf(own), latest: own.at(-1) };
  });
  const regressions = checks.flatMap(({ check, baseline: before, now, latest }) =>
    rulesBroken(before, now, latest, degradedMs).map((rule): Regression => ({ check, rule, baseline: before, now, degradedMs })),
  );
  return { regressed: regressions.length > 0, checks: checks.map(({ latest: _latest, ...c }) => c), regressions };
}

function rulesBroken(before: BaselineFigures, now: CheckFigures, latest: VerificationSample | undefined, degradedMs: number): RegressionRule[] {
  const broken: RegressionRule[] = [];
  const stillDown = before.downAtChange && now.errorRate === 1;
  if (latest?.status === "unhealthy" && !stillDown) broken.push("down");
  if (before.p95Ms !== null && now.p95Ms !== null && now.p95Ms > LATENCY_FACTOR * before.p95Ms && now.p95Ms > degradedMs) broken.push("latency");
  if (now.errorRate !== null && now.errorRate > ERROR_RATE_FACTOR * (before.errorRate ?? 0) && !stillDown) broken.push("errors");
  return broken;
}
