// Checkpoints and resume: a migrate run killed after its backup continues without a second backup,
// and `/autopilot retry` resumes a failed run from its last checkpoint, or says why it cannot.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { Scenario, REPO } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";

const WRITER = "wanda";
const READER = "rita";

/** The run a push of `sha` recorded. */
async function runOf(s: Scenario, sha: string): Promise<number> {
  const [row] = await s.storeQuery<{ id: string }>("select id from runs where kind = 'migrate' and commit_sha = $1", [sha]);
  return Number(row.id);
}

async function backupsOf(s: Scenario, runId: number): Promise<string[]> {
  const rows = await s.storeQuery<{ id: string; path: string }>("select id, path from backups where run_id = $1 and status = 'ok'", [runId]);
  return rows.map((r) => r.id);
}

/** Every backup file Autopilot wrote, whatever its folder. */
function backupFiles(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".dump"))
    .map((name) => path.join(directory, name));
}

/** The newest migrate Check Run of a commit (a retry reports in a new one). */
function latestCheckRun(s: Scenario, sha: string) {
  return s.github
    .checkRuns(REPO)
    .filter((c) => c.head_sha === sha && c.name === "autopilot/migrate")
    .at(-1);
}

describe("resume", () => {
  let s: Scenario;
  let blocker: pg.Client;
  const config = (onFailure: "stop" | "restore") =>
    [
      "migrations:",
      "  directory: migrations",
      `  on_failure: ${onFailure}`,
      "  lock_timeout: 1s",
      "environments:",
      "  - { branch: main, environment: production }",
      "",
    ].join("\n");

  before(async () => {
    s = await Scenario.released({ [WRITER]: "write", [READER]: "read" });
    blocker = new pg.Client({ connectionString: s.target.url });
    await blocker.connect();
  });
  after(async () => {
    await blocker.end().catch(() => undefined);
    await s.stop();
  });

  test("resumes on the retried job: the same backup, files applied once, one deploy hook call", async () => {
    const sha = await s.push({
      "migrations/0002_orders.sql": shopRepo(["0002_orders.sql"])["migrations/0002_orders.sql"],
      "migrations/0003_slow.sql": "create table slow (id int);\nselect pg_sleep(8);\n",
    });
    const runId = await waitFor("the run", () => runOf(s, sha).catch(() => undefined));
    await waitFor("the slow migration to run, after the backup and 0002", async () => {
      const rows = await s.targetQuery("select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(8)%' and pid <> pg_backend_pid()");
      return rows[0].n > 0;
    });
    const [backup] = await backupsOf(s, runId);
    assert.ok(backup, "the backup was taken before the files");
    await s.app.kill("SIGKILL");
    await s.boot();

    const run = await s.completedCheckRun(sha, 60_000);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    assert.deepEqual(await backupsOf(s, runId), [backup], "no second backup: the recorded one is reused");
    const directory = (await s.storeQuery<{ path: string }>("select path from backups where id = $1", [backup]))[0].path;
    const files = backupFiles(path.dirname(directory));
    const [{ n: taken }] = await s.storeQuery<{ n: number }>("select count(*)::int as n from backups where status = 'ok'");
    assert.ok(files.includes(directory));
    assert.equal(files.length, taken, "one file per recorded backup: the first release's and this run's, no second one");
    assert.equal(taken, 2);
    const steps = await s.storeQuery<{ status: string; detail: string }>(
      "select status, detail from run_steps where run_id = $1 and step = 'backup' order by id",
      [runId],
    );
    assert.deepEqual(
      steps.map((step) => step.status),
      ["success", "skipped"],
    );
    assert.match(steps[1].detail, new RegExp(`reused ${backup}`));

    const history = await s.targetQuery("select version from autopilot.schema_migrations order by 1");
    assert.deepEqual(
      history.map((h) => h.version),
      ["0001", "0002", "0003"],
    );
    assert.equal((await s.targetQuery("select count(*)::int as n from orders"))[0].n, 2, "0002 applied once");
    const recorded = await s.storeQuery("select version from run_migrations where run_id = $1 order by version", [runId]);
    assert.deepEqual(
      recorded.map((r) => r.version),
      ["0002", "0003"],
      "rollback last reverts both files of the run, the one applied before the kill too",
    );
    const checkpoints = await s.storeQuery("select name from run_checkpoints where run_id = $1 order by name", [runId]);
    assert.deepEqual(
      checkpoints.map((c) => c.name),
      ["applied:0002", "applied:0003", "backup", "config", "deployed", "planned"],
    );
    await s.settled();
    const calls = s.deployHook.requests.filter((r) => r.rawBody.includes(sha));
    assert.equal(calls.length, 1, "the deploy hook is called once for the run");
  });

  /** Holds a lock on customers that a backup passes (ACCESS SHARE) but an ALTER TABLE waits for. */
  async function holdCustomers(): Promise<void> {
    await blocker.query("begin");
    await blocker.query("lock table customers in access share mode");
  }

  test("a failed run resumes from its last checkpoint, refused for a reader", async () => {
    await holdCustomers();
    const sha = await s.push({
      ".github/autopilot.yml": config("stop"),
      "migrations/0004_notes.sql": "create table notes (id int);\ninsert into notes values (1);\n",
      "migrations/0005_note.sql": "alter table customers add column note text;\n",
    });
    const failed = await s.completedCheckRun(sha, 60_000);
    assert.equal(failed.conclusion, "failure", failed.output.summary ?? "");
    const runId = await runOf(s, sha);
    const [backup] = await backupsOf(s, runId);
    await blocker.query("rollback");

    const refused = await s.answered(1, await s.comment("/autopilot retry", { login: READER }));
    assert.match(refused.reply, /retry needs write permission; @rita has read/);
    assert.equal((await s.storeQuery("select status from runs where id = $1", [runId]))[0].status, "failure");

    const { reply, reactions } = await s.answered(1, await s.comment(`/autopilot retry ${runId}`, { login: WRITER }), 60_000);
    assert.ok(reactions.includes("rocket"), reply);
    assert.match(reply, new RegExp(`resuming run #${runId} after its backup ${backup}: 1 of 2 files already applied`));
    assert.match(reply, /Applied 2 migrations to production/);
    const resumed = latestCheckRun(s, sha);
    assert.equal(resumed?.conclusion, "success", resumed?.output.summary ?? "");
    assert.notEqual(resumed?.id, failed.id, "the resumed run reports in a new Check Run");
    assert.deepEqual(await backupsOf(s, runId), [backup], "the run's backup is reused");
    const history = await s.targetQuery("select version from autopilot.schema_migrations order by 1");
    assert.deepEqual(
      history.map((h) => h.version),
      ["0001", "0002", "0003", "0004", "0005"],
    );
    assert.equal((await s.targetQuery("select count(*)::int as n from notes"))[0].n, 1, "0004 applied once");
  });

  test("a run whose failure restored its backup is not resumed, and says why", async () => {
    // A lock held through the failure would hold up the restore too: this file fails by itself.
    const sha = await s.push({
      ".github/autopilot.yml": config("restore"),
      "migrations/0006_tags.sql": "create table tags (id int);\n",
      "migrations/0007_broken.sql": "select 1 / 0;\n",
    });
    const failed = await s.completedCheckRun(sha, 60_000);
    assert.equal(failed.conclusion, "failure");
    assert.match(failed.output.summary ?? "", /[Rr]estored/);
    const runId = await runOf(s, sha);
    const [backup] = await backupsOf(s, runId);

    const { reply } = await s.answered(1, await s.comment("/autopilot retry\n/autopilot retry 999999", { login: WRITER }));
    assert.match(reply, new RegExp(`run #${runId}'s failure rolled the database back by restoring its backup ${backup}, so it cannot resume where it stopped`));
    assert.match(reply, /a new push, or `\/autopilot migrate`, starts over/);
    assert.match(reply, /this repository has no run #999999/);
    assert.equal((await s.storeQuery("select status from runs where id = $1", [runId]))[0].status, "failure");
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'tags'"))[0].n, 0);
  });

  test("nothing secret was sent and no request body GitHub would reject", () => {
    assert.ok(!s.everythingSent().includes("s3cret-Pa55word"));
    assert.deepEqual(s.github.violations, []);
  });
});
