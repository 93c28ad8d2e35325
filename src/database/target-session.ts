// A session on a target database that changes its schema: the connection, the advisory lock that
// serializes every such session (migrations and rollbacks alike), the timeouts, and the mapping of
// a PostgreSQL error back to the file and line that caused it. Shared by the migrator and rollback.
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { redact } from "../redact.js";
import { isValidDuration } from "./directives.js";
import { LockTimeoutError, TargetUnavailableError } from "./errors.js";
import { indexOfCharacterPosition, LineIndex, splitStatements, type SqlStatement } from "./sql-split.js";

/** "autopilt" in ASCII: one fixed 64-bit key shared by every Autopilot process changing a database. */
export const MIGRATION_LOCK_KEY = "7022647215930305652";
/**
 * Held shared by every session that works for a holder of the migration lock (`heldBy`), until the
 * session ends. A holder killed mid-file loses the migration lock at once (its idle lock session
 * ends), but the session applying the file runs on to the end of its query, and may commit it: a
 * new holder waits for this lock before it reads the history, so it never runs a file beside it.
 */
export const WORKING_SESSIONS_LOCK_KEY = "7022647215930305653";
const LOCK_POLL_MS = 250;

export interface Timeouts {
  lockTimeout: string;
  statementTimeout: string;
}

export function validTimeouts(lockTimeout: string, statementTimeout: string): Timeouts {
  for (const value of [lockTimeout, statementTimeout]) {
    if (!isValidDuration(value)) throw new Error(`invalid timeout "${value}": use a duration like 5s, 500ms, 10min or 0`);
  }
  return { lockTimeout, statementTimeout };
}

export interface LockedSessionOptions {
  databaseUrl: string;
  applicationName: string;
  /** How long to wait for another run's advisory lock. */
  lockWaitSeconds: number;
  /** Called once, when the lock is found taken and the session starts waiting for it. */
  onWaiting?: () => void;
  /** The caller already holds the lock in a session of its own (holdMigrationLock): do not take it again. */
  heldBy?: HeldMigrationLock;
}

/**
 * Connects, takes the migration lock (unless `heldBy` says the caller holds it), runs `work`, and
 * always releases the lock and the connection. Anything thrown other than our own errors is
 * re-thrown as a (redacted) TargetUnavailableError: SQL errors a file causes are the caller's to
 * turn into results before they get here.
 */
export async function withMigrationLock<T>(opts: LockedSessionOptions, work: (client: pg.Client) => Promise<T>): Promise<T> {
  opts.heldBy?.assertHolds(opts.databaseUrl);
  const client = opts.heldBy ? await workingSession(opts) : await lockedSession(opts);
  try {
    return await work(client);
  } catch (error) {
    throw asConnectionError(error);
  } finally {
    await endSession(client, !opts.heldBy);
  }
}

/** Proof, handed to `work` by holdMigrationLock, that this process holds a database's migration lock. */
export class HeldMigrationLock {
  private releasedBecause?: string;

  constructor(readonly databaseUrl: string) {}

  release(because = "the migration lock was already released"): void {
    this.releasedBecause ??= because;
  }

  assertHolds(databaseUrl: string): void {
    if (this.releasedBecause) throw new Error(this.releasedBecause);
    if (databaseUrl !== this.databaseUrl) throw new Error("the migration lock held is another database's");
  }
}

/**
 * Takes the migration lock in a session of its own and keeps it while `work` runs, so that steps
 * which do not run through one session (a migration, then a pg_dump and a psql restore) form one
 * critical section that no other migration, rollback or restore of the database can interleave with.
 * Errors of `work` pass through unchanged; failing to connect or to get the lock throws
 * TargetUnavailableError or LockTimeoutError. A session that ends under `work` (server restart,
 * terminated backend) has lost the lock: the token then refuses to vouch for it.
 */
export async function holdMigrationLock<T>(opts: Omit<LockedSessionOptions, "heldBy">, work: (lock: HeldMigrationLock) => Promise<T>): Promise<T> {
  const client = await lockedSession(opts);
  const lock = new HeldMigrationLock(opts.databaseUrl);
  client.once("end", () => lock.release("the migration lock was lost: the session holding it ended"));
  try {
    return await work(lock);
  } finally {
    lock.release();
    await endSession(client, true);
  }
}

/**
 * Ending the session releases the lock anyway; unlocking first frees it before `end` returns, for the
 * next run. An unlock failure must not hide the real outcome.
 */
async function endSession(client: pg.Client, unlock: boolean): Promise<void> {
  if (unlock) await client.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
  await client.end().catch(() => undefined);
}

/** A new session holding the migration lock; nothing is left open when it cannot be had. */
async function lockedSession(opts: LockedSessionOptions): Promise<pg.Client> {
  const client = await connect(opts.databaseUrl, opts.applicationName);
  try {
    await acquireLock(client, opts);
    await waitForEarlierWorkingSessions(client, opts);
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw asConnectionError(error);
  }
}

/** A session working for the caller's migration lock, marked as such (WORKING_SESSIONS_LOCK_KEY). */
async function workingSession(opts: LockedSessionOptions): Promise<pg.Client> {
  const client = await connect(opts.databaseUrl, opts.applicationName);
  try {
    await client.query("select pg_advisory_lock_shared($1::bigint)", [WORKING_SESSIONS_LOCK_KEY]);
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw asConnectionError(error);
  }
}

/**
 * Waits (polled, to the same deadline as the lock) until no session of an earlier holder is still
 * working: one of a killed process runs its last query to the end before PostgreSQL notices.
 */
async function waitForEarlierWorkingSessions(client: pg.Client, opts: LockedSessionOptions): Promise<void> {
  const deadline = Date.now() + opts.lockWaitSeconds * 1000;
  for (;;) {
    const { rows } = await client.query("select pg_try_advisory_lock($1::bigint) as free", [WORKING_SESSIONS_LOCK_KEY]);
    if (rows[0].free) {
      await client.query("select pg_advisory_unlock($1::bigint)", [WORKING_SESSIONS_LOCK_KEY]);
      return;
    }
    if (Date.now() >= deadline)
      throw new LockTimeoutError(
        `a session of an earlier migration run (its process gone) is still running a file on this database; gave up after ${opts.lockWaitSeconds} s`,
      );
    await sleep(Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

async function connect(databaseUrl: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: applicationName });
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
async function acquireLock(client: pg.Client, opts: LockedSessionOptions): Promise<void> {
  const deadline = Date.now() + opts.lockWaitSeconds * 1000;
  for (let attempt = 0; ; attempt++) {
    const { rows } = await client.query("select pg_try_advisory_lock($1::bigint) as locked", [MIGRATION_LOCK_KEY]);
    if (rows[0].locked) return;
    if (Date.now() >= deadline) throw new LockTimeoutError(await lockTimeoutMessage(client, opts.lockWaitSeconds));
    if (attempt === 0) opts.onWaiting?.();
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
  const holder = rows[0]
    ? ` (held by pid ${rows[0].pid}${rows[0].application_name ? `, ${rows[0].application_name}` : ""}, connected ${rows[0].backend_start.toISOString()})`
    : "";
  return `another migration run holds the migration lock on this database${holder}; gave up after ${waitedSeconds} s`;
}

// ---- one file in one transaction -----------------------------------------------------------

export const literal = (client: pg.Client, value: string) => client.escapeLiteral(value);

/** `begin; set local …;` ahead of a file: ASCII only, so error positions past it can be shifted by its length. */
export function transactionPrefix(client: pg.Client, timeouts: Timeouts): string {
  return `begin; set local lock_timeout = ${literal(client, timeouts.lockTimeout)}; set local statement_timeout = ${literal(client, timeouts.statementTimeout)};\n`;
}

// ---- errors ----------------------------------------------------------------------------------

/** Where in a file an SQL error happened, with PostgreSQL's fields redacted. */
export interface SqlErrorLocation {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  /** 1-based line in the file; 1 when nothing more precise is known. */
  line: number;
  column?: number;
  statement?: string;
}

/** A SQL error the file caused, as opposed to losing the connection (which the caller retries). */
export function isMigrationError(error: unknown): error is pg.DatabaseError {
  if (!(error instanceof pg.DatabaseError)) return false;
  const code = error.code ?? "";
  return !code.startsWith("08") && !["57P01", "57P02", "57P03"].includes(code);
}

function errorFields(error: pg.DatabaseError) {
  return { message: redact(error.message), code: error.code, detail: error.detail && redact(error.detail), hint: error.hint && redact(error.hint) };
}

/**
 * Locates an error of a file sent whole as `prefix + sql + …` (already rolled back). A syntax error
 * carries a position; a run-time error does not, so the file is replayed to find its statement.
 */
export async function locateTransactionalError(
  client: pg.Client,
  sql: string,
  timeouts: Timeouts,
  error: pg.DatabaseError,
  prefixLength: number,
): Promise<SqlErrorLocation> {
  if (error.position) {
    // The prefix is ASCII, so its length in characters is its length in code points.
    const index = indexOfCharacterPosition(sql, Number(error.position) - prefixLength);
    const statement = splitStatements(sql)
      .filter((s) => s.offset <= index)
      .pop();
    return { ...errorFields(error), ...new LineIndex(sql).locate(index), statement: statement?.text };
  }
  const replayed = await replayToFindFailingStatement(client, sql, timeouts);
  if (!replayed) return { ...errorFields(error), line: 1 };
  return { ...locateStatementError(sql, replayed.statement, replayed.error), ...errorFields(error) };
}

/**
 * PostgreSQL gives no position for run-time errors (a unique violation, a timeout). Replays the file
 * statement by statement inside a transaction that is always rolled back, to learn which statement
 * fails. Bounded by the same timeouts as the real run.
 */
async function replayToFindFailingStatement(
  client: pg.Client,
  sql: string,
  timeouts: Timeouts,
): Promise<{ statement: SqlStatement; error: pg.DatabaseError } | undefined> {
  await client.query(
    `begin; set local lock_timeout = ${literal(client, timeouts.lockTimeout)}; set local statement_timeout = ${literal(client, timeouts.statementTimeout)}`,
  );
  try {
    for (const statement of splitStatements(sql)) {
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

/** Error of one known statement of a file: its error position (if any) is relative to the statement text. */
export function locateStatementError(sql: string, statement: SqlStatement, error: pg.DatabaseError): SqlErrorLocation {
  const within = error.position ? indexOfCharacterPosition(statement.text, Number(error.position)) : 0;
  const where = new LineIndex(sql).locate(statement.offset + within);
  return { ...errorFields(error), line: where.line, column: error.position ? where.column : undefined, statement: statement.text };
}

/** The time since the transaction began, in whole milliseconds, as measured by the server. */
export const TRANSACTION_ELAPSED_MS = "(extract(epoch from clock_timestamp() - now()) * 1000)::int";

/**
 * Runs a file and the statement that records it in one transaction and one simple-protocol round
 * trip: BEGIN; SET LOCAL …; <sql>; <record>; COMMIT. PostgreSQL parses the whole string before running
 * any of it, so a syntax error anywhere runs nothing. `record` returns a row whose `durationColumn`
 * holds the duration (use TRANSACTION_ELAPSED_MS).
 */
export async function runInOneTransaction(
  client: pg.Client,
  sql: string,
  timeouts: Timeouts,
  record: string,
  durationColumn: string,
): Promise<{ durationMs: number } | { error: SqlErrorLocation }> {
  const prefix = transactionPrefix(client, timeouts);
  // The newline ends a trailing `--` comment; the semicolon ends a last statement without one.
  const suffix = `\n;\n${record};\ncommit;`;
  try {
    const results = await client.query(prefix + sql + suffix);
    const list = Array.isArray(results) ? results : [results];
    const recorded = [...list].reverse().find((r) => r.rows?.[0]?.[durationColumn] !== undefined);
    return { durationMs: recorded ? Number(recorded.rows[0][durationColumn]) : 0 };
  } catch (error) {
    if (!isMigrationError(error)) throw error;
    await client.query("rollback");
    return { error: await locateTransactionalError(client, sql, timeouts, error, prefix.length) };
  }
}
