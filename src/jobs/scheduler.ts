// The internal scheduler. It re-reads which repositories have a `health` section or a shadow server,
// and which targets have backup or drill schedules (so a changed config takes effect without a
// restart), keeps a task per repository (or target) and kind of work on its schedule (one node-cron
// timer per schedule expression fires them all), and on each tick claims the slot in the store:
// however many replicas tick, one run starts. Each
// task starts at its own stable offset into its interval, so a thousand repositories on one schedule
// do not all claim, enqueue and probe in the same instant.
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import cron, { type ScheduledTask } from "node-cron";
import { shortestCronIntervalSeconds } from "../config/cron-interval.js";
import type { Probot } from "probot";
import { effectiveBackups } from "../config/backup-config.js";
import { verifyScheduleOf } from "../config/backup-schedule-config.js";
import { repoConfigParser, sectionWarnings } from "../config/repo-config.js";
import type { RepoRef } from "../github/api/client.js";
import { installedRepositories, listInstallations } from "../github/api/installations.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import { scheduledBackups } from "../backups/schedules.js";
import { claimSlot } from "../store/health.js";
import { backupUnderway, type NewRun } from "../store/runs.js";
import { targetsOf } from "../config/targets-of.js";
import { repeatEvery } from "./repeat.js";

interface Scheduled {
  repo: string;
  work: ScheduledWork;
  expression: string;
  installationId: number;
  delayMs: number;
}

/**
 * What the scheduler starts: a heal cycle on `health.schedule` (without a health section, an alerts-only
 * one on the server config's `health.alerts_schedule`), a scan on `health.scan_schedule` (without one, the
 * server config's), a
 * drift check on `drift.schedule` (daily by default) when one of the repository's targets has a
 * shadow server; and per target (server config) a backup on `backups.schedule` and a restore drill
 * on `backups.verify_schedule`.
 */
type ScheduledWork = { kind: "heal" } | { kind: "scan" } | { kind: "drift" } | { kind: "backup" | "drill"; environment: string };

/** The task's name, and its slot key in the store (heal's is the bare repository, as it always was). */
function keyOf(repo: string, work: ScheduledWork): string {
  if (work.kind === "heal") return repo;
  return "environment" in work ? `${repo}#${work.kind}:${work.environment}` : `${repo}#${work.kind}`;
}

/** Discovery's pace for configs it must ask GitHub for (see `discover`). */
const READ_GAP_MS = 20;

/** How far apart discovery reads `untrusted` configs, every `everyMs`: READ_GAP_MS, closer when that would take more than half of it. */
export function discoveryReadGapMs(untrusted: number, everyMs: number): number {
  return Math.min(READ_GAP_MS, everyMs / 2 / Math.max(untrusted, 1));
}

/** Installations the warm-up round (no interval) reads side by side, each one's configs in turn. */
const WARM_UP_INSTALLATIONS = 8;

/** An installation, its client and its repositories, as a discovery round lists them. */
interface InstallationToDiscover {
  installation: { id: number };
  github: Awaited<ReturnType<Probot["auth"]>>;
  repos: Awaited<ReturnType<typeof installedRepositories>>;
}

/** Runs `work` over `items`, at most `atOnce` at a time; a failure ends its runner, and is thrown once every runner has ended. */
async function eachAtOnce<T>(items: T[], atOnce: number, work: (item: T) => Promise<void>): Promise<void> {
  const waiting = [...items];
  const runner = async () => {
    for (let item = waiting.shift(); item !== undefined; item = waiting.shift()) await work(item);
  };
  const ended = await Promise.allSettled(Array.from({ length: Math.min(atOnce, waiting.length) }, runner));
  const failed = ended.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
}

/** A task starts within its interval, and at most this long after its time. */
const MAX_SPREAD_MS = 60_000;

/**
 * How long after its schedule fires a task starts: a fraction of the spread window taken from the
 * hash of its key, so every replica waits the same and a thousand repositories on `* * * * *` start
 * over the whole minute instead of at once (as Prometheus spreads its scrapes over their interval;
 * spread over half of it, the drill's slow answers still gathered in that half).
 */
export function spreadDelayMs(key: string, expression: string): number {
  const window = Math.min(MAX_SPREAD_MS, shortestCronIntervalSeconds(expression) * 1000);
  const fraction = createHash("sha256").update(key).digest().readUInt32BE(0) / 2 ** 32;
  return Math.floor(fraction * window);
}

export class HealthScheduler {
  private readonly tasks = new Map<string, Scheduled>();
  /**
   * One node-cron task per expression, firing every task on it: a thousand tasks of their own cost the
   * event loop 108 ms each time they fired together, just to work out their next times.
   */
  private readonly timers = new Map<string, { cron: ScheduledTask; keys: Set<string> }>();
  /** Ticks waiting out their spread delay: a stop cancels them. */
  private readonly delayed = new Set<NodeJS.Timeout>();
  private stopDiscovering?: () => Promise<void>;
  /** Set by `stop`: a paced discovery under way ends at its next repository instead of reading on. */
  private stopping = false;

  constructor(
    private readonly app: Probot,
    private readonly deps: RunbookDeps,
  ) {}

  /**
   * Discovers now and every `discoverEverySeconds`, one round at a time (a slow round never overlaps
   * the next). The first round reads back to back and calls `warmed` when it ends, read or failed:
   * it is the replica's warm-up, before it reports ready (web/readiness.ts), so no answer waits for it.
   */
  start(discoverEverySeconds: number, warmed: () => void = () => undefined): void {
    let first = true;
    const round = async () => {
      if (!first) return this.discover(discoverEverySeconds * 1000);
      first = false;
      await this.discover().finally(warmed);
    };
    this.stopDiscovering = repeatEvery(discoverEverySeconds, round, (error) =>
      this.deps.log.warn({ err: error }, "scheduler could not list repositories; trying again later"),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopDiscovering?.();
    for (const timer of this.timers.values()) await timer.cron.stop();
    this.timers.clear();
    this.tasks.clear();
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }

  /**
   * Every installed repository's work gets (or keeps) its task; work no longer configured loses it.
   * Configs not trusted yet are read READ_GAP_MS apart, closer only when that would take more than
   * half of `everyMs`: read back to back, a thousand of them and their parsing took the event loop a
   * webhook answer waits for (drill:load's first seconds). A round with no interval (the warm-up
   * before the replica is ready) is not paced, and reads WARM_UP_INSTALLATIONS installations side by
   * side, each one's configs in turn: GitHub asks an app to send one client's requests one at a time,
   * and each installation is a client of its own.
   */
  async discover(everyMs = 0): Promise<void> {
    const seen = new Set<string>();
    const read: Array<{ repo: RepoRef; ref: string }> = [];
    const listed: Array<{ id: number; default_branch: string; full_name: string }> = [];
    const installations: InstallationToDiscover[] = [];
    for (const installation of await listInstallations(await this.app.auth())) {
      const github = await this.app.auth(installation.id);
      installations.push({ installation, github, repos: await installedRepositories(github) });
    }
    const untrusted = installations.flatMap((i) => i.repos).filter((r) => !this.deps.configs.trusts({ owner: r.owner.login, repo: r.name }, r.default_branch));
    const gapMs = discoveryReadGapMs(untrusted.length, everyMs);
    const discoverInstallation = async ({ installation, github, repos }: InstallationToDiscover) => {
      listed.push(...repos);
      for (const repo of repos) {
        const ref = { repo: { owner: repo.owner.login, repo: repo.name }, ref: repo.default_branch };
        read.push(ref);
        if (gapMs >= 1 && !this.deps.configs.trusts(ref.repo, ref.ref)) await sleep(gapMs);
        if (this.stopping) return;
        for (const { work, schedule } of await this.schedulesOf(github, repo, ref)) {
          seen.add(keyOf(repo.full_name, work));
          this.ensure(repo.full_name, work, installation.id, schedule);
        }
      }
    };
    await eachAtOnce(installations, gapMs >= 1 ? 1 : WARM_UP_INSTALLATIONS, discoverInstallation);
    if (this.stopping) return;
    this.deps.configs.keepOnly(read);
    this.deps.repositories.replace(listed);
    for (const key of this.tasks.keys()) if (!seen.has(key)) this.unschedule(key);
  }

  /** What the repository's config (read as push routing reads it: trusted until its default branch moves, or 10 min) schedules. */
  private async schedulesOf(
    github: InstallationToDiscover["github"],
    repo: InstallationToDiscover["repos"][number],
    ref: { repo: RepoRef; ref: string },
  ): Promise<Array<{ work: ScheduledWork; schedule: string }>> {
    const { config, warnings, errors } = await this.deps.configs.readParsedTrusted(github, ref.repo, ref.ref, repoConfigParser(this.deps.serverConfig));
    const { health } = config;
    const problems = sectionWarnings(warnings, "health");
    if (problems.length)
      this.deps.log.warn({ repo: repo.full_name, problems }, "health config invalid; nothing probed until fixed, alert rules still evaluated");
    const schedules: Array<{ work: ScheduledWork; schedule: string }> = [...this.backupsOf(repo), ...this.drillsOf(repo.full_name)];
    if (health) schedules.push({ work: { kind: "heal" }, schedule: health.schedule }, { work: { kind: "scan" }, schedule: health.scan_schedule });
    // Without one, the heal cycle only evaluates the alert rules (migration-failed, backup-age, …): every repository has them.
    else
      schedules.push(
        { work: { kind: "heal" }, schedule: this.deps.serverConfig.health.alerts_schedule },
        // No samples to scan, but its runs make a week worth reporting (the scan posts the insights only then).
        { work: { kind: "scan" }, schedule: this.deps.serverConfig.health.scan_schedule },
      );
    // An unusable file's drift section may be its mistake (a schedule firing too often): no drift check until it is fixed.
    if (this.hasShadowServer(repo.full_name) && errors.length === 0) schedules.push({ work: { kind: "drift" }, schedule: config.drift.schedule });
    return schedules;
  }

  /** The drift check rebuilds the applied files on a shadow server: without one there is nothing to schedule. */
  private hasShadowServer(repo: string): boolean {
    return targetsOf(this.deps.serverConfig, repo).some((t) => t.shadow_database_url_env);
  }

  /**
   * The repository's targets with a backup schedule. A target whose `repo_id` names another
   * repository is not scheduled (its runs would only be refused); the recorded binding is checked
   * by the backup run itself, as for every run.
   */
  private backupsOf(repo: { id: number; full_name: string }): Array<{ work: ScheduledWork; schedule: string }> {
    return scheduledBackups(this.deps.serverConfig, repo.full_name).flatMap((t) => {
      if (t.repoId !== undefined && t.repoId !== repo.id) {
        this.deps.log.warn(
          { repo: repo.full_name, environment: t.environment, repoId: t.repoId },
          "backups.schedule: the target is bound to another repository id; not scheduled",
        );
        return [];
      }
      return [{ work: { kind: "backup", environment: t.environment }, schedule: t.schedule }];
    });
  }

  /** The repository's targets whose restore drills run on a schedule (their own, or weekly with a shadow server). */
  private drillsOf(repo: string): Array<{ work: ScheduledWork; schedule: string }> {
    const { serverConfig } = this.deps;
    return targetsOf(serverConfig, repo).flatMap((t) => {
      const schedule = verifyScheduleOf(effectiveBackups(serverConfig, t), Boolean(t.shadow_database_url_env));
      return schedule ? [{ work: { kind: "drill", environment: t.environment } as const, schedule }] : [];
    });
  }

  private ensure(repo: string, work: ScheduledWork, installationId: number, expression: string): void {
    const key = keyOf(repo, work);
    const current = this.tasks.get(key);
    if (current?.expression === expression) return;
    if (current) this.unschedule(key);
    const delayMs = spreadDelayMs(key, expression);
    this.tasks.set(key, { repo, work, expression, installationId, delayMs });
    this.timerFor(expression).keys.add(key);
    this.deps.log.info(
      { repo, kind: work.kind, environment: "environment" in work ? work.environment : undefined, schedule: expression, startsAfterMs: delayMs },
      "scheduled",
    );
  }

  private timerFor(expression: string) {
    let timer = this.timers.get(expression);
    if (!timer) {
      const keys = new Set<string>();
      const fire = (date: Date) => {
        for (const key of keys) {
          const { repo, work, installationId, delayMs } = this.tasks.get(key)!;
          this.afterDelay(delayMs, () => this.tick(repo, work, installationId, date));
        }
      };
      timer = { cron: cron.schedule(expression, (context) => fire(context.date), { name: expression, noOverlap: false }), keys };
      this.timers.set(expression, timer);
    }
    return timer;
  }

  private unschedule(key: string): void {
    const expression = this.tasks.get(key)?.expression;
    this.tasks.delete(key);
    const timer = expression === undefined ? undefined : this.timers.get(expression);
    if (!timer) return;
    timer.keys.delete(key);
    if (timer.keys.size === 0) {
      void timer.cron.stop();
      this.timers.delete(expression!);
    }
  }

  private afterDelay(delayMs: number, work: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      void work();
    }, delayMs);
    this.delayed.add(timer);
  }

  /** Exposed for tests: what one replica does when `work`'s schedule fires at `date`. */
  async tick(repo: string, work: ScheduledWork, installationId: number, date: Date): Promise<void> {
    const slot = new Date(Math.floor(date.getTime() / 1000) * 1000);
    try {
      // One run per repository, kind (and environment) and slot, whichever replica claims it first.
      if (!(await claimSlot(this.deps.db, keyOf(repo, work), slot))) {
        this.deps.log.debug({ repo, kind: work.kind, slotKey: keyOf(repo, work), slot: slot.toISOString() }, "slot claimed by another replica");
        return;
      }
      if (work.kind === "backup" && (await backupUnderway(this.deps.db, repo, work.environment))) {
        this.deps.log.info({ repo, environment: work.environment, slot: slot.toISOString() }, "scheduled backup skipped: the previous one has not finished");
        return;
      }
      await this.deps.enqueue(scheduledRun(repo, work, installationId, slot.toISOString()));
    } catch (error) {
      this.deps.log.warn({ repo, kind: work.kind, err: error }, "could not enqueue a scheduled run");
    }
  }
}

function scheduledRun(repo: string, work: ScheduledWork, installationId: number, slot: string): NewRun {
  const common = { trigger: "schedule", repo, installationId, ref: null, commitSha: null, requestedBy: "autopilot", deliveryId: null } as const;
  return "environment" in work
    ? { ...common, kind: work.kind, params: { environment: work.environment, slot } }
    : { ...common, kind: work.kind, params: { slot } };
}
