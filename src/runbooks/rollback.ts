// The rollback runbook: take a safety backup of the current state, then revert — with down files
// when every one exists, otherwise by restoring the pre-migration backup — and report it.
import type { RepoConfig } from "../config/repo-config.js";
import type { ResolvedTarget } from "../config/server-config.js";
import { ConfigError } from "../config/yaml-errors.js";
import { BackupFailedError } from "../backups/service.js";
import { estimateRestoreLoss, isZeroLoss, type LossEstimate } from "../backups/loss-report.js";
import { isUnavailable } from "../database/connection-errors.js";
import { readHistoryFromUrl } from "../database/history.js";
import { layoutNamed, type LayoutName } from "../database/layouts/index.js";
import { downSqlOf, indexMigrations } from "../database/migration-files.js";
import type { AppliedMigration } from "../database/planner.js";
import { holdMigrationLock } from "../database/target-session.js";
import { LockTimeoutError } from "../database/errors.js";
import { applyDownMigrations, planRevertOf, planRevertTo, type DownFile } from "../database/rollback.js";
import { listDirectory } from "../github/api/repo-files.js";
import { CheckRunReporter } from "../report/check-run.js";
import { createDeployment } from "../report/deployment.js";
import type { GitHubClient } from "../github/api/client.js";
import { ROLLBACK_CHECK_NAME } from "../report/check-names.js";
import { renderRollback } from "../report/rollback-report.js";
import { notifySlack } from "../report/slack.js";
import { shownOutcome } from "../report/row-values.js";
import { redact } from "../redact.js";
import { audit } from "../store/audit.js";
import { getBackup, type BackupRecord } from "../store/backups.js";
import { describeLock, findLock } from "../store/locks.js";
import { appliedRun, recentAppliedRuns, type AppliedRun } from "../store/run-migrations.js";
import type { ParamsOf } from "../store/run-requests.js";
import { finishRun, updateRun, type RunOf } from "../store/runs.js";
import { retryOrGiveUp, type Attempt, type RunbookDeps } from "./deps.js";
import { statusOf, type RollbackOutcome } from "./rollback-outcome.js";
import { beginRun, RunContext } from "./run-context.js";
import { verifyChange } from "./verify.js";
import { triggerDeployHook } from "../report/deploy-hook.js";
import { recordDeployment } from "../store/deployments.js";

export async function runRollback(deps: RunbookDeps, runId: number, attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "rollback");
  if (!begun) return;
  const { run, github } = begun;
  await new RollbackRun(deps, run, github, attempt).execute();
}

export async function concludeInterrupted(deps: RunbookDeps, run: RunOf<"rollback">, attempts: number): Promise<void> {
  const session = new RollbackRun(deps, run, await deps.github(run.installationId), { number: attempts, limit: attempts });
  await session.conclude({ kind: "crashed", error: "the worker running this rollback stopped and no attempts are left", attempts });
}

/** How to get back: down files (newest first) or a backup to restore. */
type Strategy = { kind: "down"; downs: DownFile[] } | { kind: "restore"; backup: BackupRecord };

class RollbackRun extends RunContext<RunOf<"rollback">> {
  private readonly checkRun: CheckRunReporter;
  private readonly params: ParamsOf<"rollback">;
  private target?: ResolvedTarget;
  private config?: RepoConfig;

  constructor(
    deps: RunbookDeps,
    run: RunOf<"rollback">,
    github: GitHubClient,
    private readonly attempt: Attempt,
  ) {
    super(deps, run, github);
    this.params = run.params;
    this.checkRun = new CheckRunReporter(github, this.repo, ROLLBACK_CHECK_NAME, run.commitSha, run.checkRunId ?? undefined);
  }

  async execute(): Promise<void> {
    try {
      await this.conclude(await this.decide());
    } catch (error) {
      // Only an unreachable database is worth another attempt: a rollback is not repeated blindly.
      const message = await retryOrGiveUp(error, this.attempt, this.checkRun, isUnavailable(error));
      await this.conclude({ kind: "crashed", error: message, attempts: this.attempt.number });
    }
  }

  private async decide(): Promise<RollbackOutcome> {
    const { environment } = this.params;
    const refuse = (reason: string): RollbackOutcome => ({ kind: "refused", environment, reason });
    const id = await this.checkRun.start(`Rolling back ${environment}…`, "Autopilot is preparing the rollback.");
    await updateRun(this.deps.db, this.run.id, { checkRunId: id, environment });
    const config = await this.step("config", () => this.loadRepoConfig());
    if (config instanceof ConfigError) return refuse(`.github/autopilot.yml is invalid: ${config.problems.map((p) => p.message).join("; ")}`);
    this.config = config;
    const target = await this.resolveTarget(environment);
    if (typeof target === "string") return refuse(target);
    this.target = target;
    const lock = await findLock(this.deps.db, this.run.repo, environment);
    if (lock) return refuse(describeLock(lock));

    const history = await this.step("history", () => readHistoryFromUrl(target.databaseUrl));
    const strategy = await this.step("choose", () => this.strategy(config, history));
    if (typeof strategy === "string") return refuse(strategy);
    if (strategy.kind === "down") {
      // Down files re-check the history under the migration lock themselves (applyDownMigrations).
      const safetyBackup = await this.safetyBackup(target);
      return typeof safetyBackup === "string" ? refuse(safetyBackup) : this.revert(config, target, strategy.downs, safetyBackup);
    }
    // The safety backup and the restore under one hold of the migration lock: no migration can commit
    // between them, or during the restore, and be lost without a backup.
    const waiting = () => void this.checkRun.progress("Waiting for another migration of this database to finish…", undefined, true).catch(() => undefined);
    const session = {
      databaseUrl: target.databaseUrl,
      applicationName: "autopilot-rollback",
      lockWaitSeconds: config.migrations.lock_wait_seconds,
      onWaiting: waiting,
    };
    try {
      return await holdMigrationLock(session, async () => {
        // Under the lock, so no migration lands between the estimate and the restore.
        const loss = await this.step("loss", () => estimateRestoreLoss(this.deps.db, target.databaseUrl, strategy.backup));
        if (!this.params.confirmed && !isZeroLoss(loss)) return { kind: "unconfirmed", environment, runId: this.run.id, loss };
        const safetyBackup = await this.safetyBackup(target);
        return typeof safetyBackup === "string" ? refuse(safetyBackup) : this.restore(target, strategy.backup, safetyBackup, loss);
      });
    } catch (error) {
      if (error instanceof LockTimeoutError) return refuse(`${error.message}; nothing was changed, try again once it is done`);
      throw error;
    }
  }

  /** A backup of the current state, so the rollback can be undone; a string says why there is none. */
  private async safetyBackup(target: ResolvedTarget): Promise<BackupRecord | string> {
    await this.checkRun.progress("Taking a safety backup of the current state…", undefined, true);
    try {
      return await this.step("backup", () => this.takeBackup(target));
    } catch (error) {
      if (error instanceof BackupFailedError) return `the safety backup failed, so nothing was changed: ${error.message}`;
      throw error;
    }
  }

  /** Chooses down files or a restore; a string says why the rollback cannot happen. */
  private async strategy(config: RepoConfig, history: AppliedMigration[]): Promise<Strategy | string> {
    const { destination, environment } = this.params;
    if (destination.kind === "backup") return this.backupStrategy(destination.id);
    const directory = config.migrations.directory;
    if (destination.kind === "version") {
      const { downs, layout, listed } = await this.downFiles(this.run.commitSha, directory, config);
      const plan = planRevertTo(destination.version, history, downs, listed);
      if ("error" in plan) return plan.error;
      if (plan.missing.length) return `these migrations have no down file: ${plan.missing.map((m) => m.expectedPath).join(", ")}${withoutDowns(layout)}`;
      return { kind: "down", downs: plan.downs };
    }
    const last = await this.lastRunStillApplied(history);
    if (destination.kind === "run") {
      const refusal = await this.pressedRunRefusal(destination.runId, last, history);
      if (refusal) return refusal;
    }
    if (!last) return `nothing to roll back: no migration run's changes are still applied to ${environment}`;
    const versions = last.migrations.map((m) => m.version);
    const { downs, listed } = await this.downFiles(last.commitSha, directory, config);
    const plan = planRevertOf(versions, history, downs, listed);
    if ("error" in plan) return plan.error;
    if (plan.missing.length === 0) return { kind: "down", downs: plan.downs };
    if (!last.backupId) return `migrations ${plan.missing.map((m) => m.version).join(", ")} have no down file and their run kept no backup`;
    return this.backupStrategy(last.backupId);
  }

  /** The newest migrate run whose migrations are (some of them) still applied. */
  private async lastRunStillApplied(history: AppliedMigration[]) {
    const applied = new Set(history.filter((h) => !h.revertedAt).map((h) => h.version));
    const runs = await recentAppliedRuns(this.deps.db, this.run.repo, this.params.environment);
    return runs.find((r) => r.migrations.some((m) => applied.has(m.version)));
  }

  /**
   * Why the run whose Roll back button was pressed cannot be reverted, if it cannot: a second press
   * (or a second admin) finds it rolled back already, and an older release's button would revert
   * the newer one instead.
   */
  private async pressedRunRefusal(runId: number, last: AppliedRun | undefined, history: AppliedMigration[]): Promise<string | undefined> {
    if (last?.runId === runId) return undefined;
    const { environment } = this.params;
    const pressed = await appliedRun(this.deps.db, runId);
    if (!pressed || pressed.repo.toLowerCase() !== this.run.repo.toLowerCase() || pressed.environment !== environment) {
      return `migrate run ${runId} applied nothing to ${environment} that Autopilot recorded`;
    }
    const release = `migrate run ${runId} (${pressed.commitSha.slice(0, 7)}: ${pressed.migrations.map((m) => m.version).join(", ")})`;
    const applied = new Set(history.filter((h) => !h.revertedAt).map((h) => h.version));
    if (!last || !pressed.migrations.some((m) => applied.has(m.version))) return `${release} was already rolled back: none of its migrations is applied`;
    return `${release} is no longer the latest applied on ${environment}: migrate run ${last.runId} (${last.commitSha.slice(0, 7)}) applied ${last.migrations.map((m) => m.version).join(", ")} after it; roll that back first`;
  }

  private async backupStrategy(id: string): Promise<Strategy | string> {
    const backup = await getBackup(this.deps.db, id);
    if (!backup || backup.repo.toLowerCase() !== this.run.repo.toLowerCase()) return `there is no backup ${id} of ${this.run.repo}`;
    if (backup.environment !== this.params.environment) return `backup ${id} is of ${backup.environment}, not ${this.params.environment}`;
    if (backup.status !== "ok" || !backup.path) return `backup ${id} is not usable (${backup.status})`;
    return { kind: "restore", backup };
  }

  /** The down files at a commit, by version. */
  /** `listed`: the directory read (`supabase/migrations` standing in for an absent default). */
  private async downFiles(
    commitSha: string,
    directory: string,
    config: RepoConfig,
  ): Promise<{ downs: Map<string, DownFile>; layout: LayoutName; listed: string }> {
    const entries = await listDirectory(this.github, this.repo, commitSha, directory);
    const listed = indexMigrations(entries, directory, config.migrations.layout);
    // dbmate's down halves are inside its files, which only their content tells from Autopilot's.
    const { refs, layout } = (await this.dbmateIndex(entries, listed, listed.refs)) ?? listed;
    const withDown = refs.filter((r) => r.downPath && r.downChecksum);
    const blobs = await this.blobs(withDown.map((r) => r.downChecksum!));
    const downs = new Map<string, DownFile>();
    for (const ref of withDown) {
      const sql = downSqlOf(ref, blobs.get(ref.downChecksum!)!);
      if (sql !== undefined) downs.set(ref.version, { version: ref.version, name: ref.name, path: ref.downPath!, sql });
    }
    return { downs, layout: layout.name, listed: listed.directory };
  }

  private async revert(config: RepoConfig, target: ResolvedTarget, downs: DownFile[], safetyBackup: BackupRecord): Promise<RollbackOutcome> {
    const result = await this.step("revert", () =>
      applyDownMigrations({
        databaseUrl: target.databaseUrl,
        downs,
        lockTimeout: config.migrations.lock_timeout,
        statementTimeout: config.migrations.statement_timeout,
        lockWaitSeconds: config.migrations.lock_wait_seconds,
        revertedBy: this.run.requestedBy ?? "autopilot",
        onProgress: (e) => void this.checkRun.progress(`Reverting ${e.position} of ${e.total}: ${e.file.version}_${e.file.name}…`).catch(() => undefined),
      }),
    );
    const reverted = result.reverted.map((r) => ({ version: r.file.version, name: r.file.name, durationMs: r.durationMs }));
    if (!result.failure) return { kind: "reverted", environment: target.environment, reverted, safetyBackup };
    const f = result.failure;
    return {
      kind: "failed",
      environment: target.environment,
      error: `${f.message}${f.code ? ` (SQLSTATE ${f.code})` : ""}`,
      where: { path: f.file.path, line: f.line },
      reverted,
      safetyBackup,
    };
  }

  private async restore(target: ResolvedTarget, backup: BackupRecord, safetyBackup: BackupRecord, loss: LossEstimate): Promise<RollbackOutcome> {
    await this.checkRun.progress(`Restoring backup ${backup.id}…`, undefined, true);
    let ownersNotKept: string[];
    try {
      const restored = await this.step("restore", () => this.restoreFromBackup(target, backup));
      ownersNotKept = restored.ownersNotKept;
    } catch (error) {
      return { kind: "failed", environment: target.environment, error: redact((error as Error).message), reverted: [], safetyBackup };
    }
    const history = await readHistoryFromUrl(target.databaseUrl);
    return {
      kind: "restored",
      environment: target.environment,
      restoredBackupId: backup.id,
      safetyBackup,
      historyCount: history.filter((h) => !h.revertedAt).length,
      ownersNotKept,
      loss,
    };
  }

  async conclude(concluded: RollbackOutcome): Promise<void> {
    const outcome = await this.deployedAndVerified(concluded);
    // Row values in the target's errors are production data, shown only where the operator allows it.
    const rendered = shownOutcome(renderRollback(outcome), this.target?.showRowValues ?? false);
    await this.checkRun.complete(rendered);
    const status = statusOf(outcome);
    const ok = status === "success";
    await finishRun(this.deps.db, this.run.id, {
      status,
      title: rendered.title,
      summary: rendered.summary,
      error: ok ? undefined : rendered.title,
    });
    await audit(this.deps.db, {
      actor: this.run.requestedBy,
      repo: this.run.repo,
      environment: this.params.environment,
      action: "rollback",
      outcome: status,
      detail: { runId: this.run.id, destination: this.params.destination, result: outcome.kind },
    });
    if (outcome.kind !== "refused" && outcome.kind !== "unconfirmed") {
      const slackError = await notifySlack(this.target?.slackWebhookUrl, ok ? "warning" : "failure", `${this.run.repo}: ${rendered.title}`, rendered.summary);
      if (slackError) this.deps.log.warn({ run: this.run.id }, slackError);
    }
    if (ok) {
      await createDeployment(this.github, this.repo, this.run.commitSha, this.params.environment, rendered.title).catch((error) =>
        this.deps.log.warn({ run: this.run.id, err: error }, "could not record a GitHub deployment"),
      );
    }
    // A restore waiting for confirmation answers with what it would discard, so the reader can decide.
    const details = outcome.kind === "unconfirmed" ? `\n\n${rendered.summary}` : "";
    await this.answerCommand(ok, `**rollback ${this.params.environment}**: ${rendered.title}${details}`);
  }

  /** After a rollback that changed the database: redeploy so the previous release is served, then verify it like a migration. */
  private async deployedAndVerified(outcome: RollbackOutcome): Promise<RollbackOutcome> {
    const { target, config } = this;
    if ((outcome.kind !== "reverted" && outcome.kind !== "restored") || !target) return outcome;
    if (target.deployHookUrl) {
      const payload = { repo: this.run.repo, environment: target.environment, commit: this.run.commitSha, source: "autopilot", reason: "rollback" };
      const result = await triggerDeployHook(target.deployHookUrl, payload);
      await recordDeployment(this.deps.db, { runId: this.run.id, repo: this.run.repo, environment: target.environment, hook: "deploy_hook", ...result });
      if (!result.ok) this.deps.log.warn({ run: this.run.id }, `deploy hook failed: ${result.error}`);
    }
    if (!config?.verify || !config.health) return outcome;
    const request = { repo: this.run.repo, environment: target.environment, settings: config.verify, health: config.health, changeAt: new Date() };
    const summary = `Rolled back; watching ${config.verify.checks.join(", ")} against the hour before the rollback.`;
    try {
      return {
        ...outcome,
        verification: await this.step("verify", () => verifyChange(this.deps, request, (title) => this.checkRun.progress(title, summary, true))),
      };
    } catch (error) {
      this.deps.log.warn({ run: this.run.id, err: error }, "verification failed to run");
      return outcome;
    }
  }
}

/** Prisma writes no down files: the refusal says so, rather than ask for files that never exist. */
function withoutDowns(layout: LayoutName): string {
  return layoutNamed(layout).hasDownFiles ? "" : ` (the ${layout} layout has no down files: roll back to a backup instead)`;
}
