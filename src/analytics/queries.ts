// SQL over the store's health_log and run history. Aggregation happens in PostgreSQL so a scan over
// months of 5-minute samples moves a few hundred rows per check, not hundreds of thousands.
//
// Conventions shared by every query here:
// - `maintenance` samples are left out entirely: a planned window is neither up nor down.
// - A sample is "up" when healthy or degraded (it answered), an "error" when unhealthy.
// - Latency statistics use answered samples only; a failure's latency is a timeout or a refused
//   connection, which the error counts already capture.
// - Buckets are aligned to `now`, not to the clock: bucket k holds samples in (now−(k+1)·size, now−k·size],
//   so bucket 0 is always "the last hour" (or day), complete.
// - Windows longer than the last hour read the rollups (store/health-rollups.ts) where they can, with
//   results equal to the raw computation: hourly buckets when `now` is on the hour (a scheduled scan's
//   slot), uptime windows always. The last hour's error counts and percentiles are read raw.
import { HOUR_MS, hourRowsSql, SqlParams, windowTotals, type CheckTotals, type Queryable } from "../store/health-rollups.js";

export type { Queryable };

const onTheHour = (now: Date) => now.getTime() % HOUR_MS === 0;

export interface HourlyAggregate {
  check: string;
  /** 0 = the hour ending at `now`. */
  hoursAgo: number;
  samples: number;
  errors: number;
  /** Median and p95 latency of answered samples; null when none answered. */
  medianMs: number | null;
  p95Ms: number | null;
}

/** Hourly aggregates of every check of a repository (or of one) over the last `hours` hours. */
export async function hourlyAggregates(db: Queryable, repo: string, now: Date, hours: number, check?: string): Promise<HourlyAggregate[]> {
  if (onTheHour(now)) return hourlyAggregatesFromRollups(db, repo, now, hours, check);
  const { rows } = await db.query(
    `select check_name,
            floor(extract(epoch from ($2::timestamptz - at)) / 3600)::int as hours_ago,
            count(*)::int as samples,
            count(*) filter (where status = 'unhealthy')::int as errors,
            percentile_cont(0.5) within group (order by latency_ms) filter (where status <> 'unhealthy') as median_ms,
            percentile_cont(0.95) within group (order by latency_ms) filter (where status <> 'unhealthy') as p95_ms
       from health_log
      where repo = $1 and status <> 'maintenance' and ($4::text is null or check_name = $4)
        and at > $2::timestamptz - make_interval(hours => $3) and at <= $2::timestamptz
      group by 1, 2
      order by 1, 2`,
    [repo, now, hours, check ?? null],
  );
  return rows.map((r) => ({
    check: r.check_name,
    hoursAgo: r.hours_ago,
    samples: r.samples,
    errors: r.errors,
    medianMs: r.median_ms === null ? null : Number(r.median_ms),
    p95Ms: r.p95_ms === null ? null : Number(r.p95_ms),
  }));
}

/**
 * The same buckets as clock hours when `now` is on the hour: read from the hourly rollups. A scan
 * reads a week of hours for every check (168,000 rows at 1,000 checks), so each check's hours come as
 * one row of JSON arrays, a column each: far cheaper to write and parse than a row object per hour.
 * Sorted by check before they are aggregated, the arrays are built one check at a time (hashing every
 * check's arrays at once outgrows work_mem at 1,000 checks and spills to disk).
 */
async function hourlyAggregatesFromRollups(db: Queryable, repo: string, now: Date, hours: number, check?: string): Promise<HourlyAggregate[]> {
  const params = new SqlParams();
  const sql = await hourRowsSql(db, params, new Date(now.getTime() - hours * HOUR_MS), now, { repos: [repo], check });
  const { rows } = await db.query(
    `select check_name, json_build_object('hoursAgo', json_agg(hours_ago), 'samples', json_agg(samples), 'errors', json_agg(errors),
                                          'medianMs', json_agg(p50_ms), 'p95Ms', json_agg(p95_ms)) as hours
       from (select check_name, (extract(epoch from ${params.add(now)}::timestamptz - period_start) / 3600)::int - 1 as hours_ago,
                    healthy + degraded + failures as samples, failures as errors, p50_ms, p95_ms
               from (${sql}) h where healthy + degraded + failures > 0
              order by check_name) a
      group by check_name
      order by check_name`,
    params.values,
  );
  return rows.flatMap(({ check_name: check, hours: h }: { check_name: string; hours: Record<string, Array<number | null>> }) =>
    (h.hoursAgo as number[])
      .map((hoursAgo, i) => ({ check, hoursAgo, samples: h.samples[i]!, errors: h.errors[i]!, medianMs: h.medianMs[i], p95Ms: h.p95Ms[i] }))
      .sort((a, b) => a.hoursAgo - b.hoursAgo),
  );
}

export interface DailyUptime {
  check: string;
  /** 0 = the 24 hours ending at `now`. */
  daysAgo: number;
  samples: number;
  ratio: number;
}

export async function dailyUptime(db: Queryable, repo: string, now: Date, days: number): Promise<DailyUptime[]> {
  if (onTheHour(now)) return dailyUptimeFromRollups(db, repo, now, days);
  const { rows } = await db.query(
    `select check_name,
            floor(extract(epoch from ($2::timestamptz - at)) / 86400)::int as days_ago,
            count(*)::int as samples,
            count(*) filter (where status <> 'unhealthy')::float8 / count(*) as ratio
       from health_log
      where repo = $1 and status <> 'maintenance'
        and at > $2::timestamptz - make_interval(days => $3) and at <= $2::timestamptz
      group by 1, 2
      order by 1, 2`,
    [repo, now, days],
  );
  return rows.map((r) => ({ check: r.check_name, daysAgo: r.days_ago, samples: r.samples, ratio: Number(r.ratio) }));
}

/** Days aligned to `now` are 24 of its hours: summed from the hourly rollups when `now` is on the hour. */
async function dailyUptimeFromRollups(db: Queryable, repo: string, now: Date, days: number): Promise<DailyUptime[]> {
  const params = new SqlParams();
  const sql = await hourRowsSql(db, params, new Date(now.getTime() - days * 24 * HOUR_MS), now, { repos: [repo] });
  const { rows } = await db.query(
    `select check_name, floor(((extract(epoch from ${params.add(now)}::timestamptz - period_start) / 3600)::int - 1) / 24)::int as days_ago,
            sum(healthy + degraded + failures)::int as samples, sum(healthy + degraded)::float8 / sum(healthy + degraded + failures) as ratio
       from (${sql}) h
      group by 1, 2 having sum(healthy + degraded + failures) > 0
      order by 1, 2`,
    params.values,
  );
  return rows.map((r) => ({ check: r.check_name, daysAgo: r.days_ago, samples: r.samples, ratio: Number(r.ratio) }));
}

/**
 * What a scan reads: hourly aggregates over `hours` and daily uptime over `days`. On the hour (a
 * scheduled scan's slot), when the hours cover the days, the days are summed here from the same
 * hourly rows, as dailyUptimeFromRollups would sum them in SQL, instead of being read a second time.
 */
export async function hourlyAndDaily(db: Queryable, repo: string, now: Date, hours: number, days: number): Promise<[HourlyAggregate[], DailyUptime[]]> {
  if (!onTheHour(now) || days * 24 > hours) return Promise.all([hourlyAggregates(db, repo, now, hours), dailyUptime(db, repo, now, days)]);
  const hourly = await hourlyAggregates(db, repo, now, hours);
  return [hourly, dailyFromHours(hourly, days)];
}

/** Days of 24 of the hours (bucket k: hours 24k … 24k + 23 ago), by check and day, in hourly's check order. */
function dailyFromHours(hourly: HourlyAggregate[], days: number): DailyUptime[] {
  const byCheck = new Map<string, Array<{ samples: number; up: number }>>();
  for (const h of hourly) {
    if (h.hoursAgo >= days * 24) continue;
    const perDay = byCheck.get(h.check) ?? byCheck.set(h.check, []).get(h.check)!;
    const day = (perDay[Math.floor(h.hoursAgo / 24)] ??= { samples: 0, up: 0 });
    day.samples += h.samples;
    day.up += h.samples - h.errors;
  }
  return [...byCheck].flatMap(([check, perDay]) =>
    perDay.flatMap((d, daysAgo) => (d && d.samples > 0 ? [{ check, daysAgo, samples: d.samples, ratio: d.up / d.samples }] : [])),
  );
}

export const UPTIME_WINDOWS = { "24h": 24, "7d": 7 * 24, "30d": 30 * 24 } as const;
export type UptimeWindow = keyof typeof UPTIME_WINDOWS;

export interface WindowUptime {
  repo: string;
  check: string;
  window: UptimeWindow;
  samples: number;
  ratio: number;
}

/**
 * Uptime of every check (of one repository, or all) over 24 h, 7 d and 30 d, each window read from
 * the rollups with raw edges. A window without samples is left out rather than reported as 0 or 1.
 */
export async function uptimeByWindow(db: Queryable, now: Date, repo?: string, check?: string): Promise<WindowUptime[]> {
  return uptimeFromTotals(await windowTotals(db, uptimeWindowStarts(now), now, { repos: repo ? [repo] : undefined, check }));
}

/** Where each of UPTIME_WINDOWS starts, in its order, for windows ending at `now`. */
export const uptimeWindowStarts = (now: Date): Date[] => Object.values(UPTIME_WINDOWS).map((hours) => new Date(now.getTime() - hours * HOUR_MS));

/** uptimeByWindow's answer from windowTotals over uptimeWindowStarts (one list of totals per window). */
export function uptimeFromTotals(totals: CheckTotals[][]): WindowUptime[] {
  const windows = Object.keys(UPTIME_WINDOWS) as UptimeWindow[];
  const byCheck = new Map<string, WindowUptime[]>();
  // The 30-day window holds every check of the shorter ones, in SQL order: it gives the order.
  for (const t of totals[totals.length - 1]) byCheck.set(`${t.repo}\n${t.check}`, []);
  windows.forEach((name, i) => {
    for (const t of totals[i]) {
      const samples = t.healthy + t.degraded + t.failures;
      if (samples > 0)
        byCheck.get(`${t.repo}\n${t.check}`)?.push({ repo: t.repo, check: t.check, window: name, samples, ratio: (t.healthy + t.degraded) / samples });
    }
  });
  return [...byCheck.values()].flat();
}

export interface CheckCounts {
  repo: string;
  check: string;
  samples: number;
  errors: number;
}

/** Samples and errors of every check over the last `minutes`. */
export async function errorCounts(db: Queryable, now: Date, minutes: number, repo?: string): Promise<CheckCounts[]> {
  const { rows } = await db.query(
    `select repo, check_name, count(*)::int as samples, count(*) filter (where status = 'unhealthy')::int as errors
       from health_log
      where status <> 'maintenance' and at > $1::timestamptz - make_interval(mins => $2) and at <= $1::timestamptz
        and ($3::text is null or repo = $3)
      group by 1, 2
      order by 1, 2`,
    [now, minutes, repo ?? null],
  );
  return rows.map((r) => ({ repo: r.repo, check: r.check_name, samples: r.samples, errors: r.errors }));
}

export interface CheckPercentile {
  repo: string;
  check: string;
  valueMs: number;
}

/** The p-quantile (default p95) of answered samples' latency over the last `minutes`. */
export async function latencyPercentile(db: Queryable, now: Date, minutes: number, repo?: string, p = 0.95): Promise<CheckPercentile[]> {
  const { rows } = await db.query(
    `select repo, check_name, percentile_cont($4::float8) within group (order by latency_ms) as value_ms
       from health_log
      where status in ('healthy', 'degraded') and latency_ms is not null
        and at > $1::timestamptz - make_interval(mins => $2) and at <= $1::timestamptz
        and ($3::text is null or repo = $3)
      group by 1, 2
      order by 1, 2`,
    [now, minutes, repo ?? null, p],
  );
  return rows.map((r) => ({ repo: r.repo, check: r.check_name, valueMs: Number(r.value_ms) }));
}

/**
 * Failed migrate runs of a repository that finished within the last `minutes`, less those a later
 * good migration of the same environment has made good: the fix is deployed, nothing is failing.
 */
export async function migrationFailures(db: Queryable, repo: string, now: Date, minutes: number): Promise<number> {
  const { rows } = await db.query(
    `select count(*)::int as n from runs f
      where f.repo = $1 and f.kind = 'migrate' and f.status = 'failure'
        and coalesce(f.finished_at, f.created_at) > $2::timestamptz - make_interval(mins => $3)
        and coalesce(f.finished_at, f.created_at) <= $2::timestamptz
        and not exists (
          select 1 from runs s
           where s.repo = f.repo and s.kind = 'migrate' and s.status = 'success'
             and s.environment is not distinct from f.environment
             and coalesce(s.finished_at, s.created_at) > coalesce(f.finished_at, f.created_at)
             and coalesce(s.finished_at, s.created_at) <= $2::timestamptz)`,
    [repo, now, minutes],
  );
  return rows[0].n;
}

/**
 * Per environment: hours from its newest good backup to `now`; when it never had one, from its first
 * attempt (backups failing since the start are as stale as old ones); null when nothing was ever tried.
 */
export async function backupAgeHours(db: Queryable, repo: string, environments: readonly string[], now: Date): Promise<Map<string, number | null>> {
  const { rows } = await db.query<{ environment: string; hours: number | null }>(
    `select e.environment,
            extract(epoch from ($3::timestamptz - coalesce(max(b.created_at) filter (where b.status <> 'failed'), min(b.created_at))))::float8 / 3600 as hours
       from unnest($2::text[]) as e(environment)
       left join backups b on lower(b.repo) = lower($1) and b.environment = e.environment and b.created_at <= $3::timestamptz
      group by e.environment`,
    [repo, [...environments], now],
  );
  return new Map(rows.map((r) => [r.environment, r.hours]));
}

export interface LatencySample {
  at: Date;
  latencyMs: number;
}

/** Raw answered samples of one check in [from, to), oldest first: to place an onset to the minute. */
export async function latencySamples(db: Queryable, repo: string, check: string, from: Date, to: Date): Promise<LatencySample[]> {
  const { rows } = await db.query(
    `select at, latency_ms from health_log
      where repo = $1 and check_name = $2 and status in ('healthy', 'degraded') and latency_ms is not null
        and at >= $3 and at < $4
      order by at`,
    [repo, check, from, to],
  );
  return rows.map((r) => ({ at: r.at, latencyMs: r.latency_ms }));
}

/** The first failed sample of one check in [from, to). */
export async function firstErrorAt(db: Queryable, repo: string, check: string, from: Date, to: Date): Promise<Date | null> {
  const { rows } = await db.query(
    `select min(at) as at from health_log
      where repo = $1 and check_name = $2 and status = 'unhealthy' and at >= $3 and at < $4`,
    [repo, check, from, to],
  );
  return rows[0].at ?? null;
}

export interface ChangeEvent {
  kind: "migration" | "deployment";
  /** runs.id of the migration, deployments.id of the deployment. */
  id: number;
  at: Date;
  environment: string | null;
  commitSha: string | null;
  /** Versions the migration run applied, in order (empty for a deployment). */
  versions: string[];
}

/**
 * The successful migration or deployment of `repo` that most closely preceded `onset`, no more than
 * `windowMinutes` before it: the usual suspect when something got slower or started failing.
 */
export async function precedingChange(db: Queryable, repo: string, onset: Date, windowMinutes: number): Promise<ChangeEvent | null> {
  const { rows } = await db.query(
    `select * from (
       select 'migration' as kind, r.id, coalesce(r.finished_at, r.created_at) as at, r.environment, r.commit_sha,
              coalesce((select array_agg(m.version order by m.version) from run_migrations m where m.run_id = r.id), '{}') as versions
         from runs r
        where r.repo = $1 and r.kind = 'migrate' and r.status = 'success'
          and coalesce(r.finished_at, r.created_at) between $2::timestamptz - make_interval(mins => $3) and $2::timestamptz
       union all
       select 'deployment', d.id, d.created_at, d.environment, r.commit_sha, '{}'::text[]
         from deployments d left join runs r on r.id = d.run_id
        where d.repo = $1 and d.ok
          and d.created_at between $2::timestamptz - make_interval(mins => $3) and $2::timestamptz
     ) e
     order by at desc, kind desc
     limit 1`,
    [repo, onset, windowMinutes],
  );
  const r = rows[0];
  if (!r) return null;
  return { kind: r.kind, id: Number(r.id), at: r.at, environment: r.environment, commitSha: r.commit_sha, versions: r.versions };
}
