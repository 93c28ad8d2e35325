// `autopilot plan` and `autopilot migrate`: the migration engine for an operator's terminal or a CI
// job, calling the same domain code as the push runbook. Progress goes to stderr, results to stdout;
// errors are `file:line: message`, redacted, with exit code 1. What only one command needs (pg for
// the history and the migrator, the parser for lint, YAML for the repo config) is imported when that
// command runs, so `plan --lint` starts without loading the rest.
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import type { Command } from "commander";
import { isValidDuration } from "../database/directives.js";
import { hasErrors, type Problem } from "../database/errors.js";
import type { PreparedLint } from "../database/lint/grammar-thread.js";
import type { LintOptions, LintSettings } from "../database/lint/index.js";
import { describeLayout, DIESEL_CONFIG, dieselMigrationsDirectory, LAYOUT_NAMES, SUPABASE_DIRECTORY, type LayoutName } from "../database/layouts/index.js";
import { DEFAULT_DIRECTORY, loadMigrationDirectory, type LoadedDirectory, type MigrationFile } from "../database/migration-files.js";
import type { MigrationFailure, ProgressEvent } from "../database/migrator.js";
import { plan, type Plan } from "../database/planner.js";
import { redact } from "../redact.js";
import { connectionOptions, resolveDatabaseUrl, runCommand, type ConnectionFlags } from "./common.js";

export interface TargetFlags extends ConnectionFlags {
  dir: string;
  layout?: string;
  outOfOrder?: boolean;
}

interface PlanFlags extends TargetFlags {
  lint?: boolean;
  repoConfig: string;
}

interface MigrateFlags extends TargetFlags {
  lockTimeout: string;
  statementTimeout: string;
  lockWait: string;
  appliedBy?: string;
  commitSha?: string;
}

function targetOptions(command: Command): Command {
  return connectionOptions(command)
    .requiredOption("--dir <directory>", "migrations directory (absent migrations/: supabase/migrations)", DEFAULT_DIRECTORY)
    .option("--layout <layout>", `how the files are named: ${LAYOUT_NAMES.join(", ")} (default: detected from the files)`)
    .option("--out-of-order", "allow new files that sort before already-applied ones");
}

export function registerMigrateCommands(program: Command): void {
  targetOptions(program.command("plan").description("show which migrations would run and any integrity problem; exit 1 on errors"))
    .option("--lint", "also lint the pending files (every file when no database is given); exit 1 on error-level findings")
    .option("--repo-config <path>", "repository config whose lint: section sets rule severities", ".github/autopilot.yml")
    .action((flags: PlanFlags) => runCommand(() => planCommand(flags)));

  targetOptions(program.command("migrate").description("apply pending migrations, each in its own transaction, under an advisory lock"))
    .option("--lock-timeout <duration>", "lock_timeout for each file unless the file sets one", "10s")
    .option("--statement-timeout <duration>", "statement_timeout for each file unless the file sets one (0 = none)", "0")
    .option("--lock-wait <seconds>", "how long to wait for another migration run to finish", "60")
    .option("--applied-by <who>", "recorded in the history (default cli:<user>)")
    .option("--commit-sha <sha>", "recorded in the history")
    .action((flags: MigrateFlags) => runCommand(() => migrateCommand(flags)));
}

async function planCommand(flags: PlanFlags): Promise<void> {
  // Linting needs no database: without one, every file is linted, so it runs on a laptop or in CI.
  if (flags.lint && !flags.databaseUrl && !flags.databaseUrlEnv) return lintOnly(flags);
  const { files, plan: result, databaseUrl } = await loadAndPlan(flags);
  printProblems(result.problems);
  if (result.pending.length === 0) console.log(`Nothing pending: ${result.applied.length} migration(s) applied, database up to date.`);
  else {
    console.log(`Pending (${result.pending.length}):`);
    const byPath = new Map(files.map((f) => [f.path, f]));
    for (const ref of result.pending) console.log(`  ${ref.filename}${byPath.get(ref.path)?.directives.noTransaction ? "  [no-transaction]" : ""}`);
  }
  if (hasErrors(result.problems)) process.exitCode = 1;
  if (flags.lint) {
    const pending = new Set(result.pending.map((r) => r.path));
    const linting = await prepareLintRun(flags.repoConfig, databaseUrl);
    await lintFiles(
      files.filter((f) => pending.has(f.path)),
      linting,
      databaseUrl,
    );
  }
}

async function lintOnly(flags: PlanFlags): Promise<void> {
  // The parser and the grammar check's thread load while the files are read.
  const linting = await prepareLintRun(flags.repoConfig);
  const { files, problems } = await loadFiles(flags);
  printProblems(problems);
  if (hasErrors(problems)) process.exitCode = 1;
  console.log(`No database given: linting all ${files.length} file(s).`);
  await lintFiles(files, linting);
}

/**
 * Starts loading the lint for the repo config's settings; with a database, its PostgreSQL version
 * decides which syntax is too new.
 */
async function prepareLintRun(repoConfigPath: string, databaseUrl?: string): Promise<LintRun> {
  // The parse thread starts first: its start-up overlaps reading the config and the server's version.
  const { takeLintWorker } = await import("../database/lint/lint-worker.js");
  const parseThread = takeLintWorker();
  const settings = await lintSettingsFrom(repoConfigPath);
  const { lintOptionsOf } = await import("../database/lint/config.js");
  const targetMajor = databaseUrl ? await (await import("../database/server-version.js")).serverMajor(databaseUrl) : undefined;
  const { prepareLint } = await import("../database/lint/grammar-thread.js");
  const options = lintOptionsOf(settings, targetMajor);
  return { options, prepared: prepareLint(options, parseThread), prepare: prepareLint };
}

interface LintRun {
  options: LintOptions;
  prepared: PreparedLint;
  prepare: (options: LintOptions) => PreparedLint;
}

/**
 * Prints each finding (down files' too) as `path:line: severity rule-id: message`; exit code 1 on any
 * counted error. With a database, a SET NOT NULL that a validated check on the target makes cheap is no finding.
 */
async function lintFiles(files: MigrationFile[], linting: LintRun, databaseUrl?: string): Promise<void> {
  const { countFindings, formatFinding } = await import("../database/lint/format.js");
  const inputs = files.map((f) => ({ path: f.path, sql: f.sql, noTransaction: f.directives.noTransaction }));
  const downs = files.flatMap((f) => f.down ?? []);
  let findings = await linting.prepared.lint(inputs, downs);
  if (databaseUrl) {
    const { exemptSetNotNullCheckedOnTarget } = await import("../database/lint/target-checks.js");
    findings = await exemptSetNotNullCheckedOnTarget(findings, linting.options, databaseUrl, (options) => linting.prepare(options).lint(inputs, downs));
  }
  // One write for all the lines: a console.log per finding costs a system call each.
  if (findings.length) process.stdout.write(findings.map(formatFinding).join("\n") + "\n");
  const { errors, warnings, notices, ignored } = countFindings(findings);
  const extra = `${notices ? `, ${notices} notice(s)` : ""}${ignored ? `, ${ignored} ignored` : ""}`;
  console.log(`Lint: ${errors} error(s), ${warnings} warning(s)${extra} in ${files.length} file(s).`);
  if (errors > 0) process.exitCode = 1;
}

/** The repo config's `lint:` section; a bad key stops the run, as it would on GitHub. */
async function lintSettingsFrom(repoConfigPath: string): Promise<LintSettings> {
  const { lintSettingsOf } = await import("../database/lint/config.js");
  if (!existsSync(repoConfigPath)) return lintSettingsOf({ rules: {}, problems: [] });
  const { loadRepoConfig, sectionWarnings } = await import("../config/repo-config.js");
  const { ConfigError, formatProblem } = await import("../config/yaml-errors.js");
  const { config, errors, warnings } = loadRepoConfig(readFileSync(repoConfigPath, "utf8"), undefined, repoConfigPath);
  if (errors.length) throw new ConfigError(repoConfigPath, errors);
  const problems = sectionWarnings(warnings, "lint");
  if (problems.length) throw new Error(problems.map(formatProblem).join("\n"));
  return config.lint;
}

async function migrateCommand(flags: MigrateFlags): Promise<void> {
  for (const [name, value] of [
    ["--lock-timeout", flags.lockTimeout],
    ["--statement-timeout", flags.statementTimeout],
  ]) {
    if (!isValidDuration(value)) throw new Error(`${name} needs a duration like 5s, 500ms, 10min or 0 (got "${value}")`);
  }
  const lockWaitSeconds = Number(flags.lockWait);
  if (!Number.isFinite(lockWaitSeconds) || lockWaitSeconds < 0) throw new Error("--lock-wait must be a number of seconds");

  const { files, plan: planned, databaseUrl } = await loadAndPlan(flags);
  printProblems(planned.problems);
  if (hasErrors(planned.problems)) return void (process.exitCode = 1);
  const pendingPaths = new Set(planned.pending.map((r) => r.path));
  const pending = files.filter((f) => pendingPaths.has(f.path));
  if (pending.length === 0) return console.log("Nothing to apply: database up to date.");

  const { migrate } = await import("../database/migrator.js");
  const result = await migrate({
    databaseUrl,
    migrations: pending,
    lockTimeout: flags.lockTimeout,
    statementTimeout: flags.statementTimeout,
    lockWaitSeconds,
    appliedBy: flags.appliedBy ?? `cli:${os.userInfo().username}`,
    commitSha: flags.commitSha ?? null,
    onProgress: printProgress,
  });
  const skipped = result.skipped.length ? ` (${result.skipped.length} already applied by another run)` : "";
  if (result.failure) {
    printFailure(result.failure);
    console.log(`Applied ${result.applied.length} of ${pending.length} migration(s) before the failure${skipped}.`);
    process.exitCode = 1;
  } else {
    console.log(`Applied ${result.applied.length} migration(s)${skipped}.`);
  }
}

async function loadAndPlan(flags: TargetFlags): Promise<{ files: MigrationFile[]; plan: Plan; databaseUrl: string }> {
  const databaseUrl = resolveDatabaseUrl(flags);
  const loaded = await loadFiles(flags);
  // Today's layout found by detection goes without saying; another tool's, or one the user named, is shown.
  if (loaded.layout.name !== "autopilot" || !loaded.layout.detectedFrom) console.log(`Layout: ${describeLayout(loaded.layout)}`);
  const { readHistoryFromUrl } = await import("../database/history.js");
  const history = await readHistoryFromUrl(databaseUrl);
  const result = plan(loaded.files, history, { outOfOrder: Boolean(flags.outOfOrder) });
  return { files: loaded.files, plan: { ...result, problems: [...loaded.problems, ...result.problems] }, databaseUrl };
}

/** The directory in the layout of `--layout`, or the one its files give away. */
export function loadFiles(flags: { dir: string; layout?: string }): Promise<LoadedDirectory> {
  if (flags.layout !== undefined && !(LAYOUT_NAMES as readonly string[]).includes(flags.layout)) {
    throw new Error(`--layout must be one of ${LAYOUT_NAMES.join(", ")} (got "${flags.layout}")`);
  }
  return loadMigrationDirectory(defaultDirectoryStandIn(flags.dir), flags.layout as LayoutName | undefined);
}

/**
 * An absent default `migrations/` gives way to `supabase/migrations`, then to the directory that
 * diesel's `diesel.toml` names (`[migrations_directory] dir = "…"`).
 */
function defaultDirectoryStandIn(dir: string): string {
  if (dir !== DEFAULT_DIRECTORY || existsSync(dir)) return dir;
  if (existsSync(SUPABASE_DIRECTORY)) return SUPABASE_DIRECTORY;
  const diesel = existsSync(DIESEL_CONFIG) ? dieselMigrationsDirectory(readFileSync(DIESEL_CONFIG, "utf8")) : undefined;
  return diesel ?? dir;
}

function printProblems(problems: Problem[]): void {
  for (const p of problems) console.error(`${p.path}${p.line ? `:${p.line}` : ""}: ${p.severity}: ${redact(p.message)}`);
}

function printProgress(event: ProgressEvent): void {
  if (event.kind === "waiting-for-lock") process.stderr.write("Waiting for another migration run to release the lock…\n");
  if (event.kind === "applying") process.stderr.write(`Applying ${event.position} of ${event.total}: ${event.file.version}_${event.file.name}… `);
  if (event.kind === "applied") process.stderr.write(`done in ${event.durationMs} ms\n`);
}

function printFailure(failure: MigrationFailure): void {
  process.stderr.write("failed\n");
  const where = `${failure.file.path}:${failure.line}${failure.column ? `:${failure.column}` : ""}`;
  const lines = [`${where}: ${failure.message}${failure.code ? ` (SQLSTATE ${failure.code})` : ""}`];
  if (failure.detail) lines.push(`  detail: ${failure.detail}`);
  if (failure.hint) lines.push(`  hint: ${failure.hint}`);
  if (failure.statementsCommitted) lines.push(`  note: no-transaction file: its first ${failure.statementsCommitted} statement(s) stay applied`);
  console.error(redact(lines.join("\n")));
}
