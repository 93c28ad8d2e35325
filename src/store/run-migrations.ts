// Which migrations a run applied: what `/autopilot rollback last` reverts.
import type pg from "pg";
import { int8 } from "./int8.js";

export interface RunMigration {
  version: string;
  name: string;
  path: string;
}

export async function recordRunMigrations(db: pg.Pool, runId: number, applied: RunMigration[]): Promise<void> {
  for (const m of applied) {
    await db.query(`insert into run_migrations (run_id, version, name, path) values ($1, $2, $3, $4) on conflict do nothing`, [
      runId,
      m.version,
      m.name,
      m.path,
    ]);
  }
}

export interface AppliedRun {
  runId: number;
  repo: string;
  environment: string;
  commitSha: string;
  backupId: string | null;
  migrations: RunMigration[];
}

const appliedRunColumns = `r.id as "runId", r.repo, r.environment, r.commit_sha as "commitSha", r.backup_id as "backupId",
  json_agg(json_build_object('version', m.version, 'name', m.name, 'path', m.path) order by m.version) as migrations`;

/** Recent migrate runs of an environment that applied something, newest first, with what they applied. */
export async function recentAppliedRuns(db: pg.Pool, repo: string, environment: string, limit = 20): Promise<AppliedRun[]> {
  const { rows } = await db.query(
    `select ${appliedRunColumns}
       from runs r join run_migrations m on m.run_id = r.id
      where lower(r.repo) = lower($1) and r.environment = $2 and r.kind = 'migrate'
      group by r.id order by r.id desc limit $3`,
    [repo, environment, limit],
  );
  return rows.map((row) => ({ ...row, runId: int8(row.runId, "runs.id") }));
}

/** One migrate run with what it applied; undefined when it applied nothing (or is not a migrate run). */
export async function appliedRun(db: pg.Pool, runId: number): Promise<AppliedRun | undefined> {
  const { rows } = await db.query(
    `select ${appliedRunColumns} from runs r join run_migrations m on m.run_id = r.id where r.id = $1 and r.kind = 'migrate' group by r.id`,
    [runId],
  );
  return rows.map((row) => ({ ...row, runId: int8(row.runId, "runs.id") }))[0];
}
