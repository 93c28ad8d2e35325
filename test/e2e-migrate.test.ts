import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import type { CheckRunState } from "./harness/fake-github.js";
import { shopMigration, shopRepo } from "./harness/fixtures.js";
import { waitFor, WEBHOOK_SECRET } from "./harness/app-process.js";
import { checkRunPayload, sendWebhook } from "./harness/webhooks.js";

describe("push → backup → migrate → check run", () => {
  let s: Scenario;
  let firstSha: string;
  let firstRun: CheckRunState;
  // The first release, which every test here builds on.
  before(async () => {
    s = await Scenario.start();
    firstSha = await s.push(shopRepo(["0001_init.sql", "0002_orders.sql"]));
    firstRun = await s.completedCheckRun(firstSha);
  });
  after(() => s.stop());

  test("a first push applies every migration and reports a table; the backup was taken with pg_dump, verified and recorded before applying", async () => {
    const run = firstRun;
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    assert.match(run.output.title!, /Applied 2 migrations to production/);
    assert.match(run.output.summary!, /\| 0001 \| init \|/);
    assert.match(run.output.summary!, /bk_\d{14}_[0-9a-f]{6}/);
    const orders = await s.targetQuery("select count(*)::int as n from orders");
    assert.equal(orders[0].n, 2);
    const history = await s.targetQuery("select version, commit_sha from autopilot.schema_migrations order by version");
    assert.deepEqual(
      history.map((h) => h.version),
      ["0001", "0002"],
    );
    assert.equal(history[0].commit_sha, firstSha);

    const backups = await s.storeQuery("select id, status, size_bytes, sha256, path, repo, environment, commit_sha from backups");
    assert.equal(backups.length, 1);
    assert.equal(backups[0].status, "ok");
    assert.ok(Number(backups[0].size_bytes) > 0);
    assert.match(backups[0].sha256, /^[0-9a-f]{64}$/);
    assert.equal(backups[0].repo, "acme/shop");
  });

  // A story: each push starts from the state the one before left.
  test("a later push applies only the new file, then one with nothing pending is up to date; after each success the deploy hook is POSTed and recorded, Slack hears of it", async () => {
    const sha = await s.push({ "migrations/0003_order_status.sql": shopMigration("0003_order_status.sql") });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    assert.match(run.output.title!, /Applied 1 migration to production/);
    assert.doesNotMatch(run.output.summary!, /\| 0001 \|/);
    const blobDownloads = s.github.requests.filter((r) => r.path.includes("/git/blobs/"));
    assert.equal(blobDownloads.length, 3, "each migration downloaded once, across both pushes");

    const docsSha = await s.push({ "README.md": "docs only" });
    const docsRun = await s.completedCheckRun(docsSha);
    assert.equal(docsRun.conclusion, "success");
    assert.equal(docsRun.output.title, "Up to date (3 applied)");

    await s.settled();
    assert.ok(s.deployHook.requests.length >= 2);
    const body = s.deployHook.requests[0].body as { environment: string };
    assert.equal(body.environment, "production");
    const recorded = await s.storeQuery("select ok, http_status from deployments");
    assert.ok(recorded.length >= 2 && recorded.every((d) => d.ok && d.http_status === 200));
    const slack = s.slack.slackMessages();
    assert.ok(slack.some((m) => /Applied 2 migrations/.test(m.text ?? "")));
  });

  test("a push to an unmapped branch does nothing at all on GitHub", async () => {
    const sha = await s.push({ "migrations/0004_x.sql": "create table x (id int);" }, "feature/x");
    await s.settled();
    assert.equal(s.checkRun(sha), undefined);
    const tables = await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'x'");
    assert.equal(tables[0].n, 0);
  });

  test("the password of the target never leaves the process", () => {
    const sent = s.everythingSent();
    assert.ok(!sent.includes(TARGET_PASSWORD), "password found in requests or logs");
    assert.ok(!sent.includes("XXXXSECRET") || onlyInSlackPath(s), "slack webhook secret leaked");
  });
});

/** The Slack sink naturally sees its own URL; the secret must appear nowhere else. */
function onlyInSlackPath(s: Scenario): boolean {
  const elsewhere = JSON.stringify([s.github.requests, s.deployHook.requests, s.slack.requests.map((r) => r.rawBody)]) + s.app.output();
  return !elsewhere.includes("XXXXSECRET");
}

describe("re-running a migrate check", () => {
  let s: Scenario;
  before(async () => (s = await Scenario.start()));
  after(() => s.stop());

  test("GitHub's Re-run migrates the commit again in a new check run", async () => {
    const sha = await s.push(shopRepo(["0001_init.sql"]));
    const first = await s.completedCheckRun(sha);
    await s.targetQuery("drop schema autopilot cascade; drop table customers");
    const payload = checkRunPayload({
      action: "rerequested",
      repo: REPO,
      installationId: INSTALLATION_ID,
      headSha: sha,
      checkRunId: first.id,
      name: "autopilot/migrate",
      appId: 1,
      headBranch: "main",
    });
    const response = await sendWebhook(s.app.url, { event: "check_run", payload, secret: WEBHOOK_SECRET });
    assert.equal(response.status, 200);
    const second = await waitFor("a second check run", () =>
      s.github.checkRuns(REPO).find((c) => c.head_sha === sha && c.id !== first.id && c.status === "completed"),
    );
    assert.equal(second.conclusion, "success");
    assert.equal((await s.targetQuery("select count(*)::int as n from customers"))[0].n, 2);
  });
});
