// npm run bench:scan — one full anomaly scan (scanRepository) of a repository with 1,000 checks, each
// with 30 days of 5-minute samples (8,640,000 health_log rows), in a throw-away cluster (or on
// TEST_DATABASE_URL). The rows are generated in SQL (generate_series, one INSERT … SELECT, in time
// order as the app writes them) into the unlogged table with its secondary indexes built afterwards,
// rolled up into the hourly and daily aggregates by the app's own rollUpHealth (with a bulk load's
// work_mem), then ANALYZEd, so the timing is of the scan alone, at a scheduled scan's instant (on the
// hour, so it reads the rollups), on a connection with the server's default settings.
// Goal: ≤ 2 s. BENCH_CHECKS / BENCH_DAYS scale it down. Last line: scan_seconds=<n>.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { scanRepository } from "../src/analytics/anomalies.js";
import { startCluster, type LocalCluster } from "../src/store/local-cluster.js";
import { openStore } from "../src/store/store.js";
import { rollUpHealth } from "../src/store/health-rollups.js";
import { admin, databaseUrl, median } from "./support.js";

const CHECKS = Number(process.env.BENCH_CHECKS ?? 1000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REPO = "bench/shop";
const GOAL_SECONDS = 2;

/**
 * 288 samples a day per check, the latest 37 s before `now`: latency ~200 ms with noise, 1 % errors,
 * and a deterministic pattern (no random()) so every run scans the same data. The table is unlogged
 * and its secondary indexes are dropped for the load and built afterwards (each one sort instead of
 * millions of insertions): the same table and indexes for the scan, minutes less to fill.
 */
async function fill(pool: pg.Pool, now: Date): Promise<number> {
  const indexes = await pool.query<{ name: string; definition: string }>(
    `select indexname as name, indexdef as definition from pg_indexes
      where schemaname = 'public' and tablename = 'health_log' and indexname <> 'health_log_pkey'`,
  );
  await pool.query("alter table health_log set unlogged");
  for (const { name } of indexes.rows) await pool.query(`drop index ${name}`);
  const { rowCount } = await pool.query(
    `insert into health_log (repo, check_name, kind, status, latency_ms, at)
     select $1, 'check-' || lpad(c::text, 4, '0'), 'http',
            case when (k * 7 + c) % 100 = 0 then 'unhealthy' else 'healthy' end,
            180 + ((k * 37 + c * 11) % 41),
            $2::timestamptz - interval '37 seconds' - k * interval '5 minutes'
       from generate_series($4::int * 288 - 1, 0, -1) as k, generate_series(1, $3::int) as c`,
    [REPO, now, CHECKS, DAYS],
  );
  for (const { definition } of indexes.rows) await pool.query(definition);
  return rowCount ?? 0;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "autopilot-bench-pg-"));
  let cluster: LocalCluster | undefined;
  const name = `bench_scan_${process.pid}`;
  let serverUrl: string | undefined;
  try {
    serverUrl = process.env.TEST_DATABASE_URL ?? (cluster = await startCluster({ dataDir, disposable: true })).url;
    await admin(serverUrl, `create database ${name}`);
    const store = await openStore(databaseUrl(serverUrl, name));
    try {
      // A scheduled scan's slot: on the hour (the default schedule is "0 */6 * * *").
      const now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
      // The load's own connections: memory for index builds and the roll-up's sorts.
      const loader = new pg.Pool({ connectionString: store.url, max: 1, options: "-c work_mem=256MB -c maintenance_work_mem=512MB" });
      try {
        const fillStarted = performance.now();
        const rows = await fill(loader, now);
        console.log(`filled ${rows} rows (${CHECKS} checks × ${DAYS} days, indexes included) in ${seconds(fillStarted)} s`);
        const rollStarted = performance.now();
        const rolled = await rollUpHealth(loader, now);
        await loader.query("analyze health_log");
        await loader.query("analyze health_rollups");
        console.log(`rolled up ${rolled?.hours} hours, ${rolled?.days} days in ${seconds(rollStarted)} s (once)`);
      } finally {
        await loader.end();
      }

      // The first scan warms the cache (as the scheduler's 6-hourly scan would find it: the table is
      // written every few minutes); the median of the next rounds is reported.
      const times: number[] = [];
      let findings = 0;
      let trends = 0;
      for (let round = 0; round <= ROUNDS; round++) {
        const started = performance.now();
        const report = await scanRepository(store.pool, REPO, { now });
        const elapsed = (performance.now() - started) / 1000;
        if (round > 0) times.push(elapsed);
        findings = report.findings.length;
        trends = report.trends.length;
      }
      const scan = median(times);
      console.log(
        `scan of ${REPO}: ${trends} trends, ${findings} findings; median of ${ROUNDS} scans ${(scan * 1000).toFixed(0)} ms (goal ≤ ${GOAL_SECONDS} s)`,
      );
      console.log(`scan_seconds=${scan.toFixed(2)}`);
    } finally {
      await store.close();
    }
  } finally {
    if (serverUrl) await admin(serverUrl, `drop database if exists ${name} with (force)`).catch(() => undefined);
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

await main();
