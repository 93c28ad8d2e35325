// The scheduled drift check (`drift.schedule`, daily by default, for repositories whose targets
// have a shadow server): each such environment is compared with the files its branch's history
// lists as applied, the result is recorded for `/autopilot status`, and the environment's one
// `drift` issue is opened, edited or closed to match.
import { branchForEnvironment, type RepoConfig } from "../config/repo-config.js";
import type { ResolvedTarget } from "../config/server-config.js";
import { ConfigError } from "../config/yaml-errors.js";
import { readHistoryFromUrl } from "../database/history.js";
import { indexMigrations } from "../database/migration-files.js";
import type { GitHubClient } from "../github/api/client.js";
import { listDirectory } from "../github/api/repo-files.js";
import { reconcileDriftIssue, type DriftIssueChange } from "../report/drift-issues.js";
import { driftHeadline } from "../report/drift-markdown.js";
import { redact } from "../redact.js";
import { setDriftIssue } from "../store/drift-checks.js";
import { finishRun, type Run, type RunOf } from "../store/runs.js";
import type { Attempt, RunbookDeps } from "./deps.js";
import { appliedRefs, checkDrift, recordDrift } from "./drift-check.js";
import type { DriftFinding } from "./drift-outcome.js";
import { beginRun, RunContext } from "./run-context.js";

/** How the scheduled check names itself where its result is shown (`/autopilot status`). */
const SOURCE = "scheduled check";

export async function runScheduledDrift(deps: RunbookDeps, runId: number, _attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "drift");
  if (!begun) return;
  const { run, github } = begun;
  try {
    const { title, failed } = await new ScheduledDriftCheck(deps, run, github).execute();
    await finishRun(deps.db, run.id, { status: failed ? "failure" : "success", title });
  } catch (error) {
    const message = redact((error as Error)?.message ?? String(error));
    deps.log.error({ run: run.id, repo: run.repo }, `scheduled drift check failed: ${message}`);
    await finishRun(deps.db, run.id, { status: "failure", title: "drift check failed", error: message });
  }
}

export async function concludeInterrupted(deps: RunbookDeps, run: Run): Promise<void> {
  await finishRun(deps.db, run.id, { status: "failure", title: "interrupted: the worker stopped", error: "interrupted" });
}

class ScheduledDriftCheck extends RunContext<RunOf<"drift">> {
  constructor(deps: RunbookDeps, run: RunOf<"drift">, github: GitHubClient) {
    super(deps, run, github);
  }

  /** One line per environment checked; failed when any could not be checked. */
  async execute(): Promise<{ title: string; failed: boolean }> {
    const config = await this.loadRepoConfig();
    if (config instanceof ConfigError) return { title: "repo config invalid: drift not checked", failed: true };
    const targets = (await this.boundTargets()).filter((t) => t.shadowDatabaseUrl);
    if (targets.length === 0) return { title: "no target with a shadow server: drift not checked", failed: false };
    const lines: string[] = [];
    let failed = false;
    for (const target of targets) {
      const finding = await this.check(config, target);
      if (!finding) continue;
      failed ||= finding.kind === "failed";
      const change = await this.step(`drift issue ${target.environment}`, () => this.report(finding));
      lines.push(`${driftHeadline(finding)}${change === "none" ? "" : ` (issue ${change})`}`);
    }
    return { title: (lines.join("; ") || "no environment maps to a branch: drift not checked").slice(0, 255), failed };
  }

  /** The environment's drift from the applied files of its branch; undefined when it has no plain branch to read them from. */
  private async check(config: RepoConfig, target: ResolvedTarget): Promise<DriftFinding | undefined> {
    const { environment } = target;
    const branch = branchForEnvironment(config, environment);
    if (!branch) {
      this.deps.log.warn({ repo: this.run.repo, environment }, "drift not checked: no branch without wildcards maps to this environment");
      return undefined;
    }
    const finding = await this.step(`drift ${environment}`, async (): Promise<DriftFinding | undefined> => {
      try {
        const directory = config.migrations.directory;
        const refs = indexMigrations(await listDirectory(this.github, this.repo, branch, directory), directory, config.migrations.layout).refs;
        const history = await readHistoryFromUrl(target.databaseUrl);
        return await checkDrift(target, appliedRefs(refs, history), (applied) => this.downloadMigrations(applied));
      } catch (error) {
        return { kind: "failed", environment, error: redact(error instanceof Error ? error.message : String(error)) };
      }
    });
    if (finding) await recordDrift(this.deps.db, this.run.repo, SOURCE, finding);
    return finding;
  }

  /** A check that could not compare leaves the issue as it was: it says nothing about whether drift is gone. */
  private async report(finding: DriftFinding): Promise<DriftIssueChange> {
    if (finding.kind === "failed") return "none";
    const { number, change } = await reconcileDriftIssue(this.github, this.repo, finding, new Date());
    await setDriftIssue(this.deps.db, this.run.repo, finding.environment, number ?? null);
    return change;
  }
}
