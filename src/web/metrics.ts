// Prometheus metrics, built afresh on every scrape FROM THE STORE rather than counted in process
// memory: every replica reports the same values, and a restart loses nothing. Counters are totals of
// store rows (a retention purge shows up as a counter reset, which Prometheus' rate() tolerates).
//
// Histograms are aggregated in SQL (one count per bucket) rather than replayed value by value, so
// a scrape costs the same for a month of 5-minute samples as for a day: see StoreHistogram below.
import { Counter, Gauge, Histogram, Registry, type LabelValues } from "prom-client";
import type pg from "pg";
import { latencyPercentile, uptimeByWindow, uptimeFromTotals, uptimeWindowStarts, type Queryable, type WindowUptime } from "../analytics/queries.js";
import { breakerStates } from "../breakers.js";
import { LOW_BUDGET_SHARE } from "../github/api/rate-budget.js";
import { deadLettersByRepoAndKind } from "../store/dead-letters.js";
import { RESPONSE_BUCKETS_SECONDS, windowTotals, type CheckTotals } from "../store/health-rollups.js";

export interface MetricsOptions {
  now?: Date;
  /**
   * Open incident issues per repository, when the caller knows them (incidents live on GitHub).
   * Without it, a check whose health_state is unhealthy counts as one open incident.
   */
  openIncidents?: Map<string, number>;
}

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

export { RESPONSE_BUCKETS_SECONDS };
export const MIGRATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800];
export const BACKUP_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600];

/**
 * One scrape reads the store in one read-only snapshot on one connection, so its families agree with
 * each other. Parallel query is off for it: every statement reads a few thousand rollup rows, and
 * starting parallel workers costs more than that (several times the whole scrape on a busy host).
 */
export async function renderMetrics(pool: pg.Pool, options: MetricsOptions = {}): Promise<RenderedMetrics> {
  const client = await pool.connect();
  try {
    // One round trip (a simple query may hold several statements).
    await client.query("begin isolation level repeatable read read only; set local max_parallel_workers_per_gather = 0");
    const exposition = await buildExposition(oneAtATime(client), options);
    await client.query("commit");
    return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await exposition.text() };
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The client's queries in turn (pg deprecates queueing on a busy client); the collectors stay concurrent. */
function oneAtATime(client: pg.PoolClient): Queryable {
  let previous: Promise<unknown> = Promise.resolve();
  const query = (...args: unknown[]) => {
    const result = previous.then(() => (client.query as (...a: unknown[]) => Promise<unknown>)(...args));
    previous = result.catch(() => undefined);
    return result;
  };
  return { query } as unknown as Queryable;
}

export async function buildExposition(db: Queryable, options: MetricsOptions = {}): Promise<Exposition> {
  const now = options.now ?? new Date();
  const exposition = new Exposition();
  const registry = exposition.registry;
  // Each collector registers its metrics before its first await, so the families always come out in
  // this order, whichever query returns first (the health log's families, written as text, first).
  // The health log's all-time totals come from the daily and hourly rollups (store/health-rollups.ts),
  // with only the hours not rolled up yet read raw: one read for both families and for the uptime
  // windows, which the uptime gauge and the health score share.
  const read = windowTotals(db, [null, ...uptimeWindowStarts(now)], now);
  const totals = read.then(([allTime]) => allTime);
  const windows = read.then(([, ...uptimeWindows]) => uptimeFromTotals(uptimeWindows));
  // Settled here so a failed read is reported once, by the Promise.all below, not as unhandled.
  windows.catch(() => undefined);
  const tables = optionalTables(db);
  tables.catch(() => undefined);
  await Promise.all([
    healthChecks(totals, exposition),
    responseTimes(totals, exposition),
    uptime(windows, exposition),
    migrations(db, registry),
    rollbacks(db, registry),
    backups(db, registry),
    restoreDrills(db, registry),
    deployments(db, registry),
    incidents(db, registry, options.openIncidents, tables),
    alerts(db, registry),
    anomalies(db, registry),
    healthScores(db, registry, now, windows),
    jobs(db, registry, tables),
    deadLetters(db, registry, tables),
    pushesToRoute(db, registry, tables),
    circuitBreakers(db, registry, tables),
    githubBudgets(db, registry, now, tables),
  ]);
  return exposition;
}

// ---- health ------------------------------------------------------------------------------------

async function healthChecks(totals: Promise<CheckTotals[]>, exposition: Exposition): Promise<void> {
  const total = exposition.family(
    "autopilot_health_checks_total",
    "Health-check results recorded, by status (healthy, degraded, unhealthy, maintenance).",
    "counter",
  );
  for (const t of await totals) {
    const byStatus = { degraded: t.degraded, healthy: t.healthy, maintenance: t.maintenance, unhealthy: t.failures };
    const check = labelPairs({ repo: t.repo, check: t.check });
    for (const [status, n] of Object.entries(byStatus)) if (n > 0) total.sample("", `${check},status="${status}"`, n);
  }
}

async function responseTimes(totals: Promise<CheckTotals[]>, exposition: Exposition): Promise<void> {
  const histogram = exposition.family("autopilot_check_response_seconds", "Response time of answered health checks (healthy or degraded).", "histogram");
  for (const t of await totals) {
    if (t.answered === 0) continue;
    // As prom-client's Histogram writes a series: le first, then the series' labels.
    const check = labelPairs({ repo: t.repo, check: t.check });
    RESPONSE_BUCKETS_SECONDS.forEach((le, i) => histogram.sample("_bucket", `le="${le}",${check}`, t.le[i]));
    histogram.sample("_bucket", `le="+Inf",${check}`, t.answered);
    histogram.sample("_sum", check, t.latencySumSeconds);
    histogram.sample("_count", check, t.answered);
  }
}

async function uptime(windows: Promise<WindowUptime[]>, exposition: Exposition): Promise<void> {
  const ratio = exposition.family(
    "autopilot_uptime_ratio",
    "Share of health checks that answered (healthy or degraded), maintenance excluded, over the window.",
    "gauge",
  );
  for (const u of await windows) ratio.sample("", labelPairs({ repo: u.repo, check: u.check, window: u.window }), u.ratio);
}

// ---- runs --------------------------------------------------------------------------------------

/** Run statuses that end a run; the others (queued, in_progress, action_required) are not outcomes yet. */
const FINISHED = "('success', 'failure', 'neutral', 'skipped')";

async function migrations(db: Queryable, registry: Registry): Promise<void> {
  const total = new Counter({
    name: "autopilot_migrations_total",
    help: "Finished migrate runs, by outcome (success, failure, neutral, skipped).",
    labelNames: ["repo", "environment", "outcome"],
    registers: [registry],
  });
  const duration = new StoreHistogram({
    name: "autopilot_migration_duration_seconds",
    help: "Duration of migrate runs that succeeded or failed, from start to finish.",
    labelNames: ["repo", "environment"],
    buckets: MIGRATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  await countRuns(db, "migrate", total);
  const rows = await bucketCounts(
    db,
    "runs",
    "extract(epoch from finished_at - started_at)",
    ["repo", "coalesce(environment, '') as environment"],
    "kind = 'migrate' and status in ('success', 'failure') and started_at is not null and finished_at is not null",
    MIGRATION_BUCKETS_SECONDS,
  );
  for (const r of rows) duration.setSeries({ repo: r.keys.repo, environment: r.keys.environment }, r);
}

async function rollbacks(db: Queryable, registry: Registry): Promise<void> {
  const total = new Counter({
    name: "autopilot_rollbacks_total",
    help: "Finished rollback runs, by outcome.",
    labelNames: ["repo", "environment", "outcome"],
    registers: [registry],
  });
  await countRuns(db, "rollback", total);
}

async function countRuns(db: Queryable, kind: string, counter: Counter<"repo" | "environment" | "outcome">): Promise<void> {
  const { rows } = await db.query(
    `select repo, coalesce(environment, '') as environment, status, count(*)::float8 as n
       from runs where kind = $1 and status in ${FINISHED} group by 1, 2, 3 order by 1, 2, 3`,
    [kind],
  );
  for (const r of rows) counter.inc({ repo: r.repo, environment: r.environment, outcome: r.status }, r.n);
}

async function backups(db: Queryable, registry: Registry): Promise<void> {
  const total = new Counter({
    name: "autopilot_backups_total",
    help: "Backups taken, by outcome (success, failure); pruned backups count as taken.",
    labelNames: ["repo", "environment", "outcome"],
    registers: [registry],
  });
  const duration = new StoreHistogram({
    name: "autopilot_backup_duration_seconds",
    help: "Duration of successful backups.",
    labelNames: ["repo", "environment"],
    buckets: BACKUP_BUCKETS_SECONDS,
    registers: [registry],
  });
  const { rows } = await db.query(
    `select repo, environment, case when status = 'failed' then 'failure' else 'success' end as outcome, count(*)::float8 as n
       from backups group by 1, 2, 3 order by 1, 2, 3`,
  );
  for (const r of rows) total.inc({ repo: r.repo, environment: r.environment, outcome: r.outcome }, r.n);
  const buckets = await bucketCounts(
    db,
    "backups",
    "duration_ms / 1000.0",
    ["repo", "environment"],
    "status <> 'failed' and duration_ms is not null",
    BACKUP_BUCKETS_SECONDS,
  );
  for (const r of buckets) duration.setSeries({ repo: r.keys.repo, environment: r.keys.environment }, r);
}

async function restoreDrills(db: Queryable, registry: Registry): Promise<void> {
  const verified = new Gauge({
    name: "autopilot_backup_last_verified_timestamp_seconds",
    help: "When the last restore drill that passed finished (Unix time): the newest backup proven restorable.",
    labelNames: ["repo", "environment"],
    registers: [registry],
  });
  const { rows } = await db.query(
    `select repo, environment, extract(epoch from max(finished_at))::float8 as at from restore_drills where ok group by 1, 2 order by 1, 2`,
  );
  for (const r of rows) verified.set({ repo: r.repo, environment: r.environment }, r.at);
}

async function deployments(db: Queryable, registry: Registry): Promise<void> {
  const total = new Counter({
    name: "autopilot_deployments_total",
    help: "Deploy hooks called (after their retries), by outcome (success, failure, skipped: its circuit breaker was open).",
    labelNames: ["repo", "environment", "outcome"],
    registers: [registry],
  });
  const { rows } = await db.query(
    `select repo, environment, case when ok then 'success' when skipped then 'skipped' else 'failure' end as outcome, count(*)::float8 as n
       from deployments group by 1, 2, 3 order by 1, 2, 3`,
  );
  for (const r of rows) total.inc({ repo: r.repo, environment: r.environment, outcome: r.outcome }, r.n);
}

// ---- circuit breakers ---------------------------------------------------------------------------

async function circuitBreakers(db: Queryable, registry: Registry, tables: Promise<Set<string>>): Promise<void> {
  const open = new Gauge({
    name: "autopilot_circuit_breaker_open",
    help: "1 while the destination's circuit breaker is open (calls to it fail fast), else 0.",
    labelNames: ["destination"],
    registers: [registry],
  });
  const failures = new Gauge({
    name: "autopilot_circuit_breaker_consecutive_failures",
    help: "Consecutive failed calls to the destination.",
    labelNames: ["destination"],
    registers: [registry],
  });
  const skipped = new Counter({
    name: "autopilot_circuit_breaker_skipped_total",
    help: "Calls not made because the destination's circuit breaker was open.",
    labelNames: ["destination"],
    registers: [registry],
  });
  if (!(await tables).has("public.circuit_breakers")) return;
  for (const b of await breakerStates(db)) {
    open.set({ destination: b.destination }, b.openUntil ? 1 : 0);
    failures.set({ destination: b.destination }, b.failures);
    if (b.skipped) skipped.inc({ destination: b.destination }, b.skipped);
  }
}

// ---- GitHub rate limits -------------------------------------------------------------------------

async function githubBudgets(db: Queryable, registry: Registry, now: Date, tables: Promise<Set<string>>): Promise<void> {
  const remaining = new Gauge({
    name: "autopilot_github_rate_limit_remaining",
    help: "Requests left in the installation's GitHub rate-limit window, as its last response said.",
    labelNames: ["installation"],
    registers: [registry],
  });
  const limit = new Gauge({
    name: "autopilot_github_rate_limit_limit",
    help: "The installation's GitHub rate limit per window.",
    labelNames: ["installation"],
    registers: [registry],
  });
  const deferring = new Gauge({
    name: "autopilot_github_deferring_work",
    help: "1 while the installation's budget is below 10 % and scheduled scans, weekly insights and incident reminders are deferred.",
    labelNames: ["installation"],
    registers: [registry],
  });
  if (!(await tables).has("public.github_rate_budgets")) return;
  const { rows } = await db.query(`select installation_id::text as id, remaining, "limit", reset_at from github_rate_budgets order by installation_id`);
  for (const r of rows) {
    remaining.set({ installation: r.id }, r.remaining);
    limit.set({ installation: r.id }, r.limit);
    deferring.set({ installation: r.id }, r.reset_at > now && r.limit > 0 && r.remaining / r.limit < LOW_BUDGET_SHARE ? 1 : 0);
  }
}

// ---- incidents, alerts, anomalies ----------------------------------------------------------------

async function incidents(db: Queryable, registry: Registry, known: Map<string, number> | undefined, tables: Promise<Set<string>>): Promise<void> {
  const open = new Gauge({
    name: "autopilot_incidents_open",
    help: "Open incidents: failing checks (or open incident issues, when the app knows them).",
    labelNames: ["repo"],
    registers: [registry],
  });
  if (known) {
    for (const [repo, count] of known) open.set({ repo }, count);
    return;
  }
  if (!(await tables).has("public.health_state")) return;
  const { rows } = await db.query("select repo, count(*) filter (where status = 'unhealthy')::int as n from health_state group by repo order by repo");
  for (const r of rows) open.set({ repo: r.repo }, r.n);
}

async function alerts(db: Queryable, registry: Registry): Promise<void> {
  const firing = new Gauge({
    name: "autopilot_alerts_firing",
    help: "Alerts firing, by rule and severity (0 for a rule that has been evaluated and is not firing).",
    labelNames: ["repo", "rule", "severity"],
    registers: [registry],
  });
  const { rows } = await db.query(
    "select repo, rule, severity, count(*) filter (where state = 'firing')::int as n from alert_state group by 1, 2, 3 order by 1, 2, 3",
  );
  for (const r of rows) firing.set({ repo: r.repo, rule: r.rule, severity: r.severity }, r.n);
}

async function anomalies(db: Queryable, registry: Registry): Promise<void> {
  const open = new Gauge({
    name: "autopilot_anomalies_open",
    help: "Open anomaly-scan findings, by kind.",
    labelNames: ["repo", "kind"],
    registers: [registry],
  });
  const { rows } = await db.query("select repo, kind, count(*)::int as n from anomaly_findings where resolved_at is null group by 1, 2 order by 1, 2");
  for (const r of rows) open.set({ repo: r.repo, kind: r.kind }, r.n);
}

async function jobs(db: Queryable, registry: Registry, tables: Promise<Set<string>>): Promise<void> {
  const gauge = new Gauge({
    name: "autopilot_jobs",
    help: "Jobs in the durable queue (pg-boss), by queue and state.",
    labelNames: ["queue", "state"],
    registers: [registry],
  });
  // The queue creates its schema when it first starts; a store it never ran on has none.
  if (!(await tables).has("pgboss.job")) return;
  const { rows } = await db.query("select name, state::text as state, count(*)::int as n from pgboss.job group by 1, 2 order by 1, 2");
  for (const r of rows) gauge.set({ queue: r.name, state: r.state }, r.n);
}

async function deadLetters(db: Queryable, registry: Registry, tables: Promise<Set<string>>): Promise<void> {
  const gauge = new Gauge({
    name: "autopilot_jobs_dead_lettered",
    help: "Jobs that exhausted their retries and wait in the dead-letter queue (`autopilot jobs failed`), by repository and kind.",
    labelNames: ["repo", "kind"],
    registers: [registry],
  });
  if (!(await tables).has("pgboss.job")) return;
  const rows = await deadLettersByRepoAndKind(db);
  for (const r of rows) gauge.set({ repo: r.repo, kind: r.kind }, r.n);
}

async function pushesToRoute(db: Queryable, registry: Registry, tables: Promise<Set<string>>): Promise<void> {
  const gauge = new Gauge({
    name: "autopilot_pushes_to_route",
    help: "Pushes answered before their config was at hand and not yet routed (to a migrate run or to nothing); more than a handful for minutes means routing is failing.",
    registers: [registry],
  });
  if (!(await tables).has("public.pushes_to_route")) return;
  const { rows } = await db.query("select count(*)::int as n from pushes_to_route");
  gauge.set(rows[0].n);
}

// ---- health score ------------------------------------------------------------------------------

export interface HealthScoreInputs {
  /** Mean over the repository's checks, 0–1. */
  uptime24h?: number;
  uptime7d?: number;
  /** The slowest check's p95 response time over the last hour, in seconds. */
  worstP95Seconds?: number;
  /** Share of the last 30 days' finished migrate runs that succeeded, 0–1. */
  migrationSuccess?: number;
}

export const HEALTH_SCORE_WEIGHTS = { uptime24h: 50, uptime7d: 20, latency: 15, migrations: 15 } as const;

/** p95 at or under this is full marks for latency; at or over the critical threshold, none. */
const LATENCY_GOOD_SECONDS = 1;
const LATENCY_CRITICAL_SECONDS = 10;

/**
 * 0–100: the weighted mean of the components the repository has data for (docs/metrics.md).
 * A repository with no data at all has no score, rather than a perfect one.
 */
export function healthScore(inputs: HealthScoreInputs): number | null {
  const parts: Array<[number, number | undefined]> = [
    [HEALTH_SCORE_WEIGHTS.uptime24h, inputs.uptime24h],
    [HEALTH_SCORE_WEIGHTS.uptime7d, inputs.uptime7d],
    [HEALTH_SCORE_WEIGHTS.latency, inputs.worstP95Seconds === undefined ? undefined : latencyFactor(inputs.worstP95Seconds)],
    [HEALTH_SCORE_WEIGHTS.migrations, inputs.migrationSuccess],
  ];
  const present = parts.filter((p): p is [number, number] => p[1] !== undefined);
  if (present.length === 0) return null;
  const weights = present.reduce((sum, [w]) => sum + w, 0);
  return (100 * present.reduce((sum, [w, c]) => sum + w * c, 0)) / weights;
}

export function latencyFactor(p95Seconds: number): number {
  const share = (p95Seconds - LATENCY_GOOD_SECONDS) / (LATENCY_CRITICAL_SECONDS - LATENCY_GOOD_SECONDS);
  return Math.min(1, Math.max(0, 1 - share));
}

async function healthScores(db: Queryable, registry: Registry, now: Date, windows: Promise<WindowUptime[]>): Promise<void> {
  const score = new Gauge({
    name: "autopilot_health_score",
    help: "0-100: weighted uptime (24h 50, 7d 20), p95 latency (15) and migration success (15); see docs/metrics.md.",
    labelNames: ["repo"],
    registers: [registry],
  });
  for (const [repo, inputs] of await healthScoreInputs(db, now, windows)) {
    const value = healthScore(inputs);
    if (value !== null) score.set({ repo }, value);
  }
}

/** `windows`: uptimeByWindow(db, now) when the caller has read it already. */
export async function healthScoreInputs(db: Queryable, now: Date, windows = uptimeByWindow(db, now)): Promise<Map<string, HealthScoreInputs>> {
  const inputs = new Map<string, HealthScoreInputs>();
  const of = (repo: string) => inputs.get(repo) ?? inputs.set(repo, {}).get(repo)!;
  const [uptimes, p95s, runs] = await Promise.all([
    windows,
    latencyPercentile(db, now, 60),
    db.query(
      `select repo, count(*) filter (where status = 'success')::float8 / count(*) as ratio
         from runs where kind = 'migrate' and status in ('success', 'failure')
          and created_at > $1::timestamptz - interval '30 days' and created_at <= $1::timestamptz
        group by repo order by repo`,
      [now],
    ),
  ]);
  for (const [window, key] of [
    ["24h", "uptime24h"],
    ["7d", "uptime7d"],
  ] as const) {
    for (const [repo, ratios] of groupValues(uptimes.filter((w) => w.window === window).map((w) => [w.repo, w.ratio]))) {
      of(repo)[key] = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    }
  }
  for (const [repo, values] of groupValues(p95s.map((p) => [p.repo, p.valueMs / 1000]))) of(repo).worstP95Seconds = Math.max(...values);
  for (const r of runs.rows) of(r.repo).migrationSuccess = Number(r.ratio);
  return inputs;
}

function groupValues(pairs: Array<[string, number]>): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const [key, value] of pairs) groups.set(key, [...(groups.get(key) ?? []), value]);
  return groups;
}

// ---- histograms from SQL -----------------------------------------------------------------------

interface BucketRow {
  keys: Record<string, string>;
  /** Observations at or under each bucket's upper bound, in bucket order. */
  cumulative: number[];
  sum: number;
  count: number;
}

/**
 * Per group of `keys`, how many values of `valueExpr` fall at or under each upper bound, with their
 * sum and count: a histogram's whole state in one grouped scan. Every argument is a constant of this
 * module, never user input.
 */
async function bucketCounts(db: Queryable, table: string, valueExpr: string, keys: string[], where: string, buckets: number[]): Promise<BucketRow[]> {
  const keyNames = keys.map((k) =>
    k
      .split(/\s+as\s+/i)
      .pop()!
      .trim(),
  );
  const cumulative = buckets.map((b, i) => `count(*) filter (where ${valueExpr} <= ${b})::float8 as le_${i}`).join(", ");
  const { rows } = await db.query(
    `select ${keys.join(", ")}, ${cumulative}, coalesce(sum(${valueExpr}), 0)::float8 as sum, count(*)::float8 as count
       from ${table} where ${where}
      group by ${keys.map((_, i) => i + 1).join(", ")}
      order by ${keys.map((_, i) => i + 1).join(", ")}`,
  );
  return rows.map((r) => ({
    keys: Object.fromEntries(keyNames.map((k) => [k, String(r[k])])),
    cumulative: buckets.map((_, i) => r[`le_${i}`]),
    sum: r.sum,
    count: r.count,
  }));
}

interface SeriesState<T extends string> {
  labels: LabelValues<T>;
  cumulative: number[];
  sum: number;
  count: number;
}

/**
 * A prom-client Histogram whose series are set whole from SQL aggregates. prom-client can only add
 * one observation at a time, so replaying a month of samples would cost one call per sample on every
 * scrape; instead this subclass answers the registry with the precomputed buckets, in exactly the
 * shape (and so the text format) prom-client's own Histogram produces.
 */
class StoreHistogram<T extends string> extends Histogram<T> {
  private readonly series: SeriesState<T>[] = [];
  private readonly metricName: string;
  private readonly metricHelp: string;
  private readonly upperBounds: number[];

  constructor(config: { name: string; help: string; labelNames: T[]; buckets: number[]; registers: Registry[] }) {
    super(config);
    this.metricName = config.name;
    this.metricHelp = config.help;
    this.upperBounds = config.buckets;
  }

  setSeries(labels: LabelValues<T>, state: Omit<SeriesState<T>, "labels">): void {
    this.series.push({ labels, cumulative: state.cumulative, sum: state.sum, count: state.count });
  }

  /** What the registry renders (prom-client calls this when present, and get() builds on it). */
  async getForPromString() {
    const values = this.series.flatMap(({ labels, cumulative, sum, count }) => [
      ...this.upperBounds.map((le, i) => ({ labels: { le }, sharedLabels: { ...labels }, value: cumulative[i], metricName: `${this.metricName}_bucket` })),
      { labels: { le: "+Inf" }, sharedLabels: { ...labels }, value: count, metricName: `${this.metricName}_bucket` },
      { labels: {}, sharedLabels: { ...labels }, value: sum, metricName: `${this.metricName}_sum` },
      { labels: {}, sharedLabels: { ...labels }, value: count, metricName: `${this.metricName}_count` },
    ]);
    return { name: this.metricName, help: this.metricHelp, type: "histogram", values, aggregator: "sum" };
  }
}

// ---- exposition text ---------------------------------------------------------------------------

/**
 * The scrape's text: the health log's families (a series per check and status, bucket and window:
 * thousands of lines for a hundred checks) written here directly, then prom-client's registry for
 * the rest. prom-client builds an object per sample and formats its labels one by one, which cost
 * more than all of the scrape's queries; the text written here is byte for byte what prom-client
 * writes for the same values (test/rollups.test.ts compares whole scrapes).
 */
class Exposition {
  readonly registry = new Registry();
  private readonly families: TextFamily[] = [];

  family(name: string, help: string, type: "counter" | "gauge" | "histogram"): TextFamily {
    const family = new TextFamily(name, help, type);
    this.families.push(family);
    return family;
  }

  async text(): Promise<string> {
    // prom-client separates families with a blank line and ends with a newline.
    return [...this.families.map((f) => f.text()), await this.registry.metrics()].join("\n\n");
  }
}

class TextFamily {
  private readonly lines: string[];

  constructor(
    private readonly name: string,
    help: string,
    type: string,
  ) {
    this.lines = [`# HELP ${name} ${escapeText(help)}`, `# TYPE ${name} ${type}`];
  }

  /** One sample of the family (`suffix`: _bucket, _sum, _count or none), its labels as labelPairs writes them. */
  sample(suffix: string, labels: string, value: number): void {
    this.lines.push(`${this.name}${suffix}${labels ? `{${labels}}` : ""} ${valueText(value)}`);
  }

  text(): string {
    return this.lines.join("\n");
  }
}

/** name="value" pairs in the order given, escaped as the exposition format (and prom-client) does. */
function labelPairs(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeText(value).replace(/"/g, '\\"')}"`)
    .join(",");
}

function escapeText(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** prom-client's spelling of a sample value (NaN is "Nan" there). */
function valueText(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}

/** Tables a store may not have (yet): the queue creates its schema when it first starts, newer ones come with later migrations. */
const OPTIONAL_TABLES = ["public.circuit_breakers", "public.github_rate_budgets", "public.health_state", "public.pushes_to_route", "pgboss.job"];

/** Which OPTIONAL_TABLES exist: one query per scrape. */
async function optionalTables(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query("select name from unnest($1::text[]) as name where to_regclass(name) is not null", [OPTIONAL_TABLES]);
  return new Set(rows.map((r) => r.name));
}
