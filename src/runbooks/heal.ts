// The heal runbook, one cycle of the self-heal monitor for one repository: probe every check (with
// retries), record the results, heal what is down (deploy hook, database repair, wait, verify),
// and reconcile the incident issues with what the checks say.
import { retryDelays, type HealthConfig } from "../config/health-config.js";
import { branchForEnvironment, sectionWarnings, type RepoConfig } from "../config/repo-config.js";
import { ConfigError } from "../config/yaml-errors.js";
import { probeConfiguredCheck } from "../health/configured-probe.js";
import { probeDatabaseThroughBreaker } from "../health/db-probe.js";
import { targetDatabaseDestination } from "../breakers.js";
import type { CheckResult } from "../health/check-result.js";
import { decideIncidents, DEFAULT_POLICY, type CycleResult, type IncidentAction, type IncidentIssue } from "../health/incident-policy.js";
import { inMaintenance } from "../health/maintenance.js";
import { runAll, withRetries } from "../health/probe-runner.js";
import { triggerDeployHook } from "../report/deploy-hook.js";
import { incidentBody, reminderBody, removedBody, reopenBody, resolvedBody, type HealActionSummary, type LastMigration } from "../report/incident-report.js";
import { DRILL_INCIDENT_PREFIX } from "../report/drill-report.js";
import { closeIncident, commentIncident, incidentLabels, openIncident, reopenIncident } from "../report/incidents.js";
import { recordIncidentChange } from "../store/incident-records.js";
import { deferredBecause } from "../github/api/rate-budget.js";
import { listIncidents } from "../github/api/issues.js";
import type { GitHubClient } from "../github/api/client.js";
import { branchHead } from "../github/api/repositories.js";
import { notifySlack } from "../report/slack.js";
import { redact } from "../redact.js";
import {
  checkStates,
  lastHealAction,
  recordHealAction,
  recordHealth,
  saveCheckState,
  uptimeOf,
  type CheckStatus,
  type RecordedCheckResult,
} from "../store/health.js";
import { recentAppliedRuns } from "../store/run-migrations.js";
import { finishRun, getRun, type Run } from "../store/runs.js";
import type { Attempt, RunbookDeps } from "./deps.js";
import { beginRun, RunContext } from "./run-context.js";
import { isNotifiable, restoreAlertState, type AlertTransition } from "../analytics/alerts.js";
import { ALERT_PREFIX, alertsOnCheck, notifyAlerts, stepAlerts } from "./heal-alerts.js";
import { setTimeout as sleep } from "node:timers/promises";
import { whileWaiting } from "../jobs/worker-lending.js";

export async function runHeal(deps: RunbookDeps, runId: number, _attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "heal");
  if (!begun) return;
  const { run, github } = begun;
  const cycle = new HealCycle(deps, run, github);
  try {
    const title = await cycle.execute();
    await finishRun(deps.db, run.id, { status: "success", title });
    await cycle.answerCommand(true, `**heal**: ${title}.`);
  } catch (error) {
    const message = redact((error as Error)?.message ?? String(error));
    deps.log.error({ run: run.id, repo: run.repo }, `heal cycle failed: ${message}`);
    await finishRun(deps.db, run.id, { status: "failure", title: "heal cycle failed", error: message });
    await cycle.answerCommand(false, `**heal** failed: ${message}`);
  }
}

export async function concludeInterrupted(deps: RunbookDeps, run: Run): Promise<void> {
  await finishRun(deps.db, run.id, { status: "failure", title: "interrupted: the worker stopped", error: "interrupted" });
}

/** A check as this cycle probes it. */
interface Probe {
  name: string;
  kind: CheckResult["kind"];
  environment?: string;
  run(): Promise<CheckResult>;
}

class HealCycle extends RunContext {
  private readonly now = new Date();
  private readonly healActions = new Map<string, HealActionSummary[]>();

  constructor(deps: RunbookDeps, run: Run, github: GitHubClient) {
    super(deps, run, github);
  }

  async execute(): Promise<string> {
    // Every minute for every repository: the config cached since the default branch last moved will do.
    const config = await this.loadRepoConfig({ trusted: true });
    if (config instanceof ConfigError) return "repo config invalid: nothing probed";
    const { health } = config;
    const problems = sectionWarnings(this.repoConfigWarnings, "health");
    if (problems.length) {
      this.deps.log.warn({ repo: this.run.repo, problems }, "health config invalid: nothing probed this cycle");
      return this.alertsOnly(config, `health config invalid (${problems.length} problem(s))`);
    }
    if (!health) return this.alertsOnly(config, "no health section");
    const probes = await this.probes(config, health);
    const first = await this.probeAll(probes, health);
    const final = await this.healIfNeeded(config, probes, first, health);
    await this.reconcile(config, health, final, probes);
    return final.map((r) => `${r.check} ${r.status} (${Math.round(r.latencyMs)} ms)`).join(", ") || "no checks configured";
  }

  /**
   * Nothing to probe, but the repository's alert rules (migration-failed, backup-age, custom ones)
   * still hold: they are stepped and notified as after a full cycle. GitHub's incident issues are
   * read only when an alert fires or resolves, so a quiet repository costs no request.
   */
  private async alertsOnly(config: RepoConfig, why: string): Promise<string> {
    const transitions = (await stepAlerts(this, config, this.now)).filter(isNotifiable);
    if (transitions.length) {
      const issues = await this.incidentsOrUndo(transitions);
      if (!issues) return `${why}: alert rules evaluated; incident issues unreadable, notified next cycle`;
      const windows = this.deps.serverConfig.health.maintenance;
      await notifyAlerts(this, config, transitions, issues, {
        now: this.now,
        slackUrl: await this.slackUrl(),
        silenced: (subject) => inMaintenance(windows, this.run.repo, subject, this.now),
      });
    }
    const changes = transitions.map((t) => `${t.ruleName} ${t.to}`).join(", ");
    return `${why}: alert rules evaluated${changes ? ` (${changes})` : ""}`;
  }

  /** The incident issues; undefined when GitHub cannot say, the transitions then undone to be notified next cycle rather than filed twice. */
  private async incidentsOrUndo(transitions: AlertTransition[]): Promise<IncidentIssue[] | undefined> {
    try {
      return await listIncidents(this.github, this.repo);
    } catch (error) {
      this.deps.log.warn({ repo: this.run.repo, err: error }, "could not read incident issues; alerts notified next cycle");
      for (const transition of transitions) await restoreAlertState(this.deps.db, transition);
      return undefined;
    }
  }

  private async probes(config: RepoConfig, health: HealthConfig): Promise<Probe[]> {
    const policy = { allowHosts: this.deps.serverConfig.health.allow_hosts };
    const http: Probe[] = health.checks.map((check) => ({
      name: check.name,
      kind: "http",
      run: () => probeConfiguredCheck(check, health, policy),
    }));
    return health.database ? [...http, ...(await this.databaseProbes(config, health))] : http;
  }

  /** One probe per target database of an environment the repo config names. */
  private async databaseProbes(config: RepoConfig, health: HealthConfig): Promise<Probe[]> {
    const environments = new Set(config.environments.map((e) => e.environment));
    return (await this.boundTargets())
      .filter((target) => environments.has(target.environment))
      .map((target) => {
        const name = `database-${target.environment}`;
        return {
          name,
          kind: "database" as const,
          environment: target.environment,
          run: () =>
            probeDatabaseThroughBreaker({
              name,
              destination: targetDatabaseDestination(this.run.repo, target.environment),
              databaseUrl: target.databaseUrl,
              tableCounts: health.table_counts,
              degradedMs: health.degraded_ms,
            }),
        };
      });
  }

  /** Probes every check (retrying failures) and records the results; maintenance is recorded as such. */
  private async probeAll(probes: Probe[], health: HealthConfig): Promise<RecordedCheckResult[]> {
    const delays = retryDelays(health);
    const results = await runAll(probes.map((p) => () => withRetries(() => p.run(), delays)));
    return this.record(results, health);
  }

  private async record(results: CheckResult[], health: HealthConfig): Promise<RecordedCheckResult[]> {
    const windows = [...health.maintenance, ...this.deps.serverConfig.health.maintenance];
    const recorded = results.map((r): RecordedCheckResult => ({
      repo: this.run.repo,
      check: r.check,
      kind: r.kind,
      httpStatus: r.httpStatus,
      error: r.error,
      latencyMs: r.latencyMs,
      detail: r.detail,
      status: inMaintenance(windows, this.run.repo, r.check, this.now) ? "maintenance" : r.status,
    }));
    await recordHealth(this.deps.db, recorded);
    return recorded;
  }

  /** Deploy hook and database repair for what is down, then a wait and a second look. */
  private async healIfNeeded(config: RepoConfig, probes: Probe[], results: RecordedCheckResult[], health: HealthConfig): Promise<RecordedCheckResult[]> {
    const down = results.filter((r) => r.status === "unhealthy");
    if (down.length === 0) return results;
    await this.heal(
      config,
      down.map((d) => d.check),
    );
    await whileWaiting(() => sleep(health.recovery_wait_seconds * 1000));
    const again = await this.probeAll(
      probes.filter((p) => down.some((d) => d.check === p.name)),
      health,
    );
    for (const r of again) await this.action(r.check, "verify", r.status !== "unhealthy", `${r.status}${r.error ? `: ${r.error}` : ""}`);
    return results.map((r) => again.find((a) => a.check === r.check) ?? r);
  }

  private async heal(config: RepoConfig, checks: string[]): Promise<void> {
    for (const target of await this.boundTargets()) {
      if (target.deployHookUrl) {
        const result = await triggerDeployHook(
          target.deployHookUrl,
          { repo: this.run.repo, environment: target.environment, reason: "heal", checks },
          { retryDelaysMs: [] },
        );
        for (const check of checks)
          await this.action(
            check,
            "deploy hook",
            result.ok,
            result.ok ? `HTTP ${result.httpStatus}` : result.skipped ? `${result.error}` : `failed: ${result.error}`,
          );
      }
      await this.repair(config, target.environment, checks);
    }
  }

  /** Database repair is the normal migrate job: apply whatever is pending on the environment's branch. */
  private async repair(config: RepoConfig, environment: string, checks: string[]): Promise<void> {
    const branch = branchForEnvironment(config, environment);
    if (!branch) return;
    const head = await branchHead(this.github, this.repo, branch);
    await this.deps.enqueue({
      kind: "migrate",
      trigger: "heal",
      repo: this.run.repo,
      installationId: this.run.installationId,
      ref: `refs/heads/${branch}`,
      commitSha: head,
      requestedBy: "autopilot",
      deliveryId: null,
      params: {},
    });
    for (const check of checks) await this.action(check, "database repair", true, `migrate job queued for ${environment} at ${head.slice(0, 7)}`);
  }

  private async action(check: string, action: string, ok: boolean, detail: string): Promise<void> {
    await recordHealAction(this.deps.db, this.run.repo, check, action, ok, detail);
    this.healActions.set(check, [...(this.healActions.get(check) ?? []), { action, ok, detail }]);
  }

  /** Brings the incident issues in line with the checks; GitHub being down just defers it a cycle. */
  private async reconcile(config: RepoConfig, health: HealthConfig, results: RecordedCheckResult[], probes: Probe[]): Promise<void> {
    const healed = new Set(this.healActions.keys());
    const cycle: CycleResult[] = results.map((r) => ({ check: r.check, status: r.status, escalate: r.status === "unhealthy" && healed.has(r.check) }));
    const states = await checkStates(this.deps.db, this.run.repo);
    // All healthy and no outage on record (an open incident keeps its check's downSince): no issue can
    // need opening, reminding or closing, so a quiet cycle costs GitHub nothing.
    const quiet = results.every((r) => r.status === "healthy") && [...states.values()].every((state) => !state.downSince);
    let issues: IncidentIssue[] = [];
    try {
      if (!quiet) issues = await listIncidents(this.github, this.repo);
    } catch (error) {
      this.deps.log.warn({ repo: this.run.repo, err: error }, "could not read incident issues; reconciling next cycle");
      return;
    }
    // Alert and restore drill incidents have their own lifecycles (heal-alerts.ts, drill.ts); checks reconcile only their own.
    const checkIssues = issues.filter((i) => !i.check.startsWith(ALERT_PREFIX) && !i.check.startsWith(DRILL_INCIDENT_PREFIX));
    const decided = decideIncidents(this.now, cycle, states, checkIssues, {
      ...DEFAULT_POLICY,
      recoverySuccesses: health.recovery_successes,
      reminderIntervalMs: health.reminder_minutes * 60_000,
    });
    for (const state of decided.states) await saveCheckState(this.deps.db, this.run.repo, state);
    // Alerts step first so that an incident resolving now can say where its alerts stand.
    const alertTransitions = await stepAlerts(this, config, this.now);
    let current = issues;
    if (quiet && alertTransitions.some(isNotifiable)) {
      const read = await this.incidentsOrUndo(alertTransitions.filter(isNotifiable));
      if (!read) return;
      current = read;
    }
    for (const action of decided.actions) {
      const changed = await this.perform(action, config, results, probes).catch((error) => {
        this.deps.log.warn({ repo: this.run.repo, action: action.kind, err: error }, "incident update failed; retried next cycle");
        return undefined;
      });
      if (!changed) continue;
      current = [changed, ...current.filter((i) => i.number !== changed.number)];
      const downSince = "downSince" in action ? action.downSince : null;
      await recordIncidentChange(this.deps.db, this.run.repo, { ...changed, downSince }, this.now);
    }
    await this.notify(results, states, decided.actions);
    if (config.notify?.hourly_summary) await this.hourlySummary(results);
    const windows = [...health.maintenance, ...this.deps.serverConfig.health.maintenance];
    await notifyAlerts(this, config, alertTransitions, current, {
      now: this.now,
      slackUrl: await this.slackUrl(),
      silenced: (subject) => inMaintenance(windows, this.run.repo, subject, this.now),
    });
  }

  /** With `notify.hourly_summary`, Slack hears "all healthy" at most once an hour while it is true. */
  private async hourlySummary(results: RecordedCheckResult[]): Promise<void> {
    if (!results.length || results.some((r) => r.status === "unhealthy")) return;
    const last = await lastHealAction(this.deps.db, this.run.repo, "hourly summary");
    if (last && this.now.getTime() - new Date(last).getTime() < 3_600_000) return;
    const slack = await this.slackUrl();
    if (!slack) return;
    const lines = results.map((r) => `• ${r.check}: ${r.status}, ${Math.round(r.latencyMs)} ms`).join("\n");
    const error = await notifySlack(slack, "success", `${this.run.repo}: all ${results.length} check(s) healthy`, lines);
    await recordHealAction(this.deps.db, this.run.repo, "*", "hourly summary", !error, error ?? "sent");
  }

  /** Makes one incident change on GitHub; returns the issue as it now stands (none for a reminder). */
  private async perform(action: IncidentAction, config: RepoConfig, results: RecordedCheckResult[], probes: Probe[]): Promise<IncidentIssue | undefined> {
    const probe = results.find((r) => r.check === action.check);
    const labels = incidentLabels(config);
    switch (action.kind) {
      case "open": {
        const environment = probes.find((p) => p.name === action.check)?.environment ?? (await this.siteEnvironment(config));
        const body = incidentBody({
          probe: probe!,
          downSince: action.downSince,
          actions: this.healActions.get(action.check) ?? [],
          lastMigration: await this.lastMigration(environment),
          uptime: await uptimeOf(this.deps.db, this.run.repo, action.check),
        });
        const number = await openIncident(this.github, this.repo, action.check, labels, body);
        return { number, check: action.check, open: true, closedAt: null };
      }
      case "reopen":
        await reopenIncident(this.github, this.repo, action.number, reopenBody(probe!, action.downSince));
        return { number: action.number, check: action.check, open: true, closedAt: null };
      case "remind": {
        const low = await this.deps.rateBudgets.low(this.run.installationId);
        if (low) {
          this.deps.log.info({ repo: this.run.repo, check: action.check }, `incident reminder ${deferredBecause(low)}`);
          return undefined;
        }
        await commentIncident(this.github, this.repo, action.number, reminderBody(probe!, action.downSince, this.now));
        return undefined;
      }
      case "resolve": {
        const uptime = await uptimeOf(this.deps.db, this.run.repo, action.check);
        const alerts = await alertsOnCheck(this, action.check, action.downSince);
        await closeIncident(this.github, this.repo, action.number, resolvedBody(action.downSince, action.downtimeMs, uptime, alerts));
        return { number: action.number, check: action.check, open: false, closedAt: this.now };
      }
      case "close-removed":
        await closeIncident(this.github, this.repo, action.number, removedBody(action.check));
        return { number: action.number, check: action.check, open: false, closedAt: this.now };
    }
  }

  private async lastMigration(environment: string | undefined): Promise<LastMigration | undefined> {
    if (!environment) return undefined;
    const [last] = await recentAppliedRuns(this.deps.db, this.run.repo, environment, 1);
    const run = last ? await getRun(this.deps.db, last.runId) : undefined;
    const migration = last?.migrations.at(-1);
    return run && migration ? { version: migration.version, name: migration.name, commitSha: last.commitSha, at: run.finishedAt ?? run.createdAt } : undefined;
  }

  /** Slack: degraded → warning, healed → success, heal failed → error. */
  private async notify(results: RecordedCheckResult[], before: Map<string, { status: CheckStatus }>, actions: IncidentAction[]): Promise<void> {
    const slack = await this.slackUrl();
    if (!slack) return;
    for (const r of results) {
      const healedNow = r.status !== "unhealthy" && this.healActions.has(r.check);
      const failed = actions.some((a) => (a.kind === "open" || a.kind === "reopen") && a.check === r.check);
      const newlyDegraded = r.status === "degraded" && before.get(r.check)?.status !== "degraded";
      const message = failed
        ? (["failure", `${this.run.repo}: ${r.check} is down and healing failed`] as const)
        : healedNow
          ? (["success", `${this.run.repo}: ${r.check} was healed`] as const)
          : newlyDegraded
            ? (["warning", `${this.run.repo}: ${r.check} is degraded (${Math.round(r.latencyMs)} ms)`] as const)
            : undefined;
      if (message) await notifySlack(slack, message[0], message[1], r.error ?? r.detail ?? `${r.status}, ${Math.round(r.latencyMs)} ms`);
    }
  }
}
