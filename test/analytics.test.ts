import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openStore, type Store } from "../src/store/store.js";
import { fitLine, flagLevel, median, modifiedZScore, percentile, p95, robustBaseline } from "../src/analytics/statistics.js";
import { scanRepository, type ScanReport } from "../src/analytics/anomalies.js";
import { listOpenFindings, recordFindings } from "../src/analytics/finding-store.js";
import { createTestDatabase, type TestDatabase } from "./harness/postgres.js";
import { history, insertDeployment, insertMigrationRun, insertSamples } from "./harness/synthetic-health.js";

const NOW = new Date("2025-03-01T12:00:00Z");
const HOUR = 3_600_000;
const minutesBefore = (date: Date, minutes: number) => new Date(date.getTime() - minutes * 60_000);

describe("statistics", () => {
  test("modified z-score of an outlier, by hand", () => {
    // median 3; absolute deviations 2,1,0,1,97 → MAD 1; z = 0.6745·(100−3)/1
    const baseline = robustBaseline([1, 2, 3, 4, 100]);
    assert.equal(baseline.median, 3);
    assert.equal(baseline.mad, 1);
    assert.ok(Math.abs(modifiedZScore(100, baseline) - 65.4265) < 1e-9);
    assert.equal(modifiedZScore(3, baseline), 0);
    assert.ok(modifiedZScore(1, baseline) < 0, "below the median scores negative");
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  test("a baseline without spread uses the MAD floor instead of dividing by zero", () => {
    // MAD 0; floor = max(1e-6, 1 % of the median 5) = 0.05 → z(6) = 0.6745·1/0.05 = 13.49
    const baseline = robustBaseline([5, 5, 5, 5]);
    assert.equal(baseline.mad, 0);
    assert.equal(baseline.effectiveMad, 0.05);
    assert.ok(Math.abs(modifiedZScore(6, baseline) - 13.49) < 1e-9);
    // flag level: 5 + 3.5·0.05/0.6745
    assert.ok(Math.abs(flagLevel(baseline) - (5 + 0.175 / 0.6745)) < 1e-12);
    const absolute = robustBaseline([0, 0, 0], { minMad: 2, minMadRatio: 0.01 });
    assert.equal(absolute.effectiveMad, 2);
  });

  test("least-squares slope and R², by hand", () => {
    const exact = fitLine([
      [0, 1],
      [1, 3],
      [2, 5],
    ]);
    assert.deepEqual([exact.slope, exact.intercept, exact.rSquared], [2, 1, 1]);
    // x̄ 1.5, ȳ 1, Sxy 3, Sxx 5 → slope 0.6, intercept 0.1; residuals ±0.1, ±0.3 → SSres 0.2, SStot 2 → R² 0.9
    const noisy = fitLine([
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
    assert.ok(Math.abs(noisy.slope - 0.6) < 1e-12);
    assert.ok(Math.abs(noisy.intercept - 0.1) < 1e-12);
    assert.ok(Math.abs(noisy.rSquared - 0.9) < 1e-12);
    const flat = fitLine([
      [0, 7],
      [1, 7],
      [2, 7],
    ]);
    assert.deepEqual([flat.slope, flat.rSquared], [0, 1]);
    assert.throws(() => fitLine([[0, 1]]));
  });

  test("percentiles interpolate like percentile_cont", () => {
    assert.ok(Math.abs(p95([1, 2, 3, 4]) - 3.85) < 1e-12); // rank 0.95·3 = 2.85 → 3 + 0.85
    assert.equal(percentile([4, 1, 3, 2], 0.5), 2.5);
    assert.ok(Math.abs(percentile([15, 20, 35, 40, 50], 0.4) - 29) < 1e-12); // rank 1.6 → 20 + 0.6·15
    assert.equal(percentile([7], 0.95), 7);
    assert.throws(() => percentile([], 0.5));
    assert.throws(() => percentile([1], 1.5));
  });
});

/** acme/latency: nine days of a site answering in 200 ms, 600 ms since the onset, which came 10 min after migration 0042. */
const LATENCY_REPO = "acme/latency";
const LATENCY_ONSET = minutesBefore(NOW, 170); // 2 h 50 min before the scan: mid-hour

async function seedLatencyAnomaly(store: Store): Promise<void> {
  const slowSince = (LATENCY_ONSET.getTime() - NOW.getTime()) / -HOUR;
  await insertSamples(store.pool, history({ repo: LATENCY_REPO, check: "site", now: NOW, days: 9, seed: 1, latencyMs: (h) => (h <= slowSince ? 600 : 200) }));
  await insertMigrationRun(store.pool, { repo: LATENCY_REPO, commitSha: "abc1234def5678", finishedAt: minutesBefore(LATENCY_ONSET, 10), versions: ["0042"] });
  // An older migration, outside the 2-hour window, must not be named.
  await insertMigrationRun(store.pool, { repo: LATENCY_REPO, commitSha: "0000000aaaa", finishedAt: minutesBefore(LATENCY_ONSET, 180), versions: ["0041"] });
}

describe("anomaly scan on synthetic histories", () => {
  let db: TestDatabase;
  let store: Store;
  before(async () => {
    db = await createTestDatabase("analytics");
    store = await openStore(db.url);
    // Read by the latency test and by the test of a finding's life, each of which may run alone.
    await seedLatencyAnomaly(store);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  test("an injected latency anomaly is found, placed to the sample, and blamed on the migration before it", async () => {
    const [repo, onset] = [LATENCY_REPO, LATENCY_ONSET];
    const report = await scanRepository(store.pool, repo, { now: NOW });
    const anomalies = report.findings.filter((f) => f.kind === "latency_anomaly");
    assert.equal(anomalies.length, 1, JSON.stringify(report.findings, null, 2));
    const [finding] = anomalies;
    assert.equal(finding.check, "site");
    assert.ok(Math.abs(finding.onsetAt!.getTime() - onset.getTime()) <= 5 * 60_000, `onset ${finding.onsetAt?.toISOString()}`);
    assert.equal(finding.cause?.kind, "migration");
    assert.deepEqual(finding.cause?.versions, ["0042"]);
    assert.match(finding.summary, /began 1\d min after migration 0042 \(commit abc1234\) — `\/autopilot rollback last`/);
    assert.ok((finding.detail.zScore as number) > 3.5);
    assert.deepEqual(
      report.findings.map((f) => f.kind).filter((k) => k !== "latency_anomaly"),
      [],
      "a step up is not an error anomaly nor a trend",
    );
  });

  test("an episode is walked back through hours older than the examined ones and their baseline", async () => {
    // The scan reads lookback + baseline hours (54 here) for every check; the onset hour, 20 h ago, is
    // judged against hours 21 to 68 ago, which only the check's older hours (read for a check with an
    // episode) hold enough of: hours 21 to 53 alone are too few points, and the walk would stop early.
    const repo = "acme/long-episode";
    const onset = minutesBefore(NOW, 20 * 60 + 30);
    const slowSince = (NOW.getTime() - onset.getTime()) / HOUR;
    await insertSamples(store.pool, history({ repo, check: "site", now: NOW, days: 4, seed: 4, noiseMs: 5, latencyMs: (h) => (h <= slowSince ? 600 : 200) }));
    const report = await scanRepository(store.pool, repo, { now: NOW, lookbackHours: 6, baselineHours: 48, minBaselinePoints: 40, trendDays: 2 });
    const finding = report.findings.find((f) => f.kind === "latency_anomaly");
    assert.ok(finding, JSON.stringify(report.findings));
    assert.equal(finding.detail.hours, 21);
    assert.equal(finding.detail.firstHourEndsAt, new Date(NOW.getTime() - 20 * HOUR).toISOString());
    assert.ok(Math.abs(finding.onsetAt!.getTime() - onset.getTime()) <= 5 * 60_000, `onset ${finding.onsetAt?.toISOString()}`);
  });

  test("an error-rate burst is found and blamed on the deployment before it", async () => {
    const repo = "acme/errors";
    const burst = minutesBefore(NOW, 45);
    await insertSamples(store.pool, history({ repo, check: "api", now: NOW, days: 8, seed: 2, errorRate: (h) => (h <= 0.75 ? 0.6 : 0.005) }));
    await insertDeployment(store.pool, { repo, at: minutesBefore(burst, 20) });
    const report = await scanRepository(store.pool, repo, { now: NOW });
    const finding = report.findings.find((f) => f.kind === "error_rate_anomaly");
    assert.ok(finding, JSON.stringify(report.findings));
    assert.equal(finding.cause?.kind, "deployment");
    assert.match(finding.summary, /began 2\d min after a deployment to production/);
    assert.ok((finding.detail.errorRate as number) > 3 * (finding.detail.usualErrorRate as number));
  });

  test("a few errors are not an anomaly, however low the baseline", async () => {
    const repo = "acme/two-errors";
    await insertSamples(store.pool, history({ repo, check: "api", now: NOW, days: 8, seed: 3, errorRate: (h) => (h < 0.15 ? 1 : 0) }));
    const report = await scanRepository(store.pool, repo, { now: NOW });
    const errors = report.findings.filter((f) => f.kind === "error_rate_anomaly");
    // exactly the 2 latest samples failed: a rate far above a baseline of 0, but under the minimum of 3 errors
    assert.deepEqual(errors, []);
  });

  test("known trends are found with the right sign; a forecast says when latency crosses the threshold", async () => {
    const repo = "acme/trends";
    const days = 8;
    const samples = [
      ...history({ repo, check: "rising", now: NOW, days, seed: 4, latencyMs: (h) => 2200 - 10 * h }),
      ...history({ repo, check: "falling", now: NOW, days, seed: 5, latencyMs: (h) => 300 + 10 * h }),
      ...history({ repo, check: "doomed", now: NOW, days, seed: 6, latencyMs: (h) => 9400 - 40 * h }),
      // uptime: from ~100 % a week ago to ~80 % today
      ...history({ repo, check: "flaky", now: NOW, days, seed: 7, errorRate: (h) => Math.max(0, 0.2 - (0.2 * h) / 168) }),
    ];
    await insertSamples(store.pool, samples);
    const report = await scanRepository(store.pool, repo, { now: NOW });
    const trend = (check: string, metric: string) => report.trends.find((t) => t.check === check && t.metric === metric)!;

    const rising = trend("rising", "p95_latency_ms");
    assert.equal(rising.direction, "degrading");
    assert.ok(rising.slope > 8 && rising.slope < 12, `slope ${rising.slope} ms/h`);
    assert.ok(rising.rSquared > 0.9);
    const falling = trend("falling", "p95_latency_ms");
    assert.equal(falling.direction, "improving");
    assert.ok(falling.slope < -8 && falling.slope > -12);
    const flaky = trend("flaky", "daily_uptime_ratio");
    assert.equal(flaky.direction, "degrading");
    assert.ok(flaky.slope < -0.02 && flaky.slope > -0.04, `uptime slope ${flaky.slope}/day`);
    assert.equal(trend("rising", "daily_uptime_ratio").direction, "stable");

    const kinds = (check: string) =>
      report.findings
        .filter((f) => f.check === check)
        .map((f) => f.kind)
        .sort();
    assert.deepEqual(kinds("rising"), ["latency_trend"]);
    assert.deepEqual(kinds("falling"), [], "an improvement is reported as a trend, not a finding");
    assert.ok(kinds("flaky").includes("uptime_trend"));
    assert.deepEqual(kinds("doomed"), ["latency_forecast", "latency_trend"]);

    const forecast = report.findings.find((f) => f.kind === "latency_forecast")!;
    const crossesAt = new Date(forecast.detail.crossesAt as string).getTime();
    // now ≈ 9400 + p95 noise (≈ 33 ms), rising 40 ms/h → 10 s in about 14 h
    assert.ok(crossesAt > NOW.getTime() + 10 * HOUR && crossesAt < NOW.getTime() + 18 * HOUR, forecast.summary);
    assert.match(forecast.summary, /cross 10\.00 s around .*R² (0\.9\d|1\.00)/);
  });

  test("30 days of pure noise at 288 samples a day give no finding, scanned every 6 hours of the last week", async () => {
    const repo = "acme/noise";
    await insertSamples(store.pool, [
      ...history({ repo, check: "site", now: NOW, days: 30, seed: 8, latencyMs: () => 180, noiseMs: 25, errorRate: () => 0.01 }),
      ...history({ repo, check: "db", now: NOW, days: 30, seed: 9, latencyMs: () => 12, noiseMs: 3, errorRate: () => 0.002 }),
    ]);
    const reports: ScanReport[] = [];
    for (let slot = 0; slot < 28; slot++) {
      reports.push(await scanRepository(store.pool, repo, { now: new Date(NOW.getTime() - slot * 6 * HOUR) }));
    }
    assert.deepEqual(
      reports.flatMap((r) => r.findings.map((f) => f.summary)),
      [],
    );
    assert.ok(reports.every((r) => r.trends.length === 4 && r.trends.every((t) => t.direction === "stable")));
  });

  test("a finding seen again is updated, not duplicated, and resolves when no longer seen", async () => {
    const repo = LATENCY_REPO;
    const first = await recordFindings(store.pool, await scanRepository(store.pool, repo, { now: NOW }));
    assert.equal(first.opened.length, 1);
    const again = await recordFindings(store.pool, await scanRepository(store.pool, repo, { now: new Date(NOW.getTime() + 60_000) }));
    assert.deepEqual(again.opened, []);
    assert.equal(again.updated.length, 1);
    assert.equal(again.updated[0].id, first.opened[0].id);
    assert.equal(again.updated[0].seenCount, 2);
    assert.equal(again.updated[0].onsetAt?.getTime(), first.opened[0].onsetAt?.getTime());
    assert.equal((await listOpenFindings(store.pool, repo)).length, 1);

    const quiet = await recordFindings(store.pool, { repo, at: new Date(NOW.getTime() + 6 * HOUR), findings: [], trends: [] });
    assert.deepEqual(
      quiet.resolved.map((f) => f.id),
      [first.opened[0].id],
    );
    assert.deepEqual(await listOpenFindings(store.pool, repo), []);
    const reopened = await recordFindings(store.pool, await scanRepository(store.pool, repo, { now: NOW }));
    assert.equal(reopened.opened.length, 1, "a new episode is a new finding");
    assert.notEqual(reopened.opened[0].id, first.opened[0].id);
  });
});
