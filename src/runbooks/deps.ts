// What every runbook is handed: the store, the operator's config and a way to reach GitHub.
import type pg from "pg";
import type { ServerConfig } from "../config/server-config.js";
import type { Logger } from "../logger.js";
import type { GitHubClient } from "../github/api/client.js";
import type { RepoConfigReader } from "../github/api/repo-files.js";
import type { RateBudgets } from "../github/api/rate-budget.js";
import type { ListedRepositories } from "../github/api/repositories.js";
import type { NewRun, Run } from "../store/runs.js";
import type { ParamsOf } from "../store/run-requests.js";
import type { CheckRunReporter } from "../report/check-run.js";
import { isUnavailable } from "../database/connection-errors.js";
import { redact } from "../redact.js";

export interface RunbookDeps {
  db: pg.Pool;
  serverConfig: ServerConfig;
  github(installationId: number): Promise<GitHubClient>;
  /** GitHub's rate-limit budget per installation: non-urgent work is deferred while it is low. */
  rateBudgets: RateBudgets;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** `.github/autopilot.yml` read conditionally (ETag): an unchanged config costs no rate limit, for jobs, pushes and the scheduler alike. */
  configs: RepoConfigReader;
  /** Each installed repository's id and default branch as the scheduler's discovery last listed them. */
  repositories: ListedRepositories;
  /** Records and queues another run (a command's migrate, rollback, …); undefined if it already exists. */
  enqueue(run: NewRun): Promise<Run | undefined>;
  /** Puts a run that waited for approvals back in line. */
  requeue(run: Run): Promise<boolean>;
  /** Puts a failed run back in line to resume from its checkpoints, answering `reply`; false when it is no longer failed. */
  retry(run: Run, reply: ParamsOf<"migrate">["reply"]): Promise<boolean>;
}

export interface Attempt {
  /** 1-based number of this attempt. */
  number: number;
  /** Attempts in all, including this one. */
  limit: number;
}

export const isLastAttempt = (a: Attempt) => a.number >= a.limit;

/** A retryable failure: the job is thrown back to the queue, which tries again with backoff. */
export class RetryLater extends Error {}

/**
 * After a failed attempt: while attempts remain (and the failure is `retryable`), says so on the
 * Check Run and throws RetryLater for the queue's backoff; otherwise returns the redacted message
 * for the runbook to conclude with.
 */
export async function retryOrGiveUp(error: unknown, attempt: Attempt, checkRun: CheckRunReporter, retryable = true): Promise<string> {
  const message = redact((error as Error)?.message ?? String(error));
  if (isLastAttempt(attempt) || !retryable) return message;
  const reason = isUnavailable(error) ? "database unreachable" : "failed";
  await checkRun
    .progress(`Attempt ${attempt.number} of ${attempt.limit} ${reason}; retrying with backoff…`, `\`\`\`\n${message}\n\`\`\``, true)
    .catch(() => undefined);
  throw new RetryLater(message);
}
