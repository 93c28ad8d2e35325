// Applies pending migration files to a target database, one at a time, under a session-level
// advisory lock, each file in its own transaction (or statement by statement for no-transaction
// files), recording each in autopilot.schema_migrations. A failing file stops the run and is
// reported at its file and line; the files committed before it stay committed. A transactional file
// that would end its own transaction (COMMIT, ROLLBACK, BEGIN…) is refused before anything runs.
import pg from "pg";
import type { Problem } from "./errors.js";
import { findTransactionControl } from "./lint/index.js";
import { ensureHistory, readHistory, recordAppliedSql, type HistoryEntry } from "./history.js";
import { versionKey, type MigrationFile } from "./migration-files.js";
import { checksumChangedMessage, type AppliedMigration } from "./planner.js";
import { splitStatements } from "./sql-split.js";
import {
  isMigrationError,
  literal,
  locateStatementError,
  runInOneTransaction,
  TRANSACTION_ELAPSED_MS,
  validTimeouts,
  withMigrationLock,
  type HeldMigrationLock,
  type SqlErrorLocation,
  type Timeouts,
} from "./target-session.js";

export { LockTimeoutError, TargetUnavailableError } from "./errors.js";
export { MIGRATION_LOCK_KEY } from "./target-session.js";

/** `position` is the file's 1-based place among the `total` files of the run. */
export type ProgressEvent =
  | { kind: "waiting-for-lock"; total: number }
  | { kind: "applying"; position: number; total: number; file: MigrationFile }
  | { kind: "applied"; position: number; total: number; file: MigrationFile; durationMs: number };

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
  /** The caller holds the migration lock already (holdMigrationLock), e.g. to restore under it afterwards. */
  heldLock?: HeldMigrationLock;
  /** Asked before each file: true stops the run there (a cancel), never inside a file. */
  shouldStop?: () => Promise<boolean>;
}

export interface MigrationFailure extends SqlErrorLocation {
  file: MigrationFile;
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
  /** `shouldStop` said stop: the files not started, in order (those before it stay applied). */
  stopped?: { remaining: MigrationFile[] };
}

type FileOutcome = { durationMs: number } | { failure: Omit<MigrationFailure, "committedBefore"> };

export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const defaults = validTimeouts(opts.lockTimeout ?? "10s", opts.statementTimeout ?? "0");
  const [refused] = await transactionControlFailures(opts.migrations);
  if (refused) return { applied: [], skipped: [], failure: { ...refused, committedBefore: [] } };
  const session = {
    databaseUrl: opts.databaseUrl,
    applicationName: "autopilot-migrate",
    lockWaitSeconds: opts.lockWaitSeconds ?? 60,
    onWaiting: () => opts.onProgress?.({ kind: "waiting-for-lock", total: opts.migrations.length }),
    heldBy: opts.heldLock,
  };
  return withMigrationLock(session, (client) => applyPending(client, opts, defaults));
}

// ---- the run ---------------------------------------------------------------------------------

async function applyPending(client: pg.Client, opts: MigrateOptions, defaults: Timeouts): Promise<MigrateResult> {
  await ensureHistory(client);
  // Re-read under the lock: another run may have applied some of these files while we waited.
  const history = new Map((await readHistory(client)).filter((r) => r.revertedAt === null).map((r) => [versionKey(r.version), r]));
  const result: MigrateResult = { applied: [], skipped: [] };
  const total = opts.migrations.length;

  for (const [index, file] of opts.migrations.entries()) {
    const position = index + 1;
    const previous = history.get(versionKey(file.version));
    if (previous?.checksum === file.checksum) {
      result.skipped.push(file);
      continue;
    }
    const committedBefore = result.applied.map((a) => a.file);
    if (previous && !file.repeatable) {
      result.failure = { ...changedSinceApplied(file, previous), committedBefore };
      break;
    }
    if (await opts.shouldStop?.()) {
      result.stopped = { remaining: opts.migrations.slice(index).filter((f) => history.get(versionKey(f.version))?.checksum !== f.checksum) };
      break;
    }
    // A hold whose session ended (held by the caller, see holdMigrationLock) no longer keeps others out.
    opts.heldLock?.assertHolds(opts.databaseUrl);
    opts.onProgress?.({ kind: "applying", position, total, file });
    const outcome = await applyFile(client, file, opts, defaults);
    if ("failure" in outcome) {
      result.failure = { ...outcome.failure, committedBefore };
      break;
    }
    result.applied.push({ file, durationMs: outcome.durationMs });
    opts.onProgress?.({ kind: "applied", position, total, file, durationMs: outcome.durationMs });
  }
  return result;
}

/**
 * Transactional files that contain BEGIN, COMMIT, ROLLBACK, END… (found by the lint's parser): run
 * inside the migrator's transaction, such a statement ends it early, so the rest of the file runs
 * without the SET LOCAL timeouts and commits apart from its history row. `-- autopilot:no-transaction`
 * files manage their own transactions and may use them.
 */
export async function transactionControlFailures(files: MigrationFile[]): Promise<Array<Omit<MigrationFailure, "committedBefore">>> {
  const failures: Array<Omit<MigrationFailure, "committedBefore">> = [];
  for (const file of files.filter((f) => !f.directives.noTransaction)) {
    const [finding] = await findTransactionControl({ path: file.path, sql: file.sql });
    if (finding) {
      const message = `${file.filename} line ${finding.line}: ${finding.message}; it would end that transaction early, so the file is refused and nothing of this run is applied`;
      failures.push({ file, line: finding.line, column: finding.column, code: finding.rule, message, hint: finding.instead });
    }
  }
  return failures;
}

/** transactionControlFailures as plan problems, to refuse a run before it backs up or takes a lock. */
export async function transactionControlProblems(files: MigrationFile[]): Promise<Problem[]> {
  return (await transactionControlFailures(files)).map((f) => ({
    code: f.code!,
    path: f.file.path,
    line: f.line,
    message: `${f.message}. ${f.hint}`,
    severity: "error",
  }));
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
  return file.directives.noTransaction ? applyStatementByStatement(client, file, timeouts, entry) : applyInTransaction(client, file, timeouts, entry);
}

/** The file and its history row commit together, in one round trip (see runInOneTransaction). */
async function applyInTransaction(client: pg.Client, file: MigrationFile, timeouts: Timeouts, entry: HistoryEntry): Promise<FileOutcome> {
  const record = recordAppliedSql(entry, TRANSACTION_ELAPSED_MS, (v) => literal(client, v));
  const outcome = await runInOneTransaction(client, file.sql, timeouts, record, "duration_ms");
  return "error" in outcome ? { failure: { file, ...outcome.error } } : outcome;
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
      return { failure: { file, ...locateStatementError(file.sql, statement, error), statementsCommitted: index } };
    }
  }
  const durationMs = Math.round(performance.now() - started);
  await client.query(recordAppliedSql(entry, String(durationMs), (v) => literal(client, v)));
  return { durationMs };
}
