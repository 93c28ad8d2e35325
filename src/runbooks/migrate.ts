// The migrate runbook: config → environment → target → plan → backup → migrate → (restore) →
// deploy → report. The only place that sequences these steps for a push.
import type { ResolvedTarget } from "../config/server-config.js";
import { environmentForBranch, loadRepoConfig, sectionWarnings, type EnvironmentRule, type RepoConfig } from "../config/repo-config.js";
import { ConfigError } from "../config/yaml-errors.js";
import { indexMigrations, type MigrationFile, type MigrationRef } from "../database/migration-files.js";
import { readHistoryFromUrl, type HistoryRow } from "../database/history.js";
import { appliedRefs, checkDrift, recordDrift } from "./drift-check.js";
import { hasDrift } from "./drift-outcome.js";
import { plan } from "../database/planner.js";
import { batchTooLarge } from "../database/plan-bounds.js";
import { migrate, transactionControlProblems, type MigrateResult } from "../database/migrator.js";
import { holdMigrationLock, type HeldMigrationLock } from "../database/target-session.js";
import { isUnavailable } from "../database/connection-errors.js";
import { BackupFailedError } from "../backups/service.js";
import { estimateRestoreLoss } from "../backups/loss-report.js";
import { listDirectory } from "../github/api/repo-files.js";
import { ineligibleApprovers } from "../commands/approvers.js";
import { permissionOf } from "../github/api/permissions.js";
import { approvingReviewers, mergedPullNumber, mergedPullOf } from "../github/api/pulls.js";
import { atLeast } from "../commands/authorize.js";
import { approversOf } from "../store/approvals.js";
import { findLock } from "../store/locks.js";
import { recordRunMigrations } from "../store/run-migrations.js";
import { checkpoint, checkpointsOf, type RunCheckpoints } from "../store/checkpoints.js";
import type { Verification } from "../health/verification.js";
import { createDeployment } from "../report/deployment.js";
import { CheckRunReporter, type CheckRunOutcome } from "../report/check-run.js";
import { MIGRATE_CHECK_NAME } from "../report/check-names.js";
import { renderCheckRun, renderShort, withHealthWarnings } from "../report/migrate-report.js";
import { upsertMarkedComment } from "../report/pull-comment.js";
import { notifySlack } from "../report/slack.js";
import { shownOutcome } from "../report/row-values.js";
import { triggerDeployHook } from "../report/deploy-hook.js";
import type { GitHubClient } from "../github/api/client.js";
import { redact } from "../redact.js";
import { audit } from "../store/audit.js";
import { getBackup, type BackupRecord } from "../store/backups.js";
import { addSafetyBackup, recordRestoreIntent, recordRestoreOutcome, restoreIntentOf, type RestoreIntent } from "../store/restore-intents.js";
import { recordDeployment } from "../store/deployments.js";
import { finishRun, recordStep, updateRun, type RunOf } from "../store/runs.js";
import { cancelRequestOf } from "../store/run-cancels.js";
import { retryOrGiveUp, type Attempt, type RunbookDeps } from "./deps.js";
import { beginRun, RunContext } from "./run-context.js";
import { verifyChange } from "./verify.js";
import { resumePoint } from "./resume.js";
import { takeOverOrStop } from "./migrate-take-over.js";
import { isSuccess, statusOf, waitingForOf, type AppliedFile, type MigrateOutcome, type Recovery, type RestoreReport } from "./migrate-outcome.js";

type MigrateRestoreIntent = RestoreIntent<RestoreReport, Recovery>;

export async function runMigrate(deps: RunbookDeps, runId: number, attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "migrate");
  if (!begun) return;
  await new MigrateRun(deps, begun.run, begun.github, attempt).execute();
}

/** Concludes a run whose worker died on its last attempt, so no Check Run stays in progress. */
export async function concludeInterrupted(deps: RunbookDeps, run: RunOf<"migrate">, attempts: number): Promise<void> {
  const github = await deps.github(run.installationId);
  const session = new MigrateRun(deps, run, github, { number: attempts, limit: attempts });
  await session.conclude({
    kind: "crashed",
    error: "the worker running this migration stopped (process killed or crashed) and no attempts are left",
    attempts,
  });
}

class MigrateRun extends RunContext<RunOf<"migrate">> {
  private readonly checkRun: CheckRunReporter;
  private environment?: string;
  private target?: ResolvedTarget;
  private config?: RepoConfig;
  /** The deploy hook was called already (by this attempt or, per its checkpoint, an earlier one). */
  private deployed = false;
  /** What earlier attempts of this run completed: a retry continues after the last of them. */
  private checkpoints: RunCheckpoints = { applied: [], deployed: false };

  constructor(
    deps: RunbookDeps,
    run: RunOf<"migrate">,
    github: GitHubClient,
    private readonly attempt: Attempt,
  ) {
    super(deps, run, github);
    this.checkRun = new CheckRunReporter(github, this.repo, MIGRATE_CHECK_NAME, run.commitSha, run.checkRunId ?? undefined);
  }

  async execute(): Promise<void> {
    try {
      const outcome = await this.decide();
      if (outcome) await this.conclude(outcome);
      else await finishRun(this.deps.db, this.run.id, { status: "skipped", title: "branch not mapped to an environment" });
    } catch (error) {
      await this.handleError(error);
    }
  }

  /** Runs the steps; undefined means "nothing to do for this push" (an unmapped branch). */
  private async decide(): Promise<MigrateOutcome | undefined> {
    const intent = await restoreIntentOf<RestoreReport, Recovery>(this.deps.db, this.run.id);
    if (intent) return this.resumeRestore(intent);
    this.checkpoints = await checkpointsOf(this.deps.db, this.run.id);
    this.deployed = this.checkpoints.deployed;
    const config = await this.step("config", () => this.loadRepoConfig());
    if (config instanceof ConfigError) {
      return this.branch() === (await this.defaultBranch()) ? { kind: "config-invalid", problems: config.problems } : undefined;
    }
    const rule = environmentForBranch(config, this.branch());
    if (!rule) return undefined;
    this.config = config;
    this.environment = rule.environment;
    await updateRun(this.deps.db, this.run.id, { environment: rule.environment });
    await checkpoint.config(this.deps.db, this.run.id, rule.environment);
    await this.startCheck(this.resumingTitle() ?? `Preparing ${rule.environment}…`);

    const found = await this.targetFor(rule.environment);
    if ("unbound" in found) return { kind: "unbound", repo: this.run.repo, environment: rule.environment, reason: found.unbound };
    if ("refused" in found) return { kind: "wrong-repository", repo: this.run.repo, environment: rule.environment, reason: found.refused };
    const { target } = found;
    this.target = target;
    return (await this.gate(rule)) ?? this.migrateTarget(config, target);
  }

  /** A locked environment, or one whose approvals are not all in, waits for people. */
  private async gate(rule: EnvironmentRule): Promise<MigrateOutcome | undefined> {
    const lock = await findLock(this.deps.db, this.run.repo, rule.environment);
    if (lock) return { kind: "locked", environment: rule.environment, lock };
    if (rule.approvals === 0) return undefined;
    const approvers = await this.step("approvals", () => this.approvers());
    if (approvers.length >= rule.approvals) return undefined;
    return { kind: "awaiting-approval", environment: rule.environment, needed: rule.approvals, approvers };
  }

  /**
   * Distinct users with write permission who approved: by command or button, or by an approving
   * review of the merged head of the pull request. The pusher, the pull request's author and its
   * merger never count.
   */
  private async approvers(): Promise<string[]> {
    const pull = await mergedPullOf(this.github, this.repo, this.run.commitSha);
    const ineligible = ineligibleApprovers(this.run.requestedBy, pull);
    const recorded = (await approversOf(this.deps.db, this.run.id)).filter((login) => !ineligible.has(login));
    const reviewers = pull ? await approvingReviewers(this.github, this.repo, pull.number, pull.headSha) : [];
    const writers: string[] = [];
    for (const login of reviewers.filter((r) => !recorded.includes(r) && !ineligible.has(r))) {
      if (atLeast(await permissionOf(this.github, this.repo, login), "write")) writers.push(login);
    }
    return [...recorded, ...writers];
  }

  /** With drift.on_push: block, a target whose schema drifted from its applied files is held (unless an admin accepted it). */
  private async driftGate(config: RepoConfig, target: ResolvedTarget, refs: MigrationRef[], history: HistoryRow[]): Promise<MigrateOutcome | undefined> {
    if (config.drift.on_push !== "block" || this.run.params.acceptDrift) return undefined;
    await this.checkRun.progress("Checking for drift…", `Comparing **${target.environment}** with its applied migrations (\`drift.on_push: block\`).`, true);
    const applied = appliedRefs(refs, history);
    const drift = await this.step("drift", () => checkDrift(target, applied, (r) => this.downloadMigrations(r)));
    if (drift) await recordDrift(this.deps.db, this.run.repo, `push ${this.run.commitSha.slice(0, 7)}`, drift);
    return drift && drift.kind === "compared" && hasDrift(drift) ? { kind: "drift-blocked", environment: target.environment, drift } : undefined;
  }

  private async migrateTarget(config: RepoConfig, target: ResolvedTarget): Promise<MigrateOutcome> {
    const environment = target.environment;
    const entries = await this.step("list", () => listDirectory(this.github, this.repo, this.run.commitSha, config.migrations.directory));
    let index = indexMigrations(entries, config.migrations.directory, config.migrations.layout);
    let history = await this.step("history", () => readHistoryFromUrl(target.databaseUrl));
    if (history.length === 0 && index.refs.length > 0) {
      const takenOver = await this.step("take-over", () => takeOverOrStop({ config, target, refs: index.refs }));
      if ("stop" in takenOver) return takenOver.stop;
      history = takenOver.history;
    }
    const earlier = await this.appliedEarlier(index.refs, history);
    let planned = plan(index.refs, history, { outOfOrder: config.migrations.out_of_order });
    await updateRun(this.deps.db, this.run.id, { pendingFiles: planned.pending.length });
    const refusal = () => {
      const problems = [...index.problems, ...planned.problems];
      return problems.some((p) => p.severity === "error") ? ({ kind: "refused", environment, problems } as const) : undefined;
    };
    if (refusal()) return refusal()!;
    const appliedCount = history.filter((h) => !h.revertedAt).length;
    if (planned.pending.length === 0) {
      // An earlier attempt applied every file and stopped after: what remains is the deploy hook and verification.
      const backup = earlier.length ? await this.recordedBackup() : undefined;
      return backup ? { kind: "applied", environment, applied: earlier, backup, appliedCount } : { kind: "up-to-date", environment, appliedCount };
    }
    const sizes = new Map(entries.map((e) => [e.path, e.size]));
    const tooLarge = batchTooLarge(planned.pending, (path) => sizes.get(path));
    if (tooLarge.length) return { kind: "refused", environment, problems: tooLarge };
    // The same files are pending in either layout; as dbmate's, only their up halves run.
    const dbmate = await this.dbmateIndex(entries, index, planned.pending);
    if (dbmate) [index, planned] = [dbmate, plan(dbmate.refs, history, { outOfOrder: config.migrations.out_of_order })];
    if (refusal()) return refusal()!;

    const { files, problems: unreadable } = await this.step("download", () => this.downloadMigrations(planned.pending));
    if (unreadable.some((p) => p.severity === "error")) return { kind: "refused", environment, problems: unreadable };
    // Refused before the backup, like any other file problem; the migrator refuses it too (CLI, rehearsals).
    const splitsItsTransaction = await transactionControlProblems(files);
    if (splitsItsTransaction.length) return { kind: "refused", environment, problems: splitsItsTransaction };
    // A resumed run passed the drift gate before its backup; its own files are what changed since.
    const driftHeld = this.checkpoints.backupId ? undefined : await this.driftGate(config, target, index.refs, history);
    if (driftHeld) return driftHeld;

    const backup = await this.preRunBackup(target, files.length, earlier.length > 0);
    if (!("id" in backup)) return backup;
    // After the backup: the files of this run are those pending once it exists (the first record wins).
    await checkpoint.planned(
      this.deps.db,
      this.run.id,
      files.map((f) => f.version),
    );

    // One hold of the migration lock covers the files and the restore after a failure, so no other
    // migration can commit in between and then be silently undone by the restore.
    return this.underMigrationLock(target, config.migrations.lock_wait_seconds, async (lock) => {
      const result = await this.step("migrate", () => this.apply(config, target, files, lock));
      const appliedNow = result.applied.map((a) => appliedFileOf(a.file, a.durationMs));
      for (const file of appliedNow) await checkpoint.applied(this.deps.db, this.run.id, file);
      const applied = [...(await this.committedByDeadAttempt(index.refs, target, result.skipped, earlier, appliedNow)), ...appliedNow];
      if (result.stopped) return this.cancelledOutcome(environment, applied, result.stopped.remaining, backup);
      if (!result.failure) return { kind: "applied", environment, applied, backup, appliedCount: appliedCount + appliedNow.length };
      const { file, committedBefore: _committed, ...failure } = result.failure;
      const report: RestoreReport = { applied, failure: { ...failure, file: { path: file.path, version: file.version, name: file.name } } };
      const recovery = await this.recover(config, target, backup, report, lock);
      return { kind: "failed", environment, backup, recovery, ...report };
    });
  }

  /** The pre-run backup: the one an earlier attempt of this run took (never a second), or a new one. */
  private async preRunBackup(target: ResolvedTarget, pending: number, appliedSince: boolean): Promise<BackupRecord | MigrateOutcome> {
    const environment = target.environment;
    const reused = await this.recordedBackup(appliedSince);
    if (reused) return reused;
    await this.checkRun.progress("Backing up…", `Backing up **${environment}** before applying ${pending} migration(s).`, true);
    let backup: BackupRecord;
    try {
      backup = await this.step("backup", () => this.takeBackup(target));
    } catch (error) {
      if (error instanceof BackupFailedError) return { kind: "backup-failed", environment, error: error.message, pending };
      throw error;
    }
    await checkpoint.backup(this.deps.db, this.run.id, backup.id);
    await updateRun(this.deps.db, this.run.id, { backupId: backup.id });
    return backup;
  }

  /**
   * The backup an earlier attempt recorded. One that is gone is replaced by a new one only while
   * none of the run's files applied since it (`appliedSince`): a newer backup would include them.
   */
  private async recordedBackup(appliedSince = true): Promise<BackupRecord | undefined> {
    const { backupId } = this.checkpoints;
    if (!backupId) return undefined;
    const backup = await getBackup(this.deps.db, backupId);
    if (backup?.status === "ok" && backup.path) {
      const detail = `reused ${backup.id}, taken by an earlier attempt of this run`;
      await recordStep(this.deps.db, this.run.id, { name: "backup", status: "skipped", detail, startedAt: new Date(), durationMs: 0 });
      return backup;
    }
    if (!appliedSince) return undefined;
    throw new Error(
      `this run's backup ${backupId} is no longer usable (${backup?.status ?? "not recorded"}), and a new one would not be from before its first files; push again or run \`/autopilot migrate\` to start over`,
    );
  }

  /**
   * The files of this run that an earlier attempt applied, as the target's history shows them (the
   * truth: a worker may die between a file's commit and its checkpoint, which is recorded here then).
   */
  private async appliedEarlier(refs: MigrationRef[], history: HistoryRow[]): Promise<AppliedFile[]> {
    const { planned, backupId, applied } = this.checkpoints;
    if (!planned || !backupId) return [];
    const inEffect = new Map(history.filter((h) => !h.revertedAt).map((h) => [h.version, h]));
    const paths = new Map(refs.map((r) => [r.version, r.path]));
    const recorded = new Map(applied.map((a) => [a.version, a]));
    const files: AppliedFile[] = [];
    for (const version of planned) {
      const row = inEffect.get(version);
      if (!row) continue;
      const file = recorded.get(version) ?? { version, name: row.name, path: paths.get(version) ?? "", durationMs: row.durationMs ?? 0 };
      if (!recorded.has(version)) await checkpoint.applied(this.deps.db, this.run.id, file);
      files.push(file);
    }
    return files;
  }

  /**
   * The files an earlier attempt applied, seen again under the lock: a killed worker's last file keeps
   * running in its database session and may commit after this attempt read the history, so the
   * migrator finds it applied (skipped) — it is still this run's, for `rollback last` and the report.
   */
  private async committedByDeadAttempt(
    refs: MigrationRef[],
    target: ResolvedTarget,
    skipped: MigrationFile[],
    earlier: AppliedFile[],
    appliedNow: AppliedFile[],
  ): Promise<AppliedFile[]> {
    const known = new Set(earlier.map((f) => f.version));
    if (!skipped.some((f) => !known.has(f.version))) return earlier;
    const mine = new Set(appliedNow.map((f) => f.version));
    const history = (await readHistoryFromUrl(target.databaseUrl)).filter((h) => !mine.has(h.version));
    return this.appliedEarlier(refs, history);
  }

  /** The Check Run's first title on a resume: where it continues. */
  private resumingTitle(): string | undefined {
    const { backupId, planned, applied } = this.checkpoints;
    if (!backupId) return undefined;
    return `Resuming after backup ${backupId}: ${applied.length} of ${planned?.length ?? "?"} file(s) already applied…`;
  }

  private underMigrationLock<T>(target: ResolvedTarget, lockWaitSeconds: number, work: (lock: HeldMigrationLock) => Promise<T>): Promise<T> {
    const waiting = () => void this.checkRun.progress("Waiting for another migration of this database to finish…", undefined, true).catch(() => undefined);
    return holdMigrationLock({ databaseUrl: target.databaseUrl, applicationName: "autopilot-migrate", lockWaitSeconds, onWaiting: waiting }, work);
  }

  private apply(config: RepoConfig, target: ResolvedTarget, files: MigrationFile[], lock: HeldMigrationLock): Promise<MigrateResult> {
    return migrate({
      databaseUrl: target.databaseUrl,
      migrations: files,
      lockTimeout: config.migrations.lock_timeout,
      statementTimeout: config.migrations.statement_timeout,
      heldLock: lock,
      shouldStop: async () => (await cancelRequestOf(this.deps.db, this.run.id)) !== undefined,
      appliedBy: this.run.requestedBy ?? "autopilot",
      commitSha: this.run.commitSha,
      onProgress: (e) => {
        if (e.kind === "applying") {
          void this.checkRun.progress(`Applying ${e.position} of ${e.total}: ${e.file.version}_${e.file.name}…`).catch(() => undefined);
        }
        // At once, not when the batch ends: a worker killed mid-batch leaves its committed files checkpointed.
        if (e.kind === "applied") {
          void checkpoint
            .applied(this.deps.db, this.run.id, appliedFileOf(e.file, e.durationMs))
            .catch((error) => this.deps.log.warn({ run: this.run.id, err: error }, "could not record a checkpoint"));
        }
      },
    });
  }

  /** Stopped by `/autopilot cancel` between files: what applied stays (no restore), the rest is reported as cancelled. */
  private async cancelledOutcome(environment: string, applied: AppliedFile[], remaining: MigrationFile[], backup: BackupRecord): Promise<MigrateOutcome> {
    const by = (await cancelRequestOf(this.deps.db, this.run.id)) ?? "?";
    return { kind: "cancelled", environment, applied, remaining: remaining.map((f) => ({ path: f.path, version: f.version, name: f.name })), by, backup };
  }

  /** After a failed file: restore the pre-run backup when something of this run committed. */
  private async recover(config: RepoConfig, target: ResolvedTarget, backup: BackupRecord, report: RestoreReport, lock: HeldMigrationLock): Promise<Recovery> {
    const committed = committedOf(report);
    if (committed.length === 0) return { action: "nothing-committed" };
    if (config.migrations.on_failure === "stop") return { action: "kept", committed };
    const intent = { backupId: backup.id, environment: target.environment, report };
    await recordRestoreIntent(this.deps.db, this.run.id, intent);
    return this.restore(target, { ...intent, safetyBackupIds: [] }, committed, lock);
  }

  /**
   * Backs up the current state (writes made since the pre-run backup stay recoverable), then restores
   * the pre-run backup, under the migration lock the caller holds. Records how it ended on the intent.
   */
  private async restore(target: ResolvedTarget, intent: MigrateRestoreIntent, committed: string[], lock: HeldMigrationLock): Promise<Recovery> {
    const { backupId } = intent;
    await this.checkRun.progress(
      "Backing up the current state before restoring…",
      `A migration failed after changes committed; backing up before restoring \`${backupId}\`.`,
      true,
    );
    let safety: BackupRecord;
    try {
      safety = await this.step("safety-backup", () => this.takeBackup(target));
    } catch (error) {
      if (!(error instanceof BackupFailedError)) throw error;
      return this.restoreEnded({ action: "not-restored", backupId, committed, error: error.message });
    }
    await addSafetyBackup(this.deps.db, this.run.id, safety.id);
    const safetyBackupIds = [...intent.safetyBackupIds, safety.id];
    await this.checkRun.progress(`Restoring from backup ${backupId}…`, `A migration failed after changes committed; restoring \`${backupId}\`.`, true);
    try {
      const backup = await getBackup(this.deps.db, backupId);
      if (!backup?.path || backup.status !== "ok") throw new Error(`backup ${backupId} is not usable (${backup?.status ?? "not recorded"})`);
      lock.assertHolds(target.databaseUrl);
      const loss = await this.step("loss", () => estimateRestoreLoss(this.deps.db, target.databaseUrl, backup));
      const restored = await this.step("restore", () => this.restoreFromBackup(target, backup));
      const history = await readHistoryFromUrl(target.databaseUrl);
      const historyCount = history.filter((h) => !h.revertedAt).length;
      return this.restoreEnded({ action: "restored", backupId, safetyBackupIds, historyCount, ownersNotKept: restored.ownersNotKept, loss });
    } catch (error) {
      return this.restoreEnded({ action: "restore-failed", backupId, safetyBackupIds, error: redact((error as Error).message) });
    }
  }

  private async restoreEnded(recovery: Recovery): Promise<Recovery> {
    await recordRestoreOutcome(this.deps.db, this.run.id, recovery);
    return recovery;
  }

  /**
   * A retry of a run that had started restoring (its worker crashed): finish the restore, or report
   * how it ended, without planning the migration again — the database may still hold what committed.
   */
  private async resumeRestore(intent: MigrateRestoreIntent): Promise<MigrateOutcome> {
    const { environment, backupId, report } = intent;
    this.environment = environment;
    await this.startCheck(`Resuming the restore of ${environment} from backup ${backupId}…`);
    const failed = (recovery: Recovery) => this.failedWith(intent, recovery);
    if (intent.recovery) return failed(intent.recovery);
    const target = await this.resolveTarget(environment);
    if (typeof target === "string") {
      return failed(await this.restoreEnded({ action: "restore-failed", backupId, safetyBackupIds: intent.safetyBackupIds, error: target }));
    }
    this.target = target;
    const config = await this.step("config", () => this.loadRepoConfig());
    // A config broken since the run started still lets the restore finish, with the default wait.
    const lockWaitSeconds = (config instanceof ConfigError ? loadRepoConfig(null).config : config).migrations.lock_wait_seconds;
    return failed(await this.underMigrationLock(target, lockWaitSeconds, (lock) => this.restore(target, intent, committedOf(report), lock)));
  }

  async conclude(concluded: MigrateOutcome): Promise<void> {
    const outcome = await this.withVerification(await this.withUnfinishedRestore(concluded));
    // Row values in the target's errors are production data, shown only where the operator allows it.
    const shown = shownOutcome(renderCheckRun(outcome, this.run.id), this.target?.showRowValues ?? false);
    const rendered = withHealthWarnings(shown, sectionWarnings(this.repoConfigWarnings, "health"));
    await this.checkRun.complete(rendered);
    if (this.checkRun.id) await updateRun(this.deps.db, this.run.id, { checkRunId: this.checkRun.id });
    const status = statusOf(outcome);
    await finishRun(this.deps.db, this.run.id, {
      status,
      title: rendered.title,
      summary: rendered.summary,
      error: status === "failure" ? rendered.title : undefined,
      waitingFor: waitingForOf(outcome),
    });
    const committed = committedFiles(outcome);
    if (committed.length) await recordRunMigrations(this.deps.db, this.run.id, committed);
    await audit(this.deps.db, {
      actor: this.run.requestedBy,
      repo: this.run.repo,
      environment: this.environment,
      action: "migrate",
      outcome: status,
      detail: { runId: this.run.id, commit: this.run.commitSha, result: outcome.kind },
    });
    await this.announce(outcome, shown);
    const resumed = this.checkpoints.environment ? `; ${resumePoint(this.run.id, this.checkpoints)}` : "";
    await this.answerCommand(
      status === "success",
      `**migrate ${this.environment ?? ""}**: ${rendered.title} (Check Run \`${MIGRATE_CHECK_NAME}\` on ${this.run.commitSha.slice(0, 7)}${resumed})`,
    );
    if (outcome.kind === "applied" && outcome.verification?.regressed && this.config?.verify?.onRegression === "rollback") await this.rollBackAutomatically();
  }

  /** After an applied change, when the repo config verifies: deploy, then watch production (the run stays in progress). */
  private async withVerification(outcome: MigrateOutcome): Promise<MigrateOutcome> {
    const { config, target } = this;
    if (outcome.kind !== "applied" || !config?.verify || !config.health || !target) return outcome;
    if (target.deployHookUrl && !this.deployed) await this.deploy(target);
    this.deployed = true;
    const { verified, verifyStartedAt } = this.checkpoints;
    if (verified) return { ...outcome, verification: verified as Verification };
    // A resumed run continues the window its worker began, judged against the hour before that change.
    const changeAt = verifyStartedAt ?? new Date();
    await checkpoint.verifyStarted(this.deps.db, this.run.id, changeAt);
    const request = {
      repo: this.run.repo,
      environment: target.environment,
      settings: config.verify,
      health: config.health,
      changeAt,
      startedAt: verifyStartedAt,
    };
    const summary = `Applied ${outcome.applied.length} migration(s); watching ${config.verify.checks.join(", ")} against the hour before the change.`;
    try {
      const verification = await this.step("verify", () => verifyChange(this.deps, request, (title) => this.checkRun.progress(title, summary, true)));
      await checkpoint.verified(this.deps.db, this.run.id, verification);
      return { ...outcome, verification };
    } catch (error) {
      // A verification that cannot run does not undo a migration that succeeded.
      this.deps.log.warn({ run: this.run.id, err: error }, "verification failed to run");
      return outcome;
    }
  }

  /** `verify.on_regression: rollback`: the rollback runbook reverts this run, with its safety backup and audit. */
  private async rollBackAutomatically(): Promise<void> {
    await this.deps.enqueue({
      kind: "rollback",
      trigger: "verify",
      commitSha: this.run.commitSha,
      // Confirmed in advance: the repository asked for it (on_regression: rollback); the report still says what a restore discarded.
      params: { environment: this.environment!, destination: { kind: "run", runId: this.run.id }, confirmed: true },
      repo: this.run.repo,
      installationId: this.run.installationId,
      ref: this.run.ref,
      requestedBy: "autopilot",
      deliveryId: null,
      dedupKeys: [`verify-rollback:${this.run.id}`],
    });
  }

  /** A run that gives up while a restore it started is unfinished says so, instead of only "crashed". */
  private async withUnfinishedRestore(outcome: MigrateOutcome): Promise<MigrateOutcome> {
    if (outcome.kind !== "crashed" && outcome.kind !== "unreachable") return outcome;
    const intent = await restoreIntentOf<RestoreReport, Recovery>(this.deps.db, this.run.id).catch(() => undefined);
    if (!intent) return outcome;
    const unfinished: Recovery = {
      action: "restore-failed",
      backupId: intent.backupId,
      safetyBackupIds: intent.safetyBackupIds,
      error: `the restore did not finish: ${outcome.error}`,
    };
    return this.failedWith(intent, intent.recovery ?? unfinished);
  }

  /** The failed outcome a run that restores reports, rebuilt from its stored intent. */
  private async failedWith(intent: MigrateRestoreIntent, recovery: Recovery): Promise<MigrateOutcome> {
    const backup = (await getBackup(this.deps.db, intent.backupId)) ?? missingBackup(intent.backupId, this.run, intent.environment);
    return { kind: "failed", environment: intent.environment, backup, recovery, ...intent.report };
  }

  /** Deploy hook, Slack and the merged PR's comment (`shown`: the Check Run's text). None of them can fail the run. */
  private async announce(outcome: MigrateOutcome, shown: CheckRunOutcome): Promise<void> {
    if (isSuccess(outcome) && !this.deployed && this.target?.deployHookUrl) await this.deploy(this.target);
    if (outcome.kind === "applied") {
      await createDeployment(this.github, this.repo, this.run.commitSha, outcome.environment, `Migrated to ${outcome.applied.at(-1)?.version}`).catch((error) =>
        this.deps.log.warn({ run: this.run.id, err: error }, "could not record a GitHub deployment"),
      );
    }
    const changedSomething =
      outcome.kind === "applied" ||
      outcome.kind === "cancelled" ||
      outcome.kind === "failed" ||
      outcome.kind === "backup-failed" ||
      outcome.kind === "unreachable";
    if (!changedSomething) return;
    const { tone, headline, body } = renderShort(shown, this.run.repo, this.run.commitSha);
    const slackError = await notifySlack(this.target?.slackWebhookUrl, tone, headline, body);
    if (slackError) this.deps.log.warn({ run: this.run.id }, slackError);
    await this.commentOnPull(headline, body).catch((error) =>
      this.deps.log.warn({ run: this.run.id, err: error }, "could not comment on the merged pull request"),
    );
  }

  private async deploy(target: ResolvedTarget): Promise<void> {
    const payload = { repo: this.run.repo, environment: target.environment, commit: this.run.commitSha, source: "autopilot" };
    const result = await triggerDeployHook(target.deployHookUrl!, payload);
    this.deployed = true;
    await checkpoint.deployed(this.deps.db, this.run.id);
    await recordDeployment(this.deps.db, { runId: this.run.id, repo: this.run.repo, environment: target.environment, hook: "deploy_hook", ...result });
    if (!result.ok) this.deps.log.warn({ run: this.run.id }, `deploy hook failed: ${result.error}`);
  }

  private async commentOnPull(headline: string, body: string): Promise<void> {
    const number = await mergedPullNumber(this.github, this.repo, this.run.commitSha);
    if (!number) return;
    const marker = `<!-- autopilot:migrate ${this.run.commitSha} ${this.environment} -->`;
    await upsertMarkedComment(this.github, this.repo, number, marker, `### Autopilot: ${headline}\n\n${body}`);
  }

  private async handleError(error: unknown): Promise<void> {
    const message = await retryOrGiveUp(error, this.attempt, this.checkRun);
    const outcome: MigrateOutcome = isUnavailable(error)
      ? { kind: "unreachable", environment: this.environment ?? "?", error: message, attempts: this.attempt.number }
      : { kind: "crashed", error: message, attempts: this.attempt.number };
    await this.conclude(outcome);
  }

  private async startCheck(title: string): Promise<void> {
    const suffix = this.attempt.number > 1 ? ` (attempt ${this.attempt.number} of ${this.attempt.limit})` : "";
    const id = await this.checkRun.start(title + suffix);
    await updateRun(this.deps.db, this.run.id, { checkRunId: id });
  }

  private branch(): string {
    return (this.run.ref ?? "").replace(/^refs\/heads\//, "");
  }
}

function appliedFileOf(file: MigrationFile, durationMs: number): AppliedFile {
  return { version: file.version, name: file.name, path: file.path, durationMs };
}

/** What stays applied after this run: recorded so `/autopilot rollback last` knows what to revert. */
function committedFiles(outcome: MigrateOutcome): AppliedFile[] {
  if (outcome.kind === "applied" || outcome.kind === "cancelled") return outcome.applied;
  if (outcome.kind === "failed" && (outcome.recovery.action === "kept" || outcome.recovery.action === "not-restored")) return outcome.applied;
  return [];
}

/**
 * What of this run committed before its failure: the files before the failing one and, for a
 * no-transaction file, the statements that ran before the failing one (its first failing commits nothing).
 */
function committedOf({ applied, failure }: RestoreReport): string[] {
  const committed = applied.map((f) => `${f.version}_${f.name}`);
  const statements = failure.statementsCommitted ?? 0;
  if (statements > 0) committed.push(`${failure.file.version}_${failure.file.name} (its first ${statements} statement${statements === 1 ? "" : "s"})`);
  return committed;
}

/** Stands in for a backup record that is gone from the store, so the report can still name it. */
function missingBackup(id: string, run: RunOf<"migrate">, environment: string): BackupRecord {
  return {
    id,
    repo: run.repo,
    environment,
    runId: run.id,
    commitSha: run.commitSha,
    status: "failed",
    path: null,
    sizeBytes: null,
    sha256: null,
    durationMs: null,
    error: "not recorded",
    createdAt: new Date(),
  };
}
