import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { gatherInsights, writeNarrative, type Insights } from "../src/analytics/insights.js";
import { renderInsights } from "../src/analytics/insights-report.js";
import { queryPerformance, type QueryPerformance } from "../src/analytics/query-performance.js";
import { openStore } from "../src/store/store.js";
import { createTestDatabase, query } from "./harness/postgres.js";
import { FIVE_MINUTES_MS, insertMigrationRun, insertSamples, type Sample } from "./harness/synthetic-health.js";

const NOW = new Date("2025-03-10T12:00:00Z");
const DAY_MS = 86_400_000;
const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

/** Sample i was taken i·5 min (+37 s) before NOW; i = 0 is the latest. */
const atIndex = (i: number) => new Date(NOW.getTime() - 37_000 - i * FIVE_MINUTES_MS);

function samples(repo: string, check: string, count: number, status: (i: number) => Sample["status"], latency: (i: number) => number): Sample[] {
  return Array.from({ length: count }, (_, i) => ({ repo, check, at: atIndex(i), status: status(i), latencyMs: latency(i) }));
}

/**
 * acme/shop over two days: `site` slows steadily (a degrading trend), has one 4-sample outage
 * (i = 100…103, recovered at i = 99: 20 min down), one single failed sample (a blip, not an outage)
 * and 11 maintenance samples (not counted); `api` is down for its last 3 samples (still down at NOW:
 * 10 min 37 s). acme/other has one 2-sample outage. Migrations: 3 succeeded and 1 failed in the week,
 * 1 older; one rollback.
 */
async function handBuiltStore(url: string): Promise<pg.Pool> {
  const store = await openStore(url);
  const db = store.pool;
  await insertSamples(db, [
    ...samples(
      "acme/shop",
      "site",
      576,
      (i) => ((i >= 100 && i <= 103) || i === 200 ? "unhealthy" : i >= 300 && i <= 310 ? "maintenance" : "healthy"),
      (i) => 200 + (575 - i) * 2,
    ),
    ...samples(
      "acme/shop",
      "api",
      576,
      (i) => (i <= 2 ? "unhealthy" : "healthy"),
      (i) => 100 + (i % 3),
    ),
    ...samples(
      "acme/other",
      "site",
      10,
      (i) => (i === 4 || i === 5 ? "unhealthy" : "healthy"),
      () => 50,
    ),
  ]);
  for (let n = 0; n < 3; n++)
    await insertMigrationRun(db, { repo: "acme/shop", commitSha: `c${n}`, finishedAt: new Date(NOW.getTime() - 20 * 3_600_000 - n * 60_000) });
  await insertMigrationRun(db, { repo: "acme/shop", commitSha: "bad", finishedAt: new Date(NOW.getTime() - 2 * DAY_MS), status: "failure" });
  await insertMigrationRun(db, { repo: "acme/shop", commitSha: "old", finishedAt: new Date(NOW.getTime() - 8 * DAY_MS) });
  await db.query(
    `insert into runs (kind, trigger, repo, installation_id, environment, commit_sha, status, created_at, finished_at)
     values ('rollback', 'command', 'acme/shop', 1, 'production', 'bad', 'success', $1, $1)`,
    [new Date(NOW.getTime() - 2 * DAY_MS + 600_000)],
  );
  return db;
}

test("insights: checks, error rate, migrations, rollbacks, outages with downtime, trends — against a hand-built store", async () => {
  const database = await createTestDatabase();
  const db = await handBuiltStore(database.url);
  try {
    const shop = await gatherInsights(db, { repo: "acme/shop", now: NOW, env: {} });
    assert.equal(shop.repo, "acme/shop");
    assert.equal(shop.to.getTime(), NOW.getTime());
    assert.equal(shop.from.getTime(), NOW.getTime() - 7 * DAY_MS);
    assert.equal(shop.checksRun, 2 * 576 - 11);
    assert.equal(shop.errorRate, 8 / (2 * 576 - 11));
    assert.deepEqual(shop.migrations, { total: 4, succeeded: 3, failed: 1, successRate: 0.75 });
    assert.equal(shop.rollbacks, 1);
    assert.deepEqual(shop.incidents, { opened: 2, downtimeMs: 20 * 60_000 + 10 * 60_000 + 37_000 });
    assert.equal(shop.queryPerformance, undefined);
    assert.equal(shop.narrative, undefined);

    const site = shop.trends.find((t) => t.check === "site" && t.metric === "p95_latency_ms");
    assert.ok(site, JSON.stringify(shop.trends));
    assert.equal(site.repo, "acme/shop");
    assert.equal(site.direction, "degrading");
    assert.ok(site.slope > 0 && site.rSquared > 0.9, JSON.stringify(site));
    assert.equal(shop.trends.find((t) => t.check === "api")?.direction, "stable");

    const all = await gatherInsights(db, { now: NOW, env: {} });
    assert.equal(all.repo, undefined);
    assert.equal(all.checksRun, 2 * 576 - 11 + 10);
    assert.equal(all.incidents.opened, 3);
    assert.equal(all.incidents.downtimeMs, shop.incidents.downtimeMs + 2 * FIVE_MINUTES_MS);

    // A one-day window sees neither the failed migration nor the rollback (two days ago).
    const day = await gatherInsights(db, { repo: "acme/shop", now: NOW, days: 1, env: {} });
    assert.deepEqual(day.migrations, { total: 3, succeeded: 3, failed: 0, successRate: 1 });
    assert.equal(day.rollbacks, 0);
    assert.equal(day.checksRun, 2 * 288);

    const empty = await gatherInsights(db, { repo: "nobody/here", now: NOW, env: {} });
    assert.deepEqual([empty.checksRun, empty.errorRate, empty.migrations.successRate, empty.incidents.opened, empty.trends.length], [0, 0, null, 0, 0]);

    const markdown = renderInsights(shop);
    assert.match(markdown, /\| Checks run \| 1141 \|/);
    assert.match(markdown, /\| Migration success rate \| 75\.00 % \|/);
    assert.match(markdown, /\| Downtime \| 31 min \|/);
    assert.match(markdown, /\| acme\/shop \| site \| p95 latency \| ↘ degrading \| \+[\d.]+ % \| [01]\.\d\d \|/);
    assert.match(markdown, /No target database was given/);
    assert.match(markdown, /Nothing is applied automatically\./);
  } finally {
    await db.end();
    await database.drop();
  }
});

/** Polls until the statistics collector shows what the workload did (PG 15 flushes per backend). */
async function waitForStats(url: string, ready: (qp: QueryPerformance) => boolean): Promise<QueryPerformance> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const qp = await queryPerformance(url);
    if (ready(qp) || Date.now() > deadline) return qp;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("query performance: a sequentially scanned table and a table full of dead tuples, without pg_stat_statements; read-only", async () => {
  const target = await createTestDatabase();
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    await client.query(`create table orders (id int primary key, customer int not null)`);
    await client.query(`insert into orders select g, g % 97 from generate_series(1, 5000) g`);
    await client.query(`create table events (id int primary key, payload text) with (autovacuum_enabled = false)`);
    await client.query(`insert into events select g, 'x' from generate_series(1, 5000) g`);
    await client.query(`create table small (id int primary key)`);
    await client.query(`insert into small select generate_series(1, 10)`);
    for (let n = 0; n < 60; n++) await client.query(`select count(*) from orders where customer = $1`, [n]);
    for (let n = 0; n < 60; n++) await client.query(`select count(*) from small where id > $1`, [n]);
    await client.query(`delete from events where id <= 3000`);
    // Installed but not preloaded: reading the view raises, which must not end the report.
    await client.query("create extension pg_stat_statements");
    const version = Number((await client.query("show server_version_num")).rows[0].server_version_num);
    if (version >= 150000) await client.query("select pg_stat_force_next_flush()");
  } finally {
    await client.end();
  }
  try {
    const qp = await waitForStats(target.url, (q) => q.seqScanCandidates.length > 0 && q.vacuumCandidates.length > 0);
    assert.equal(qp.available, false);
    assert.deepEqual(qp.slowest, []);

    assert.deepEqual(
      qp.seqScanCandidates.map((c) => c.table),
      ["public.orders"],
    );
    const orders = qp.seqScanCandidates[0];
    assert.ok(orders.seqScans >= 60, JSON.stringify(orders));
    assert.equal(orders.idxScans, 0);
    assert.equal(orders.rows, 5000);
    assert.match(orders.recommendation, /CREATE INDEX CONCURRENTLY … ON public\.orders/);

    assert.deepEqual(
      qp.vacuumCandidates.map((c) => c.table),
      ["public.events"],
    );
    const events = qp.vacuumCandidates[0];
    assert.deepEqual([events.deadTuples, events.liveTuples, events.deadRatio], [3000, 2000, 0.6]);
    assert.match(events.recommendation, /VACUUM \(ANALYZE\) public\.events/);
    assert.match(events.recommendation, /autovacuum is disabled/);

    // Nothing was changed: the dead tuples are still there and no index appeared.
    const [after] = await query(
      target.url,
      `select n_dead_tup::int as dead, (select count(*)::int from pg_indexes where tablename = 'orders') as indexes from pg_stat_user_tables where relname = 'events'`,
    );
    assert.deepEqual(after, { dead: 3000, indexes: 1 });

    const markdown = renderInsights({ ...emptyInsights(), queryPerformance: qp });
    assert.match(markdown, /`pg_stat_statements` is not available/);
    assert.match(markdown, /- `public\.orders` \(5000 rows\): 6\d sequential scans against 0 index scans/);
    assert.match(markdown, /- `public\.events`: 60 % dead tuples/);
  } finally {
    await target.drop();
  }
});

function emptyInsights(): Insights {
  return {
    from: new Date(NOW.getTime() - 7 * DAY_MS),
    to: NOW,
    checksRun: 100,
    errorRate: 0.01,
    migrations: { total: 0, succeeded: 0, failed: 0, successRate: null },
    rollbacks: 0,
    incidents: { opened: 0, downtimeMs: 0 },
    trends: [],
  };
}

interface FakeLlm {
  url: string;
  requests: Array<{ path: string; headers: http.IncomingHttpHeaders; body: any }>;
  close(): Promise<void>;
}

async function fakeLlm(answer: (res: http.ServerResponse) => void): Promise<FakeLlm> {
  const requests: FakeLlm["requests"] = [];
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      requests.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(text) });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const completion = (content: string) => (res: http.ServerResponse) => {
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }],
    }),
  );
};

test("narrative: an OpenAI-compatible endpoint writes the paragraph; without AUTOPILOT_LLM_URL no request is made; failures leave statistics alone", async () => {
  const paragraph = "The week was quiet. One outage lasted twenty minutes. Latency is creeping up on site.";
  const llm = await fakeLlm(completion(paragraph));
  const database = await createTestDatabase();
  const db = await handBuiltStore(database.url);
  try {
    const insights = await gatherInsights(db, { repo: "acme/shop", now: NOW, env: { AUTOPILOT_LLM_URL: llm.url, AUTOPILOT_LLM_KEY: "sk-test" } });
    assert.equal(insights.narrative, paragraph);
    assert.equal(llm.requests.length, 1);
    const [request] = llm.requests;
    assert.equal(request.path, "/v1/chat/completions");
    assert.equal(request.headers.authorization, "Bearer sk-test");
    assert.equal(request.body.model, "gpt-4o-mini");
    assert.match(request.body.messages[0].content, /three plain sentences/);
    const facts = JSON.parse(request.body.messages[1].content);
    assert.equal(facts.checksRun, 1141);
    assert.equal(facts.outages, 2);
    assert.ok(renderInsights(insights).includes(`\n${paragraph}\n`));

    await gatherInsights(db, { repo: "acme/shop", now: NOW, env: { AUTOPILOT_LLM_URL: llm.url + "/", AUTOPILOT_LLM_MODEL: "local-7b" } });
    assert.equal(llm.requests[1].path, "/v1/chat/completions");
    assert.equal(llm.requests[1].body.model, "local-7b");
    assert.equal(llm.requests[1].headers.authorization, undefined);

    const none = await gatherInsights(db, { repo: "acme/shop", now: NOW, env: {} });
    assert.equal(none.narrative, undefined);
    assert.equal(llm.requests.length, 2);
  } finally {
    await llm.close();
    await db.end();
    await database.drop();
  }

  const failing = await fakeLlm((res) => {
    res.statusCode = 500;
    res.end("{}");
  });
  const garbage = await fakeLlm((res) => res.end("not json"));
  const wrongShape = await fakeLlm((res) => res.end(JSON.stringify({ choices: [] })));
  const hanging = await fakeLlm(() => undefined);
  try {
    for (const server of [failing, garbage, wrongShape]) assert.equal(await writeNarrative(emptyInsights(), { AUTOPILOT_LLM_URL: server.url }), undefined);
    const started = Date.now();
    assert.equal(await writeNarrative(emptyInsights(), { AUTOPILOT_LLM_URL: hanging.url }, 300), undefined);
    assert.ok(Date.now() - started < 5000);
    assert.equal(await writeNarrative(emptyInsights(), { AUTOPILOT_LLM_URL: "http://127.0.0.1:1/v1" }), undefined);
  } finally {
    hanging.close().catch(() => undefined);
    await Promise.all([failing.close(), garbage.close(), wrongShape.close()]);
  }
});

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.AUTOPILOT_LLM_URL;
  delete base.AUTOPILOT_DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...base, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("autopilot insights prints Markdown (or JSON) from the store, with the target's query performance", async () => {
  const database = await createTestDatabase();
  const target = await createTestDatabase();
  const db = await handBuiltStore(database.url);
  // The CLI's window ends now: move the hand-built history so it ends a minute ago.
  await db.query(`update health_log set at = at + ($1::float8 * interval '1 millisecond')`, [Date.now() - NOW.getTime() - 60_000]);
  await db.query(`update runs set finished_at = finished_at + ($1::float8 * interval '1 millisecond')`, [Date.now() - NOW.getTime() - 60_000]);
  await db.end();
  try {
    const markdown = await autopilot(["insights", "--repo", "acme/shop", "--database-url-env", "TARGET_URL"], {
      DATABASE_URL: database.url,
      TARGET_URL: target.url,
    });
    assert.equal(markdown.code, 0, markdown.stderr);
    assert.match(markdown.stdout, /^## Autopilot insights: `acme\/shop`/);
    assert.match(markdown.stdout, /\| Checks run \| 1141 \|/);
    assert.match(markdown.stdout, /\| Migrations \| 4 \(3 succeeded, 1 failed\) \|/);
    assert.match(markdown.stdout, /\| Incidents \(outages of 2\+ failed checks\) \| 2 \|/);
    assert.match(markdown.stdout, /#### Slowest statements\n\n`pg_stat_statements` is not available/);
    assert.match(markdown.stdout, /Nothing is applied automatically\./);

    const json = await autopilot(["insights", "--days", "1", "--json"], { DATABASE_URL: database.url });
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.checksRun, 2 * 288 + 10);
    assert.equal(parsed.queryPerformance, undefined);

    const bad = await autopilot(["insights", "--days", "zero"], { DATABASE_URL: database.url });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--days must be a positive number/);
  } finally {
    await Promise.all([database.drop(), target.drop()]);
  }
});

test("autopilot insights never prints AUTOPILOT_LLM_KEY, even when the endpoint echoes it into the paragraph", async () => {
  const key = "llm-key-7f3a9c2e5b";
  const llm = await fakeLlm(completion(`Checks were steady this week. Your key is ${key}. Nothing else happened.`));
  const database = await createTestDatabase();
  await (await handBuiltStore(database.url)).end();
  try {
    const result = await autopilot(["insights", "--days", "1"], { DATABASE_URL: database.url, AUTOPILOT_LLM_URL: llm.url, AUTOPILOT_LLM_KEY: key });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(llm.requests[0].headers.authorization, `Bearer ${key}`);
    assert.match(result.stdout, /Your key is \*\*\*\. Nothing else happened\./);
    assert.ok(!result.stdout.includes(key) && !result.stderr.includes(key));
  } finally {
    await llm.close();
    await database.drop();
  }
});
