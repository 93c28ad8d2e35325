// End to end through the app: a restore after a failed migration never loses data silently (safety
// backup first, only when something committed, resumed after a crash), restores wait for the
// migration lock, and the progress titles count from 1 to N.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";
import { createTestDatabase, query } from "./harness/postgres.js";
import { restoreDatabase } from "../src/database/restore.js";
import { MIGRATION_LOCK_KEY } from "../src/database/migrator.js";

const ADMIN = "ada";

/** Every title the app gave a Check Run after creating it, in order. */
function titles(s: Scenario, checkRunId: number): string[] {
  return s.github.requests
    .filter((r) => r.method === "PATCH" && r.status < 300 && r.path.endsWith(`/check-runs/${checkRunId}`))
    .map((r) => (r.body as { output?: { title?: string } } | undefined)?.output?.title)
    .filter((t): t is string => Boolean(t));
}

/** "Applying 2 of 3: …" → [2, 3]. */
function positions(list: string[], verb: string): Array<[number, number]> {
  return list.flatMap((t) => {
    const m = new RegExp(`^${verb} (\\d+) of (\\d+): `).exec(t);
    return m ? [[Number(m[1]), Number(m[2])] as [number, number]] : [];
  });
}

/** Progress over three files: at least two "<verb> N of 3" titles, N within 1..3, the last "3 of 3" naming `last`. */
function assertCountsToThree(list: string[], verb: string, last: RegExp): void {
  const counted = positions(list, verb);
  assert.ok(counted.length >= 2, JSON.stringify(list));
  for (const [position, total] of counted) {
    assert.equal(total, 3);
    assert.ok(position >= 1 && position <= 3, `position ${position}`);
  }
  assert.deepEqual(counted.at(-1), [3, 3]);
  assert.match(list.filter((t) => t.startsWith(verb)).at(-1)!, last);
}

const runOf = async (s: Scenario, sha: string) =>
  (await s.storeQuery("select id::int from runs where commit_sha = $1 order by id desc limit 1", [sha]))[0].id as number;
const stepsOf = async (s: Scenario, runId: number) =>
  (await s.storeQuery("select step from run_steps where run_id = $1 order by id", [runId])).map((r) => r.step as string);
const backupsOf = async (s: Scenario, runId: number) =>
  (await s.storeQuery("select id, path from backups where run_id = $1 and status = 'ok' order by created_at", [runId])) as Array<{ id: string; path: string }>;
const tableExists = async (s: Scenario, table: string) => (await s.targetQuery(`select to_regclass('${table}') is not null as present`))[0].present as boolean;

describe("the restore after a failed migration", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    s.github.setPermission(REPO, ADMIN, "admin");
    const first = await s.push(shopRepo(["0001_init.sql"]));
    assert.equal((await s.completedCheckRun(first)).conclusion, "success");
  });
  after(() => s.stop());

  test("backs up the current state first and names that backup in the Check Run", async () => {
    const sha = await s.push({
      "migrations/0002_loyalty.sql": "create table loyalty (customer_id bigint primary key);\ninsert into customers (email) values ('new@example.org');\n",
      "migrations/0003_broken.sql": "select 1 / 0;\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    const [preRun, safety, ...others] = await backupsOf(s, await runOf(s, sha));
    assert.deepEqual(others, [], "the pre-run backup and one safety backup");
    assert.match(run.output.summary!, new RegExp(`restored from backup \`${preRun.id}\``));
    assert.match(run.output.summary!, new RegExp(`backed up first: \`${safety.id}\`; writes made since \`${preRun.id}\` can be recovered from it`));
    assert.equal(await tableExists(s, "loyalty"), false, "restored");

    // The safety backup holds what the restore replaced.
    const copy = await createTestDatabase("safety");
    await restoreDatabase({ databaseUrl: copy.url, file: safety.path });
    assert.deepEqual(
      (await query(copy.url, "select email from customers order by id")).map((r) => r.email),
      ["ada@example.org", "grace@example.org", "new@example.org"],
    );
    assert.equal((await query(copy.url, "select to_regclass('loyalty') is not null as present"))[0].present, true);
    await copy.drop();
  });

  test("a no-transaction file whose first statement fails committed nothing: no restore, no safety backup", async () => {
    const sha = await s.push({
      "migrations/0002_loyalty.sql": null,
      "migrations/0003_broken.sql": null,
      "migrations/0002_index.sql":
        "-- autopilot:no-transaction\ncreate index concurrently nope_id on nope (id);\ncreate index concurrently customers_created on customers (created_at);\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /nothing of this run was committed/);
    const runId = await runOf(s, sha);
    assert.equal((await backupsOf(s, runId)).length, 1, "only the pre-run backup");
    const steps = await stepsOf(s, runId);
    assert.ok(!steps.includes("restore") && !steps.includes("safety-backup"), steps.join(", "));
  });

  test("a no-transaction file whose second statement fails committed its first: that is restored away", async () => {
    const sha = await s.push({
      "migrations/0002_index.sql":
        "-- autopilot:no-transaction\ncreate index concurrently customers_created on customers (created_at);\ncreate index concurrently nope_id on nope (id);\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /restored from backup `bk_/);
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_indexes where indexname = 'customers_created'"))[0].n, 0);
    assert.equal((await backupsOf(s, await runOf(s, sha))).length, 2, "pre-run and safety backups");
  });

  test("the migrate Check Run's progress counts from 1 to 3 over three files, and their rollback with down files as well", async () => {
    const sha = await s.push({
      "migrations/0002_index.sql": null,
      // Each file outlasts the Check Run's update coalescing (1.5 s), so every title goes out.
      "migrations/0002_a.sql": "select pg_sleep(2);\ncreate table a (id int);\n",
      "migrations/0002_a.down.sql": "drop table a;\n",
      "migrations/0003_b.sql": "select pg_sleep(2);\ncreate table b (id int);\n",
      "migrations/0003_b.down.sql": "select pg_sleep(2);\ndrop table b;\n",
      "migrations/0004_c.sql": "create table c (id int);\n",
      "migrations/0004_c.down.sql": "select pg_sleep(2);\ndrop table c;\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    assertCountsToThree(titles(s, run.id), "Applying", /^Applying 3 of 3: 0004_c…$/);

    const id = await s.comment("/autopilot rollback last", { login: ADMIN });
    const { reply } = await s.answered(1, id, 60_000);
    assert.match(reply, /Reverted 3 migrations on production/);
    const check = s.github
      .checkRuns(REPO)
      .filter((c) => c.name === "autopilot/rollback")
      .at(-1)!;
    assertCountsToThree(titles(s, check.id), "Reverting", /^Reverting 3 of 3: 0002_a…$/);
  });

  test("a rollback to a backup waits while another session holds the migration lock", async () => {
    const [backup] = await s.storeQuery("select id from backups where status = 'ok' order by created_at limit 1");
    const holder = new pg.Client({ connectionString: s.target.url });
    await holder.connect();
    await holder.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    await s.targetQuery("create table made_while_locked (id int)");
    const commentId = await s.comment(`/autopilot rollback ${backup.id} --confirm`, { login: ADMIN });
    const check = await waitFor("the rollback to wait for the lock", () =>
      s.github
        .checkRuns(REPO)
        .filter((c) => c.name === "autopilot/rollback")
        .find((c) => c.status !== "completed" && /Waiting for another migration/.test(c.output.title ?? "")),
    );
    assert.equal(await tableExists(s, "made_while_locked"), true, "nothing restored while the lock is held");
    await holder.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
    await holder.end();
    const { reply } = await s.answered(1, commentId, 60_000);
    assert.match(reply, new RegExp(`Restored production from backup ${backup.id}`));
    assert.equal(await tableExists(s, "made_while_locked"), false);
    assert.ok(check.id);
  });

  test("no request body GitHub would reject was sent, and no secret", () => {
    assert.deepEqual(s.github.violations, []);
    assert.ok(!s.everythingSent().includes("s3cret-Pa55word"));
  });
});

describe("a worker that crashes mid-restore", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    const first = await s.push(shopRepo(["0001_init.sql"]));
    assert.equal((await s.completedCheckRun(first)).conclusion, "success");
  });
  after(() => s.stop());

  test("the retry resumes the restore from the stored intent and reports it", async () => {
    // A reader in an open transaction keeps the restore's DROP waiting (for its lock_timeout),
    // long enough to kill the app while it restores.
    const reader = new pg.Client({ connectionString: s.target.url });
    await reader.connect();
    await reader.query("begin; select count(*) from customers");
    const sha = await s.push({
      "migrations/0002_loyalty.sql": "create table loyalty (customer_id bigint primary key);\ninsert into customers (email) values ('new@example.org');\n",
      "migrations/0003_broken.sql": "select 1 / 0;\n",
    });
    await waitFor("the restore to wait for the reader's lock", async () => {
      const rows = await s.targetQuery(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
      );
      return rows[0].n > 0;
    });
    const [stored] = await s.storeQuery("select restore_intent from runs where commit_sha = $1", [sha]);
    assert.ok(stored.restore_intent?.backupId, "the intent was stored before the restore started");
    assert.equal(stored.restore_intent.recovery, undefined, "and the restore has not ended");

    await s.app.kill("SIGKILL");
    // The crash takes the restore down with the app (psql is its child).
    await s.targetQuery(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'",
    );
    await reader.query("rollback");
    await reader.end();
    assert.equal(await tableExists(s, "loyalty"), true, "the crash left 0002 applied");

    await s.boot();
    const run = await s.completedCheckRun(sha, 90_000);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.title!, /0003_broken failed/);
    assert.doesNotMatch(run.output.summary!, /nothing of this run was committed/);
    assert.match(run.output.summary!, new RegExp(`restored from backup \`${stored.restore_intent.backupId}\``));
    assert.match(run.output.summary!, /by an earlier attempt that was interrupted/);
    assert.equal(await tableExists(s, "loyalty"), false);
    assert.deepEqual(
      (await s.targetQuery("select email from customers order by id")).map((r) => r.email),
      ["ada@example.org", "grace@example.org"],
    );
    assert.deepEqual(
      (await s.targetQuery("select version from autopilot.schema_migrations")).map((r) => r.version),
      ["0001"],
    );
  });
});
