// Applies pending migration files to a target database, one at a time, under a session-level
// advisory lock, each file in its own transaction (or statement by statement for no-transaction
// files), recording each in autopilot.schema_migrations. A failing file stops the run and is
// reported at its file and line; the files committed before it stay committed.
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { redact } from "../redact.js";
import { isValidDuration } from "./directives.js";
import { LockTimeoutError, TargetUnavailableError } from "./errors.js";
import { ensureHistory, readHistory, recordAppliedSql, type HistoryEntry } from "./history.js";
import { versionKey, type MigrationFile } from "./migration-files.js";
import { checksumChangedMessage, type AppliedMigration } from "./planner.js";
import { indexOfCharacterPosition, LineIndex, splitStatements, type SqlStatement } from "./sql-split.js";

export { LockTimeoutError, TargetUnavailableError } from "./errors.js";

/** "autopilt" in ASCII: one fixed 64-bit key shared by every Autopilot process migrating a database. */
export const MIGRATION_LOCK_KEY = "7022647215930305652";
const LOCK_POLL_MS = 250;

export interface ProgressEvent {
  kind: "waiting-for-lock" | "applying" | "applied";
  index: number;
  total: number;
  file?: MigrationFile;
  durationMs?: number;
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Pending files, already in order. */
  migrations: MigrationFile[];
  /** Session lock_timeout for each file unless the file overrides it. Default 10s. */
  lockTimeout?: string;
  /** statement_timeout for each file unless the file overrides it. Default 0 (none). */
  statementTimeout?: string;
  /** How long to wait for another run's advisory lock. Default 60. */
  lockWaitSeconds?: number;
  appliedBy: string;
  commitSha?: string | null;
  onProgress?: (event: ProgressEvent) => void;
}

export interface MigrationFailure {
  file: MigrationFile;
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  /** 1-based line in the file; 1 when nothing more precise is known. */
  line: number;
  column?: number;
  statement?: string;
  /** Files this run committed before the failing one. */
  committedBefore: MigrationFile[];
  /** no-transaction files only: how many of its statements ran (and stay) before the failing one. */
  statementsCommitted?: number;
}

export interface MigrateResult {
  applied: Array<{ file: MigrationFile; durationMs: number }>;
  /** Files found already applied (same checksum) once the lock was held, e.g. a push delivered twice. */
  skipped: MigrationFile[];
  failure?: MigrationFailure;
}

interface Timeouts {
  lockTimeout: string;
  statementTimeout: string;
}

type FileOutcome = { durationMs: number } | { failure: Omit<MigrationFailure, "committedBefore"> };

export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const defaults = validTimeouts(opts.lockTimeout ?? "10s", opts.statementTimeout ?? "0");
  const client = await connect(opts.databaseUrl);
  try {
    await acquireLock(client, opts);
    try {
      return await applyPending(client, opts, defaults);
    } finally {
      // Ending the session releases the lock anyway; an unlock failure must not hide the real outcome.
      await client.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } catch (error) {
    throw asConnectionError(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function validTimeouts(lockTimeout: string, statementTimeout: string): Timeouts {
  for (const value of [lockTimeout, statementTimeout]) {
    if (!isValidDuration(value)) throw new Error(`invalid timeout "${value}": use a duration like 5s, 500ms, 10min or 0`);
  }
  return { lockTimeout, statementTimeout };
}

async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "autopilot-migrate" });
  client.on("error", () => undefined); // a dropped connection surfaces as the pending query's error
  try {
    await client.connect();
  } catch (error) {
    throw asConnectionError(error);
  }
  return client;
}

/** Re-throws as TargetUnavailableError with connection strings redacted; leaves our own errors as they are. */
function asConnectionError(error: unknown): Error {
  if (error instanceof LockTimeoutError || error instanceof TargetUnavailableError) return error;
  const err = error as { message?: string; code?: string };
  return new TargetUnavailableError(redact(`target database unavailable: ${err.message ?? String(error)}`), err.code);
}

// ---- advisory lock -------------------------------------------------------------------------

/**
 * A session-level lock, polled: a transaction-scoped lock would be held by a transaction that
 * CREATE INDEX CONCURRENTLY then waits for, and pg_advisory_lock would block without a deadline.
 */
async function acquireLock(client: pg.Client, opts: MigrateOptions): Promise<void> {
  const deadline = Date.now() + (opts.lockWaitSeconds ?? 60) * 1000;
  for (let attempt = 0; ; attempt++) {
    const { rows } = await client.query("select pg_try_advisory_lock($1::bigint) as locked", [MIGRATION_LOCK_KEY]);
    if (rows[0].locked) return;
    if (Date.now() >= deadline) throw new LockTimeoutError(await lockTimeoutMessage(client, opts.lockWaitSeconds ?? 60));
    if (attempt === 0) opts.onProgress?.({ kind: "waiting-for-lock", index: 0, total: opts.migrations.length });
    await sleep(Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

async function lockTimeoutMessage(client: pg.Client, waitedSeconds: number): Promise<string> {
  const key = BigInt(MIGRATION_LOCK_KEY);
  const { rows } = await client.query(
    `select a.pid, a.application_name, a.backend_start from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.classid = $1::oid and l.objid = $2::oid and l.objsubid = 1`,
    [String(key >> 32n), String(key & 0xffffffffn)],
  );
  const holder = rows[0] ? ` (held by pid ${rows[0].pid}${rows[0].application_name ? `, ${rows[0].application_name}` : ""}, connected ${rows[0].backend_start.toISOString()})` : "";
  return `another migration run holds the migration lock on this database${holder}; gave up after ${waitedSeconds} s`;
}

// ---- the run ---------------------------------------------------------------------------------

async function applyPending(client: pg.Client, opts: MigrateOptions, defaults: Timeouts): Promise<MigrateResult> {
  await ensureHistory(client);
  // Re-read under the lock: another run may have applied some of these files while we waited.
  const history = new Map((await readHistory(client)).filter((r) => r.revertedAt === null).map((r) => [versionKey(r.version), r]));
  const result: MigrateResult = { applied: [], skipped: [] };
  const total = opts.migrations.length;

  for (const [position, file] of opts.migrations.entries()) {
    const previous = history.get(versionKey(file.version));
    if (previous?.checksum === file.checksum) {
      result.skipped.push(file);
      continue;
    }
    const committedBefore = result.applied.map((a) => a.file);
    if (previous) {
      result.failure = { ...changedSinceApplied(file, previous), committedBefore };
      break;
    }
    opts.onProgress?.({ kind: "applying", index: position + 1, total, file });
    const outcome = await applyFile(client, file, opts, defaults);
    if ("failure" in outcome) {
      result.failure = { ...outcome.failure, committedBefore };
      break;
    }
    result.applied.push({ file, durationMs: outcome.durationMs });
    opts.onProgress?.({ kind: "applied", index: position + 1, total, file, durationMs: outcome.durationMs });
  }
  return result;
}

function changedSinceApplied(file: MigrationFile, previous: AppliedMigration): Omit<MigrationFailure, "committedBefore"> {
  return { file, line: 1, code: "checksum-mismatch", message: checksumChangedMessage(file.filename, previous.checksum, file.checksum) };
}

function applyFile(client: pg.Client, file: MigrationFile, opts: MigrateOptions, defaults: Timeouts): Promise<FileOutcome> {
  const timeouts: Timeouts = {
    lockTimeout: file.directives.lockTimeout ?? defaults.lockTimeout,
    statementTimeout: file.directives.statementTimeout ?? defaults.statementTimeout,
  };
  const entry: HistoryEntry = { version: file.version, name: file.name, checksum: file.checksum, appliedBy: opts.appliedBy, commitSha: opts.commitSha ?? null };
  return file.directives.noTransaction
    ? applyStatementByStatement(client, file, timeouts, entry)
    : applyInTransaction(client, file, timeouts, entry);
}

const literal = (client: pg.Client, value: string) => client.escapeLiteral(value);

/**
 * The whole file, its timeouts and its history row travel in one simple-protocol query:
 * BEGIN; SET LOCAL …; <file>; INSERT history; COMMIT. One round trip per file, and PostgreSQL parses
 * the entire string before running any of it, so a syntax error anywhere runs nothing. The duration
 * is measured by the server (now() is the transaction start).
 */
async function applyInTransaction(client: pg.Client, file: MigrationFile, timeouts: Timeouts, entry: HistoryEntry): Promise<FileOutcome> {
  const prefix = `begin; set local lock_timeout = ${literal(client, timeouts.lockTimeout)}; set local statement_timeout = ${literal(client, timeouts.statementTimeout)};\n`;
  // The newline ends a trailing `--` comment; the semicolon ends a last statement without one.
  const suffix = `\n;\n${recordAppliedSql(entry, "(extract(epoch from clock_timestamp() - now()) * 1000)::int", (v) => literal(client, v))};\ncommit;`;
  try {
    const results = await client.query(prefix + file.sql + suffix);
    return { durationMs: durationFromResults(results) };
  } catch (error) {
    if (!isMigrationError(error)) throw error;
    await client.query("rollback");
    return { failure: await describeTransactionalFailure(client, file, timeouts, error, prefix.length) };
  }
}

function durationFromResults(results: pg.QueryResult | pg.QueryResult[]): number {
  const list = Array.isArray(results) ? results : [results];
  const recorded = [...list].reverse().find((r) => r.rows?.[0]?.duration_ms !== undefined);
  return recorded ? Number(recorded.rows[0].duration_ms) : 0;
}

async function applyStatementByStatement(client: pg.Client, file: MigrationFile, timeouts: Timeouts, entry: HistoryEntry): Promise<FileOutcome> {
  const started = performance.now();
  await client.query(`set lock_timeout = ${literal(client, timeouts.lockTimeout)}; set statement_timeout = ${literal(client, timeouts.statementTimeout)}`);
  const statements = splitStatements(file.sql);
  for (const [index, statement] of statements.entries()) {
    try {
      await client.query(statement.text);
    } catch (error) {
      if (!isMigrationError(error)) throw error;
      return { failure: { ...failureAt(file, statement, error), statementsCommitted: index } };
    }
  }
  const durationMs = Math.round(performance.now() - started);
  await client.query(recordAppliedSql(entry, String(durationMs), (v) => literal(client, v)));
  return { durationMs };
}

// ---- errors ----------------------------------------------------------------------------------

/** A SQL error the file caused, as opposed to losing the connection (which the caller retries). */
function isMigrationError(error: unknown): error is pg.DatabaseError {
  if (!(error instanceof pg.DatabaseError)) return false;
  const code = error.code ?? "";
  return !code.startsWith("08") && !["57P01", "57P02", "57P03"].includes(code);
}

function errorFields(error: pg.DatabaseError) {
  return { message: redact(error.message), code: error.code, detail: error.detail && redact(error.detail), hint: error.hint && redact(error.hint) };
}

async function describeTransactionalFailure(
  client: pg.Client,
  file: MigrationFile,
  timeouts: Timeouts,
  error: pg.DatabaseError,
  prefixLength: number,
): Promise<Omit<MigrationFailure, "committedBefore">> {
  if (error.position) {
    // The prefix is ASCII, so its length in characters is its length in code points.
    const index = indexOfCharacterPosition(file.sql, Number(error.position) - prefixLength);
    const statement = splitStatements(file.sql).filter((s) => s.offset <= index).pop();
    return { file, ...errorFields(error), ...new LineIndex(file.sql).locate(index), statement: statement?.text };
  }
  const replayed = await replayToFindFailingStatement(client, file, timeouts);
  if (!replayed) return { file, ...errorFields(error), line: 1 };
  return { ...failureAt(file, replayed.statement, replayed.error), ...errorFields(error) };
}

/**
 * PostgreSQL gives no position for run-time errors (a unique violation, a timeout). Replays the file
 * statement by statement inside a transaction that is always rolled back, to learn which statement
 * fails. Bounded by the same timeouts as the real run.
 */
async function replayToFindFailingStatement(client: pg.Client, file: MigrationFile, timeouts: Timeouts): Promise<{ statement: SqlStatement; error: pg.DatabaseError } | undefined> {
  await client.query(`begin; set local lock_timeout = ${literal(client, timeouts.lockTimeout)}; set local statement_timeout = ${literal(client, timeouts.statementTimeout)}`);
  try {
    for (const statement of splitStatements(file.sql)) {
      try {
        await client.query(statement.text);
      } catch (error) {
        if (!isMigrationError(error)) throw error;
        return { statement, error };
      }
    }
    return undefined;
  } finally {
    await client.query("rollback");
  }
}

/** Failure of one known statement: its error position (if any) is relative to the statement text. */
function failureAt(file: MigrationFile, statement: SqlStatement, error: pg.DatabaseError): Omit<MigrationFailure, "committedBefore"> {
  const within = error.position ? indexOfCharacterPosition(statement.text, Number(error.position)) : 0;
  const where = new LineIndex(file.sql).locate(statement.offset + within);
  return { file, ...errorFields(error), line: where.line, column: error.position ? where.column : undefined, statement: statement.text };
}
