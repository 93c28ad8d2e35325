// Reverts applied migrations with their `<version>_<name>.down.sql` files. Planning is pure: which
// history rows a `rollback <version>` or `rollback last` reverts, and which down files are missing
// (the runbook then refuses, or restores a backup instead). Applying runs the down files newest
// first under the same advisory lock as the migrator, so a rollback and a migration never interleave;
// each down file commits together with its history row marked reverted, or not at all.
import path from "node:path";
import pg from "pg";
import { findTransactionControl } from "./lint/index.js";
import { ensureHistory, markRevertedSql, readHistory, type HistoryRow } from "./history.js";
import { compareVersions, isVersioned, versionKey } from "./migration-files.js";
import type { AppliedMigration } from "./planner.js";
import {
  literal,
  runInOneTransaction,
  TRANSACTION_ELAPSED_MS,
  validTimeouts,
  withMigrationLock,
  type SqlErrorLocation,
  type Timeouts,
} from "./target-session.js";

export interface DownFile {
  version: string;
  name: string;
  path: string;
  sql: string;
}

export interface MissingDownFile {
  version: string;
  name: string;
  expectedPath: string;
}

export interface RevertPlan {
  /** History rows to revert, newest first. */
  revert: AppliedMigration[];
  /** Their down files, newest first: what applyDownMigrations takes when nothing is missing. */
  downs: DownFile[];
  /** Rows of `revert` without a down file. */
  missing: MissingDownFile[];
}

export type PlanRefusal = { error: string };

// ---- planning --------------------------------------------------------------------------------

/** `rollback <version>`: revert every applied (not reverted) migration NEWER than `version`, down to but not including it. */
export function planRevertTo(version: string, history: AppliedMigration[], downs: Map<string, DownFile>, directory: string): RevertPlan | PlanRefusal {
  if (!isVersioned(version)) return { error: `"${version}" is not a migration version (digits, as in 0001)` };
  const destination = history.find((row) => versionKey(row.version) === versionKey(version));
  if (!destination) return { error: `${version} was never applied to this database` };
  if (destination.revertedAt) {
    return { error: `${label(destination)} is itself reverted (${revertedWhen(destination)}): roll back to a version that is applied` };
  }
  // Repeatables sort after every version but have no undo: they are not reverted, only re-run when changed.
  const newer = inEffect(history).filter((row) => isVersioned(row.version) && compareVersions(row.version, version) > 0);
  if (newer.length === 0) return { error: `nothing to revert: ${label(destination)} is the latest applied migration` };
  return planFor(newer, downs, directory);
}

/**
 * `rollback last`: revert exactly the given versions (those one migration run applied), newest first.
 * Versions no longer in effect (reverted since, or gone with a restored backup) are left out.
 */
export function planRevertOf(versions: string[], history: AppliedMigration[], downs: Map<string, DownFile>, directory: string): RevertPlan | PlanRefusal {
  if (versions.length === 0) return { error: "nothing to revert: that run applied no migration" };
  const wanted = new Set(versions.filter(isVersioned).map(versionKey));
  const stillApplied = inEffect(history).filter((row) => wanted.has(versionKey(row.version)));
  if (stillApplied.length === 0) return { error: `nothing to revert: ${versions.join(", ")} ${versions.length === 1 ? "is" : "are"} no longer applied` };
  return planFor(stillApplied, downs, directory);
}

function planFor(rows: AppliedMigration[], downs: Map<string, DownFile>, directory: string): RevertPlan {
  // Keyed numerically: a caller's "4" and the history's "0004" are one version.
  const downByVersion = new Map([...downs.values()].map((down) => [versionKey(down.version), down]));
  const revert = [...rows].sort((a, b) => compareVersions(b.version, a.version));
  const plan: RevertPlan = { revert, downs: [], missing: [] };
  for (const row of revert) {
    const down = downByVersion.get(versionKey(row.version));
    if (down) plan.downs.push(down);
    else plan.missing.push({ version: row.version, name: row.name, expectedPath: path.posix.join(directory || ".", `${row.version}_${row.name}.down.sql`) });
  }
  return plan;
}

const inEffect = (history: AppliedMigration[]) => history.filter((row) => row.revertedAt === null);
const label = (row: { version: string; name: string }) => `${row.version}_${row.name}`;

function revertedWhen(row: AppliedMigration): string {
  const by = (row as Partial<HistoryRow>).revertedBy;
  return `reverted ${row.revertedAt!.toISOString()}${by ? ` by ${by}` : ""}`;
}

// ---- applying --------------------------------------------------------------------------------

export interface RevertOptions {
  databaseUrl: string;
  /** Down files, newest first. */
  downs: DownFile[];
  /** Session lock_timeout for each down file. Default 10s. */
  lockTimeout?: string;
  /** statement_timeout for each down file. Default 0 (none). */
  statementTimeout?: string;
  /** How long to wait for a migration or another rollback holding the migration lock. Default 60. */
  lockWaitSeconds?: number;
  /** Recorded in the history rows' reverted_by. */
  revertedBy: string;
  /** `position` is the down file's 1-based place among the `total` being reverted. */
  onProgress?: (event: { position: number; total: number; file: DownFile }) => void;
}

export interface RevertFailure extends SqlErrorLocation {
  file: DownFile;
  /** Down files this call committed before the failing one (their reverts stay). */
  revertedBefore: DownFile[];
}

export interface RevertResult {
  reverted: Array<{ file: DownFile; durationMs: number }>;
  failure?: RevertFailure;
}

type FileOutcome = { durationMs: number } | { failure: Omit<RevertFailure, "revertedBefore"> };

/**
 * Applies the down files in the order given. Throws LockTimeoutError when the lock stays taken past
 * the deadline and TargetUnavailableError when the database cannot be reached; an SQL error of a
 * down file, or a history that changed since the plan, is a `failure` in the result.
 */
export async function applyDownMigrations(opts: RevertOptions): Promise<RevertResult> {
  const timeouts = validTimeouts(opts.lockTimeout ?? "10s", opts.statementTimeout ?? "0");
  const refused = await splitsItsTransaction(opts.downs);
  if (refused) return { reverted: [], failure: { ...refused, revertedBefore: [] } };
  const session = { databaseUrl: opts.databaseUrl, applicationName: "autopilot-rollback", lockWaitSeconds: opts.lockWaitSeconds ?? 60 };
  return withMigrationLock(session, (client) => revertUnderLock(client, opts, timeouts));
}

async function revertUnderLock(client: pg.Client, opts: RevertOptions, timeouts: Timeouts): Promise<RevertResult> {
  // Re-read under the lock: a migration or another rollback may have run since the plan was made.
  const history = await readHistory(client);
  const checked = matchHistory(opts.downs, history);
  if ("failure" in checked) return { reverted: [], failure: { ...checked.failure, revertedBefore: [] } };
  if (checked.rows.length === 0) return { reverted: [] };
  await ensureHistory(client); // a history table from before rollbacks gets its reverted_by column

  const result: RevertResult = { reverted: [] };
  for (const [index, { file, row }] of checked.rows.entries()) {
    opts.onProgress?.({ position: index + 1, total: checked.rows.length, file });
    const outcome = await revertFile(client, file, row.version, opts.revertedBy, timeouts);
    if ("failure" in outcome) {
      result.failure = { ...outcome.failure, revertedBefore: result.reverted.map((r) => r.file) };
      break;
    }
    result.reverted.push({ file, durationMs: outcome.durationMs });
  }
  return result;
}

/** A down file runs in one transaction with its history update; a COMMIT, ROLLBACK, BEGIN… in it would split them. */
async function splitsItsTransaction(downs: DownFile[]): Promise<Omit<RevertFailure, "revertedBefore"> | undefined> {
  for (const file of downs) {
    const [finding] = await findTransactionControl({ path: file.path, sql: file.sql });
    if (finding) {
      const message = `${path.posix.basename(file.path)} line ${finding.line}: ${finding.message}; it would end that transaction early, so nothing was reverted`;
      return { file, line: finding.line, column: finding.column, code: finding.rule, message, hint: "Remove BEGIN/COMMIT/ROLLBACK from the down file." };
    }
  }
  return undefined;
}

type Matched = { rows: Array<{ file: DownFile; row: HistoryRow }> } | { failure: Omit<RevertFailure, "revertedBefore"> };

/**
 * Pairs each down file with its history row, refusing the whole rollback (before anything runs) when
 * one is not in effect any more, or when a migration that is not being reverted was applied after
 * them: reverting beneath it could break it, so the rollback must be planned again.
 */
function matchHistory(downs: DownFile[], history: HistoryRow[]): Matched {
  const inEffectByVersion = new Map(history.filter((row) => row.revertedAt === null).map((row) => [versionKey(row.version), row]));
  const rows: Array<{ file: DownFile; row: HistoryRow }> = [];
  for (const file of downs) {
    const row = inEffectByVersion.get(versionKey(file.version));
    if (!row) return { failure: notApplied(file, history) };
    rows.push({ file, row });
  }
  if (rows.length === 0) return { rows };
  const lastApplied = Math.max(...rows.map(({ row }) => row.appliedAt.getTime()));
  const reverting = new Set(rows.map(({ row }) => row.version));
  // A repeatable re-runs whenever it changes rather than stacking on a version: it does not pin the versions below it.
  const laterOne = [...inEffectByVersion.values()].find(
    (row) => isVersioned(row.version) && !reverting.has(row.version) && row.appliedAt.getTime() > lastApplied,
  );
  if (laterOne) return { failure: appliedSince(downs[0], laterOne) };
  return { rows };
}

function notApplied(file: DownFile, history: HistoryRow[]): Omit<RevertFailure, "revertedBefore"> {
  const row = history.find((r) => versionKey(r.version) === versionKey(file.version));
  const state = row ? `was already ${revertedWhen(row)}` : "is not in the history";
  return { file, line: 1, code: "not-applied", message: `${label(file)} ${state}: the history changed since the rollback was planned; nothing was reverted` };
}

function appliedSince(file: DownFile, later: HistoryRow): Omit<RevertFailure, "revertedBefore"> {
  return {
    file,
    line: 1,
    code: "history-changed",
    message: `${label(later)} was applied (${later.appliedAt.toISOString()}) after the migrations to revert, and would stay on top of them; nothing was reverted: plan the rollback again`,
  };
}

/** The down file and the history update that marks the version reverted commit together (see runInOneTransaction). */
async function revertFile(client: pg.Client, file: DownFile, historyVersion: string, revertedBy: string, timeouts: Timeouts): Promise<FileOutcome> {
  const record = markRevertedSql(historyVersion, revertedBy, TRANSACTION_ELAPSED_MS, (v) => literal(client, v));
  const outcome = await runInOneTransaction(client, file.sql, timeouts, record, "revert_ms");
  return "error" in outcome ? { failure: { file, ...outcome.error } } : outcome;
}
