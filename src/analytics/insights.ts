// Insights over a window (a week by default): how many checks ran and how many failed, migrations
// and their success rate, rollbacks, outages and their downtime, and the scan's trends; with a target
// database, its query performance; with an LLM endpoint configured, a short written paragraph.
//
// Incidents live on GitHub, so the store's view of them is the health log: an outage is a run of
// consecutive failed samples of one check, counted when it lasted at least two samples (one failed
// probe is a blip the heal cycle retries, not an incident).
import type pg from "pg";
import { z } from "zod";
import { llmEndpoint } from "../config/environment.js";
import { BreakerOpen, destinationOf, throughBreaker } from "../breakers.js";
import { DEFAULT_SCAN_OPTIONS, scanRepository, type Trend } from "./anomalies.js";
import { queryPerformance as readQueryPerformance, type QueryPerformance } from "./query-performance.js";
import type { Queryable } from "./queries.js";

const DAY_MS = 86_400_000;
/** Consecutive failed samples that make an outage episode. */
export const MIN_OUTAGE_SAMPLES = 2;
export const NARRATIVE_TIMEOUT_MS = 10_000;
const NARRATIVE_MAX_CHARS = 2000;

export interface Insights {
  repo?: string;
  from: Date;
  to: Date;
  /** Samples recorded in the window, maintenance left out. */
  checksRun: number;
  /** Failed share of those samples (0 when none ran). */
  errorRate: number;
  migrations: { total: number; succeeded: number; failed: number; successRate: number | null };
  /** Finished rollback runs. */
  rollbacks: number;
  incidents: { opened: number; downtimeMs: number };
  /** The anomaly scan's trends, each with its repository. */
  trends: Array<Trend & { repo: string }>;
  queryPerformance?: QueryPerformance;
  narrative?: string;
}

/** Whether the window saw anything to report: checks, migrations, rollbacks or incidents. */
export function hasActivity(insights: Insights): boolean {
  return insights.checksRun > 0 || insights.migrations.total > 0 || insights.rollbacks > 0 || insights.incidents.opened > 0;
}

export interface InsightsOptions {
  repo?: string;
  now?: Date;
  days?: number;
  /** A target database to read query performance from (read-only). */
  databaseUrl?: string;
  /** That database's circuit breaker (breakers.ts targetDatabaseDestination): while open it is not read. */
  databaseBreaker?: string;
  /** The environment the LLM endpoint is read from (config/environment.ts llmEndpoint; default the process's). */
  env?: NodeJS.ProcessEnv;
}

export async function gatherInsights(db: pg.Pool, opts: InsightsOptions = {}): Promise<Insights> {
  const to = opts.now ?? new Date();
  const days = opts.days ?? 7;
  if (!(days > 0)) throw new Error("days must be positive");
  const from = new Date(to.getTime() - days * DAY_MS);
  const [samples, migrations, rollbacks, incidents, trends] = await Promise.all([
    sampleCounts(db, from, to, opts.repo),
    migrationCounts(db, from, to, opts.repo),
    rollbackCount(db, from, to, opts.repo),
    outages(db, from, to, opts.repo),
    scanTrends(db, to, days, opts.repo),
  ]);
  const insights: Insights = {
    ...(opts.repo ? { repo: opts.repo } : {}),
    from,
    to,
    checksRun: samples.total,
    errorRate: samples.total ? samples.errors / samples.total : 0,
    migrations,
    rollbacks,
    incidents,
    trends,
  };
  if (opts.databaseUrl) insights.queryPerformance = await queryPerformanceOf(opts.databaseUrl, opts.databaseBreaker);
  const narrative = await writeNarrative(insights, opts.env);
  if (narrative) insights.narrative = narrative;
  return insights;
}

/** Query performance, through the database's breaker when it has one; undefined while that breaker is open. */
async function queryPerformanceOf(databaseUrl: string, breaker: string | undefined): Promise<QueryPerformance | undefined> {
  if (!breaker) return readQueryPerformance(databaseUrl);
  try {
    return await throughBreaker(breaker, () => readQueryPerformance(databaseUrl));
  } catch (error) {
    if (error instanceof BreakerOpen) return undefined;
    throw error;
  }
}

async function sampleCounts(db: Queryable, from: Date, to: Date, repo?: string): Promise<{ total: number; errors: number }> {
  const { rows } = await db.query(
    `select count(*)::int as total, count(*) filter (where status = 'unhealthy')::int as errors
       from health_log
      where status <> 'maintenance' and at > $1 and at <= $2 and ($3::text is null or repo = $3)`,
    [from, to, repo ?? null],
  );
  return rows[0];
}

/** Migrate runs that finished in the window with an outcome (success or failure). */
async function migrationCounts(db: Queryable, from: Date, to: Date, repo?: string): Promise<Insights["migrations"]> {
  const { rows } = await db.query(
    `select count(*) filter (where status = 'success')::int as succeeded, count(*) filter (where status = 'failure')::int as failed
       from runs
      where kind = 'migrate' and status in ('success', 'failure')
        and coalesce(finished_at, created_at) > $1 and coalesce(finished_at, created_at) <= $2
        and ($3::text is null or lower(repo) = lower($3))`,
    [from, to, repo ?? null],
  );
  const { succeeded, failed } = rows[0];
  const total = succeeded + failed;
  return { total, succeeded, failed, successRate: total ? succeeded / total : null };
}

async function rollbackCount(db: Queryable, from: Date, to: Date, repo?: string): Promise<number> {
  const { rows } = await db.query(
    `select count(*)::int as n from runs
      where kind = 'rollback' and status in ('success', 'failure')
        and coalesce(finished_at, created_at) > $1 and coalesce(finished_at, created_at) <= $2
        and ($3::text is null or lower(repo) = lower($3))`,
    [from, to, repo ?? null],
  );
  return rows[0].n;
}

/**
 * Outage episodes (gaps and islands over each check's samples in the window): an episode's downtime
 * runs from its first failed sample to the next answered one, or to the window's end while still down.
 * An episode already under way when the window opens counts from the window's first sample.
 */
export async function outages(db: Queryable, from: Date, to: Date, repo?: string): Promise<Insights["incidents"]> {
  const { rows } = await db.query(
    `with s as (
       select repo, check_name, at, status = 'unhealthy' as down, lead(at) over w as next_at,
              row_number() over w - row_number() over (partition by repo, check_name, status = 'unhealthy' order by at, id) as island
         from health_log
        where status <> 'maintenance' and at > $1 and at <= $2 and ($3::text is null or repo = $3)
       window w as (partition by repo, check_name order by at, id)
     ), episodes as (
       select min(at) as began, (array_agg(next_at order by at desc))[1] as recovered_at
         from s where down
        group by repo, check_name, island
       having count(*) >= $4
     )
     select count(*)::int as opened,
            coalesce(sum(extract(epoch from coalesce(recovered_at, $2::timestamptz) - began) * 1000), 0)::float8 as downtime_ms
       from episodes`,
    [from, to, repo ?? null, MIN_OUTAGE_SAMPLES],
  );
  return { opened: rows[0].opened, downtimeMs: Math.round(rows[0].downtime_ms) };
}

/** The scan's trends for the repository (or every repository with samples in the window). */
async function scanTrends(db: Queryable, now: Date, days: number, repo?: string): Promise<Insights["trends"]> {
  const repos = repo
    ? [repo]
    : (
        await db.query(`select distinct repo from health_log where at > $1::timestamptz - make_interval(days => $2) and at <= $1 order by repo`, [
          now,
          Math.ceil(days),
        ])
      ).rows.map((r) => r.repo as string);
  // A trend needs days of points (a week, as the scan fits it, at least), and the scan reads 2 × 7
  // days of hourly aggregates, so it can look back two weeks at most.
  const trendDays = Math.max(DEFAULT_SCAN_OPTIONS.trendDays, Math.min(Math.round(days), (2 * DEFAULT_SCAN_OPTIONS.baselineHours) / 24));
  const trends: Insights["trends"] = [];
  for (const r of repos) {
    const report = await scanRepository(db, r, { now, trendDays });
    trends.push(...report.trends.map((t) => ({ ...t, repo: r })));
  }
  return trends;
}

// ---- narrative ---------------------------------------------------------------------------------

const ChatCompletion = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

/**
 * A three-sentence paragraph from an OpenAI-compatible endpoint (AUTOPILOT_LLM_URL), or undefined:
 * when it is not configured no request is made, and any failure or timeout means "statistics only".
 * Only figures and table names are sent, never statement texts or connection details.
 */
export async function writeNarrative(insights: Insights, env?: NodeJS.ProcessEnv, timeoutMs = NARRATIVE_TIMEOUT_MS): Promise<string | undefined> {
  const endpoint = llmEndpoint(env);
  if (!endpoint) return undefined;
  try {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (endpoint.key) headers.authorization = `Bearer ${endpoint.key}`;
    const response = await throughBreaker(
      destinationOf("llm", endpoint.url),
      () =>
        fetch(`${endpoint.url.replace(/\/+$/, "")}/chat/completions`, {
          method: "POST",
          headers,
          signal: AbortSignal.timeout(timeoutMs),
          body: JSON.stringify({
            model: endpoint.model,
            temperature: 0.2,
            messages: [
              {
                role: "system",
                content:
                  "You write the summary of a weekly operations report on a PostgreSQL-backed service. Answer with one paragraph of exactly " +
                  "three plain sentences, no headings, no lists, no Markdown. Use only the figures given; do not invent numbers.",
              },
              { role: "user", content: JSON.stringify(narrativeFacts(insights)) },
            ],
          }),
        }),
      (r) => (r.ok ? undefined : `HTTP ${r.status}`),
    );
    if (!response.ok) return undefined;
    const parsed = ChatCompletion.safeParse(await response.json());
    const text = parsed.success ? parsed.data.choices[0].message.content?.replace(/\s+/g, " ").trim() : undefined;
    return text ? text.slice(0, NARRATIVE_MAX_CHARS) : undefined;
  } catch {
    return undefined;
  }
}

function narrativeFacts(i: Insights): Record<string, unknown> {
  return {
    repository: i.repo ?? "all repositories",
    from: i.from.toISOString(),
    to: i.to.toISOString(),
    checksRun: i.checksRun,
    errorRatePercent: Number((i.errorRate * 100).toFixed(2)),
    migrations: i.migrations,
    rollbacks: i.rollbacks,
    outages: i.incidents.opened,
    downtimeMinutes: Math.round(i.incidents.downtimeMs / 60_000),
    trends: i.trends
      .filter((t) => t.direction !== "stable")
      .map((t) => ({
        repo: t.repo,
        check: t.check,
        metric: t.metric,
        direction: t.direction,
        change: Number(t.change.toFixed(3)),
        rSquared: Number(t.rSquared.toFixed(2)),
      })),
    queryPerformance: i.queryPerformance && {
      pgStatStatements: i.queryPerformance.available,
      slowestMeanMs: i.queryPerformance.slowest.map((s) => s.meanMs),
      indexCandidates: i.queryPerformance.seqScanCandidates.map((c) => c.table),
      vacuumCandidates: i.queryPerformance.vacuumCandidates.map((c) => c.table),
    },
  };
}
