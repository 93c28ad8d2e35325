// GitHub's rate-limit budget per installation, read from the x-ratelimit-* headers of every response
// a job gets. Below LOW_BUDGET_SHARE of the hour's limit, non-urgent work (anomaly scans, weekly
// insights, incident reminders) is deferred so migrations and incidents keep the rest. The budget is
// kept in the store (written at most every few seconds per installation) so every replica defers
// alike and /metrics can show it.
//
// Secondary rate limits (403/429 with retry-after, or "secondary rate limit" in the message) are
// waited out as GitHub documents: retry-after when given, else until x-ratelimit-reset, else one
// minute, doubling, at most three times.
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { GitHubClient } from "./client.js";

export const LOW_BUDGET_SHARE = 0.1;
const WRITE_EVERY_MS = 5_000;
const SECONDARY_RETRIES = 3;

export interface RateBudget {
  installationId: number;
  remaining: number;
  limit: number;
  resetAt: Date;
}

export class RateBudgets {
  private readonly seen = new Map<number, RateBudget & { writtenAt: number }>();

  constructor(
    private readonly db: pg.Pool,
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {}

  /** Wraps an installation's client: every response updates the budget; secondary limits are waited out. */
  watch(github: GitHubClient, installationId: number): GitHubClient {
    github.hook.wrap("request", async (request, options) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await request(options);
          this.observe(installationId, response.headers as Record<string, unknown>);
          return response;
        } catch (error) {
          const headers = ((error as { response?: { headers?: Record<string, unknown> } }).response?.headers ?? {}) as Record<string, unknown>;
          this.observe(installationId, headers);
          const waitMs = secondaryWaitMs(error, headers, attempt);
          if (waitMs === undefined || attempt >= SECONDARY_RETRIES) throw error;
          await this.wait(waitMs);
        }
      }
    });
    return github;
  }

  /** The budget when it is below LOW_BUDGET_SHARE and not yet reset; undefined when there is room (or nothing is known). */
  async low(installationId: number, now = new Date()): Promise<RateBudget | undefined> {
    const budget = this.seen.get(installationId) ?? (await this.stored(installationId));
    if (!budget || budget.resetAt <= now || budget.limit <= 0) return undefined;
    return budget.remaining / budget.limit < LOW_BUDGET_SHARE ? budget : undefined;
  }

  private observe(installationId: number, headers: Record<string, unknown>): void {
    const remaining = Number(headers["x-ratelimit-remaining"]);
    const limit = Number(headers["x-ratelimit-limit"]);
    const reset = Number(headers["x-ratelimit-reset"]);
    if (!Number.isFinite(remaining) || !Number.isFinite(limit) || !Number.isFinite(reset)) return;
    const previous = this.seen.get(installationId);
    const budget = { installationId, remaining, limit, resetAt: new Date(reset * 1000), writtenAt: previous?.writtenAt ?? 0 };
    const crossed = previous && previous.remaining / previous.limit >= LOW_BUDGET_SHARE !== remaining / limit >= LOW_BUDGET_SHARE;
    if (crossed || Date.now() - budget.writtenAt >= WRITE_EVERY_MS) {
      budget.writtenAt = Date.now();
      void this.write(budget).catch(() => undefined);
    }
    this.seen.set(installationId, budget);
  }

  private async write(b: RateBudget): Promise<void> {
    await this.db.query(
      `insert into github_rate_budgets (installation_id, remaining, "limit", reset_at) values ($1, $2, $3, $4)
       on conflict (installation_id) do update set remaining = $2, "limit" = $3, reset_at = $4, updated_at = now()`,
      [b.installationId, b.remaining, b.limit, b.resetAt],
    );
  }

  private async stored(installationId: number): Promise<RateBudget | undefined> {
    const { rows } = await this.db.query(`select remaining, "limit", reset_at from github_rate_budgets where installation_id = $1`, [installationId]);
    return rows[0] ? { installationId, remaining: rows[0].remaining, limit: rows[0].limit, resetAt: rows[0].reset_at } : undefined;
  }
}

/** How long to wait before retrying a secondary-rate-limited request; undefined when it was not one. */
export function secondaryWaitMs(error: unknown, headers: Record<string, unknown>, attempt: number): number | undefined {
  const status = (error as { status?: number }).status;
  const message = String((error as Error)?.message ?? "");
  const retryAfter = Number(headers["retry-after"]);
  const secondary = (status === 403 || status === 429) && (Number.isFinite(retryAfter) || /secondary rate limit/i.test(message));
  if (!secondary) return undefined;
  if (Number.isFinite(retryAfter)) return retryAfter * 1000;
  const reset = Number(headers["x-ratelimit-reset"]);
  if (Number(headers["x-ratelimit-remaining"]) === 0 && Number.isFinite(reset)) return Math.max(0, reset * 1000 - Date.now());
  return 60_000 * 2 ** attempt;
}

/** "deferred: GitHub API budget of installation 42 is at 312 of 5000 until 14:05 UTC" */
export function deferredBecause(budget: RateBudget): string {
  const until = budget.resetAt.toISOString().slice(11, 16);
  return `deferred: GitHub API budget of installation ${budget.installationId} is at ${budget.remaining} of ${budget.limit} (below ${LOW_BUDGET_SHARE * 100} %) until ${until} UTC`;
}
