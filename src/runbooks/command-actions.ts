// What each authorized command does. Quick ones answer at once; migrate, rollback, backup and plan
// are queued as runs of their own, which answer in the command's reply when they finish.
import { healthHostDestination, openBreakersOf, targetDatabaseDestination } from "../breakers.js";
import type { Command } from "../commands/parse.js";
import { branchForEnvironment, environmentForBranch, type RepoConfig } from "../config/repo-config.js";
import { readHistoryFromUrl, type HistoryRow } from "../database/history.js";
import { indexMigrations } from "../database/migration-files.js";
import { plan } from "../database/planner.js";
import { listDirectory } from "../github/api/repo-files.js";
import type { ReplyRef } from "../report/command-reply.js";
import { countDeadLetters } from "../store/dead-letters.js";
import { renderStatus, type CheckHealth, type DriftStatus, type EnvironmentStatus } from "../report/status-report.js";
import { listIncidents } from "../github/api/issues.js";
import { listOpenFindings } from "../analytics/finding-store.js";
import { checkStates, uptimeOf } from "../store/health.js";
import { recordApproval } from "../store/approvals.js";
import { ineligibleApprovers } from "../commands/approvers.js";
import { mergedPullOf, pullRequest } from "../github/api/pulls.js";
import { branchHead } from "../github/api/repositories.js";
import { latestDrill } from "../store/restore-drills.js";
import { latestGoodBackup } from "../store/backups.js";
import { BACKUP_COMMAND_INTERVAL_MINUTES, claimBackupCommand } from "../store/backup-claims.js";
import { describeLock, findLock, lockEnvironment, unlockEnvironment } from "../store/locks.js";
import { planParamsOfPull, type RequestOf } from "../store/run-requests.js";
import { getRun, latestFailedMigrateRun, latestRun, waitingRunForCommit, type Run, type RunOf } from "../store/runs.js";
import { cancelWaitingRun, latestCancellableMigrateRun, requestCancel } from "../store/run-cancels.js";
import { concludeCancelledCheck } from "../report/cancel-report.js";
import { resumability } from "./resume.js";
import type { RunContext } from "./run-context.js";
import { takeOver } from "./take-over-action.js";
import type { ResolvedTarget } from "../config/server-config.js";
import { lastDriftCheck } from "../store/drift-checks.js";

export interface ActionResult {
  ok: boolean;
  text: string;
  /** Work that continues in its own job; called once the reply exists, with this command's section. */
  later?: (reply: ReplyRef | undefined) => Promise<void>;
}

export interface Origin {
  issueNumber?: number;
  isPullRequest?: boolean;
  /** The migrate run whose button was pressed. */
  waitingRun?: RunOf<"migrate">;
}

type QueuedKind = "migrate" | "rollback" | "backup" | "plan" | "heal";

/** A run a command queues: its kind and params (the command's reply is added when it is queued). */
type QueuedRequest = { [K in QueuedKind]: Pick<Exclude<RequestOf<K>, { trigger: "schedule" }>, "kind" | "params"> }[QueuedKind];

export class CommandActions {
  constructor(
    private readonly ctx: RunContext,
    private readonly config: RepoConfig,
    private readonly origin: Origin,
  ) {}

  async perform(command: Command, environment: string): Promise<ActionResult> {
    switch (command.verb) {
      case "status":
        return this.status(command.environment);
      case "lock":
        return this.lock(environment, command.reason);
      case "unlock":
        return this.unlock(environment);
      case "approve":
        return this.approve();
      case "migrate":
        return this.migrate(environment, command.acceptDrift);
      case "rollback":
        return this.queue(`rollback ${environment}`, (reply) => ({
          kind: "rollback",
          params: { environment, destination: command.rollback ?? { kind: "last" }, reply, ...(command.confirm ? { confirmed: true } : {}) },
        }));
      case "backup":
        return this.backup(environment);
      case "plan":
        return this.plan(environment);
      case "heal":
        return this.queue("heal", (reply) => ({ kind: "heal", params: { reply } }));
      case "adopt":
      case "baseline":
        return takeOver(this.ctx, this.config, command, environment);
      case "retry":
        return this.retry(command.runId);
      case "cancel":
        return this.cancel(command.runId);
      case "help":
        return { ok: true, text: "" };
    }
  }

  /** Resumes a failed migrate run from its last checkpoint; the run answers in this command's section when it ends. */
  private async retry(runId?: number): Promise<ActionResult> {
    const { db } = this.ctx.deps;
    const label = runId ? `retry ${runId}` : "retry";
    const found = runId ? await getRun(db, runId) : await latestFailedMigrateRun(db, this.ctx.run.repo);
    if (!found || found.repo.toLowerCase() !== this.ctx.run.repo.toLowerCase()) {
      const what = runId ? `this repository has no run #${runId}` : "this repository has no failed migrate run";
      return { ok: false, text: `❌ **${label}**: ${what}.` };
    }
    const decision = await resumability(db, found);
    if (!decision.resumable) return { ok: false, text: `❌ **${label}**: ${decision.reason}.` };
    const start = async (reply: ReplyRef | undefined) => {
      if (!(await this.ctx.deps.retry(found, reply))) this.ctx.deps.log.warn({ run: found.id }, "retry: the run was no longer failed (retried already)");
    };
    return { ok: true, text: `⏳ **${label}**: ${decision.where}…`, later: start };
  }

  /** The run `/autopilot cancel` acts on: the one named, else the repository's newest unfinished migrate run. */
  private async cancelTarget(runId?: number): Promise<Run | undefined> {
    const { db } = this.ctx.deps;
    const id = runId ?? (await latestCancellableMigrateRun(db, this.ctx.run.repo));
    const found = id === undefined ? undefined : await getRun(db, id);
    return found && found.repo.toLowerCase() === this.ctx.run.repo.toLowerCase() ? found : undefined;
  }

  /**
   * The environment a cancel acts on, which authorizes it (admin on production): the run's, or while
   * a queued migrate run has none yet, its branch's. Undefined when there is no such run.
   */
  async cancelEnvironment(runId?: number): Promise<string | undefined> {
    const run = await this.cancelTarget(runId);
    if (!run) return undefined;
    return run.environment ?? (run.ref ? environmentForBranch(this.config, run.ref.replace(/^refs\/heads\//, ""))?.environment : undefined);
  }

  /** Cancels a queued or waiting run at once; asks a running migration to stop before its next file. */
  private async cancel(runId?: number): Promise<ActionResult> {
    const { db } = this.ctx.deps;
    const label = runId ? `cancel ${runId}` : "cancel";
    const run = await this.cancelTarget(runId);
    if (!run) {
      const what = runId ? `this repository has no run #${runId}` : "this repository has no queued, waiting or running migrate run";
      return { ok: false, text: `❌ **${label}**: ${what}.` };
    }
    const login = this.ctx.run.requestedBy!;
    const what = `${run.kind} run #${run.id}${run.environment ? ` on ${run.environment}` : ""}`;
    if (run.status === "in_progress") {
      if (run.kind !== "migrate")
        return { ok: false, text: `❌ **${label}**: ${what} is running; only a migration can be stopped once started (between its files).` };
      if (!(await requestCancel(db, run.id, login))) return { ok: false, text: `❌ **${label}**: ${what} has just finished; nothing to cancel.` };
      return {
        ok: true,
        text: `🛑 **${label}**: ${what} stops before its next migration file (never inside one); what it applied stays applied, and its Check Run says what that was.`,
      };
    }
    const was = run.status === "queued" ? "queued" : `waiting for ${run.waitingFor === "lock" ? "a lock" : "approvals"}`;
    const title = `Cancelled by @${login} (it was ${was})`;
    if (!(await cancelWaitingRun(db, run.id, login, title))) {
      return { ok: false, text: `❌ **${label}**: ${what} is ${run.status}, not queued, waiting or running: nothing to cancel.` };
    }
    await concludeCancelledCheck(this.ctx.github, this.ctx.repo, run, login, title);
    return { ok: true, text: `🛑 **${label}**: ${what} is cancelled (it was ${was}); nothing of it ran.` };
  }

  private async status(only?: string): Promise<ActionResult> {
    const environments = only ? [only] : [...new Set(this.config.environments.map((e) => e.environment))];
    const checks = await this.checkHealth();
    const open = checks.filter((c) => c.incident).length;
    const rows: EnvironmentStatus[] = [];
    for (const environment of environments) rows.push({ ...(await this.environmentStatus(environment)), openIncidents: open });
    const findings = await listOpenFindings(this.ctx.deps.db, this.ctx.run.repo.toLowerCase());
    const deadLetters = await countDeadLetters(this.ctx.deps.db, this.ctx.run.repo);
    return {
      ok: true,
      text: renderStatus(
        rows,
        checks,
        findings.map((f) => ({ summary: f.summary, issue: f.issueNumber })),
        new Date(),
        deadLetters,
      ),
    };
  }

  /** Each monitored check: its last status, uptime, and open incident issue. */
  private async checkHealth(): Promise<CheckHealth[]> {
    const states = await checkStates(this.ctx.deps.db, this.ctx.run.repo);
    if (states.size === 0) return [];
    const incidents = await listIncidents(this.ctx.github, this.ctx.repo).catch(() => []);
    const rows: CheckHealth[] = [];
    for (const state of states.values()) {
      const incident = incidents.find((i) => i.open && i.check === state.check)?.number;
      rows.push({ check: state.check, status: state.status, uptime: await uptimeOf(this.ctx.deps.db, this.ctx.run.repo, state.check), incident });
    }
    return rows;
  }

  private async environmentStatus(environment: string): Promise<EnvironmentStatus> {
    const { db } = this.ctx.deps;
    const [lock, lastRun, lastBackup, lastVerified, lastDrill] = await Promise.all([
      findLock(db, this.ctx.run.repo, environment),
      latestRun(db, this.ctx.run.repo, environment, "migrate"),
      latestGoodBackup(db, this.ctx.run.repo, environment),
      latestDrill(db, this.ctx.run.repo, environment, { passed: true }),
      latestDrill(db, this.ctx.run.repo, environment),
    ]);
    const row: EnvironmentStatus = { environment, lock, lastRun, lastBackup, lastVerified, lastDrill };
    const target = await this.ctx.resolveTarget(environment);
    if (typeof target === "string") return { ...row, problem: target };
    row.openBreakers = await openBreakersOf(
      db,
      [target.deployHookUrl, target.slackWebhookUrl],
      [targetDatabaseDestination(this.ctx.run.repo, environment), ...(await this.siteHostDestinations(environment))],
    );
    row.drift = await this.driftOf(target);
    let history: HistoryRow[];
    try {
      history = await readHistoryFromUrl(target.databaseUrl);
    } catch (error) {
      // Readers see that it is down, never why: connection errors name hosts, ports and roles.
      this.ctx.deps.log.warn({ repo: this.ctx.run.repo, environment, err: error }, "status: the target's history could not be read");
      return { ...row, problem: "unreachable" };
    }
    const applied = history.filter((h) => !h.revertedAt);
    return {
      ...row,
      appliedVersion: applied.at(-1)?.version ?? "none",
      appliedCount: applied.length,
      pending: await this.pendingCount(environment, history),
    };
  }

  /** The circuit breakers of the hosts the health checks probe, on the row of the environment the site belongs to. */
  private async siteHostDestinations(environment: string): Promise<string[]> {
    const checks = this.config.health?.checks ?? [];
    if (checks.length === 0 || (await this.ctx.siteEnvironment(this.config)) !== environment) return [];
    return [...new Set(checks.map((check) => healthHostDestination(check.url)))];
  }

  /**
   * The environment's last recorded drift check (the scheduled one, a plan's or a push's): status
   * answers at once instead of building a scratch database on every call.
   */
  private async driftOf(target: ResolvedTarget): Promise<DriftStatus | undefined> {
    const last = await lastDriftCheck(this.ctx.deps.db, this.ctx.run.repo, target.environment);
    if (last) return { finding: { ...last.result, environment: target.environment }, checkedAt: last.checkedAt, source: last.source, issue: last.issueNumber };
    return target.shadowDatabaseUrl ? { notYet: this.config.drift.schedule } : undefined;
  }

  /** Files of the environment's branch that its target has not applied; undefined when unknown. */
  private async pendingCount(environment: string, history: HistoryRow[]): Promise<number | undefined> {
    const branch = this.branchOf(environment);
    if (!branch) return undefined;
    const directory = this.config.migrations.directory;
    try {
      const refs = indexMigrations(await listDirectory(this.ctx.github, this.ctx.repo, branch, directory), directory, this.config.migrations.layout).refs;
      return plan(refs, history, { outOfOrder: true }).pending.length;
    } catch (error) {
      this.ctx.deps.log.warn({ repo: this.ctx.run.repo, environment, err: error }, "status: the pending migrations could not be listed");
      return undefined;
    }
  }

  private async lock(environment: string, reason?: string): Promise<ActionResult> {
    const login = this.ctx.run.requestedBy!;
    const { taken, lock } = await lockEnvironment(this.ctx.deps.db, { repo: this.ctx.run.repo, environment, lockedBy: login, reason: reason ?? null });
    if (!taken) return { ok: false, text: `❌ **lock ${environment}**: already locked — ${describeLock(lock)}.` };
    return {
      ok: true,
      text: `🔒 **${environment}** is locked by @${login}${reason ? `: ${reason}` : ""}. Pushes and commands leave it alone until \`/autopilot unlock ${environment}\`.`,
    };
  }

  private async unlock(environment: string): Promise<ActionResult> {
    const lock = await unlockEnvironment(this.ctx.deps.db, this.ctx.run.repo, environment);
    if (!lock) return { ok: false, text: `❌ **unlock ${environment}**: it is not locked.` };
    return { ok: true, text: `🔓 **${environment}** is unlocked (it was locked by @${lock.lockedBy}${lock.reason ? `: ${lock.reason}` : ""}).` };
  }

  /** Approves the migration waiting on this merged pull request (or on the pressed button's run). */
  private async approve(): Promise<ActionResult> {
    const waiting = this.origin.waitingRun ?? (await this.waitingRunOfPull());
    if (!waiting || waiting.status !== "action_required") {
      return { ok: false, text: "❌ **approve**: no migration waits for approval here (approve on the merged pull request whose migration waits)." };
    }
    if (waiting.waitingFor === "lock") return this.refuseLocked(waiting);
    const login = this.ctx.run.requestedBy!;
    const pull = await mergedPullOf(this.ctx.github, this.ctx.repo, waiting.commitSha);
    const ineligible = ineligibleApprovers(waiting.requestedBy, pull).get(login.toLowerCase());
    if (ineligible) {
      return { ok: false, text: `❌ **approve**: @${login} ${ineligible}, so their approval does not count; someone else with write permission must approve.` };
    }
    const added = await recordApproval(this.ctx.deps.db, waiting.id, login, this.origin.waitingRun ? "button" : "command");
    await this.ctx.deps.requeue(waiting);
    return {
      ok: true,
      text: `✅ **approve**: ${added ? "approval" : "your earlier approval"} of the ${waiting.environment} migration of ${waiting.commitSha?.slice(0, 7)} by @${login} recorded; it migrates once every approval is in.`,
    };
  }

  /** A run stopped by a lock waits for the lock, not for approvals: approving it would change nothing. */
  private async refuseLocked(waiting: RunOf<"migrate">): Promise<ActionResult> {
    const environment = waiting.environment ?? "?";
    const lock = await findLock(this.ctx.deps.db, this.ctx.run.repo, environment);
    const why = lock ? describeLock(lock) : `${environment} was locked when it ran (the lock is lifted now)`;
    const next = lock ? `\`/autopilot unlock ${environment}\`, then \`/autopilot migrate ${environment}\`` : `\`/autopilot migrate ${environment}\``;
    return {
      ok: false,
      text: `❌ **approve**: the ${environment} migration of ${waiting.commitSha.slice(0, 7)} waits for a lock, not for approval: ${why}. To migrate: ${next}.`,
    };
  }

  private async waitingRunOfPull(): Promise<RunOf<"migrate"> | undefined> {
    if (!this.origin.isPullRequest || !this.origin.issueNumber) return undefined;
    const pull = await pullRequest(this.ctx.github, this.ctx.repo, this.origin.issueNumber);
    return pull.merged && pull.merge_commit_sha ? waitingRunForCommit(this.ctx.deps.db, this.ctx.run.repo, pull.merge_commit_sha) : undefined;
  }

  private async migrate(environment: string, acceptDrift?: boolean): Promise<ActionResult> {
    const branch = this.branchOf(environment);
    if (!branch)
      return {
        ok: false,
        text: `❌ **migrate ${environment}**: no single branch maps to ${environment} in .github/autopilot.yml, so there is no head to migrate to.`,
      };
    const sha = await branchHead(this.ctx.github, this.ctx.repo, branch);
    const params = (reply: ReplyRef | undefined) => (acceptDrift ? { reply, acceptDrift } : { reply });
    return this.queue(`migrate ${environment}`, (reply) => ({ kind: "migrate", params: params(reply) }), { ref: `refs/heads/${branch}`, commitSha: sha });
  }

  /** A backup per environment at most every 10 minutes: pg_dump loads the target and fills the disk. */
  private async backup(environment: string): Promise<ActionResult> {
    const { db } = this.ctx.deps;
    const claim = await claimBackupCommand(db, this.ctx.run.repo, environment);
    if (claim.claimed) {
      const claimedAt = claim.claimedAt.toISOString();
      return this.queue(`backup ${environment}`, (reply) => ({ kind: "backup", params: { environment, claimedAt, reply } }));
    }
    const last = await latestGoodBackup(db, this.ctx.run.repo, environment);
    const wait = Math.max(1, Math.ceil((claim.nextAllowedAt.getTime() - Date.now()) / 60_000));
    return {
      ok: false,
      text:
        `❌ **backup ${environment}**: at most one backup per environment every ${BACKUP_COMMAND_INTERVAL_MINUTES} minutes; ` +
        `the next is allowed at ${claim.nextAllowedAt.toISOString()} (in about ${wait} min). ` +
        (last ? `Last backup: \`${last.id}\` (${last.createdAt.toISOString()}).` : "The one already requested has not finished yet."),
    };
  }

  private async plan(environment: string): Promise<ActionResult> {
    if (this.origin.isPullRequest && this.origin.issueNumber) {
      const pull = await pullRequest(this.ctx.github, this.ctx.repo, this.origin.issueNumber);
      const params = planParamsOfPull(pull);
      return this.queue("plan", (reply) => ({ kind: "plan", params: { ...params, reply } }), { ref: pull.head.ref, commitSha: pull.head.sha });
    }
    const branch = this.branchOf(environment);
    if (!branch) return { ok: false, text: `❌ **plan ${environment}**: no single branch maps to ${environment}.` };
    const params = { baseRef: branch, headRef: branch, fork: false };
    return this.queue(`plan ${environment}`, (reply) => ({ kind: "plan", params: { ...params, reply } }), {
      ref: branch,
      commitSha: await branchHead(this.ctx.github, this.ctx.repo, branch),
    });
  }

  /** Queues the work as a run of its own, which answers in this command's section when done. */
  private async queue(label: string, request: (reply: ReplyRef | undefined) => QueuedRequest, at?: { ref: string; commitSha: string }): Promise<ActionResult> {
    const defaultBranch = await this.ctx.defaultBranch();
    const where = at ?? { ref: `refs/heads/${defaultBranch}`, commitSha: await branchHead(this.ctx.github, this.ctx.repo, defaultBranch) };
    const start = async (reply: ReplyRef | undefined) => {
      await this.ctx.deps.enqueue({
        ...request(reply),
        trigger: reply ? "command" : "button",
        repo: this.ctx.run.repo,
        installationId: this.ctx.run.installationId,
        ...where,
        requestedBy: this.ctx.run.requestedBy,
        deliveryId: this.ctx.run.deliveryId,
      });
    };
    return { ok: true, text: `⏳ **${label}**: queued…`, later: start };
  }

  private branchOf(environment: string): string | undefined {
    return branchForEnvironment(this.config, environment);
  }
}
