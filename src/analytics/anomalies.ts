// The anomaly scan of one repository: per check, response-time and error-rate anomalies against a
// trailing baseline of hourly aggregates, latency and uptime trends, and a forecast when latency is
// heading for the critical threshold. Each finding names the migration or deployment that most
// closely preceded its onset, since that is the first thing an operator wants to rule out.
//
// The scan only reads the store; `recordFindings` (finding-store.ts) persists what it returns.
import { createHash } from "node:crypto";
import {
  DEFAULT_MAD_FLOOR,
  MODIFIED_Z_THRESHOLD,
  fitLine,
  flagLevel,
  mean,
  modifiedZScore,
  robustBaseline,
  type LineFit,
  type MadFloor,
  type RobustBaseline,
} from "./statistics.js";
import {
  firstErrorAt,
  hourlyAggregates,
  hourlyAndDaily,
  latencySamples,
  precedingChange,
  type ChangeEvent,
  type DailyUptime,
  type HourlyAggregate,
  type Queryable,
} from "./queries.js";

const HOUR_MS = 3_600_000;

export interface ScanOptions {
  now: Date;
  /** Hours examined for anomalies: the scan runs every 6 hours, so it looks at the 6 since the last. */
  lookbackHours: number;
  /** Hours of baseline before each examined hour (7 days). */
  baselineHours: number;
  /** An hour is only judged against at least this many baseline hours with data. */
  minBaselinePoints: number;
  zThreshold: number;
  /** Floor of the MAD, in milliseconds and as a share of the baseline median. */
  madFloor: MadFloor;
  /** An hour's error rate is anomalous above this multiple of its baseline rate… */
  errorRateFactor: number;
  /** …and with at least this many errors. */
  minErrors: number;
  /** A trend below this R² is noise, whatever its slope. */
  trendMinRSquared: number;
  /** Latency trend: smallest change over the window, relative to the window's mean p95, that counts. */
  latencyTrendMinChange: number;
  /** Uptime trend: smallest change over the window, as a ratio (0.02 = 2 points), that counts. */
  uptimeTrendMinChange: number;
  trendDays: number;
  /** p95 latency the forecast warns about (the critical p95 alert). */
  criticalP95Ms: number;
  forecastHours: number;
  /** How long before an onset a migration or deployment may have happened to be named as its cause. */
  attributionMinutes: number;
}

export const DEFAULT_SCAN_OPTIONS: Omit<ScanOptions, "now"> = {
  lookbackHours: 6,
  baselineHours: 7 * 24,
  minBaselinePoints: 30,
  zThreshold: MODIFIED_Z_THRESHOLD,
  madFloor: { minMad: 1, minMadRatio: DEFAULT_MAD_FLOOR.minMadRatio },
  errorRateFactor: 3,
  minErrors: 3,
  trendMinRSquared: 0.3,
  latencyTrendMinChange: 0.1,
  uptimeTrendMinChange: 0.02,
  trendDays: 7,
  criticalP95Ms: 10_000,
  forecastHours: 24,
  attributionMinutes: 120,
};

export type FindingKind = "latency_anomaly" | "error_rate_anomaly" | "latency_trend" | "uptime_trend" | "latency_forecast";
export type Severity = "info" | "warning" | "critical";

export interface Finding {
  /** Stable per (repo, check, kind): a later scan that sees it again updates it. */
  fingerprint: string;
  kind: FindingKind;
  repo: string;
  check: string;
  severity: Severity;
  /** One line a person reads: what, how far from usual, and the suspected cause. */
  summary: string;
  onsetAt: Date | null;
  cause: ChangeEvent | null;
  detail: Record<string, unknown>;
}

export type TrendDirection = "improving" | "stable" | "degrading";

export interface Trend {
  check: string;
  metric: "p95_latency_ms" | "daily_uptime_ratio";
  /** Per hour for latency, per day for uptime. */
  slope: number;
  rSquared: number;
  /** Change over the whole window: relative for latency (0.5 = +50 %), absolute for uptime. */
  change: number;
  direction: TrendDirection;
  points: number;
  /** The fitted value now. */
  current: number;
}

export interface ScanReport {
  repo: string;
  at: Date;
  findings: Finding[];
  trends: Trend[];
}

export async function scanRepository(db: Queryable, repo: string, options: Partial<ScanOptions> = {}): Promise<ScanReport> {
  const opts: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, now: new Date(), ...options };
  // Enough history to judge the examined hours (and the trend window within them); an episode found
  // there is walked back to its start with up to another baseline of its check's hours.
  const judged = opts.lookbackHours + opts.baselineHours;
  const [hourly, daily] = await hourlyAndDaily(db, repo, opts.now, Math.max(judged, opts.trendDays * 24), opts.trendDays);
  const findings: Finding[] = [];
  const trends: Trend[] = [];
  for (const [check, recent] of hourSeriesByCheck(hourly)) {
    const series = findLatencyEpisode(recent, opts) || findErrorEpisode(recent, opts) ? await withEpisodeHistory(db, repo, check, recent, opts) : recent;
    const latency = findLatencyEpisode(series, opts);
    if (latency) findings.push(await latencyFinding(db, repo, check, latency, opts));
    const errors = findErrorEpisode(series, opts);
    if (errors) findings.push(await errorRateFinding(db, repo, check, errors, opts));
    const latencyTrend = p95Trend(check, series, opts);
    if (latencyTrend) {
      trends.push(latencyTrend);
      findings.push(...latencyTrendFindings(repo, latencyTrend, opts));
    }
  }
  for (const [check, days] of daysByCheck(daily)) {
    const trend = uptimeTrend(check, days, opts);
    if (!trend) continue;
    trends.push(trend);
    if (trend.direction === "degrading") findings.push(uptimeTrendFinding(repo, trend, opts));
  }
  return { repo, at: opts.now, findings, trends };
}

/**
 * The check's hours far enough back to judge every hour an episode may be walked back through
 * (its baseline reaches another baseline further): read only for the few checks with an episode.
 */
async function withEpisodeHistory(db: Queryable, repo: string, check: string, recent: HourSeries, opts: ScanOptions): Promise<HourSeries> {
  const rows = await hourlyAggregates(db, repo, opts.now, opts.lookbackHours + 2 * opts.baselineHours, check);
  return hourSeriesByCheck(rows).get(check) ?? recent;
}

export function findingFingerprint(repo: string, check: string, kind: FindingKind): string {
  return createHash("sha256").update(`${repo}\n${check}\n${kind}`).digest("hex").slice(0, 32);
}

// ---- anomalies ---------------------------------------------------------------------------------

/** Hourly aggregates of one check, by hours ago. */
export type HourSeries = Map<number, HourlyAggregate>;

export interface Episode {
  /** hoursAgo of the first and the latest anomalous hour of the run that reaches the examined window. */
  onsetHoursAgo: number;
  latestHoursAgo: number;
  /** The latest anomalous hour's measurement and how it compared. */
  value: number;
  usual: number;
  score: number;
  /** For latency: the value above which a single sample counts as slow (at the onset). */
  level?: number;
}

interface HourJudgement {
  anomalous: boolean;
  value: number;
  usual: number;
  score: number;
  level?: number;
}

/**
 * The most recent run of consecutive anomalous hours that reaches into the examined window, walked
 * back to where it began, so a long episode keeps one onset across scans.
 */
function findEpisode(opts: ScanOptions, judge: (hoursAgo: number) => HourJudgement | null): Episode | null {
  let latest = -1;
  let latestJudgement: HourJudgement | null = null;
  for (let h = 0; h < opts.lookbackHours && latest < 0; h++) {
    const j = judge(h);
    if (j?.anomalous) [latest, latestJudgement] = [h, j];
  }
  if (!latestJudgement) return null;
  let onset = latest;
  let onsetJudgement = latestJudgement;
  for (let h = latest + 1; h < latest + opts.baselineHours; h++) {
    const j = judge(h);
    if (!j?.anomalous) break;
    [onset, onsetJudgement] = [h, j];
  }
  const { value, usual, score } = latestJudgement;
  return { onsetHoursAgo: onset, latestHoursAgo: latest, value, usual, score, level: onsetJudgement.level };
}

/** The baseline hours of `hoursAgo`: the `baselineHours` before it, never itself. */
function baselineOf(series: HourSeries, hoursAgo: number, opts: ScanOptions): HourlyAggregate[] {
  const points: HourlyAggregate[] = [];
  for (let h = hoursAgo + 1; h <= hoursAgo + opts.baselineHours; h++) {
    const point = series.get(h);
    if (point) points.push(point);
  }
  return points;
}

/** Response time: the hour's median latency against the baseline hours' medians, slower only. */
export function findLatencyEpisode(series: HourSeries, opts: ScanOptions): Episode | null {
  return findEpisode(opts, (hoursAgo) => {
    const value = series.get(hoursAgo)?.medianMs;
    if (value == null) return null;
    const usual: number[] = [];
    for (const p of baselineOf(series, hoursAgo, opts)) if (p.medianMs != null) usual.push(p.medianMs);
    if (usual.length < opts.minBaselinePoints) return null;
    const baseline: RobustBaseline = robustBaseline(usual, opts.madFloor);
    const score = modifiedZScore(value, baseline);
    return { anomalous: score > opts.zThreshold, value, usual: baseline.median, score, level: flagLevel(baseline, opts.zThreshold) };
  });
}

/** Errors: the hour's error rate against the baseline's pooled rate. */
export function findErrorEpisode(series: HourSeries, opts: ScanOptions): Episode | null {
  return findEpisode(opts, (hoursAgo) => {
    const hour = series.get(hoursAgo);
    if (!hour || hour.samples === 0) return null;
    const baseline = baselineOf(series, hoursAgo, opts).filter((p) => p.samples > 0);
    if (baseline.length < opts.minBaselinePoints) return null;
    const usual = sum(baseline.map((p) => p.errors)) / sum(baseline.map((p) => p.samples));
    const value = hour.errors / hour.samples;
    const anomalous = hour.errors >= opts.minErrors && value > opts.errorRateFactor * usual;
    return { anomalous, value, usual, score: usual > 0 ? value / usual : Infinity };
  });
}

async function latencyFinding(db: Queryable, repo: string, check: string, episode: Episode, opts: ScanOptions): Promise<Finding> {
  const onsetAt = await latencyOnset(db, repo, check, episode, opts);
  const cause = await precedingChange(db, repo, onsetAt, opts.attributionMinutes);
  const what = `latency anomaly on ${check}: median ${ms(episode.value)} against a usual ${ms(episode.usual)} (z ${episode.score.toFixed(1)})`;
  return {
    fingerprint: findingFingerprint(repo, check, "latency_anomaly"),
    kind: "latency_anomaly",
    repo,
    check,
    severity: "warning",
    summary: what + causeText(onsetAt, cause),
    onsetAt,
    cause,
    detail: { ...episodeDetail(episode, opts), valueMs: episode.value, usualMs: episode.usual, zScore: episode.score },
  };
}

/**
 * Hours are coarse; the onset is placed on the first slow sample of the slow run that the onset
 * hour begins (it may have started in the hour before, too few slow samples to move its median).
 */
async function latencyOnset(db: Queryable, repo: string, check: string, episode: Episode, opts: ScanOptions): Promise<Date> {
  const bucketStart = hoursBefore(opts.now, episode.onsetHoursAgo + 1);
  const bucketEnd = hoursBefore(opts.now, episode.onsetHoursAgo);
  const samples = await latencySamples(db, repo, check, hoursBefore(bucketStart, 1), new Date(bucketEnd.getTime() + 1));
  const level = episode.level ?? Infinity;
  let first = samples.findIndex((s) => s.at > bucketStart && s.latencyMs > level);
  if (first < 0) return bucketStart;
  while (first > 0 && samples[first - 1].latencyMs > level) first--;
  return samples[first].at;
}

async function errorRateFinding(db: Queryable, repo: string, check: string, episode: Episode, opts: ScanOptions): Promise<Finding> {
  const bucketStart = hoursBefore(opts.now, episode.onsetHoursAgo + 1);
  const onsetAt = (await firstErrorAt(db, repo, check, bucketStart, hoursBefore(opts.now, episode.onsetHoursAgo))) ?? bucketStart;
  const cause = await precedingChange(db, repo, onsetAt, opts.attributionMinutes);
  const what = `error-rate anomaly on ${check}: ${percent(episode.value)} of checks failed in an hour against a usual ${percent(episode.usual)}`;
  return {
    fingerprint: findingFingerprint(repo, check, "error_rate_anomaly"),
    kind: "error_rate_anomaly",
    repo,
    check,
    severity: "warning",
    summary: what + causeText(onsetAt, cause),
    onsetAt,
    cause,
    detail: { ...episodeDetail(episode, opts), errorRate: episode.value, usualErrorRate: episode.usual },
  };
}

function episodeDetail(episode: Episode, opts: ScanOptions): Record<string, unknown> {
  return {
    firstHourEndsAt: hoursBefore(opts.now, episode.onsetHoursAgo).toISOString(),
    lastHourEndsAt: hoursBefore(opts.now, episode.latestHoursAgo).toISOString(),
    hours: episode.onsetHoursAgo - episode.latestHoursAgo + 1,
  };
}

/** " — began 6 min after migration 0042 (commit abc1234) — `/autopilot rollback last`" */
export function causeText(onsetAt: Date, cause: ChangeEvent | null): string {
  if (!cause) return "";
  const minutes = Math.max(0, Math.round((onsetAt.getTime() - cause.at.getTime()) / 60_000));
  const commit = cause.commitSha ? ` (commit ${cause.commitSha.slice(0, 7)})` : "";
  if (cause.kind === "deployment") {
    return `; began ${minutes} min after a deployment${cause.environment ? ` to ${cause.environment}` : ""}${commit}`;
  }
  const migration = cause.versions.length ? `migration ${cause.versions.join(", ")}` : `migration run #${cause.id}`;
  return `; began ${minutes} min after ${migration}${commit} — \`/autopilot rollback last\``;
}

// ---- trends ------------------------------------------------------------------------------------

export function classifyTrend(fit: LineFit, change: number, minChange: number, minRSquared: number, higherIsBetter: boolean): TrendDirection {
  if (fit.rSquared < minRSquared || Math.abs(change) < minChange) return "stable";
  return change > 0 === higherIsBetter ? "improving" : "degrading";
}

/** Slope of hourly p95 latency over the trend window; x is hours from now (bucket midpoints). */
export function p95Trend(check: string, series: HourSeries, opts: ScanOptions): Trend | null {
  const windowHours = opts.trendDays * 24;
  const points: [number, number][] = [];
  for (let h = 0; h < windowHours; h++) {
    const p95 = series.get(h)?.p95Ms;
    if (p95 != null) points.push([-(h + 0.5), p95]);
  }
  if (points.length < opts.minBaselinePoints) return null;
  const fit = fitLine(points);
  const average = mean(points.map(([, y]) => y));
  const change = average > 0 ? (fit.slope * windowHours) / average : 0;
  const direction = classifyTrend(fit, change, opts.latencyTrendMinChange, opts.trendMinRSquared, false);
  return { check, metric: "p95_latency_ms", slope: fit.slope, rSquared: fit.rSquared, change, direction, points: fit.points, current: fit.intercept };
}

/** Slope of daily uptime over the trend window; x is days from now. */
export function uptimeTrend(check: string, days: DailyUptime[], opts: ScanOptions): Trend | null {
  const points = days.map((d): [number, number] => [-(d.daysAgo + 0.5), d.ratio]);
  // Fewer than five days of a week make a line out of almost anything.
  if (points.length < Math.min(5, opts.trendDays)) return null;
  const fit = fitLine(points);
  const change = fit.slope * opts.trendDays;
  const direction = classifyTrend(fit, change, opts.uptimeTrendMinChange, opts.trendMinRSquared, true);
  return { check, metric: "daily_uptime_ratio", slope: fit.slope, rSquared: fit.rSquared, change, direction, points: fit.points, current: fit.intercept };
}

function latencyTrendFindings(repo: string, trend: Trend, opts: ScanOptions): Finding[] {
  const findings: Finding[] = [];
  const fit = `R² ${trend.rSquared.toFixed(2)}`;
  if (trend.direction === "degrading") {
    findings.push({
      fingerprint: findingFingerprint(repo, trend.check, "latency_trend"),
      kind: "latency_trend",
      repo,
      check: trend.check,
      severity: "info",
      summary: `p95 latency of ${trend.check} is degrading: +${ms(trend.slope)} an hour, ${signedPercent(trend.change)} over ${opts.trendDays} days (${fit})`,
      onsetAt: null,
      cause: null,
      detail: trendDetail(trend),
    });
  }
  const crossing = forecastCrossing(trend, opts);
  if (crossing) {
    const hoursAway = (crossing.getTime() - opts.now.getTime()) / HOUR_MS;
    findings.push({
      fingerprint: findingFingerprint(repo, trend.check, "latency_forecast"),
      kind: "latency_forecast",
      repo,
      check: trend.check,
      severity: "warning",
      summary:
        `p95 latency of ${trend.check} is on course to cross ${ms(opts.criticalP95Ms)} around ${crossing.toISOString()} ` +
        `(in ${hoursAway.toFixed(1)} h; +${ms(trend.slope)} an hour, ${fit})`,
      onsetAt: null,
      cause: null,
      detail: { ...trendDetail(trend), crossesAt: crossing.toISOString(), thresholdMs: opts.criticalP95Ms },
    });
  }
  return findings;
}

/** When the fitted latency line reaches the critical threshold, if that is within the forecast horizon. */
export function forecastCrossing(trend: Trend, opts: ScanOptions): Date | null {
  if (trend.slope <= 0 || trend.rSquared < opts.trendMinRSquared) return null;
  // Already above it is the alert rules' business, not a forecast.
  if (trend.current >= opts.criticalP95Ms) return null;
  const hours = (opts.criticalP95Ms - trend.current) / trend.slope;
  return hours <= opts.forecastHours ? new Date(opts.now.getTime() + hours * HOUR_MS) : null;
}

function uptimeTrendFinding(repo: string, trend: Trend, opts: ScanOptions): Finding {
  return {
    fingerprint: findingFingerprint(repo, trend.check, "uptime_trend"),
    kind: "uptime_trend",
    repo,
    check: trend.check,
    severity: "info",
    summary:
      `daily uptime of ${trend.check} is degrading: ${(trend.change * 100).toFixed(1)} points over ${opts.trendDays} days, ` +
      `${percent(trend.current)} now (R² ${trend.rSquared.toFixed(2)})`,
    onsetAt: null,
    cause: null,
    detail: trendDetail(trend),
  };
}

function trendDetail(trend: Trend): Record<string, unknown> {
  const { metric, slope, rSquared, change, direction, points, current } = trend;
  return { metric, slope, rSquared, change, direction, points, current };
}

// ---- helpers -----------------------------------------------------------------------------------

function hourSeriesByCheck(rows: HourlyAggregate[]): Map<string, HourSeries> {
  const groups = new Map<string, HourSeries>();
  for (const row of rows) {
    const series = groups.get(row.check) ?? new Map<number, HourlyAggregate>();
    series.set(row.hoursAgo, row);
    groups.set(row.check, series);
  }
  return groups;
}

function daysByCheck(rows: DailyUptime[]): Map<string, DailyUptime[]> {
  const groups = new Map<string, DailyUptime[]>();
  for (const row of rows) groups.set(row.check, [...(groups.get(row.check) ?? []), row]);
  return groups;
}

function hoursBefore(date: Date, hours: number): Date {
  return new Date(date.getTime() - hours * HOUR_MS);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

function signedPercent(ratio: number): string {
  return `${ratio >= 0 ? "+" : ""}${(ratio * 100).toFixed(0)} %`;
}
