// Hourly and daily rollups of the health log (migrations/0023_health_rollups.sql), and the reads that
// combine them with raw samples so every answer equals the raw computation over the same window.
//
// How a window (from, to] is read: whole days from the daily rollups, whole hours from the hourly
// ones, and only the ragged edges (the part of an hour at the window's start, and everything after
// the last rolled-up hour, the open hour included) from raw samples. Rollup rows and raw edges are
// aggregated by the same SQL (SAMPLE_COUNTS), so the sums cannot drift apart. Percentiles cannot be
// added up, so they are only ever read for a whole period (an hour of the rollup, or raw samples).
//
// Periods are UTC and half-open on the left like the analytics windows: the hour starting at h holds
// samples with h < at <= h + 1 hour.
import type pg from "pg";

export type Queryable = Pick<pg.Pool, "query">;

/** Upper bounds of /metrics' response-time histogram; the rollups keep a count per bound (le_0 … le_8). */
export const RESPONSE_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Hourly rollups are kept this long; daily ones forever. */
export const HOURLY_ROLLUP_DAYS = 90;
/** pg_advisory lock keys: one replica rolls up, one prunes. */
export const ROLLUP_LOCK = 7_302_023_001;

const ANSWERED = "status in ('healthy', 'degraded') and latency_ms is not null";
const LE_COLUMNS = RESPONSE_BUCKETS_SECONDS.map((_, i) => `le_${i}`);

/** A sample's period start for a grain ('hour' or 'day'): samples exactly on a boundary close the period before. */
const periodOf = (grain: "hour" | "day") => `date_trunc('${grain}', at - interval '1 microsecond', 'UTC')`;

/**
 * A bucket's bound in whole milliseconds: latency_ms is an integer, so `latency_ms <= ms` is exactly
 * `latency_ms / 1000.0 <= seconds`, without numeric arithmetic per sample.
 */
function bucketMs(seconds: number): number {
  const ms = Math.round(seconds * 1000);
  if (ms / 1000 !== seconds) throw new Error(`RESPONSE_BUCKETS_SECONDS: ${seconds} s is not a whole number of milliseconds`);
  return ms;
}

/**
 * health_log rows matching `where`, with `answered_ms`: the latency of an answered sample, else null.
 * Evaluated once per sample rather than in each of SAMPLE_COUNTS' eleven latency aggregates.
 */
const samples = (where: string, extra = "") =>
  `(select repo, check_name, status, latency_ms, at, case when ${ANSWERED} then latency_ms end as answered_ms${extra} from health_log where ${where}) samples`;

/** Counts that add up across periods, over raw health_log rows (as `samples`). */
const SAMPLE_COUNTS = `count(*) filter (where status = 'healthy')::int as healthy,
       count(*) filter (where status = 'degraded')::int as degraded,
       count(*) filter (where status = 'unhealthy')::int as failures,
       count(*) filter (where status = 'maintenance')::int as maintenance,
       count(answered_ms)::int as answered,
       coalesce(sum(answered_ms), 0)::bigint as latency_sum_ms,
       ${RESPONSE_BUCKETS_SECONDS.map((b, i) => `count(*) filter (where answered_ms <= ${bucketMs(b)})::int as le_${i}`).join(",\n       ")}`;

/** What only a whole period has: latency percentiles and maintenance minutes (5-minute slots with a maintenance sample). */
const PERIOD_STATS = `5 * count(distinct date_bin('5 minutes', at, timestamptz '2000-01-01 00:00:00+00')) filter (where status = 'maintenance')::int as maintenance_minutes,
       percentile_cont(0.5) within group (order by latency_ms) filter (where ${ANSWERED}) as p50_ms,
       percentile_cont(0.95) within group (order by latency_ms) filter (where ${ANSWERED}) as p95_ms,
       percentile_cont(0.99) within group (order by latency_ms) filter (where ${ANSWERED}) as p99_ms`;

const COUNT_NAMES = ["healthy", "degraded", "failures", "maintenance", "answered", "latency_sum_ms", ...LE_COLUMNS];
const STAT_NAMES = ["maintenance_minutes", "p50_ms", "p95_ms", "p99_ms"];

const floorTo = (t: Date, unit: number) => new Date(Math.floor(t.getTime() / unit) * unit);
const ceilTo = (t: Date, unit: number) => new Date(Math.ceil(t.getTime() / unit) * unit);
const hours = (n: number) => n * HOUR_MS;

// ---- rolling up --------------------------------------------------------------------------------

export interface RollupResult {
  hours: number;
  days: number;
  rolledThrough: Date;
}

/**
 * Rolls every closed hour (and closed day) that gained samples since the last call into the rollups,
 * recomputing each such period whole from raw samples, so a period's row is exact however its
 * samples arrived. The hour before the last roll is recomputed once more, for rows whose insert
 * committed late. Returns null when another replica is rolling up.
 */
export async function rollUpHealth(db: pg.Pool, now: Date = new Date()): Promise<RollupResult | null> {
  const client = await db.connect();
  try {
    await client.query("begin");
    if (!(await client.query("select pg_try_advisory_xact_lock($1) as ok", [ROLLUP_LOCK])).rows[0].ok) {
      await client.query("rollback");
      return null;
    }
    const state = (await client.query("select last_id, rolled_through from health_rollup_state for update")).rows[0];
    const closedUntil = floorTo(now, HOUR_MS);
    const previous: Date | null = state.rolled_through;
    const grace = previous ? new Date(previous.getTime() - HOUR_MS) : null;
    const maxId = (await client.query("select coalesce(max(id), 0)::text as id from health_log")).rows[0].id as string;
    const touched = await client.query(
      `select distinct ${periodOf("hour")} as hour from health_log
        where at <= $3 and ((id > $1 and id <= $4) or ($2::timestamptz is not null and at > $2))`,
      [state.last_id, grace, closedUntil, maxId],
    );
    const hourStarts: Date[] = touched.rows.map((r) => r.hour);
    const closedDays = new Set(hourStarts.map((h) => floorTo(h, DAY_MS).getTime()));
    // Days that closed since the last roll, even when their last hours had no samples.
    if (previous) for (let d = ceilTo(previous, DAY_MS).getTime(); d <= closedUntil.getTime(); d += DAY_MS) closedDays.add(d - DAY_MS);
    const dayStarts = [...closedDays].filter((d) => d + DAY_MS <= closedUntil.getTime()).map((d) => new Date(d));
    await rebuildPeriods(client, "hour", hourStarts);
    await rebuildPeriods(client, "day", dayStarts);
    await client.query("update health_rollup_state set last_id = $1, rolled_through = $2", [maxId, closedUntil]);
    await client.query("commit");
    return { hours: hourStarts.length, days: dayStarts.length, rolledThrough: closedUntil };
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function rebuildPeriods(client: pg.PoolClient, grain: "hour" | "day", starts: Date[]): Promise<void> {
  if (!starts.length) return;
  const size = grain === "hour" ? HOUR_MS : DAY_MS;
  const times = starts.map((s) => s.getTime());
  const [from, to] = [new Date(Math.min(...times)), new Date(Math.max(...times) + size)];
  await client.query("delete from health_rollups where grain = $1 and period_start = any($2::timestamptz[])", [grain, starts]);
  await client.query(
    `insert into health_rollups (grain, repo, check_name, period_start, ${[...COUNT_NAMES, ...STAT_NAMES].join(", ")})
     select $1, repo, check_name, ${periodOf(grain)} as period_start, ${SAMPLE_COUNTS}, ${PERIOD_STATS}
       from ${samples(`at > $2 and at <= $3 and ${periodOf(grain)} = any($4::timestamptz[])`)}
      group by repo, check_name, period_start`,
    [grain, from, to, starts],
  );
}

/** The end of the last rolled-up hour, or null before the first roll (then everything is read raw). */
export async function rolledThrough(db: Queryable): Promise<Date | null> {
  return (await db.query("select rolled_through from health_rollup_state")).rows[0]?.rolled_through ?? null;
}

// ---- reading a window --------------------------------------------------------------------------

/** Which source answers which part of a window; ranges are (from, to] for raw, [from, to) of period starts otherwise. */
export interface WindowPlan {
  raw: Array<[Date | null, Date]>;
  hours: Array<[Date, Date]>;
  days: [Date | null, Date] | null;
}

export function planWindow(from: Date | null, to: Date, rolled: Date | null): WindowPlan {
  const h1 = rolled ? floorTo(new Date(Math.min(to.getTime(), rolled.getTime())), HOUR_MS) : null;
  const h0 = from ? ceilTo(from, HOUR_MS) : null;
  if (!h1 || (h0 && h1 <= h0)) return { raw: [[from, to]], hours: [], days: null };
  const raw: Array<[Date | null, Date]> = [];
  if (from && h0! > from) raw.push([from, h0!]);
  if (to > h1) raw.push([h1, to]);
  const d0 = h0 ? ceilTo(h0, DAY_MS) : null;
  const d1 = floorTo(h1, DAY_MS);
  if (d0 && d1 <= d0) return { raw, hours: [[h0!, h1]], days: null };
  const edges: Array<[Date, Date]> = [];
  if (h0 && d0! > h0) edges.push([h0, d0!]);
  if (h1 > d1) edges.push([d1, h1]);
  return { raw, hours: edges, days: [d0, d1] };
}

export interface CheckTotals {
  repo: string;
  check: string;
  healthy: number;
  degraded: number;
  failures: number;
  maintenance: number;
  answered: number;
  latencySumSeconds: number;
  /** Answered samples at or under each RESPONSE_BUCKETS_SECONDS bound. */
  le: number[];
}

export interface SampleFilter {
  /** Repositories in the health log's lower case; all when absent. */
  repos?: string[];
  check?: string;
}

class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function filterSql(params: Params, filter: SampleFilter): string {
  return [filter.repos ? `repo = any(${params.add(filter.repos)}::text[])` : "true", filter.check ? `check_name = ${params.add(filter.check)}` : "true"].join(
    " and ",
  );
}

/** (from, to] of raw samples (from null: since the start). */
function rawRangeSql(params: Params, [from, to]: [Date | null, Date]): string {
  return `(${from ? `at > ${params.add(from)}::timestamptz and ` : ""}at <= ${params.add(to)}::timestamptz)`;
}

/** [from, to) of period starts (from null: since the first). */
function periodRangeSql(params: Params, [from, to]: [Date | null, Date]): string {
  return `(${from ? `period_start >= ${params.add(from)}::timestamptz and ` : ""}period_start < ${params.add(to)}::timestamptz)`;
}

/** Per check, the samples of (from, to] (from null: all history), in SQL order of repository and check. */
export async function checkTotals(db: Queryable, from: Date | null, to: Date, filter: SampleFilter = {}): Promise<CheckTotals[]> {
  return (await windowTotals(db, [from], to, filter))[0];
}

/**
 * checkTotals for several windows ending at `to` (one per `froms` entry, in that order), in one
 * statement: a scrape's windows cost one plan and one round trip rather than one each.
 */
export async function windowTotals(db: Queryable, froms: Array<Date | null>, to: Date, filter: SampleFilter = {}): Promise<CheckTotals[][]> {
  const rolled = await rolledThrough(db);
  const params = new Params();
  const parts = windowsParts(
    params,
    filterSql(params, filter),
    froms.map((from) => planWindow(from, to, rolled)),
  );
  const { rows } = await db.query(
    `select w, repo, check_name, ${COUNT_NAMES.filter((c) => c !== "latency_sum_ms")
      .map((c) => `sum(${c})::float8 as ${c}`)
      .join(", ")}, (sum(latency_sum_ms) / 1000.0)::float8 as latency_sum_seconds
       from (${parts.join("\n union all ")}) s cross join unnest(s.ws) as w
      group by w, repo, check_name
      order by w, repo, check_name`,
    params.values,
  );
  const totals: CheckTotals[][] = froms.map(() => []);
  for (const r of rows) {
    totals[r.w].push({
      repo: r.repo,
      check: r.check_name,
      healthy: r.healthy,
      degraded: r.degraded,
      failures: r.failures,
      maintenance: r.maintenance,
      answered: r.answered,
      latencySumSeconds: r.latency_sum_seconds,
      le: LE_COLUMNS.map((c) => r[c]),
    });
  }
  return totals;
}

type Range = [Date | null, Date];

/**
 * The SELECTs of several windows' plans, at most one per source (daily rollups, hourly rollups, raw
 * samples) rather than one per window and range: windows ending at the same instant share most of
 * their ranges (the open hour, today's hours), and each distinct range is read once. Each row carries
 * `ws`, the indexes of the windows it counts in; a window sums its rows after unnest(ws).
 */
function windowsParts(params: Params, where: string, plans: WindowPlan[]): string[] {
  const days = plans.flatMap((plan, w) => (plan.days ? [{ w, range: plan.days }] : []));
  const hours = plans.flatMap((plan, w) => plan.hours.map((range) => ({ w, range: range as Range })));
  const raw = plans.flatMap((plan, w) => plan.raw.map((range) => ({ w, range })));
  // Summed per check and set of windows before unnest(ws) repeats them: a few rows per check.
  const sums = COUNT_NAMES.map((c) => `sum(${c})::${c === "latency_sum_ms" ? "bigint" : "float8"} as ${c}`).join(", ");
  const parts: string[] = [];
  for (const [grain, ranges] of [
    ["day", days],
    ["hour", hours],
  ] as const) {
    if (!ranges.length) continue;
    const { windows, anyRange } = tagRanges(params, ranges, periodRangeSql);
    parts.push(`select ws, repo, check_name, ${sums}
       from (select ${windows} as ws, * from health_rollups where grain = '${grain}' and ${where} and ${anyRange}) r group by ws, repo, check_name`);
  }
  // The raw ranges are an hour or less each: a BitmapOr of `at` index ranges.
  if (raw.length) {
    const { windows, anyRange } = tagRanges(params, raw, rawRangeSql);
    parts.push(`select ws, repo, check_name, ${SAMPLE_COUNTS}
       from ${samples(`${where} and ${anyRange}`, `, ${windows} as ws`)} group by ws, repo, check_name`);
  }
  return parts;
}

/**
 * SQL of rows in any of `ranges` (each range once, however many windows have it), and of the array
 * of the windows whose ranges hold a row.
 */
function tagRanges(params: Params, ranges: Array<{ w: number; range: Range }>, rangeSql: (params: Params, range: Range) => string) {
  const sqlOf = new Map<string, string>();
  const byWindow = new Map<number, string[]>();
  for (const { w, range } of ranges) {
    const key = `${range[0]?.getTime() ?? ""}-${range[1].getTime()}`;
    if (!sqlOf.has(key)) sqlOf.set(key, rangeSql(params, range));
    byWindow.set(w, [...(byWindow.get(w) ?? []), sqlOf.get(key)!]);
  }
  const cases = [...byWindow].map(([w, sqls]) => `case when ${sqls.join(" or ")} then ${w} end`);
  return { windows: `array_remove(array[${cases.join(", ")}], null)`, anyRange: `(${[...sqlOf.values()].join(" or ")})` };
}

/**
 * SQL of the samples of (from, to] (from null: all history) as rows of repo, check_name and the
 * additive counts, several per check (one per source part): sum them per check to get its totals.
 */
export function windowCountsSql(params: Params, from: Date | null, to: Date, rolled: Date | null, filter: SampleFilter = {}): string {
  return windowsParts(params, filterSql(params, filter), [planWindow(from, to, rolled)]).join("\n union all ");
}

export interface HourRow {
  repo: string;
  check: string;
  /** The hour (start, start + 1 h]. */
  start: Date;
  healthy: number;
  degraded: number;
  failures: number;
  maintenance: number;
  maintenanceMinutes: number;
  answered: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/**
 * SQL of one row per check and UTC hour whose start is in [from, to): rolled-up hours from the
 * rollups, later ones (the open hour included) aggregated from raw samples the same way. `from`
 * must be on an hour. Columns: repo, check_name, period_start and the rollup's columns.
 */
export async function hourRowsSql(db: Queryable, params: Params, from: Date, to: Date, filter: SampleFilter): Promise<string> {
  const rolled = await rolledThrough(db);
  const split = rolled ? new Date(Math.max(from.getTime(), Math.min(to.getTime(), rolled.getTime()))) : from;
  const where = filterSql(params, filter);
  const columns = [...COUNT_NAMES, ...STAT_NAMES].join(", ");
  const fromRollups = `select repo, check_name, period_start, ${columns} from health_rollups
      where grain = 'hour' and ${where} and period_start >= ${params.add(from)}::timestamptz and period_start < ${params.add(split)}::timestamptz`;
  const fromRaw = `select repo, check_name, ${periodOf("hour")} as period_start, ${SAMPLE_COUNTS}, ${PERIOD_STATS}
      from ${samples(`${where} and at > ${params.add(split)}::timestamptz and at <= ${params.add(to)}::timestamptz`)} group by repo, check_name, period_start`;
  return `${fromRollups}\n union all ${fromRaw}`;
}

/** Hourly rows of [from, to) in order of repository, check and hour (`from` floored to its hour). */
export async function hourRows(db: Queryable, from: Date, to: Date, filter: SampleFilter = {}): Promise<HourRow[]> {
  const params = new Params();
  const sql = await hourRowsSql(db, params, floorTo(from, HOUR_MS), to, filter);
  const { rows } = await db.query(`select * from (${sql}) h order by repo, check_name, period_start`, params.values);
  return rows.map((r) => ({
    repo: r.repo,
    check: r.check_name,
    start: r.period_start,
    healthy: r.healthy,
    degraded: r.degraded,
    failures: r.failures,
    maintenance: r.maintenance,
    maintenanceMinutes: r.maintenance_minutes,
    answered: r.answered,
    p50Ms: r.p50_ms,
    p95Ms: r.p95_ms,
    p99Ms: r.p99_ms,
  }));
}

export { Params as SqlParams, floorTo, hours as hoursMs };
