import type pg from "pg";

export async function recordDeployment(
  db: pg.Pool,
  d: {
    runId: number;
    repo: string;
    environment: string;
    hook: string;
    httpStatus: number | null;
    ok: boolean;
    error: string | null;
    durationMs: number;
    attempts?: number;
    skipped?: boolean;
  },
): Promise<void> {
  await db.query(
    `insert into deployments (run_id, repo, environment, hook, http_status, ok, error, duration_ms, attempts, skipped)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [d.runId, d.repo, d.environment, d.hook, d.httpStatus, d.ok, d.error, Math.round(d.durationMs), d.attempts ?? 1, d.skipped ?? false],
  );
}

/** A deployment made elsewhere (reported to POST /autopilot/events), so scans can name it as a cause. */
export async function recordExternalDeployment(db: pg.Pool, d: { repo: string; environment: string; commitSha: string | null }): Promise<void> {
  await db.query(
    `insert into deployments (repo, environment, hook, http_status, ok, error, duration_ms, commit_sha) values ($1, $2, 'external', null, true, null, 0, $3)`,
    [d.repo.toLowerCase(), d.environment, d.commitSha],
  );
}
