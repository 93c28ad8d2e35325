// What every runbook does around its own steps: reach the repository, read its config, find the
// target the operator bound, and time each step into the run's history.
import { resolveTarget, UnboundTargetError, type ResolvedTarget } from "../config/server-config.js";
import { environmentForBranch, REPO_CONFIG_PATH, repoConfigParser, type RepoConfig } from "../config/repo-config.js";
import { ConfigError, type ConfigProblem } from "../config/yaml-errors.js";
import { downloadBlobs } from "../github/api/repo-files.js";
import { takeBackup } from "../backups/service.js";
import { withBackupFile } from "../backups/fetch-backup.js";
import { restoreDatabase, type RestoreResult } from "../database/restore.js";
import { resolveBackupSettings, type BackupSettings } from "../config/backup-config.js";
import { dbmateIndexFromSample, readMigration, type MigrationFile, type MigrationIndex, type MigrationRef, type Problem } from "../database/migration-files.js";
import type { BackupRecord } from "../store/backups.js";
import { finishCommand } from "../report/command-reply.js";
import { splitRepo, type GitHubClient, type RepoRef } from "../github/api/client.js";
import { repositoryOf, type Repository } from "../github/api/repositories.js";
import { redact } from "../redact.js";
import { recordedRepositoryId, recordOperatorBinding } from "../store/repository-bindings.js";
import { commandReplyOf, type RunKind } from "../store/run-requests.js";
import { getRun, isRunOf, recordStep, startAttempt, type Run, type RunOf } from "../store/runs.js";
import type { RunbookDeps } from "./deps.js";
import { targetsOf } from "../config/targets-of.js";

/**
 * Marks a queued run of `kind` started and reaches its repository; undefined when it was concluded
 * already (a duplicate job).
 */
export async function beginRun<K extends RunKind>(deps: RunbookDeps, runId: number, kind: K): Promise<{ run: RunOf<K>; github: GitHubClient } | undefined> {
  const existing = await getRun(deps.db, runId);
  if (!existing || !["queued", "in_progress"].includes(existing.status)) return undefined;
  const run = await startAttempt(deps.db, runId);
  if (!run) return undefined;
  if (!isRunOf(run, kind)) throw new Error(`run ${runId} is a ${run.kind} run, queued as a ${kind} job`);
  return { run, github: await deps.github(run.installationId) };
}

/** `R`: the kind of run, so a runbook reads its own request (params, commit) typed. */
export class RunContext<R extends Run = Run> {
  readonly repo: RepoRef;
  /** The problems of the repo config last read that leave the rest of it usable (see LoadedRepoConfig). */
  repoConfigWarnings: ConfigProblem[] = [];
  private repository?: Repository;
  private readonly blobCache = new Map<string, Buffer>();

  constructor(
    readonly deps: RunbookDeps,
    readonly run: R,
    readonly github: GitHubClient,
  ) {
    this.repo = splitRepo(run.repo);
  }

  /**
   * `.github/autopilot.yml` from the default branch; a ConfigError is returned, not thrown, to be
   * reported. `trusted`: the copy cached since the default branch last moved will do, and the default
   * branch the scheduler's discovery listed (scheduled work; see RepoConfigReader.readParsedTrusted
   * and ListedRepositories), else GitHub is asked (the config conditionally).
   */
  async loadRepoConfig(options: { trusted?: boolean } = {}): Promise<RepoConfig | ConfigError> {
    const branch = await this.defaultBranch(options);
    const parse = repoConfigParser(this.deps.serverConfig);
    const { config, errors, warnings } = options.trusted
      ? await this.deps.configs.readParsedTrusted(this.github, this.repo, branch, parse)
      : await this.deps.configs.readParsed(this.github, this.repo, branch, parse);
    this.repoConfigWarnings = warnings;
    return errors.length > 0 ? new ConfigError(REPO_CONFIG_PATH, errors) : config;
  }

  /** `trusted`: what the scheduler's discovery listed will do (see ListedRepositories), for the rest of this run too. */
  async defaultBranch(options: { trusted?: boolean } = {}): Promise<string> {
    return (await this.repositoryData(options)).default_branch;
  }

  /** The environment the site's health checks belong to: the one the default branch deploys. */
  async siteEnvironment(config: RepoConfig): Promise<string | undefined> {
    return environmentForBranch(config, await this.defaultBranch())?.environment ?? config.environments[0]?.environment;
  }

  private async repositoryData({ trusted = false } = {}): Promise<Repository> {
    this.repository ??= (trusted ? this.deps.repositories.fresh(this.run.repo) : undefined) ?? (await repositoryOf(this.github, this.repo));
    return this.repository;
  }

  /**
   * The target bound to this repository's environment; `unbound` says why there is none, `refused`
   * why this repository may not use it (the target serves another repository id).
   */
  async targetFor(environment: string): Promise<{ target: ResolvedTarget } | { unbound: string } | { refused: string }> {
    let target: ResolvedTarget | undefined;
    try {
      target = resolveTarget(this.deps.serverConfig, this.run.repo, environment, this.deps.env);
    } catch (error) {
      if (error instanceof UnboundTargetError) return { unbound: error.message };
      throw error;
    }
    if (!target) return { unbound: `the server config has no target for ${this.run.repo} / ${environment}` };
    const refused = await this.checkRepositoryId(target);
    return refused ? { refused } : { target };
  }

  /** The target bound to this repository's environment, or why this repository gets none. */
  async resolveTarget(environment: string): Promise<ResolvedTarget | string> {
    const found = await this.targetFor(environment);
    return "target" in found ? found.target : "unbound" in found ? found.unbound : found.refused;
  }

  /** Every target the server config binds to this repository whose secrets are set and which serves this repository. */
  async boundTargets(): Promise<ResolvedTarget[]> {
    const targets: ResolvedTarget[] = [];
    for (const t of targetsOf(this.deps.serverConfig, this.run.repo)) {
      const found = await this.targetFor(t.environment);
      if ("target" in found) targets.push(found.target);
      if ("refused" in found) this.deps.log.warn({ repo: this.run.repo, environment: t.environment }, found.refused);
    }
    return targets;
  }

  /** The repository's Slack webhook: the first of its targets that has one. */
  async slackUrl(): Promise<string | undefined> {
    return (await this.boundTargets()).find((t) => t.slackWebhookUrl)?.slackWebhookUrl;
  }

  /** Why this repository may not use `target`, when GitHub's id of it is not the one the target serves. */
  private async checkRepositoryId(target: ResolvedTarget): Promise<string | undefined> {
    const actual = (await this.repositoryData()).id;
    const { repo, environment } = target;
    const accept = `If repository ${actual} should reach ${environment}, an operator sets \`repo_id: ${actual}\` on the ${repo} / ${environment} target in the server config (autopilot.server.yml) and restarts Autopilot.`;
    if (target.repoId !== undefined) {
      if (target.repoId !== actual) {
        return `the server config binds ${repo} / ${environment} to repository id ${target.repoId} (\`repo_id\`), but ${this.run.repo} is repository id ${actual}: a repository renamed, or deleted and re-created under this name, does not inherit its target. Nothing was done. ${accept}`;
      }
      await recordOperatorBinding(this.deps.db, repo, environment, actual);
      return undefined;
    }
    const recorded = await recordedRepositoryId(this.deps.db, repo, environment, actual);
    if (recorded === actual) return undefined;
    return `Autopilot first acted on ${repo} / ${environment} for repository id ${recorded}, but ${this.run.repo} is now repository id ${actual} (renamed, or deleted and re-created under this name?). Nothing was done: a new repository does not inherit another's database. ${accept}`;
  }

  /** A verified backup of the target, recorded for this run (old ones pruned). */
  takeBackup(target: ResolvedTarget, commitSha: string | null = this.run.commitSha): Promise<BackupRecord> {
    return takeBackup({
      db: this.deps.db,
      settings: this.backupSettings(target),
      keep: this.deps.serverConfig.backups.keep,
      databaseUrl: target.databaseUrl,
      repo: this.run.repo,
      environment: target.environment,
      runId: this.run.id,
      commitSha,
      onPruneError: (error) => this.deps.log.warn({ err: error, run: this.run.id }, "pruning old backups failed"),
    });
  }

  /** Restores `backup` over the target, fetched (and checked, and decrypted) from whichever store holds it first. */
  restoreFromBackup(target: ResolvedTarget, backup: BackupRecord): Promise<RestoreResult> {
    return withBackupFile(backup, this.backupSettings(target), ({ file, expectedSha256 }) =>
      restoreDatabase({ databaseUrl: target.databaseUrl, file, expectedSha256 }),
    );
  }

  /** Where this target's backups go and the keys that open them (server config + environment). */
  backupSettings(target: ResolvedTarget): BackupSettings {
    return resolveBackupSettings(this.deps.serverConfig, target.repo, target.environment);
  }

  /** Downloads migration files by their blob SHA (only these) and reads them: directives, UTF-8. */
  async downloadMigrations(refs: MigrationRef[]): Promise<{ files: MigrationFile[]; problems: Problem[] }> {
    const blobs = await this.blobs(refs.map((r) => r.checksum));
    const files: MigrationFile[] = [];
    const problems: Problem[] = [];
    for (const ref of refs) {
      const read = readMigration(ref, blobs.get(ref.checksum)!);
      problems.push(...read.problems);
      if (read.file) files.push(read.file);
    }
    return { files, problems };
  }

  /** Blobs by SHA, each downloaded once per run (a file read to detect the layout is not fetched again to apply it). */
  async blobs(shas: string[]): Promise<Map<string, Buffer>> {
    const missing = shas.filter((sha) => !this.blobCache.has(sha));
    for (const [sha, bytes] of await downloadBlobs(this.github, this.repo, missing)) this.blobCache.set(sha, bytes);
    return new Map(shas.map((sha) => [sha, this.blobCache.get(sha)!]));
  }

  /**
   * The listing indexed as dbmate's when the layout was detected as autopilot's but the newest of
   * `among` (files this run downloads anyway) has dbmate's markers; undefined when the index stands.
   */
  async dbmateIndex(entries: Array<{ path: string; sha: string }>, index: MigrationIndex, among: MigrationRef[]): Promise<MigrationIndex | undefined> {
    const sample = among.at(-1);
    if (!sample || index.layout.name !== "autopilot" || !index.layout.detectedFrom) return undefined;
    const content = (await this.blobs([sample.checksum])).get(sample.checksum)!;
    return dbmateIndexFromSample(entries, index, { path: sample.path, content });
  }

  /** Times a step and records it in the run's history. */
  async step<T>(name: string, work: () => Promise<T>): Promise<T> {
    const startedAt = new Date();
    const started = performance.now();
    try {
      const value = await work();
      await recordStep(this.deps.db, this.run.id, { name, status: "success", startedAt, durationMs: performance.now() - started });
      return value;
    } catch (error) {
      const detail = redact((error as Error)?.message ?? String(error));
      await recordStep(this.deps.db, this.run.id, { name, status: "failure", detail, startedAt, durationMs: performance.now() - started });
      throw error;
    }
  }

  /** When a slash command started this run, its section of the reply gets the result. */
  async answerCommand(ok: boolean, text: string): Promise<void> {
    const reply = commandReplyOf(this.run);
    if (!reply) return;
    await finishCommand(this.github, this.repo, reply, ok, text).catch((error) =>
      this.deps.log.warn({ run: this.run.id, err: error }, "could not answer the command"),
    );
  }
}
