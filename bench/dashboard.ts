// npm run bench:dashboard — the dashboard's pages with 100 repositories and 30 days of 5-minute health
// samples each (864,000 rows) in the store, served by the real handler over HTTP to a signed-in user who
// sees all 100. Renders the overview and a repository page repeatedly; the peer is GET /healthz-like
// work: a bare `select 1` round trip, to show what the pages add. Last line: p95_ms=<n> (goal < 200).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { createTestDatabase } from "../test/harness/postgres.js";
import { seedHealthHistory } from "../test/harness/health-history.js";
import { openStore } from "../src/store/store.js";
import { rollUpHealth } from "../src/store/health-rollups.js";
import { saveSession } from "../src/store/dashboard-sessions.js";
import { serverConfigSchema } from "../src/config/server-config.js";
import { commandPolicyFor } from "../src/commands/authorize.js";
import { dashboardHandler } from "../src/web/dashboard.js";
import { signValue } from "../src/web/session-cookie.js";
import { createLogger } from "../src/logger.js";

const REPOS = 100;
const ROUNDS = 40;
const SECRET = "bench-secret";

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function main(): Promise<void> {
  const database = await createTestDatabase("benchdash");
  const store = await openStore(database.url);
  try {
    const repos = Array.from({ length: REPOS }, (_, i) => `bench-org/service-${String(i).padStart(3, "0")}`);
    const seeding = performance.now();
    await seedHealthHistory((sql, params) => store.pool.query(sql, params), repos, { days: 30, stepMinutes: 5 });
    await store.pool.query(
      `insert into runs (kind, trigger, repo, installation_id, environment, commit_sha, status, title, created_at, finished_at)
       select 'migrate', 'push', r, 1, 'production', md5(r || g), 'success', 'applied', now() - make_interval(hours => g), now() - make_interval(hours => g)
         from unnest($1::text[]) as r, generate_series(1, 20) as g`,
      [repos],
    );
    // As a running app has it: the closed hours rolled up by its housekeeping (store/health-rollups.ts).
    const rolling = performance.now();
    await rollUpHealth(store.pool);
    console.log(`rolled up the health log in ${((performance.now() - rolling) / 1000).toFixed(1)} s (once)`);
    await store.pool.query("analyze");
    const rows = (await store.pool.query("select count(*)::int as n from health_log")).rows[0].n;
    console.log(`seeded ${rows} health samples for ${REPOS} repositories in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);

    const serverConfig = serverConfigSchema.parse({ targets: repos.map((repo) => ({ repo, environment: "production", database_url_env: "UNUSED" })) });
    const handler = dashboardHandler({
      db: store.pool,
      secret: SECRET,
      oauth: { clientId: "bench", clientSecret: "bench" },
      endpoints: { web: "https://github.com", api: "https://api.github.com" },
      serverConfig,
      policy: commandPolicyFor(serverConfig.commands, undefined).policy,
      enqueue: async () => undefined,
      log: createLogger("warn"),
    });
    const server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const expiresAt = new Date(Date.now() + 3600_000);
    await saveSession(store.pool, "bench-session", {
      login: "bench",
      repos: repos.map((repo) => ({ repo, installationId: 1, permission: "admin" })),
      csrf: "x",
      expiresAt,
    });
    const cookie = `autopilot_session=${signValue(SECRET, "bench-session", expiresAt)}`;

    const timeGet = async (path: string) => {
      const start = performance.now();
      const response = await fetch(`${base}${path}`, { headers: { cookie } });
      const body = await response.text();
      if (response.status !== 200 || !body.includes("Signed in as")) throw new Error(`GET ${path} answered ${response.status}`);
      return performance.now() - start;
    };
    const peer: number[] = [];
    const overview: number[] = [];
    const repository: number[] = [];
    for (let i = 0; i < 3; i++) await Promise.all([timeGet("/autopilot"), timeGet(`/autopilot/repos/${repos[0]}`)]);
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now();
      await store.pool.query("select 1");
      peer.push(performance.now() - start);
      overview.push(await timeGet("/autopilot"));
      repository.push(await timeGet(`/autopilot/repos/${repos[i % REPOS]}`));
    }
    server.close();
    const all = [...overview, ...repository];
    console.log(`select 1 (peer): p50=${percentile(peer, 0.5).toFixed(2)} ms`);
    console.log(`overview (${REPOS} repositories): p50=${percentile(overview, 0.5).toFixed(1)} ms p95=${percentile(overview, 0.95).toFixed(1)} ms`);
    console.log(`repository page: p50=${percentile(repository, 0.5).toFixed(1)} ms p95=${percentile(repository, 0.95).toFixed(1)} ms`);
    console.log(`ratio overview p50 / select 1 p50: ${(percentile(overview, 0.5) / percentile(peer, 0.5)).toFixed(0)}x`);
    console.log(`p95_ms=${Math.round(percentile(all, 0.95))}`);
  } finally {
    await store.close();
    await database.drop();
  }
}

await main();
