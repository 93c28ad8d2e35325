// What every runbook does around its own steps: reach the repository, read its config, find the
// target the operator bound, and time each step into the run's history.
import { resolveTarget, UnboundTargetError, type ResolvedTarget } from "../config/server-config.js";
import { parseRepoConfig, type RepoConfig } from "../config/repo-config.js";
import { ConfigError } from "../config/yaml-errors.js";
import { downloadBlobs, readRepoConfigText } from "../github/repo-files.js";
import { takeBackup } from "../backups/service.js";
import { readMigration, type MigrationFile, type MigrationRef, type Problem } from "../database/migration-files.js";
import type { BackupRecord } from "../store/backups.js";
import { finishCommand, type ReplyRef } from "../report/command-reply.js";
import { splitRepo, type GitHubClient, type RepoRef } from "../report/octokit.js";
import { redact } from "../redact.js";
import { getRun, recordStep, startAttempt, type Run } from "../store/runs.js";
import type { RunbookDeps } from "./deps.js";

/** Marks a queued run started and reaches its repository; undefined when it was concluded already (a duplicate job). */
export async function beginRun(deps: RunbookDeps, runId: number): Promise<{ run: Run; github: GitHubClient } | undefined> {
  const existing = await getRun(deps.db, runId);
  if (!existing || !["queued", "in_progress"].includes(existing.status)) return undefined;
  const run = await startAttempt(deps.db, runId);
  return { run, github: await deps.github(run.installationId) };
}

export class RunContext {
  readonly repo: RepoRef;
  /** The raw text of `.github/autopilot.yml` last read, for sections parsed on their own (health). */
  repoConfigText?: string | null;
  private defaultBranchName?: string;

  constructor(
    readonly deps: RunbookDeps,
    readonly run: Run,
    readonly github: GitHubClient,
  ) {
    this.repo = splitRepo(run.repo);
  }

  /** `.github/autopilot.yml` from the default branch; a ConfigError is returned, not thrown, to be reported. */
  async loadRepoConfig(): Promise<RepoConfig | ConfigError> {
    const text = await readRepoConfigText(this.github, this.repo, await this.defaultBranch());
    this.repoConfigText = text;
    try {
      return parseRepoConfig(text);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
  }

  async defaultBranch(): Promise<string> {
    this.defaultBranchName ??= (await this.github.rest.repos.get({ ...this.repo })).data.default_branch;
    return this.defaultBranchName;
  }

  /** The target bound to this repository's environment, or why there is none. */
  resolveTarget(environment: string): ResolvedTarget | string {
    try {
      const target = resolveTarget(this.deps.serverConfig, this.run.repo, environment, this.deps.env);
      return target ?? `the server config has no target for ${this.run.repo} / ${environment}`;
    } catch (error) {
      if (error instanceof UnboundTargetError) return error.message;
      throw error;
    }
  }

  /** Every target the server config binds to this repository whose secrets are set. */
  boundTargets(): ResolvedTarget[] {
    return this.deps.serverConfig.targets
      .filter((t) => t.repo.toLowerCase() === this.run.repo.toLowerCase())
      .flatMap((t) => {
        const target = this.resolveTarget(t.environment);
        return typeof target === "string" ? [] : [target];
      });
  }

  /** The repository's Slack webhook: the first of its targets that has one. */
  slackUrl(): string | undefined {
    return this.boundTargets().find((t) => t.slackWebhookUrl)?.slackWebhookUrl;
  }

  /** A verified backup of the target, recorded for this run (old ones pruned). */
  takeBackup(target: ResolvedTarget, commitSha: string | null = this.run.commitSha): Promise<BackupRecord> {
    const { backups } = this.deps.serverConfig;
    return takeBackup({
      db: this.deps.db,
      directory: backups.directory,
      retentionDays: backups.retention_days,
      databaseUrl: target.databaseUrl,
      repo: this.run.repo,
      environment: target.environment,
      runId: this.run.id,
      commitSha,
      onPruneError: (error) => this.deps.log.warn({ err: error, run: this.run.id }, "pruning old backups failed"),
    });
  }

  /** Downloads migration files by their blob SHA (only these) and reads them: directives, UTF-8. */
  async downloadMigrations(refs: MigrationRef[]): Promise<{ files: MigrationFile[]; problems: Problem[] }> {
    const blobs = await downloadBlobs(
      this.github,
      this.repo,
      refs.map((r) => r.checksum),
    );
    const files: MigrationFile[] = [];
    const problems: Problem[] = [];
    for (const ref of refs) {
      const read = readMigration(ref, blobs.get(ref.checksum)!);
      problems.push(...read.problems);
      if (read.file) files.push(read.file);
    }
    return { files, problems };
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
    const reply = this.run.params?.reply as ReplyRef | undefined;
    if (!reply) return;
    await finishCommand(this.github, this.repo, reply, ok, text).catch((error) =>
      this.deps.log.warn({ run: this.run.id, err: error }, "could not answer the command"),
    );
  }
}
