// `/autopilot cancel [run]`: a run waiting for approvals is cancelled at once (admin on production,
// a reader and a writer refused), and a running migration stops between files, never inside one:
// what it applied stays applied and its Check Run says what was cancelled.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Scenario } from "./harness/scenario.js";
import { waitFor } from "./harness/app-process.js";

const ADMIN = "ada";
const WRITER = "wanda";
const READER = "rita";

async function runOf(s: Scenario, sha: string): Promise<{ id: number; status: string; title: string }> {
  const [row] = await s.storeQuery("select id, status, title from runs where kind = 'migrate' and commit_sha = $1", [sha]);
  return { id: Number(row.id), status: row.status, title: row.title };
}

describe("cancel", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.released({ [ADMIN]: "admin", [WRITER]: "write", [READER]: "read" });
  });
  after(async () => {
    await s.stop();
  });

  test("a run waiting for approvals is cancelled by an admin; a reader and a writer are refused on production", async () => {
    const sha = await s.push({ ".github/autopilot.yml": "environments:\n  - { branch: main, environment: production, approvals: 1 }\n" });
    const waiting = await s.completedCheckRun(sha);
    assert.equal(waiting.conclusion, "action_required", waiting.output.title ?? "");
    const { id } = await runOf(s, sha);

    const reader = await s.answered(1, await s.comment("/autopilot cancel", { login: READER }));
    assert.match(reader.reply, /cancel on production needs admin permission; @rita has read/);
    const writer = await s.answered(1, await s.comment(`/autopilot cancel #${id}`, { login: WRITER }));
    assert.match(writer.reply, /cancel on production needs admin permission; @wanda has write/);
    assert.equal((await runOf(s, sha)).status, "action_required", "a refused cancel changes nothing");

    const { reply, reactions } = await s.answered(1, await s.comment(`/autopilot cancel ${id}`, { login: ADMIN }));
    assert.ok(reactions.includes("rocket"), reply);
    assert.match(reply, new RegExp(`migrate run #${id} on production is cancelled \\(it was waiting for approvals\\)`));
    const run = await runOf(s, sha);
    assert.equal(run.status, "cancelled");
    assert.equal(run.title, "Cancelled by @ada (it was waiting for approvals)");
    const check = s.checkRun(sha)!;
    assert.equal(check.conclusion, "cancelled");
    assert.equal(check.output.title, "Cancelled by @ada (it was waiting for approvals)");

    // An approval afterwards finds nothing waiting, and a second cancel nothing to cancel.
    const again = await s.answered(1, await s.comment(`/autopilot cancel ${id}`, { login: ADMIN }));
    assert.match(again.reply, new RegExp(`migrate run #${id} on production is cancelled, not queued, waiting or running: nothing to cancel`));
    const audit = await s.storeQuery("select actor, outcome from audit where action = 'cancel' order by id");
    assert.deepEqual(
      audit.map((a) => `${a.actor}:${a.outcome}`),
      ["rita:refused", "wanda:refused", "ada:success", "ada:failure"],
    );
  });

  test("a running migration is cancelled between files: two of four applied, the rest never run", async () => {
    const sha = await s.push({
      ".github/autopilot.yml": "environments:\n  - { branch: main, environment: production }\n",
      "migrations/0002_tags.sql": "create table tags (id int);\n",
      "migrations/0003_slow.sql": "create table slow (id int);\nselect pg_sleep(5);\n",
      "migrations/0004_notes.sql": "create table notes (id int);\n",
      "migrations/0005_labels.sql": "create table labels (id int);\n",
    });
    await waitFor("the slow migration to run, after 0002", async () => {
      const rows = await s.targetQuery("select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(5)%' and pid <> pg_backend_pid()");
      return rows[0].n > 0;
    });
    const { id } = await runOf(s, sha);
    const { reply } = await s.answered(1, await s.comment("/autopilot cancel", { login: ADMIN }));
    assert.match(reply, new RegExp(`migrate run #${id} on production stops before its next migration file \\(never inside one\\)`));

    const check = await s.completedCheckRun(sha, 60_000);
    assert.equal(check.conclusion, "cancelled", check.output.summary ?? "");
    assert.equal(check.output.title, "Cancelled by @ada: applied 2 of 4 migrations to production");
    assert.match(check.output.summary ?? "", /Cancelled, not applied: `0004_notes`, `0005_labels`/);
    assert.match(check.output.summary ?? "", /\| 0003 \| slow \|/);
    assert.equal((await runOf(s, sha)).status, "cancelled");

    const history = await s.targetQuery("select version from autopilot.schema_migrations order by 1");
    assert.deepEqual(
      history.map((h) => h.version),
      ["0001", "0002", "0003"],
      "the file running when the cancel came finished; the rest did not start",
    );
    const tables = await s.targetQuery("select tablename from pg_tables where tablename in ('slow', 'notes', 'labels') order by 1");
    assert.deepEqual(
      tables.map((t) => t.tablename),
      ["slow"],
    );
    const recorded = await s.storeQuery("select version from run_migrations where run_id = $1 order by version", [id]);
    assert.deepEqual(
      recorded.map((r) => r.version),
      ["0002", "0003"],
      "rollback last reverts what the cancelled run applied",
    );
  });

  test("nothing secret was sent and no request body GitHub would reject", () => {
    assert.ok(!s.everythingSent().includes("s3cret-Pa55word"));
    assert.deepEqual(s.github.violations, []);
  });
});
