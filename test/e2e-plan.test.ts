import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor, WEBHOOK_SECRET } from "./harness/app-process.js";
import { checkSuitePayload, sendWebhook } from "./harness/webhooks.js";

const MARKER = "<!-- autopilot:plan -->";

describe("plan on pull requests", () => {
  let s: Scenario;
  let main: Record<string, string>;
  before(async () => {
    s = await Scenario.start({ shadow: true });
    main = shopRepo(["0001_init.sql", "0002_orders.sql"]);
    const sha = await s.push(main);
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  });
  after(() => s.stop());

  test("a pull request adding a risky migration gets a plan with lint, cost and a rehearsal", async () => {
    await s.targetQuery("analyze orders");
    const sha = await s.pullRequest(11, {
      "migrations/0003_age.sql":
        "-- adds an age\nalter table customers add column age bigint not null;\n\nalter table orders alter column total_cents type numeric;\n",
    });
    const run = await s.completedPlan(sha);
    assert.equal(run.conclusion, "failure", "adding a NOT NULL column without a default is an error");
    assert.match(run.output.title!, /1 migration to apply for production/);
    assert.match(run.output.title!, /rehearsal passed/);
    const rules = run.output.annotations.map((a) => `${a.title}@${a.start_line}`);
    assert.ok(rules.includes("adding-required-field@2"), rules.join(", "));
    assert.ok(rules.includes("changing-column-type@4"), rules.join(", "));
    assert.match(run.output.summary!, /\| 1 \| 0003 \| age \|/);
    assert.match(run.output.summary!, /orders \(≈\d+ rows?, [\d.]+ [kMG]?B\)/);
    assert.match(run.output.summary!, /### Rehearsal[\s\S]*✅ applied/);
    const scratch = await s.storeQuery("select count(*)::int as n from pg_database where datname like 'autopilot_scratch_%'");
    assert.equal(scratch[0].n, 0, "no scratch database is left");
    const tables = await s.targetQuery("select count(*)::int as n from information_schema.columns where column_name = 'age'");
    assert.equal(tables[0].n, 0, "the target was never written");
  });

  test("one sticky comment, edited in place across three pushes, among more than 30 others; check_suite for the same head does not plan it twice", async () => {
    for (let i = 0; i < 35; i++) s.github.addComment(REPO, 11, { body: `review chatter ${i}` });
    await s.pullRequest(11, { "migrations/0003_age.sql": "alter table customers add column age bigint;\n" }, { action: "synchronize" });
    const third = await s.pullRequest(11, { "migrations/0003_age.sql": "alter table customers add column age bigint default 0;\n" }, { action: "synchronize" });
    const run = await s.completedPlan(third);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    await waitFor("the comment to show the third push", () => s.github.comments(REPO, 11).some((c) => c.body.includes(third.slice(0, 7))));
    const plans = s.github.comments(REPO, 11).filter((c) => c.body.includes(MARKER));
    assert.equal(plans.length, 1);

    const sha = third;
    const payload = checkSuitePayload({
      action: "requested",
      repo: REPO,
      installationId: INSTALLATION_ID,
      headSha: sha,
      pullRequests: [{ number: 11, headRef: "pr-11", baseRef: "main" }],
    });
    await sendWebhook(s.app.url, { event: "check_suite", payload, secret: WEBHOOK_SECRET });
    await s.settled();
    assert.equal(s.github.checkRuns(REPO).filter((c) => c.head_sha === sha && c.name === "autopilot/plan").length, 1);
  });

  test("editing an applied migration is an integrity error naming both checksums", async () => {
    s.resetFiles(main);
    const sha = await s.pullRequest(12, { "migrations/0001_init.sql": "create table customers (id bigint);\n" });
    const run = await s.completedPlan(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /0001_init\.sql was applied with checksum [0-9a-f]{12}…, now [0-9a-f]{12}/);
  });

  test("deleting an applied migration is an integrity error", async () => {
    s.resetFiles(main);
    const sha = await s.pullRequest(13, { "migrations/0002_orders.sql": null, "migrations/0003_x.sql": "select 1;\n" });
    const run = await s.completedPlan(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /0002.*deleted by this pull request/);
  });

  test("a rehearsal that fails at runtime is reported at its line and leaves no scratch database", async () => {
    s.resetFiles(main);
    const sha = await s.pullRequest(14, { "migrations/0003_bad.sql": "create table ok_table (id bigint);\n\ninsert into missing_table values (1);\n" });
    const run = await s.completedPlan(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.title!, /rehearsal failed/);
    const annotation = run.output.annotations.find((a) => a.title === "rehearsal failed");
    assert.equal(annotation?.path, "migrations/0003_bad.sql");
    assert.equal(annotation?.start_line, 3);
    const scratch = await s.storeQuery("select count(*)::int as n from pg_database where datname like 'autopilot_scratch_%'");
    assert.equal(scratch[0].n, 0);
  });

  test("more than 50 annotations arrive in batches", async () => {
    s.resetFiles(main);
    const sql = Array.from({ length: 60 }, (_, i) => `alter table customers add column c${i} int;`).join("\n") + "\n";
    const sha = await s.pullRequest(15, { "migrations/0003_many.sql": sql });
    const run = await s.completedPlan(sha);
    assert.equal(run.output.annotations.length, 60);
    const patches = s.github.requests.filter((r) => r.method === "PATCH" && r.path.endsWith(`/check-runs/${run.id}`));
    assert.ok(patches.every((p) => ((p.body as any).output?.annotations?.length ?? 0) <= 50));
    assert.deepEqual(s.github.violations, []);
  });

  test("a pull request that touches no migration gets no plan", async () => {
    s.resetFiles(main);
    const sha = await s.pullRequest(16, { "README.md": "hello" });
    await s.settled();
    assert.equal(s.checkRun(sha, "autopilot/plan"), undefined);
  });

  test("a fork's pull request is linted but, by default, neither rehearsed nor reading the target", async () => {
    s.resetFiles(main);
    s.github.addIssue(REPO, { number: 17, title: "from a fork" });
    const sha = await s.pullRequest(
      17,
      { "migrations/0003_fork.sql": "create table from_fork (id bigint primary key);\nalter table orders drop column total_cents;\n" },
      { fork: true },
    );
    const run = await s.completedPlan(sha);
    assert.equal(run.conclusion, "failure", "the lint error alone fails it");
    assert.ok(
      run.output.annotations.some((a) => a.title === "ban-drop-column"),
      "linted",
    );
    assert.match(run.output.summary!, /comes from a fork: the target database is not consulted/);
    assert.match(run.output.summary!, /### Rehearsal\n\nSkipped: this pull request comes from a fork.*set `forks\.rehearse: true` in the server config/s);
    assert.doesNotMatch(run.output.summary!, /On a scratch database/);
    await waitFor("the plan comment", () =>
      s.github.comments(REPO, 17).find((c) => c.body.includes(MARKER) && c.body.includes("Skipped: this pull request comes from a fork")),
    );
  });
});
