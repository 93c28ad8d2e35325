import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import PgBoss from "pg-boss";
import { openStore, type Store } from "../src/store/store.js";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { healthScore, latencyFactor, renderMetrics, RESPONSE_BUCKETS_SECONDS } from "../src/web/metrics.js";
import { startApp, waitFor, APP_PRIVATE_KEY, type RunningApp } from "./harness/app-process.js";
import { FakeGitHub } from "./harness/fake-github.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";
import { parsePrometheusText, valueOf, type Family } from "./harness/prometheus-text.js";
import { insertDeployment, insertMigrationRun, insertSamples, type Sample } from "./harness/synthetic-health.js";

const NOW = new Date("2025-03-01T12:00:00Z");
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const repo = "acme/shop";

describe("health score", () => {
  test("weighted mean of the components a repository has data for", () => {
    assert.equal(healthScore({ uptime24h: 1, uptime7d: 1, worstP95Seconds: 0.2, migrationSuccess: 1 }), 100);
    assert.equal(healthScore({ uptime24h: 0.9, uptime7d: 0.8, worstP95Seconds: 10, migrationSuccess: 0 }), 45 + 16);
    assert.equal(healthScore({ migrationSuccess: 0.5 }), 50, "only migrations: their success rate alone");
    assert.equal(healthScore({}), null);
    assert.equal(latencyFactor(5.5), 0.5);
    assert.equal(latencyFactor(30), 0);
  });
});

describe("/metrics from the store", () => {
  let db: TestDatabase;
  let store: Store;
  let families: Map<string, Family>;
  let contentType: string;

  before(async () => {
    db = await createTestDatabase("metrics");
    store = await openStore(db.url);
    await seed(store);
    const rendered = await renderMetrics(store.pool, { now: NOW });
    contentType = rendered.contentType;
    families = parsePrometheusText(rendered.body);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  test("the text is Prometheus' format, every family typed and documented", () => {
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const expected: Record<string, Family["type"]> = {
      autopilot_health_checks_total: "counter",
      autopilot_check_response_seconds: "histogram",
      autopilot_uptime_ratio: "gauge",
      autopilot_migrations_total: "counter",
      autopilot_migration_duration_seconds: "histogram",
      autopilot_rollbacks_total: "counter",
      autopilot_backups_total: "counter",
      autopilot_backup_duration_seconds: "histogram",
      autopilot_backup_last_verified_timestamp_seconds: "gauge",
      autopilot_deployments_total: "counter",
      autopilot_incidents_open: "gauge",
      autopilot_alerts_firing: "gauge",
      autopilot_anomalies_open: "gauge",
      autopilot_health_score: "gauge",
      autopilot_jobs: "gauge",
      autopilot_jobs_dead_lettered: "gauge",
      autopilot_pushes_to_route: "gauge",
      autopilot_circuit_breaker_open: "gauge",
      autopilot_circuit_breaker_consecutive_failures: "gauge",
      autopilot_circuit_breaker_skipped_total: "counter",
      autopilot_github_rate_limit_remaining: "gauge",
      autopilot_github_rate_limit_limit: "gauge",
      autopilot_github_deferring_work: "gauge",
    };
    assert.deepEqual(Object.fromEntries([...families.values()].map((f) => [f.name, f.type])), expected);
    for (const family of families.values()) assert.ok(family.help.length > 10, `${family.name} has help`);
  });

  test("health checks: counts by status, uptime by window without maintenance, the response histogram", () => {
    const checks = (check: string, status: string) => valueOf(families, "autopilot_health_checks_total", { repo, check, status });
    assert.deepEqual(
      ["healthy", "degraded", "unhealthy", "maintenance"].map((s) => checks("site", s)),
      [8, 1, 1, 1],
    );
    for (const window of ["24h", "7d", "30d"]) assert.equal(valueOf(families, "autopilot_uptime_ratio", { repo, check: "site", window }), 0.9);
    assert.equal(valueOf(families, "autopilot_uptime_ratio", { repo, check: "db", window: "24h" }), 1);

    const bucket = (le: string) => valueOf(families, "autopilot_check_response_seconds_bucket", { repo, check: "site", le });
    assert.deepEqual(["0.05", "0.1", "2.5", "5", "+Inf"].map(bucket), [0, 8, 8, 9, 9]);
    assert.ok(Math.abs(valueOf(families, "autopilot_check_response_seconds_sum", { repo, check: "site" })! - 3.8) < 1e-9);
    assert.equal(valueOf(families, "autopilot_check_response_seconds_count", { repo, check: "site" }), 9);
  });

  test("runs, backups and deployments by outcome, with durations", () => {
    const migrations = (outcome: string) => valueOf(families, "autopilot_migrations_total", { repo, environment: "production", outcome });
    assert.deepEqual([migrations("success"), migrations("failure")], [2, 1]);
    assert.equal(families.get("autopilot_migrations_total")!.samples.length, 2, "queued runs are no outcome yet");
    const duration = (le: string) => valueOf(families, "autopilot_migration_duration_seconds_bucket", { repo, environment: "production", le });
    assert.deepEqual(["1", "5", "15", "+Inf"].map(duration), [0, 1, 2, 3]);
    assert.equal(valueOf(families, "autopilot_migration_duration_seconds_sum", { repo, environment: "production" }), 3 + 12 + 100);
    assert.equal(valueOf(families, "autopilot_rollbacks_total", { repo, outcome: "success" }), 1);
    assert.equal(valueOf(families, "autopilot_backups_total", { repo, outcome: "success" }), 2);
    assert.equal(valueOf(families, "autopilot_backups_total", { repo, outcome: "failure" }), 1);
    assert.equal(valueOf(families, "autopilot_backup_duration_seconds_count", { repo }), 2);
    assert.equal(valueOf(families, "autopilot_backup_duration_seconds_bucket", { repo, le: "30" }), 1);
    assert.equal(valueOf(families, "autopilot_deployments_total", { repo, outcome: "success" }), 1);
    assert.equal(valueOf(families, "autopilot_deployments_total", { repo, outcome: "failure" }), 1);
  });

  test("incidents, alerts, anomalies and the queue", async () => {
    assert.equal(valueOf(families, "autopilot_incidents_open", { repo }), 1);
    assert.equal(valueOf(families, "autopilot_alerts_firing", { repo, rule: "errors-1h", severity: "warning" }), 1);
    assert.equal(valueOf(families, "autopilot_alerts_firing", { repo, rule: "uptime-24h-critical", severity: "critical" }), 0);
    assert.equal(valueOf(families, "autopilot_anomalies_open", { repo, kind: "latency_anomaly" }), 1);
    assert.equal(valueOf(families, "autopilot_jobs", { queue: "migrate", state: "created" }), 2);

    const known = parsePrometheusText((await renderMetrics(store.pool, { now: NOW, openIncidents: new Map([[repo, 3]]) })).body);
    assert.equal(valueOf(known, "autopilot_incidents_open", { repo }), 3, "the caller's count of open issues wins");
  });

  test("the health score follows the documented formula", () => {
    // uptime 24h and 7d: mean of site 0.9 and db 1 = 0.95; worst p95 of the last hour: site's
    // percentile_cont(0.95) of eight 100 ms and one 3000 ms = 100 + 0.6·2900 = 1840 ms → factor 1 − 0.84/9;
    // migrations in 30 days: 2 of 3 succeeded.
    const expected = 0.5 * 95 + 0.2 * 95 + 15 * (1 - 0.84 / 9) + (15 * 2) / 3;
    assert.ok(Math.abs(valueOf(families, "autopilot_health_score", { repo })! - expected) < 1e-9);
  });

  test("the Grafana dashboard in docs/ only queries metrics that exist", () => {
    const dashboard = readFileSync(new URL("../docs/grafana-dashboard.json", import.meta.url), "utf8");
    const used = new Set([...dashboard.matchAll(/autopilot_[a-z_]+/g)].map((m) => m[0].replace(/_bucket$/, "")));
    assert.ok(used.size >= 10);
    for (const name of used) assert.ok(families.has(name), `${name} is exported`);
  });
});

describe("/metrics' health families, written as text", () => {
  test("are what prom-client writes for the same values, awkward label values included", async () => {
    const db = await createTestDatabase("metrics_text");
    const store = await openStore(db.url);
    try {
      // A quote, a backslash and a newline in a check name; latencies whose sums are exact in binary.
      const check = 'say "hi"\\now\nplease';
      await insertSamples(store.pool, [
        { repo, check, at: ago(10), status: "healthy", latencyMs: 250 },
        { repo, check, at: ago(20), status: "degraded", latencyMs: 500 },
        { repo, check, at: ago(30), status: "unhealthy", latencyMs: 5000 },
      ]);
      const { body } = await renderMetrics(store.pool, { now: NOW });

      const registry = new Registry();
      const labelNames = ["repo", "check"];
      const total = new Counter({ name: "autopilot_health_checks_total", help: "-", labelNames: [...labelNames, "status"], registers: [registry] });
      for (const status of ["degraded", "healthy", "unhealthy"]) total.inc({ repo, check, status }, 1);
      const histogram = new Histogram({
        name: "autopilot_check_response_seconds",
        help: "-",
        labelNames,
        buckets: RESPONSE_BUCKETS_SECONDS,
        registers: [registry],
      });
      histogram.observe({ repo, check }, 0.25);
      histogram.observe({ repo, check }, 0.5);
      const uptime = new Gauge({ name: "autopilot_uptime_ratio", help: "-", labelNames: [...labelNames, "window"], registers: [registry] });
      for (const window of ["24h", "7d", "30d"]) uptime.set({ repo, check, window }, 2 / 3);
      const expected = await registry.metrics();

      const samplesOf = (text: string, family: string) => text.split("\n").filter((line) => line.startsWith(family));
      for (const family of ["autopilot_health_checks_total", "autopilot_check_response_seconds", "autopilot_uptime_ratio"]) {
        const lines = samplesOf(body, family);
        assert.ok(lines.length >= 3, `${family}: ${lines.join("\n")}`);
        assert.deepEqual(lines, samplesOf(expected, family));
      }
      assert.ok(body.includes('check="say \\"hi\\"\\\\now\\nplease"'), "the label value is escaped");
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

describe("/metrics from two replicas of the app on one store", () => {
  const TOKEN = "metrics-token";
  let db: TestDatabase;
  let github: FakeGitHub;
  let replicas: RunningApp[] = [];

  before(async () => {
    db = await createTestDatabase("metrics_replicas");
    const store = await openStore(db.url);
    await seed(store);
    await store.close();
    github = await FakeGitHub.start({ privateKey: APP_PRIVATE_KEY });
    // No reaper tick while the two scrapes are taken: it is the only timer that could change the store between them.
    const replica = () =>
      startApp({ github, storeUrl: db.url, serverConfig: "targets: []\n", env: { AUTOPILOT_METRICS_TOKEN: TOKEN, AUTOPILOT_REAPER_SECONDS: "3600" } });
    replicas = [await replica(), await replica()];
    await waitUntilNoJobIsPending(db.url);
  });
  after(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await github?.close();
    await db?.drop();
  });

  test("every replica reports the same: two app processes sharing one store render identical metrics", async () => {
    const scrape = async (replica: RunningApp) => {
      const response = await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.status, 200, replica.output());
      return response.text();
    };
    const [a, b] = await Promise.all(replicas.map(scrape));
    assert.match(a, /autopilot_migrations_total\{/, "the store's runs are reported");
    assert.equal(a, b);
  });
});

/** The replicas' workers take up the seeded jobs as they start; the scrapes wait until that is over. */
async function waitUntilNoJobIsPending(storeUrl: string): Promise<void> {
  let quietPolls = 0;
  await waitFor("the seeded jobs to be taken up", async () => {
    const [{ n }] = await query<{ n: number }>(storeUrl, "select count(*)::int as n from pgboss.job where state in ('created', 'retry', 'active')");
    quietPolls = n === 0 ? quietPolls + 1 : 0;
    return quietPolls >= 2;
  });
}

async function seed(store: Store): Promise<void> {
  const sample = (check: string, minutes: number, status: Sample["status"], latencyMs: number | null): Sample => ({
    repo,
    check,
    at: ago(minutes),
    status,
    latencyMs,
  });
  await insertSamples(store.pool, [
    ...Array.from({ length: 8 }, (_, i) => sample("site", 5 + i * 5, "healthy", 100)),
    sample("site", 45, "degraded", 3000),
    sample("site", 50, "unhealthy", null),
    sample("site", 55, "maintenance", null),
    sample("db", 5, "healthy", 20),
    sample("db", 10, "healthy", 20),
  ]);
  const finished = ago(120);
  const run = (status: string, seconds: number) =>
    insertMigrationRun(store.pool, { repo, commitSha: "abc", status, finishedAt: finished, startedAt: new Date(finished.getTime() - seconds * 1000) });
  await run("success", 12);
  await run("success", 100);
  await run("failure", 3);
  await store.pool.query(
    `insert into runs (kind, trigger, repo, installation_id, environment, status) values ('migrate', 'push', $1, 1, 'production', 'queued')`,
    [repo],
  );
  await store.pool.query(
    `insert into runs (kind, trigger, repo, installation_id, environment, status) values ('rollback', 'command', $1, 1, 'production', 'success')`,
    [repo],
  );
  await store.pool.query(
    `insert into backups (id, repo, environment, status, duration_ms) values ('b1', $1, 'production', 'ok', 20000), ('b2', $1, 'production', 'pruned', 40000), ('b3', $1, 'production', 'failed', null)`,
    [repo],
  );
  await insertDeployment(store.pool, { repo, at: ago(30) });
  await insertDeployment(store.pool, { repo, at: ago(20), ok: false });
  await store.pool.query(`insert into health_state (repo, check_name, status) values ($1, 'site', 'unhealthy'), ($1, 'db', 'healthy')`, [repo]);
  await store.pool.query(
    `insert into alert_state (repo, rule, subject, severity, state, evaluated_at) values
       ($1, 'errors-1h', 'site', 'warning', 'firing', now()), ($1, 'uptime-24h-critical', 'site', 'critical', 'resolved', now())`,
    [repo],
  );
  await store.pool.query(
    `insert into anomaly_findings (fingerprint, repo, check_name, kind, severity, summary, first_seen_at, last_seen_at)
     values ('f1', $1, 'site', 'latency_anomaly', 'warning', 'slow', now(), now())`,
    [repo],
  );
  const boss = new PgBoss({ connectionString: store.url, schema: "pgboss" });
  boss.on("error", () => undefined);
  await boss.start();
  await boss.createQueue("migrate");
  await boss.send("migrate", { runId: 1 });
  await boss.send("migrate", { runId: 2 });
  await boss.stop({ graceful: false, wait: true });
}

describe("/metrics from a store a newer replica has not migrated yet", () => {
  let db: TestDatabase;
  let store: Store;
  before(async () => {
    db = await createTestDatabase("metrics_older_store");
    store = await openStore(db.url);
    // A rolling deploy: the replica that scrapes is newer than the store's schema (and no queue started).
    await store.pool.query("drop table pushes_to_route, circuit_breakers, github_rate_budgets");
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  test("renders every family instead of failing the scrape; a missing table counts nothing", async () => {
    const families = parsePrometheusText((await renderMetrics(store.pool, { now: NOW })).body);
    for (const name of ["autopilot_pushes_to_route", "autopilot_circuit_breaker_open", "autopilot_jobs"]) {
      assert.ok(families.has(name), `${name} is declared`);
    }
    assert.equal(valueOf(families, "autopilot_pushes_to_route", {}), 0, "no push waits where the table is not there yet");
  });
});
