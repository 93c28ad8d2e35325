import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";

const badSecond = [
  "-- adds a column, then fails on a unique index over duplicates",
  "alter table customers add column nickname text;",
  "",
  "update customers set nickname = 'same';",
  "",
  "create unique index customers_nickname",
  "  on customers (nickname);",
].join("\n");

describe("a failing migration after others committed", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    const first = await s.push(shopRepo(["0001_init.sql"]));
    assert.equal((await s.completedCheckRun(first)).conclusion, "success");
  });
  after(() => s.stop());

  test("the database is restored from the backup, and the run and Slack say so", async () => {
    const sha = await s.push({
      "migrations/0002_loyalty.sql": "create table loyalty (customer_id bigint primary key);\ninsert into customers (email) values ('new@example.org');\n",
      "migrations/0003_nickname.sql": badSecond,
      "migrations/0004_never.sql": "create table never_created (id int);\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.title!, /0003_nickname failed/);
    assert.match(run.output.summary!, /restored from backup `bk_/);
    assert.match(run.output.summary!, /could not create unique index/);
    const annotation = run.output.annotations[0];
    assert.equal(annotation.path, "migrations/0003_nickname.sql");
    assert.equal(annotation.start_line, 6, "the failing statement starts on line 6");

    const loyalty = await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'loyalty'");
    assert.equal(loyalty[0].n, 0, "the first file's table is gone");
    const emails = await s.targetQuery("select email from customers order by id");
    assert.deepEqual(
      emails.map((e) => e.email),
      ["ada@example.org", "grace@example.org"],
      "earlier data intact, new rows gone",
    );
    const history = await s.targetQuery("select version from autopilot.schema_migrations");
    assert.deepEqual(
      history.map((h) => h.version),
      ["0001"],
      "history matches the database",
    );

    const texts = s.slack.slackMessages().map((m) => JSON.stringify(m));
    assert.ok(texts.some((t) => /failed/.test(t) && /restored from backup/.test(t)));
  });

  test("an applied file whose content changed is refused, naming both checksums", async () => {
    const sha = await s.push({ "migrations/0001_init.sql": "create table customers (id int);\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /0001_init\.sql/);
    assert.match(run.output.summary!, /checksum [0-9a-f]{12}…, now [0-9a-f]{12}/);
    assert.equal(run.output.annotations[0].path, "migrations/0001_init.sql");
  });

  test("a new file that sorts before the latest applied is refused", async () => {
    s.commit(shopRepo(["0001_init.sql"]));
    await s.push({ "migrations/0005_late.sql": "create table late (id int);\n" });
    const sha = await s.push({ "migrations/0004_early.sql": "create table early (id int);\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /0004_early/);
    const early = await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'early'");
    assert.equal(early[0].n, 0);
  });

  test("two files with the same version are refused", async () => {
    const sha = await s.push({ "migrations/0004_early.sql": null, "migrations/0006_a.sql": "select 1;\n", "migrations/0006_b.sql": "select 2;\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /0006_a\.sql/);
    assert.match(run.output.summary!, /0006_b\.sql/);
  });

  test("an invalid .github/autopilot.yml is reported with every problem, key and line", async () => {
    const sha = await s.push({
      "migrations/0006_b.sql": null,
      ".github/autopilot.yml": "migrations:\n  directory: 5\n  on_failure: maybe\nenvironments:\n  - { branch: main }\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.title!, /Invalid \.github\/autopilot\.yml \(3 problems\)/);
    const lines = run.output.annotations.map((a) => `${a.path}:${a.start_line}`).sort();
    assert.deepEqual(lines, [".github/autopilot.yml:2", ".github/autopilot.yml:3", ".github/autopilot.yml:5"]);
    assert.match(run.output.summary!, /migrations\.on_failure/);
    assert.match(run.output.summary!, /environments\[0\]\.environment/);
  });

  test("YAML that does not parse is reported with its line", async () => {
    const sha = await s.push({ ".github/autopilot.yml": "migrations:\n  directory: [unclosed\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /not valid YAML/);
  });

  test("an environment with no target is neutral and names the repo and environment", async () => {
    const sha = await s.push({ ".github/autopilot.yml": "environments:\n  - { branch: main, environment: staging }\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "neutral");
    assert.match(run.output.summary!, /acme\/shop \/ staging/);
  });
});

describe("on_failure: stop keeps what committed", () => {
  let s: Scenario;
  before(async () => (s = await Scenario.start()));
  after(() => s.stop());

  // One repository's history: each step starts from the state the one before left.
  test("the first file stays applied and the run says so; fixed, a no-transaction file applies; a file with COMMIT is refused before anything runs", async () => {
    const config = "migrations:\n  on_failure: stop\n";
    const sha = await s.push({
      ".github/autopilot.yml": config,
      "migrations/0001_a.sql": "create table a (id int);\n",
      "migrations/0002_b.sql": "select * from nope;\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /on_failure: stop/);
    assert.equal(run.output.annotations[0].start_line, 1);
    const history = await s.targetQuery("select version from autopilot.schema_migrations");
    assert.deepEqual(
      history.map((h) => h.version),
      ["0001"],
    );

    // The same repository, its failing file fixed: a no-transaction file indexes both tables.
    const fixed = await s.push({
      "migrations/0002_b.sql": "create table b (id int);\n",
      "migrations/0003_idx.sql": "-- autopilot:no-transaction\ncreate index concurrently a_id on a (id);\ncreate index concurrently b_id on b (id);\n",
    });
    const fixedRun = await s.completedCheckRun(fixed);
    assert.equal(fixedRun.conclusion, "success", fixedRun.output.summary ?? "");
    const indexes = await s.targetQuery("select indexname from pg_indexes where indexname in ('a_id', 'b_id') order by 1");
    assert.deepEqual(
      indexes.map((i) => i.indexname),
      ["a_id", "b_id"],
    );

    // Then a transactional file with COMMIT in it is refused before anything runs, annotated at the line.
    const backupsBefore = (await s.storeQuery("select count(*)::int as n from backups"))[0].n;
    const split = await s.push({
      "migrations/0004_fine.sql": "create table fine (id int);\n",
      "migrations/0005_split.sql": "-- two steps\ncreate table split_a (id int);\ncommit;\ncreate table split_b (id int);\n",
    });
    const splitRun = await s.completedCheckRun(split);
    assert.equal(splitRun.conclusion, "failure");
    assert.match(splitRun.output.title!, /Refused: 0005_split\.sql line 3: COMMIT inside a file that Autopilot already runs in a transaction/);
    assert.match(splitRun.output.summary!, /Nothing was applied/);
    assert.deepEqual(
      splitRun.output.annotations.map((a) => [a.path, a.start_line, a.annotation_level]),
      [["migrations/0005_split.sql", 3, "failure"]],
    );
    const tables = await s.targetQuery("select tablename from pg_tables where tablename in ('fine', 'split_a', 'split_b')");
    assert.deepEqual(tables, [], "not even the file before it ran");
    const historyAfterRefusal = await s.targetQuery("select version from autopilot.schema_migrations order by version");
    assert.deepEqual(
      historyAfterRefusal.map((h) => h.version),
      ["0001", "0002", "0003"],
    );
    assert.equal((await s.storeQuery("select count(*)::int as n from backups"))[0].n, backupsBefore, "refused before the backup");
  });
});
