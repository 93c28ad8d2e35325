import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Scenario, REPO, INSTALLATION_ID } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor, WEBHOOK_SECRET } from "./harness/app-process.js";
import { createTestDatabase, query, startDisposableCluster } from "./harness/postgres.js";
import { pushPayload, sendWebhook } from "./harness/webhooks.js";
import { freePort } from "../src/store/local-cluster.js";

describe("deliveries", () => {
  let s: Scenario;
  before(async () => (s = await Scenario.start()));
  after(() => s.stop());

  test("a webhook with a bad signature is rejected and nothing is enqueued", async () => {
    const sha = s.commit(shopRepo(["0001_init.sql"]));
    const payload = pushPayload({ repo: REPO, before: "0".repeat(40), after: sha, installationId: INSTALLATION_ID });
    const response = await sendWebhook(s.app.url, { event: "push", payload, secret: "wrong-secret" });
    assert.equal(response.status, 400);
    await s.settled();
    assert.equal((await s.storeQuery("select count(*)::int as n from runs"))[0].n, 0);
    assert.equal((await s.storeQuery("select count(*)::int as n from pgboss.job"))[0].n, 0);
    assert.equal(s.checkRun(sha), undefined);
  });

  test("the same push delivered twice at once applies each file once, with one check run", async () => {
    const sha = s.commit(shopRepo(["0001_init.sql", "0002_orders.sql"]));
    await Promise.all([s.deliverPush(sha), s.deliverPush(sha), s.deliverPush(sha, "main", "same-delivery"), s.deliverPush(sha, "main", "same-delivery")]);
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    await s.settled();
    assert.equal(s.github.checkRuns(REPO).filter((c) => c.head_sha === sha).length, 1);
    const customers = await s.targetQuery("select count(*)::int as n from customers");
    assert.equal(customers[0].n, 2, "0001's inserts ran once");
  });

  test("the merged pull request that brought the commit gets one comment", async () => {
    const sha = s.commit({ "migrations/0003_x.sql": "create table x (id int);\n" });
    s.github.setPullsForCommit(REPO, sha, [{ number: 7, merged_at: new Date().toISOString(), title: "Add x" }]);
    await s.deliverPush(sha);
    await s.completedCheckRun(sha);
    const comments = await waitFor("a PR comment", () => {
      const found = s.github.comments(REPO, 7);
      return found.length ? found : undefined;
    });
    assert.equal(comments.length, 1);
    assert.match(comments[0].body, /Applied 1 migration to production/);
    assert.match(comments[0].body, /<!-- autopilot:migrate /);
  });

  test("no request body GitHub would reject was sent", () => {
    assert.deepEqual(s.github.violations, []);
  });
});

describe("a target database that is down", () => {
  let s: Scenario;
  let port: number;
  before(async () => {
    port = await freePort();
    s = await Scenario.start({ targetUrl: `postgres://shop:pw-down-secret@127.0.0.1:${port}/shop` });
  });
  after(() => s.stop());

  test("the job retries with backoff, showing the attempt, and applies once the database is back", async () => {
    const sha = await s.push(shopRepo(["0001_init.sql"]));
    await waitFor("a retry title", () => /Attempt 1 of 3 database unreachable/.test(s.checkRun(sha)?.output.title ?? ""));
    const cluster = await startDisposableCluster(port);
    await query(cluster.url, "create role shop login superuser");
    await query(cluster.url, "create database shop owner shop");
    const run = await s.completedCheckRun(sha, 40_000);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    const url = cluster.url.replace(/\/postgres$/, "/shop");
    assert.equal((await query(url, "select count(*)::int as n from customers"))[0].n, 2);
    await cluster.stop();
  });

  test("when it stays down the run fails after the last attempt and nothing is applied", async () => {
    const sha = await s.push({ "migrations/0002_orders.sql": "create table orders (id int);\n" });
    const run = await s.completedCheckRun(sha, 60_000);
    assert.equal(run.conclusion, "failure");
    assert.equal(run.output.title, "Database unreachable after 3 attempts");
    assert.ok(!s.everythingSent().includes("pw-down-secret"));
  });
});

describe("a backup that fails", () => {
  let s: Scenario;
  before(async () => (s = await Scenario.start({ backupDirectory: "/dev/null/not-a-directory" })));
  after(() => s.stop());

  test("stops the run before anything is applied, saying why", async () => {
    const sha = await s.push(shopRepo(["0001_init.sql"]));
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.equal(run.output.title, "Backup failed; nothing applied");
    const tables = await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'customers'");
    assert.equal(tables[0].n, 0);
    const recorded = await s.storeQuery("select status, error from backups");
    assert.equal(recorded[0].status, "failed");
  });
});

describe("a worker killed mid-migration", () => {
  let s: Scenario;
  before(async () => (s = await Scenario.start()));
  after(() => s.stop());

  test("leaves a job that is retried on restart and a check run that is concluded", async () => {
    const sha = await s.push({
      ...shopRepo(["0001_init.sql"]),
      "migrations/0002_slow.sql": "create table slow (id int);\nselect pg_sleep(3);\n",
    });
    await waitFor("the slow migration to run", async () => {
      const rows = await s.targetQuery("select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(3)%' and pid <> pg_backend_pid()");
      return rows[0].n > 0;
    });
    await s.app.kill("SIGKILL");
    assert.equal(s.checkRun(sha)?.status, "in_progress");
    await s.boot();
    const run = await s.completedCheckRun(sha, 60_000);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    const history = await s.targetQuery("select version from autopilot.schema_migrations order by 1");
    assert.deepEqual(
      history.map((h) => h.version),
      ["0001", "0002"],
    );
    assert.equal((await s.targetQuery("select count(*)::int as n from customers"))[0].n, 2, "0001 applied once");
  });
});
