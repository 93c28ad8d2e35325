// The health log's hourly and daily rollups: every reader (uptime, scans, alerts' windows, the
// dashboard, /metrics) answers the same over the same synthetic history whether it reads raw samples
// (nothing rolled up yet), a mix (rolled up to some earlier hour), or the rollups; pruning keeps what
// the rollups hold and removes only what retention says.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type pg from "pg";
import { dailyUptime as scanDailyUptime, hourlyAggregates, uptimeByWindow } from "../src/analytics/queries.js";
import { scanRepository } from "../src/analytics/anomalies.js";
import { dailyUptime, hourlyActivity, hourlyLatency, repoHealth } from "../src/store/dashboard-queries.js";
import { planWindow, rollUpHealth, ROLLUP_LOCK } from "../src/store/health-rollups.js";
import { pruneStore } from "../src/store/store-retention.js";
import { uptimeOf } from "../src/store/health.js";
import { renderMetrics } from "../src/web/metrics.js";
import { parseServerConfig } from "../src/config/server-config.js";
import { history, insertDeployment, insertSamples } from "./harness/synthetic-health.js";
import { seedHealthHistory } from "./harness/health-history.js";
import { useTestStore } from "./harness/test-store.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REPOS = ["acme/shop", "acme/api"];

/** Three days of 5-minute samples on three checks (one with an error burst and a latency step), plus degraded and latency-less samples. */
async function seed(db: pg.Pool, now: Date): Promise<void> {
  await insertSamples(db, [
    ...history({ repo: "acme/shop", check: "site", now, days: 3, seed: 1 }),
    ...history({ repo: "acme/shop", check: "api", now, days: 3, seed: 2, latencyMs: (h) => (h < 5 ? 420 : 200), errorRate: (h) => (h < 3 ? 0.4 : 0.01) }),
    ...history({ repo: "acme/api", check: "site", now, days: 3, seed: 3, noiseMs: 60, errorRate: () => 0.05 }),
  ]);
  // A maintenance window, degraded answers and answers without a latency, placed deterministically.
  await db.query(
    `update health_log set status = 'maintenance' where check_name = 'site' and at between $1::timestamptz - interval '30 hours' and $1::timestamptz - interval '28 hours'`,
    [now],
  );
  await db.query(`update health_log set status = 'degraded' where status = 'healthy' and id % 17 = 0`);
  await db.query(`update health_log set latency_ms = null where id % 53 = 0`);
  await insertDeployment(db, { repo: "acme/shop", at: new Date(now.getTime() - 5 * HOUR) });
}

/** Everything the readers answer at `now`, for comparison across sources. */
async function readAll(db: pg.Pool, now: Date) {
  const onTheHour = new Date(Math.floor(now.getTime() / HOUR) * HOUR);
  return {
    windows: await uptimeByWindow(db, now),
    shopWindows: await uptimeByWindow(db, now, "acme/shop", "api"),
    hourlyOnTheHour: await hourlyAggregates(db, "acme/shop", onTheHour, 60),
    dailyOnTheHour: await scanDailyUptime(db, "acme/shop", onTheHour, 3),
    scan: await scanRepository(db, "acme/shop", { now: onTheHour, baselineHours: 24, minBaselinePoints: 6, trendDays: 3 }),
    repoHealth: [...(await repoHealth(db, REPOS, now))],
    latency: await hourlyLatency(db, "acme/shop", 2, now),
    days: await dailyUptime(db, "acme/api", 3, now),
    activity: await hourlyActivity(db, "acme/shop", now),
    metrics: (await renderMetrics(db, { now })).body,
  };
}

describe("health rollups", () => {
  const t = useTestStore("rollups");

  test("a window is read from days, hours and raw edges without gaps or overlaps", () => {
    const at = (s: string) => new Date(`2025-03-${s}Z`);
    assert.deepEqual(planWindow(at("01T10:20:00"), at("05T13:30:00"), null), { raw: [[at("01T10:20:00"), at("05T13:30:00")]], hours: [], days: null });
    assert.deepEqual(planWindow(at("01T10:20:00"), at("05T13:30:00"), at("05T12:00:00")), {
      raw: [
        [at("01T10:20:00"), at("01T11:00:00")],
        [at("05T12:00:00"), at("05T13:30:00")],
      ],
      hours: [
        [at("01T11:00:00"), at("02T00:00:00")],
        [at("05T00:00:00"), at("05T12:00:00")],
      ],
      days: [at("02T00:00:00"), at("05T00:00:00")],
    });
    // All history: every closed day, the hours of today, and the open hour raw.
    assert.deepEqual(planWindow(null, at("05T13:30:00"), at("05T13:00:00")), {
      raw: [[at("05T13:00:00"), at("05T13:30:00")]],
      hours: [[at("05T00:00:00"), at("05T13:00:00")]],
      days: [null, at("05T00:00:00")],
    });
  });

  test("raw, partly rolled up and fully rolled up histories give the same answers", async () => {
    const db = t.store.pool;
    const now = new Date();
    await seed(db, now);
    const raw = await readAll(db, now);
    assert.ok(raw.windows.length === 9 && raw.scan.findings.length > 0 && raw.latency.length > 0, "the history exercises every reader");
    assert.match(raw.metrics, /autopilot_health_checks_total\{repo="acme\/shop",check="site",status="maintenance"\} \d+/);

    const partly = await rollUpHealth(db, new Date(now.getTime() - 29 * HOUR));
    assert.ok(partly && partly.hours > 0 && partly.days > 0);
    assert.deepEqual(await readAll(db, now), raw, "rolled up to 29 hours ago, the rest raw");

    await rollUpHealth(db, now);
    const rolled = await readAll(db, now);
    assert.deepEqual(rolled, raw, "rolled up to the open hour");
    const { rows } = await db.query("select grain, count(*)::int as n from health_rollups group by 1 order by 1");
    assert.deepEqual(
      rows.map((r) => r.grain),
      ["day", "hour"],
    );
    const maintenance = await db.query("select sum(maintenance_minutes)::int as m from health_rollups where grain = 'hour'");
    assert.ok(maintenance.rows[0].m >= 230 && maintenance.rows[0].m <= 260, `two hours of maintenance on each of two checks: ${maintenance.rows[0].m} min`);
    assert.deepEqual(await uptimeOf(db, "acme/shop", "api"), {
      "24h": raw.shopWindows.find((w) => w.window === "24h")!.ratio,
      "7d": raw.shopWindows.find((w) => w.window === "7d")!.ratio,
      "30d": raw.shopWindows.find((w) => w.window === "30d")!.ratio,
    });
  });

  test("rolling up is incremental: late and new samples end up as a full rebuild would have them", async () => {
    const db = t.store.pool;
    const now = new Date();
    // Samples that arrive after their hour was rolled up (a slow insert), and in the open hour.
    await db.query(
      `insert into health_log (repo, check_name, kind, status, latency_ms, at)
       values ('acme/shop', 'site', 'http', 'unhealthy', 900, $1::timestamptz - interval '2 hours 10 minutes'),
              ('acme/shop', 'site', 'http', 'healthy', 90, $1::timestamptz - interval '1 second')`,
      [now],
    );
    await rollUpHealth(db, now);
    const incremental = (await db.query("select * from health_rollups order by grain, period_start, repo, check_name")).rows;
    await db.query("truncate health_rollups; update health_rollup_state set last_id = 0, rolled_through = null");
    await rollUpHealth(db, now);
    const rebuilt = (await db.query("select * from health_rollups order by grain, period_start, repo, check_name")).rows;
    assert.deepEqual(incremental, rebuilt);
  });

  test("one replica at a time: a held lock makes the others skip", async () => {
    const db = t.store.pool;
    const holder = await db.connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [ROLLUP_LOCK]);
      assert.equal(await rollUpHealth(db), null);
      await holder.query("select pg_advisory_unlock($1)", [ROLLUP_LOCK]);
      await holder.query("select pg_advisory_lock($1)", [ROLLUP_LOCK + 1]);
      assert.equal(await pruneStore(db, { rawDays: 14, days: 400, keepAudit: false }), null);
      await holder.query("select pg_advisory_unlock($1)", [ROLLUP_LOCK + 1]);
    } finally {
      holder.release();
    }
  });
});

describe("store retention", () => {
  const t = useTestStore("retention");

  test("pruning removes raw samples, old hours and old history in batches, and /metrics keeps its totals", async () => {
    const db = t.store.pool;
    const now = new Date();
    await seedHealthHistory((sql, params) => db.query(sql, params), ["acme/old"], { days: 20, stepMinutes: 5 });
    const old = new Date(now.getTime() - 500 * DAY);
    for (const [repo, status, at] of [
      ["acme/old", "success", old],
      ["acme/old", "success", old],
      ["acme/old", "failure", old],
      ["acme/old", "in_progress", old],
      ["acme/old", "success", now],
      ["acme/quiet", "success", old],
    ] as const) {
      await db.query(
        `insert into runs (kind, trigger, repo, installation_id, environment, status, created_at) values ('migrate', 'push', $1, 1, 'production', $2, $3)`,
        [repo, status, at],
      );
    }
    await db.query(`insert into run_steps (run_id, step, status, started_at, duration_ms) select id, 'migrate', 'success', created_at, 10 from runs`);
    await db.query(
      `insert into audit (repo, action, outcome, detail, at) values ('acme/old', 'migrate', 'done', '{}', $1), ('acme/old', 'migrate', 'done', '{}', $2)`,
      [old, now],
    );
    await db.query(`insert into heal_actions (repo, check_name, action, ok, at) values ('acme/old', 'site', 'verify', true, $1)`, [old]);

    // History goes by age; nothing raw goes before it is rolled up.
    const first = await pruneStore(db, { rawDays: 14, days: 400, keepAudit: true }, { now, batch: 2 });
    assert.equal(first!.health_log, undefined, "no raw sample goes before the first roll-up");
    assert.equal(first!.runs, 3, "old finished runs, except a repository's latest success (and a run in progress)");
    assert.equal(first!.audit, undefined, "audit kept forever when keep_audit is set");
    assert.equal(first!.heal_actions, 1);
    assert.equal((await db.query("select count(*)::int as n from run_steps")).rows[0].n, 3, "steps went with their runs");

    await rollUpHealth(db, now);
    await db.query(
      `insert into health_rollups (grain, repo, check_name, period_start, healthy, degraded, failures, maintenance, maintenance_minutes, answered, latency_sum_ms,
                                   le_0, le_1, le_2, le_3, le_4, le_5, le_6, le_7, le_8)
       values ('hour', 'acme/old', 'gone', $1::timestamptz - interval '100 days', 1, 0, 0, 0, 0, 1, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1)`,
      [now],
    );
    const before = (await renderMetrics(db, { now })).body;
    const cutoff = new Date(now.getTime() - 14 * DAY);
    const pastRaw = (await db.query("select count(*)::int as n from health_log where at < $1", [cutoff])).rows[0].n;
    assert.ok(pastRaw >= 6 * 288, "six days of samples past 14 days");
    const second = await pruneStore(db, { rawDays: 14, days: 400, keepAudit: true }, { now, batch: 500, maxBatches: 100 });
    assert.equal(second!.health_log, pastRaw);
    assert.equal((await db.query("select count(*)::int as n from health_log where at < $1", [cutoff])).rows[0].n, 0);
    assert.equal(second!.health_rollups, 1, "the hourly rollup 100 days old");
    const after = (await renderMetrics(db, { now })).body;
    assert.deepEqual(family(after, "autopilot_health_checks_total"), family(before, "autopilot_health_checks_total"));
    assert.deepEqual(family(after, "autopilot_check_response_seconds"), family(before, "autopilot_check_response_seconds"));
    assert.deepEqual(family(after, "autopilot_uptime_ratio"), family(before, "autopilot_uptime_ratio"));

    await pruneStore(db, { rawDays: 14, days: 400, keepAudit: false }, { now });
    assert.equal((await db.query("select count(*)::int as n from audit")).rows[0].n, 1);
  });

  test("the retention settings are validated and named in the error", () => {
    const config = parseServerConfig("server.yml", "targets: []\n");
    assert.deepEqual(config.store.retention, { raw_days: 14, days: 400, keep_audit: false });
    assert.throws(() => parseServerConfig("server.yml", "store:\n  retention:\n    raw_days: 1\n"), /store\.retention\.raw_days.*at least 2/s);
    assert.throws(() => parseServerConfig("server.yml", "store:\n  retention:\n    days: forever\n"), /store\.retention\.days.*number of days/s);
  });
});

const family = (body: string, name: string) => body.split("\n").filter((line) => line.startsWith(name));
