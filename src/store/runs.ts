// Run history: one row per piece of work a user asked for, with its steps and outcome.
import type pg from "pg";
import { int8, nullableInt8 } from "./int8.js";
import { MalformedRunError, parseRunRequest, type RequestOf, type RunKind, type RunRequest } from "./run-requests.js";
import { inTransaction } from "./transaction.js";

export type RunStatus = "queued" | "in_progress" | "success" | "failure" | "neutral" | "action_required" | "skipped" | "cancelled";

/** What an action_required migrate run waits for: people lifting a lock, or approvals. */
export type WaitingFor = "lock" | "approval";

/** What every run records besides its request. */
interface RunRecord {
  id: number;
  repo: string;
  installationId: number;
  environment: string | null;
  ref: string | null;
  requestedBy: string | null;
  deliveryId: string | null;
  jobId: string | null;
  checkRunId: number | null;
  status: RunStatus;
  waitingFor: WaitingFor | null;
  title: string | null;
  error: string | null;
  backupId: string | null;
  attempts: number;
  createdAt: Date;
  finishedAt: Date | null;
}

/** A recorded run: its kind (and, for commands, its trigger) says what its commit and params are. */
export type Run = RunRecord & RunRequest;
export type RunOf<K extends RunKind> = RunRecord & RequestOf<K>;

export function isRunOf<K extends RunKind>(run: Run, kind: K): run is RunOf<K> {
  return run.kind === kind;
}

// The bigint ids come back as strings; toRun turns them into exact numbers (see int8.ts).
const columns = `id, kind, trigger, repo, installation_id as "installationId", environment, ref,
  commit_sha as "commitSha", requested_by as "requestedBy", delivery_id as "deliveryId", job_id as "jobId",
  check_run_id as "checkRunId", status, waiting_for as "waitingFor", title, error, backup_id as "backupId", attempts, params,
  created_at as "createdAt", finished_at as "finishedAt"`;

/** A row of runs; its request is checked against the contract, so a runbook never sees a malformed one. */
function toRun(row: Record<string, unknown>): Run {
  const id = int8(row.id, "runs.id");
  return {
    ...(row as unknown as RunRecord),
    ...parseRunRequest(row, `run ${id}`),
    id,
    installationId: int8(row.installationId, "runs.installation_id"),
    checkRunId: nullableInt8(row.checkRunId, "runs.check_run_id"),
  };
}

/** `run` as a run of `kind`; a run of another kind where the query asked for this one is an error. */
function ofKind<K extends RunKind>(kind: K, run: Run | undefined): RunOf<K> | undefined {
  if (!run || isRunOf(run, kind)) return run;
  throw new Error(`run ${run.id} is a ${run.kind} run, not a ${kind} run`);
}

/** Runs a query that selects `columns` from runs. */
async function selectRuns(db: pg.Pool | pg.PoolClient, sql: string, params: unknown[]): Promise<Run[]> {
  const { rows } = await db.query(sql, params);
  return rows.map(toRun);
}

/** A run to record: its request (checked before it is inserted) and where it came from. */
export type NewRun = RunRequest & {
  repo: string;
  installationId: number;
  ref: string | null;
  requestedBy: string | null;
  deliveryId: string | null;
  /**
   * Keys this run claims (`delivery:<id>`, `comment:<repo>#<id>`): when another run holds any of
   * them, this one is the same work delivered again and is not recorded.
   */
  dedupKeys?: string[];
};

/** Inserts a run; returns undefined when the same work was already recorded (a redelivery, a twin event). */
export async function createRun(db: pg.Pool, run: NewRun): Promise<Run | undefined> {
  return (await recordRun(db, run))?.run;
}

/** A run just recorded, and how many runs of its kind and repository were waiting or running before it. */
export interface RecordedRun {
  run: Run;
  ahead: number;
}

/**
 * Records `run` with its dedup keys in one transaction, and, when `alongside` is given, whatever else
 * must stand or fall with it (its queue job) on the same connection before the commit. Returns
 * undefined when the same work was already recorded: a twin's keys roll the whole transaction back.
 */
export async function recordRun(
  db: pg.Pool,
  run: NewRun,
  options: { jobId?: string; alongside?: (client: pg.PoolClient, recorded: RecordedRun) => Promise<void> } = {},
): Promise<RecordedRun | undefined> {
  try {
    return await inTransaction(db, async (client) => {
      const recorded = await insertRun(client, run, options.jobId ?? null);
      if (recorded) await options.alongside?.(client, recorded);
      return recorded;
    });
  } catch (error) {
    if (error instanceof TwinRun) return undefined;
    throw error;
  }
}

/**
 * Counts the runs of a kind (`kind`, a SQL expression) of a repository (`repo`) waiting or running, by
 * the index of migration 0035: a job's fairness priority (store/run-jobs.ts).
 */
export function unfinishedRunsOfRepository(kind: string, repo: string): string {
  return `select count(*)::int from runs where kind = ${kind} and lower(repo) = lower(${repo}) and status in ('queued', 'in_progress')`;
}

/** Thrown inside the recording transaction to roll it back: another run holds one of this run's keys. */
class TwinRun extends Error {}

/**
 * One statement: the run, its dedup keys, and the count of its repository's unfinished runs of its
 * kind (read from the statement's snapshot, so without the run itself; the queue's fairness priority,
 * store/run-jobs.ts). A concurrent twin blocks on the same key until this commits, then finds it taken.
 */
async function insertRun(client: pg.PoolClient, run: NewRun, jobId: string | null): Promise<RecordedRun | undefined> {
  const request = parseRunRequest(run, `a new ${run.kind} run of ${run.repo}`);
  const keys = [...new Set(run.dedupKeys ?? [])];
  const { rows } = await client.query(
    `with created as (
       insert into runs (kind, trigger, repo, installation_id, ref, commit_sha, requested_by, delivery_id, params, job_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       on conflict do nothing returning ${columns}
     ), claimed as (
       insert into run_dedup_keys (key, run_id) select unnest($11::text[]), created.id from created on conflict do nothing returning key
     )
     select created.*, (select count(*)::int from claimed) as "claimedKeys",
       (${unfinishedRunsOfRepository("$1", "$3")}) as "ahead"
     from created`,
    [
      request.kind,
      request.trigger,
      run.repo,
      run.installationId,
      run.ref,
      request.commitSha,
      run.requestedBy,
      run.deliveryId,
      JSON.stringify(request.params),
      jobId,
      keys,
    ],
  );
  if (rows.length === 0) return undefined;
  const { claimedKeys, ahead, ...row } = rows[0];
  // Another run holds a key: this is the same work again, so nothing of it is kept.
  if (claimedKeys !== keys.length) throw new TwinRun();
  return { run: toRun(row), ahead };
}

export async function getRun(db: pg.Pool, id: number): Promise<Run | undefined> {
  const [run] = await selectRuns(db, `select ${columns} from runs where id = $1`, [id]);
  return run;
}

export async function setRunJob(db: pg.Pool, id: number, jobId: string): Promise<void> {
  await db.query("update runs set job_id = $2 where id = $1", [id, jobId]);
}

/** Marks an attempt started; undefined when the run was concluded meanwhile (e.g. `/autopilot cancel` won the race). */
export async function startAttempt(db: pg.Pool, id: number): Promise<Run | undefined> {
  const [run] = await selectRuns(
    db,
    `update runs set status = 'in_progress', attempts = attempts + 1, started_at = coalesce(started_at, now())
     where id = $1 and status in ('queued', 'in_progress') returning ${columns}`,
    [id],
  );
  return run;
}

export async function updateRun(
  db: pg.Pool,
  id: number,
  fields: Partial<{ environment: string; checkRunId: number; title: string; backupId: string; pendingFiles: number }>,
): Promise<void> {
  await db.query(
    `update runs set environment = coalesce($2, environment), check_run_id = coalesce($3, check_run_id),
       title = coalesce($4, title), backup_id = coalesce($5, backup_id), pending_files = coalesce($6, pending_files) where id = $1`,
    [id, fields.environment ?? null, fields.checkRunId ?? null, fields.title ?? null, fields.backupId ?? null, fields.pendingFiles ?? null],
  );
}

export async function finishRun(
  db: pg.Pool,
  id: number,
  outcome: { status: RunStatus; title: string; summary?: string; error?: string; waitingFor?: WaitingFor },
): Promise<void> {
  await db.query(`update runs set status = $2, title = $3, summary = $4, error = $5, waiting_for = $6, finished_at = now() where id = $1`, [
    id,
    outcome.status,
    outcome.title,
    outcome.summary ?? null,
    outcome.error ?? null,
    outcome.waitingFor ?? null,
  ]);
}

export async function recordStep(
  db: pg.Pool,
  runId: number,
  step: { name: string; status: "success" | "failure" | "skipped"; detail?: string; startedAt: Date; durationMs: number },
): Promise<void> {
  await db.query(`insert into run_steps (run_id, step, status, detail, started_at, duration_ms) values ($1, $2, $3, $4, $5, $6)`, [
    runId,
    step.name,
    step.status,
    step.detail ?? null,
    step.startedAt,
    Math.round(step.durationMs),
  ]);
}

/** An unfinished row the run contract refuses: it can never run, and is concluded with `concludeRefusedRun`. */
export interface RefusedRun {
  id: number;
  repo: string;
  installationId: number;
  checkRunId: number | null;
  reason: string;
}

export const REFUSED_RUN_TITLE = "Not run: its request is malformed";

/**
 * Runs not finished yet, and apart the rows the run contract refuses (written by hand, or by an
 * older release), so one bad row does not stop the reaper.
 */
export async function unfinishedRuns(db: pg.Pool): Promise<{ runs: Run[]; refused: RefusedRun[] }> {
  const { rows } = await db.query(`select ${columns} from runs where status in ('queued', 'in_progress') order by id`);
  const runs: Run[] = [];
  const refused: RefusedRun[] = [];
  for (const row of rows) {
    try {
      runs.push(toRun(row));
    } catch (error) {
      if (!(error instanceof MalformedRunError)) throw error;
      refused.push({
        id: int8(row.id, "runs.id"),
        repo: String(row.repo),
        installationId: int8(row.installationId, "runs.installation_id"),
        checkRunId: nullableInt8(row.checkRunId, "runs.check_run_id"),
        reason: error.message,
      });
    }
  }
  return { runs, refused };
}

/** Concludes a refused run as failed with the reason. */
export async function concludeRefusedRun(db: pg.Pool, run: RefusedRun): Promise<void> {
  await db.query(`update runs set status = 'failure', title = $2, error = $3, finished_at = now() where id = $1`, [run.id, REFUSED_RUN_TITLE, run.reason]);
}

/** Puts a run that waited for approvals back in line; false when it no longer waits, or waits for a lock. */
export async function reopenRun(db: pg.Pool, id: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `update runs set status = 'queued', waiting_for = null, finished_at = null
      where id = $1 and status = 'action_required' and waiting_for is distinct from 'lock'`,
    [id],
  );
  return rowCount === 1;
}

export async function findRunByCheckRun(db: pg.Pool, checkRunId: number): Promise<Run | undefined> {
  const [run] = await selectRuns(db, `select ${columns} from runs where check_run_id = $1 order by id desc limit 1`, [checkRunId]);
  return run;
}

/** Whether a backup of the environment is still queued or running: a scheduled slot then skips, so a slow dump never piles up. */
export async function backupUnderway(db: pg.Pool, repo: string, environment: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `select 1 from runs where kind = 'backup' and lower(repo) = lower($1) and params->>'environment' = $2 and status in ('queued', 'in_progress') limit 1`,
    [repo, environment],
  );
  return (rowCount ?? 0) > 0;
}

/** The newest run of a kind on an environment, optionally with a given status. */
export async function latestRun<K extends RunKind>(
  db: pg.Pool,
  repo: string,
  environment: string,
  kind: K,
  statuses?: RunStatus[],
): Promise<RunOf<K> | undefined> {
  const [run] = await selectRuns(
    db,
    `select ${columns} from runs where lower(repo) = lower($1) and environment = $2 and kind = $3
       and ($4::text[] is null or status = any($4)) order by id desc limit 1`,
    [repo, environment, kind, statuses ?? null],
  );
  return ofKind(kind, run);
}

/** The newest migrate run of a commit that waits for people (a lock or approvals); see its waitingFor. */
export async function waitingRunForCommit(db: pg.Pool, repo: string, commitSha: string): Promise<RunOf<"migrate"> | undefined> {
  const [run] = await selectRuns(
    db,
    `select ${columns} from runs where lower(repo) = lower($1) and commit_sha = $2 and kind = 'migrate' and status = 'action_required' order by id desc limit 1`,
    [repo, commitSha],
  );
  return ofKind("migrate", run);
}

/** The repository's newest failed migrate run (what `/autopilot retry` resumes without a number). */
export async function latestFailedMigrateRun(db: pg.Pool, repo: string): Promise<RunOf<"migrate"> | undefined> {
  const [run] = await selectRuns(
    db,
    `select ${columns} from runs where lower(repo) = lower($1) and kind = 'migrate' and status = 'failure' order by id desc limit 1`,
    [repo],
  );
  return ofKind("migrate", run);
}

/**
 * A migrate run after `run` of its repository that is still to finish, or that backed up its
 * environment to change it: resuming `run` over it would apply an older commit's files on top.
 */
export async function laterMigrateRun(db: pg.Pool, run: Run): Promise<{ id: number; status: RunStatus } | undefined> {
  const { rows } = await db.query(
    `select id, status from runs where lower(repo) = lower($1) and kind = 'migrate' and id > $2
        and (status in ('queued', 'in_progress') or (environment = $3 and backup_id is not null))
      order by id limit 1`,
    [run.repo, run.id, run.environment],
  );
  return rows[0] ? { id: int8(rows[0].id, "runs.id"), status: rows[0].status } : undefined;
}

/**
 * Puts a failed run back in line to resume from its checkpoints, answering `reply` when it ends (a
 * new Check Run reports it); false when it is no longer failed (retried already, by someone else).
 */
export async function reopenFailedRun(db: pg.Pool, id: number, reply: unknown): Promise<boolean> {
  const { rowCount } = await db.query(
    `update runs set status = 'queued', error = null, finished_at = null, check_run_id = null,
        params = case when $2::jsonb is null then params - 'reply' else jsonb_set(params, '{reply}', $2::jsonb) end
      where id = $1 and status = 'failure'`,
    [id, reply === undefined ? null : JSON.stringify(reply)],
  );
  return rowCount === 1;
}
