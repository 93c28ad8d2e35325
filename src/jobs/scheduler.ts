// The internal scheduler. It re-reads which repositories have a `health` section or a shadow server (so a changed
// config takes effect without a restart), keeps one node-cron task per repository on its schedule,
// and on each tick claims the slot in the store: however many replicas tick, one heal job runs.
import cron, { type ScheduledTask } from "node-cron";
import type { Probot } from "probot";
import { effectiveBackups } from "../config/backup-config.js";
import { verifyScheduleOf } from "../config/backup-schedule-config.js";
import { loadRepoConfig, sectionWarnings, serverLimitsOf } from "../config/repo-config.js";
import type { RepoRef } from "../github/api/client.js";
import { installedRepositories, listInstallations } from "../github/api/installations.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import { claimSlot } from "../store/health.js";

interface Scheduled {
  expression: string;
  installationId: number;
  task: ScheduledTask;
}

/**
 * What the scheduler starts: a heal cycle on `health.schedule`, a scan on `health.scan_schedule`, a
 * drift check on `drift.schedule` (daily by default) when one of the repository's targets has a shadow
 * server, and per target (server config) a restore drill on `backups.verify_schedule`.
 */
type ScheduledKind = "heal" | "scan" | "drift" | "drill";

export class HealthScheduler {
  private readonly tasks = new Map<string, Scheduled>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly app: Probot,
    private readonly deps: RunbookDeps,
  ) {}

  start(discoverEverySeconds: number): void {
    const discover = () => this.discover().catch((error) => this.deps.log.warn({ err: error }, "scheduler could not list repositories; trying again later"));
    void discover();
    this.timer = setInterval(discover, discoverEverySeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const { task } of this.tasks.values()) await task.stop();
    this.tasks.clear();
  }

  /** Every installed repository with a valid health section gets (or keeps) its task; others lose theirs. */
  async discover(): Promise<void> {
    const seen = new Set<string>();
    const read: Array<{ repo: RepoRef; ref: string }> = [];
    const installations = await listInstallations(await this.app.auth());
    for (const installation of installations) {
      const github = await this.app.auth(installation.id);
      const repos = await installedRepositories(github);
      for (const repo of repos) {
        const ref = { repo: { owner: repo.owner.login, repo: repo.name }, ref: repo.default_branch };
        read.push(ref);
        for (const { environment, expression } of this.drillSchedules(repo.full_name)) {
          seen.add(`${repo.full_name}#drill:${environment}`);
          this.ensure(repo.full_name, "drill", installation.id, expression, environment);
        }
        const text = await this.deps.configs.read(github, ref.repo, ref.ref);
        const { config, warnings, errors } = loadRepoConfig(text, serverLimitsOf(this.deps.serverConfig));
        const { health } = config;
        const problems = sectionWarnings(warnings, "health");
        if (problems.length) this.deps.log.warn({ repo: repo.full_name, problems }, "health config invalid; not scheduled until fixed");
        const schedules: Array<[ScheduledKind, string]> = [];
        if (health) schedules.push(["heal", health.schedule], ["scan", health.scan_schedule]);
        // An unusable file's drift section may be its mistake (a schedule firing too often): no drift check until it is fixed.
        if (this.hasShadowServer(repo.full_name) && errors.length === 0) schedules.push(["drift", config.drift.schedule]);
        for (const [kind, expression] of schedules) {
          seen.add(`${repo.full_name}#${kind}`);
          this.ensure(repo.full_name, kind, installation.id, expression);
        }
      }
    }
    this.deps.configs.keepOnly(read);
    for (const [key, scheduled] of this.tasks) {
      if (!seen.has(key)) {
        await scheduled.task.stop();
        this.tasks.delete(key);
      }
    }
  }

  /** The drift check rebuilds the applied files on a shadow server: without one there is nothing to schedule. */
  private hasShadowServer(repo: string): boolean {
    return this.deps.serverConfig.targets.some((t) => t.repo.toLowerCase() === repo.toLowerCase() && t.shadow_database_url_env);
  }

  /** The repository's targets whose restore drills run on a schedule (their own, or weekly with a shadow server). */
  private drillSchedules(repo: string): Array<{ environment: string; expression: string }> {
    const { serverConfig } = this.deps;
    return serverConfig.targets.flatMap((t) => {
      if (t.repo.toLowerCase() !== repo.toLowerCase()) return [];
      const expression = verifyScheduleOf(effectiveBackups(serverConfig, t), Boolean(t.shadow_database_url_env));
      return expression ? [{ environment: t.environment, expression }] : [];
    });
  }

  /** `environment`: a drill's, which has one task per target. */
  private ensure(repo: string, kind: ScheduledKind, installationId: number, expression: string, environment?: string): void {
    const key = `${repo}#${kind}${environment ? `:${environment}` : ""}`;
    const current = this.tasks.get(key);
    if (current?.expression === expression) return;
    void current?.task.stop();
    const task = cron.schedule(expression, (context) => this.tick(key, repo, kind, installationId, context.date, environment), {
      name: `${kind} ${repo}${environment ? ` ${environment}` : ""}`,
      noOverlap: false,
    });
    this.tasks.set(key, { expression, installationId, task });
    this.deps.log.info({ repo, kind, environment, schedule: expression }, "scheduled");
  }

  private async tick(key: string, repo: string, kind: ScheduledKind, installationId: number, date: Date, environment?: string): Promise<void> {
    const slot = new Date(Math.floor(date.getTime() / 1000) * 1000);
    const request =
      kind === "drill" ? ({ kind, params: { environment: environment!, slot: slot.toISOString() } } as const) : { kind, params: { slot: slot.toISOString() } };
    try {
      // One run per repository, kind (and drill target) and slot, whichever replica claims it first.
      if (!(await claimSlot(this.deps.db, kind === "heal" ? repo : key, slot))) return;
      await this.deps.enqueue({
        ...request,
        trigger: "schedule",
        repo,
        installationId,
        ref: null,
        commitSha: null,
        requestedBy: "autopilot",
        deliveryId: null,
      });
    } catch (error) {
      this.deps.log.warn({ repo, kind, err: error }, "could not enqueue a scheduled run");
    }
  }
}
