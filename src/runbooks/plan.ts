// The plan runbook: for a pull request's head, what would run against the base branch's
// environment, whether applied files were touched, what lint finds (with the cost of the locks it
// takes), and a rehearsal on a scratch database. Reported as autopilot/plan and one sticky comment.
import { environmentForBranch, sectionWarnings, type RepoConfig } from "../config/repo-config.js";
import type { ResolvedTarget } from "../config/server-config.js";
import { ConfigError } from "../config/yaml-errors.js";
import { isUnavailable } from "../database/connection-errors.js";
import { readHistoryFromUrl } from "../database/history.js";
import { takeOverNote } from "./plan-take-over.js";
import { lintDownFile } from "../database/lint/down-files.js";
import { ensureLintReady, lintMigrations, lintOptionsOf, type LintFinding, type LintOptions } from "../database/lint/index.js";
import { downgradeSmallTableLocks } from "../database/lint/small-tables.js";
import { exemptSetNotNullCheckedOnTarget } from "../database/lint/target-checks.js";
import { downSqlOf, indexMigrations, type MigrationFile, type MigrationRef, type Problem } from "../database/migration-files.js";
import { appliedRefs, checkDrift, recordDrift } from "./drift-check.js";
import type { DriftFinding } from "./drift-outcome.js";
import { describeLayout } from "../database/layouts/index.js";
import { plan, type AppliedMigration } from "../database/planner.js";
import { batchTooLarge } from "../database/plan-bounds.js";
import { rehearse } from "../database/rehearsal.js";
import { serverMajor } from "../database/server-version.js";
import { describeCost, tableCosts } from "../database/table-costs.js";
import { listDirectory, type TreeEntry } from "../github/api/repo-files.js";
import { CheckRunReporter } from "../report/check-run.js";
import type { GitHubClient } from "../github/api/client.js";
import { PLAN_CHECK_NAME } from "../report/check-names.js";
import { PLAN_COMMENT_MARKER, planMarkdown, renderPlan } from "../report/plan-report.js";
import { upsertMarkedComment } from "../report/pull-comment.js";
import { redact } from "../redact.js";
import type { ParamsOf } from "../store/run-requests.js";
import { finishRun, updateRun, type RunOf } from "../store/runs.js";
import { retryOrGiveUp, type Attempt, type RunbookDeps } from "./deps.js";
import { statusOf, type PlanFinding, type PlanOutcome, type PlanReport } from "./plan-outcome.js";
import { beginRun, RunContext } from "./run-context.js";

export async function runPlan(deps: RunbookDeps, runId: number, attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "plan");
  if (!begun) return;
  const { run, github } = begun;
  await new PlanRun(deps, run, github, attempt).execute();
}

export async function concludeInterrupted(deps: RunbookDeps, run: RunOf<"plan">, attempts: number): Promise<void> {
  const session = new PlanRun(deps, run, await deps.github(run.installationId), { number: attempts, limit: attempts });
  await session.conclude({ kind: "crashed", error: "the worker running this plan stopped and no attempts are left", attempts });
}

interface DownFile {
  path: string;
  sql: string;
}

/** The history of the target, or why it was not read. */
type History = { applied: AppliedMigration[] } | { note: string };

class PlanRun extends RunContext<RunOf<"plan">> {
  private readonly checkRun: CheckRunReporter;
  private readonly params: ParamsOf<"plan">;

  constructor(
    deps: RunbookDeps,
    run: RunOf<"plan">,
    github: GitHubClient,
    private readonly attempt: Attempt,
  ) {
    super(deps, run, github);
    this.params = run.params;
    this.checkRun = new CheckRunReporter(github, this.repo, PLAN_CHECK_NAME, run.commitSha, run.checkRunId ?? undefined);
  }

  async execute(): Promise<void> {
    try {
      const outcome = await this.decide();
      if (outcome) await this.conclude(outcome);
      else await finishRun(this.deps.db, this.run.id, { status: "skipped", title: "pull request does not touch migrations" });
    } catch (error) {
      const message = await retryOrGiveUp(error, this.attempt, this.checkRun);
      await this.conclude({ kind: "crashed", error: message, attempts: this.attempt.number });
    }
  }

  private async decide(): Promise<PlanOutcome | undefined> {
    const config = await this.step("config", () => this.loadRepoConfig());
    const directory = config instanceof ConfigError ? "migrations" : config.migrations.directory;
    const [head, base] = await this.step("list", () => Promise.all([this.list(this.run.commitSha, directory), this.list(this.params.baseRef, directory)]));
    const changed = changedPaths(base, head);
    if (changed.size === 0 && this.run.trigger === "auto") return undefined;
    await this.start();
    if (config instanceof ConfigError) return { kind: "config-invalid", problems: config.problems };
    return { kind: "planned", report: await this.plan(config, head, base, changed) };
  }

  private async plan(config: RepoConfig, head: TreeEntry[], base: TreeEntry[], changed: Set<string>): Promise<PlanReport> {
    const environment = environmentForBranch(config, this.params.baseRef)?.environment;
    const target = environment ? await this.resolveTarget(environment) : `${this.params.baseRef} maps to no environment in .github/autopilot.yml`;
    const history = await this.step("history", () => this.readHistory(target));
    const takeOver = "applied" in history && history.applied.length === 0 && !config.migrations.baseline ? await takeOverNote(target) : undefined;
    let index = indexMigrations(head, config.migrations.directory, config.migrations.layout);
    let { pending, problems } = this.pendingAndProblems(index.refs, history, base, changed, config);
    const sizes = new Map(head.map((e) => [e.path, e.size]));
    const tooLarge = batchTooLarge(pending, (path) => sizes.get(path));
    if (tooLarge.length) {
      return {
        environment,
        targetNote: "note" in history ? history.note : takeOver,
        appliedCount: "applied" in history ? history.applied.filter((h) => !h.revertedAt).length : undefined,
        layout: describeLayout(index.layout),
        pending: pending.map((p) => ({ path: p.path, version: p.version, name: p.name })),
        problems: [...index.problems, ...problems, ...tooLarge],
        findings: [],
        notLinted: tooLarge[0].message,
      };
    }
    // The same files are pending in either layout; as dbmate's, their down halves are linted apart.
    const dbmate = await this.dbmateIndex(head, index, pending);
    if (dbmate) [index, { pending, problems }] = [dbmate, this.pendingAndProblems(dbmate.refs, history, base, changed, config)];
    const [files, downs] = await this.step("download", () => Promise.all([this.downloadMigrations(pending), this.downloadDowns(pending)]));
    problems.unshift(...index.problems, ...files.problems);

    problems.push(
      ...sectionWarnings(this.repoConfigWarnings, "lint").map((p): Problem => ({
        code: "bad-config",
        path: p.file,
        line: p.line,
        message: `${p.key}: ${p.message}`,
        severity: "error",
      })),
    );
    await this.checkRun.progress("Linting…");
    const options = lintOptionsOf(config.lint, await this.targetMajor(target, history));
    const findings = await this.step("lint", async () => {
      const found = await this.lint(files.files, downs, options);
      if (!("applied" in history) || typeof target === "string") return found;
      return exemptSetNotNullCheckedOnTarget(found, options, target.databaseUrl, (checked) => this.lint(files.files, downs, checked));
    });
    const costed = "applied" in history && typeof target !== "string" ? await this.withCosts(findings, target, config.lint.small_table_rows) : findings;
    const downPaths = new Set(downs.map((d) => d.path));
    const report: PlanReport = {
      environment,
      targetNote: "note" in history ? history.note : takeOver,
      appliedCount: "applied" in history ? history.applied.filter((h) => !h.revertedAt).length : undefined,
      layout: describeLayout(index.layout),
      pending: pending.map((p) => ({ path: p.path, version: p.version, name: p.name })),
      problems,
      findings: costed.filter((f) => !downPaths.has(f.path)),
      downFindings: downs.length ? costed.filter((f) => downPaths.has(f.path)) : undefined,
    };
    // Independent scratch databases: the drift check runs while the rehearsal does.
    const [rehearsed, drift] = await Promise.all([
      this.rehearse(report, config, target, history, files.files, index.refs),
      this.drift(target, history, index.refs),
    ]);
    return drift ? { ...rehearsed, drift } : rehearsed;
  }

  /** The target's drift from its applied files, when a shadow server can rebuild them (never for a fork). */
  private async drift(target: ResolvedTarget | string, history: History, refs: MigrationRef[]): Promise<DriftFinding | undefined> {
    if (typeof target === "string" || !("applied" in history) || this.params.fork) return undefined;
    const drift = await checkDrift(target, appliedRefs(refs, history.applied), (applied) => this.downloadMigrations(applied));
    if (drift) await recordDrift(this.deps.db, this.run.repo, this.params.pull ? `plan of #${this.params.pull}` : "plan", drift);
    return drift;
  }

  private list(ref: string, directory: string): Promise<TreeEntry[]> {
    return listDirectory(this.github, this.repo, ref, directory);
  }

  private async readHistory(target: ResolvedTarget | string): Promise<History> {
    if (typeof target === "string") return { note: `Target not consulted: ${target}.` };
    if (this.params.fork && !this.deps.serverConfig.forks.read_targets) {
      return { note: "This pull request comes from a fork: the target database is not consulted (server config `forks.read_targets`)." };
    }
    try {
      return { applied: await readHistoryFromUrl(target.databaseUrl) };
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      return { note: `The target database could not be reached (${redact((error as Error).message)}); the plan assumes nothing new is applied.` };
    }
  }

  /** With the target's history: the planner decides. Without it: whatever this pull request adds or edits. */
  private pendingAndProblems(refs: MigrationRef[], history: History, base: TreeEntry[], changed: Set<string>, config: RepoConfig) {
    if ("applied" in history) {
      const planned = plan(refs, history.applied, { outOfOrder: config.migrations.out_of_order });
      // Deleting an applied migration in a pull request is an integrity error, not a curiosity.
      const problems = planned.problems.map((p) =>
        p.code === "missing-file" ? { ...p, severity: "error" as const, message: `${p.message} (deleted by this pull request)` } : p,
      );
      return { pending: planned.pending, problems };
    }
    const planned = plan(refs, [], { outOfOrder: true });
    const basePaths = new Set(base.map((b) => b.path));
    const touched: Problem[] = [...changed]
      .filter((path) => basePaths.has(path))
      .map((path) => ({
        code: "edits-existing",
        path,
        severity: "warning",
        message: `${path} exists on ${this.params.baseRef} and this pull request ${refs.some((r) => r.path === path) ? "edits" : "deletes"} it; if it was applied, that is refused at migrate time`,
      }));
    return { pending: planned.pending.filter((r) => changed.has(r.path)), problems: [...planned.problems, ...touched] };
  }

  /** The `.down.sql` files of the pending migrations: a rollback runs them against the same tables. */
  private async downloadDowns(pending: MigrationRef[]): Promise<DownFile[]> {
    // A dbmate down half shares its file with the up half: its findings could not be told apart by path.
    const withDown = pending.filter((r) => r.downPath && r.downChecksum && r.downPath !== r.path);
    if (withDown.length === 0) return [];
    const blobs = await this.blobs(withDown.map((r) => r.downChecksum!));
    return withDown.map((r) => ({ path: r.downPath!, sql: downSqlOf(r, blobs.get(r.downChecksum!)!) ?? "" }));
  }

  /** The target's real major when the plan reached it (else lintOptionsOf takes `lint.postgres_version`). */
  private async targetMajor(target: ResolvedTarget | string, history: History): Promise<number | undefined> {
    if (!("applied" in history) || typeof target === "string") return undefined;
    return serverMajor(target.databaseUrl).catch(() => undefined);
  }

  private async lint(files: MigrationFile[], downs: DownFile[], options: LintOptions): Promise<LintFinding[]> {
    await ensureLintReady(options);
    return [
      // One run, in order: a file's rules see what the files before it defined.
      ...lintMigrations(
        files.map((f) => ({ path: f.path, sql: f.sql, noTransaction: f.directives.noTransaction })),
        options,
      ),
      ...downs.flatMap((down) => lintDownFile(down, options)),
    ];
  }

  /**
   * Adds the size of each table a finding locks or rewrites, from the target's statistics, and
   * turns lock findings on tables under `smallTableRows` rows into notices.
   */
  private async withCosts(findings: LintFinding[], target: ResolvedTarget, smallTableRows: number): Promise<PlanFinding[]> {
    const tables = [...new Set(findings.filter((f) => f.table && (f.lock || f.rewrites)).map((f) => f.table!))];
    if (tables.length === 0) return findings;
    const costs = await tableCosts(target.databaseUrl, tables).catch(() => undefined);
    if (!costs) return findings;
    const costed = findings.map((f) => {
      const cost = f.table ? costs.get(f.table) : undefined;
      return cost?.exists ? { ...f, cost: describeCost(cost, f.lock, f.rewrites) } : f;
    });
    return downgradeSmallTableLocks(costed, costs, smallTableRows);
  }

  private async rehearse(
    report: PlanReport,
    config: RepoConfig,
    target: ResolvedTarget | string,
    history: History,
    files: MigrationFile[],
    refs: MigrationRef[],
  ): Promise<PlanReport> {
    if (typeof target === "string" || !target.shadowDatabaseUrl) {
      return { ...report, rehearsalNote: "No shadow server is configured for this target (`shadow_database_url_env`), so the files were not rehearsed." };
    }
    if (files.length === 0) return report;
    const forks = this.deps.serverConfig.forks;
    if (this.params.fork && !forks.rehearse) return { ...report, rehearsalNote: FORK_NOT_REHEARSED };
    await this.checkRun.progress("Rehearsing on a scratch database…", undefined, true);
    const useTarget = "applied" in history;
    const baseline = useTarget ? undefined : await this.downloadMigrations(refs.filter((r) => !files.some((f) => f.path === r.path))).then((d) => d.files);
    const rehearsal = await this.step("rehearsal", () =>
      rehearse({
        shadowUrl: target.shadowDatabaseUrl!,
        schemaSourceUrl: useTarget ? target.databaseUrl : undefined,
        baseline,
        pending: files,
        lockTimeout: config.migrations.lock_timeout,
        statementTimeout: config.migrations.statement_timeout,
        fork: this.params.fork ? { statementTimeout: forks.statement_timeout, rehearsalTimeoutSeconds: forks.rehearsal_timeout_seconds } : undefined,
      }),
    );
    return { ...report, rehearsal };
  }

  private async start(): Promise<void> {
    const id = await this.checkRun.start("Planning…", "Autopilot is planning the migrations of this pull request.");
    await updateRun(this.deps.db, this.run.id, { checkRunId: id });
  }

  async conclude(outcome: PlanOutcome): Promise<void> {
    const rendered = renderPlan(outcome);
    await this.checkRun.complete(rendered);
    const status = statusOf(outcome);
    await finishRun(this.deps.db, this.run.id, { status, title: rendered.title, summary: rendered.summary });
    if (outcome.kind === "planned" && this.params.pull) {
      const body = `## Autopilot plan · ${rendered.title}\n\nFor ${this.run.commitSha.slice(0, 7)}.\n\n${planMarkdown(outcome.report)}`;
      await upsertMarkedComment(this.github, this.repo, this.params.pull, PLAN_COMMENT_MARKER, body);
    }
    await this.answerCommand(status !== "failure", `**plan**: ${rendered.title} (Check Run \`${PLAN_CHECK_NAME}\` on ${this.run.commitSha.slice(0, 7)})`);
  }
}

const FORK_NOT_REHEARSED =
  "Skipped: this pull request comes from a fork, and a fork's SQL does not run on the shared shadow server unless the operator allows it, " +
  "so its files were linted but not rehearsed. To rehearse forks' pull requests (as a throw-away unprivileged role, under a forced statement timeout), " +
  "set `forks.rehearse: true` in the server config (`autopilot.server.yml`).";

/** Paths under the migrations directory that differ between the base and the head. */
function changedPaths(base: TreeEntry[], head: TreeEntry[]): Set<string> {
  const baseSha = new Map(base.map((e) => [e.path, e.sha]));
  const headPaths = new Set(head.map((e) => e.path));
  const changed = new Set(head.filter((e) => baseSha.get(e.path) !== e.sha).map((e) => e.path));
  for (const path of baseSha.keys()) if (!headPaths.has(path)) changed.add(path);
  return changed;
}
