// npm run bench:metrics — render /metrics (renderMetrics, no cache) over 864,000 health samples
// (100 checks in 10 repositories × 30 days of 5-minute samples) in a throw-away cluster (or on
// TEST_DATABASE_URL): once over raw samples (nothing rolled up yet), then with the hourly and daily
// rollups in place, as a running app has them. Last line: render_ms=<n> (goal ≤ 50).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startCluster, type LocalCluster } from "../src/store/local-cluster.js";
import { openStore } from "../src/store/store.js";
import { rollUpHealth } from "../src/store/health-rollups.js";
import { renderMetrics } from "../src/web/metrics.js";
import { admin, databaseUrl, median } from "./support.js";

const CHECKS = Number(process.env.BENCH_CHECKS ?? 100);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const GOAL_MS = 50;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "autopilot-bench-pg-"));
  let cluster: LocalCluster | undefined;
  const name = `bench_metrics_${process.pid}`;
  let serverUrl: string | undefined;
  try {
    serverUrl = process.env.TEST_DATABASE_URL ?? (cluster = await startCluster({ dataDir, disposable: true })).url;
    await admin(serverUrl, `create database ${name}`);
    const store = await openStore(databaseUrl(serverUrl, name));
    try {
      const now = new Date();
      const { rowCount } = await store.pool.query(
        `insert into health_log (repo, check_name, kind, status, latency_ms, at)
         select 'bench/service-' || (c % 10), 'check-' || lpad(c::text, 3, '0'), 'http',
                case when (k * 7 + c) % 100 = 0 then 'unhealthy' when (k + c) % 50 = 0 then 'degraded' else 'healthy' end,
                180 + ((k * 37 + c * 11) % 41),
                $1::timestamptz - interval '37 seconds' - k * interval '5 minutes'
           from generate_series(1, $2::int) as c, generate_series(0, $3::int * 288 - 1) as k`,
        [now, CHECKS, DAYS],
      );
      await store.pool.query("analyze health_log");
      console.log(`filled ${rowCount} health samples (${CHECKS} checks × ${DAYS} days)`);

      const time = async () => {
        const started = performance.now();
        const { body } = await renderMetrics(store.pool, { now });
        return { ms: performance.now() - started, lines: body.split("\n").length };
      };
      const raw = await time();
      console.log(`raw samples (before any roll-up): ${raw.ms.toFixed(0)} ms, ${raw.lines} lines`);

      const rolling = performance.now();
      const rolled = await rollUpHealth(store.pool, now);
      console.log(
        `rolled up ${rolled?.hours} hours and ${rolled?.days} days in ${((performance.now() - rolling) / 1000).toFixed(1)} s (once; then each minute only the hour that closed)`,
      );
      await store.pool.query("analyze health_rollups");

      await time();
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) times.push((await time()).ms);
      const ms = median(times);
      console.log(`with rollups: median of ${ROUNDS} renders ${ms.toFixed(1)} ms (goal ≤ ${GOAL_MS}); ${(raw.ms / ms).toFixed(0)}x faster than raw`);
      console.log(`render_ms=${ms.toFixed(1)}`);
    } finally {
      await store.close();
    }
  } finally {
    if (serverUrl) await admin(serverUrl, `drop database if exists ${name} with (force)`).catch(() => undefined);
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
