// The last drift check of each environment: what it found, when, and by which run; and the open
// `drift` issue the scheduled check keeps for it. `/autopilot status` reads this instead of
// building a scratch database on every call.
import type pg from "pg";
import type { DriftDifference } from "../database/drift/compare.js";
import { nullableInt8 } from "./int8.js";

/** What a drift check found: the differences, or why it could not compare. */
export type DriftResult =
  | { kind: "compared"; differences: DriftDifference[]; unknownVersions: string[] }
  /** The check could not run (target or shadow server unreachable, a file that no longer applies). */
  | { kind: "failed"; error: string };

export interface DriftCheck {
  environment: string;
  checkedAt: Date;
  /** Which check it was, in words: "scheduled check", "plan of #12", "push abc1234". */
  source: string;
  result: DriftResult;
  /** The environment's open `drift` issue, as the last scheduled check left it. */
  issueNumber: number | null;
}

/** Replaces the environment's last check; the issue number stays until the scheduled check sets it. */
export async function recordDriftCheck(db: pg.Pool, repo: string, environment: string, source: string, result: DriftResult): Promise<void> {
  await db.query(
    `insert into drift_checks (repo, environment, source, result) values ($1, $2, $3, $4)
     on conflict (repo, environment) do update set checked_at = now(), source = excluded.source, result = excluded.result`,
    [repo.toLowerCase(), environment, source, JSON.stringify(result)],
  );
}

export async function setDriftIssue(db: pg.Pool, repo: string, environment: string, issueNumber: number | null): Promise<void> {
  await db.query(`update drift_checks set issue_number = $3 where repo = $1 and environment = $2`, [repo.toLowerCase(), environment, issueNumber]);
}

export async function lastDriftCheck(db: pg.Pool, repo: string, environment: string): Promise<DriftCheck | undefined> {
  const { rows } = await db.query<Omit<DriftCheck, "issueNumber"> & { issueNumber: unknown }>(
    `select environment, checked_at as "checkedAt", source, result, issue_number as "issueNumber"
       from drift_checks where repo = $1 and environment = $2`,
    [repo.toLowerCase(), environment],
  );
  const row = rows[0];
  return row && { ...row, issueNumber: nullableInt8(row.issueNumber, "drift_checks.issue_number") };
}
