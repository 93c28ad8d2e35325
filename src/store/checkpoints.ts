// Checkpoints: the steps a run has completed, each recorded once, so that a retried job (after its
// worker died) or `/autopilot retry` continues after the last one instead of starting again.
import type pg from "pg";

/** A migration file this run applied (committed), in the order it was applied. */
export interface AppliedCheckpoint {
  version: string;
  name: string;
  path: string;
  durationMs: number;
}

/** What a run has done so far, read back from its checkpoints. */
export interface RunCheckpoints {
  /** The repo config was read and mapped the run's branch to this environment. */
  environment?: string;
  /** The files the run set out to apply (versions, in order), recorded before its backup. */
  planned?: string[];
  /** The pre-run backup taken (a retry reuses it rather than taking a second). */
  backupId?: string;
  applied: AppliedCheckpoint[];
  /** The deploy hook was called (a retry never calls it twice). */
  deployed: boolean;
  /** Verification began at this instant (a retry continues the same window). */
  verifyStartedAt?: Date;
  /** Verification concluded with this result. */
  verified?: unknown;
}

const APPLIED = "applied:";

/**
 * Records a step as done; the first record of a step wins (a retry never overwrites what happened),
 * unless `replace` (a backup that expired before anything of the run applied is replaced).
 */
async function record(db: pg.Pool, runId: number, name: string, detail: object = {}, replace = false): Promise<void> {
  const onConflict = replace ? "on conflict (run_id, name) do update set detail = excluded.detail, recorded_at = now()" : "on conflict do nothing";
  await db.query(`insert into run_checkpoints (run_id, name, detail) values ($1, $2, $3) ${onConflict}`, [runId, name, JSON.stringify(detail)]);
}

export const checkpoint = {
  config: (db: pg.Pool, runId: number, environment: string) => record(db, runId, "config", { environment }),
  planned: (db: pg.Pool, runId: number, versions: string[]) => record(db, runId, "planned", { versions }),
  backup: (db: pg.Pool, runId: number, backupId: string) => record(db, runId, "backup", { backupId }, true),
  applied: (db: pg.Pool, runId: number, file: AppliedCheckpoint) => record(db, runId, `${APPLIED}${file.version}`, file),
  deployed: (db: pg.Pool, runId: number) => record(db, runId, "deployed"),
  verifyStarted: (db: pg.Pool, runId: number, at: Date) => record(db, runId, "verify-started", { at: at.toISOString() }),
  verified: (db: pg.Pool, runId: number, result: object) => record(db, runId, "verified", result),
};

export async function checkpointsOf(db: pg.Pool, runId: number): Promise<RunCheckpoints> {
  const { rows } = await db.query<{ name: string; detail: Record<string, unknown> }>(
    `select name, detail from run_checkpoints where run_id = $1 order by recorded_at, name`,
    [runId],
  );
  const found: RunCheckpoints = { applied: [], deployed: false };
  for (const { name, detail } of rows) {
    if (name.startsWith(APPLIED)) found.applied.push(detail as unknown as AppliedCheckpoint);
    else if (name === "config") found.environment = String(detail.environment);
    else if (name === "planned") found.planned = detail.versions as string[];
    else if (name === "backup") found.backupId = String(detail.backupId);
    else if (name === "deployed") found.deployed = true;
    else if (name === "verify-started") found.verifyStartedAt = new Date(String(detail.at));
    else if (name === "verified") found.verified = detail;
  }
  return found;
}
