// End to end through the app: before a restore, say what will be lost. A rollback to a backup that
// would discard writes answers with the figures and a Confirm restore button, and waits; the button
// obeys the rollback's authorization and is taken once; `--confirm` restores at once; the automatic
// restore after a failed migration reports the same figures in its Check Run.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { waitFor, WEBHOOK_SECRET } from "./harness/app-process.js";
import { checkRunPayload, sendWebhook } from "./harness/webhooks.js";

const ADMIN = "ada";
const WRITER = "bob";

const customers = async (s: Scenario) => (await s.targetQuery("select count(*)::int as n from customers"))[0].n as number;
/** Writes as the application would, flushing the session's statistics before it answers. */
const appWrites = (s: Scenario, sql: string) => s.targetQuery(`${sql}; select pg_stat_force_next_flush()`);

describe("before a restore, what will be lost", () => {
  let s: Scenario;
  let backupId: string;
  before(async () => {
    s = await Scenario.released({ [ADMIN]: "admin", [WRITER]: "write" });
    const id = await s.comment("/autopilot backup", { login: ADMIN });
    backupId = /`(bk_\d{14}_[0-9a-f]{6})`/.exec((await s.answered(1, id, 40_000)).reply)![1];
  });
  after(() => s.stop());

  test("a rollback that would discard writes answers with them and a Confirm restore button, which a writer may not press", async () => {
    await appWrites(s, "insert into customers (email) values ('late1@example.org'), ('late2@example.org')");
    const id = await s.comment(`/autopilot rollback ${backupId}`, { login: ADMIN });
    const { reply } = await s.answered(1, id, 40_000);
    assert.match(reply, new RegExp(`Restoring backup \`${backupId}\` \\(taken \\d+ min ago\\) discards writes made since: customers \\+2 inserted\\.`));
    assert.match(reply, /--confirm/);
    assert.equal(await customers(s), 4, "nothing restored yet");
    const [waiting] = await s.storeQuery("select id::int, status from runs where kind = 'rollback' order by id desc limit 1");
    assert.equal(waiting.status, "action_required");
    const checkRun = s.github.checkRuns(REPO).find((c) => c.name === "autopilot/rollback" && c.actions.some((a) => a.identifier === `confirm:${waiting.id}`));
    assert.equal(checkRun?.conclusion, "action_required");
    assert.deepEqual(
      checkRun.actions.map((a) => a.label),
      ["Confirm restore"],
    );

    const press = (login: string) =>
      sendWebhook(s.app.url, {
        event: "check_run",
        secret: WEBHOOK_SECRET,
        payload: checkRunPayload({
          action: "requested_action",
          repo: REPO,
          installationId: INSTALLATION_ID,
          headSha: checkRun.head_sha,
          checkRunId: checkRun.id,
          name: "autopilot/rollback",
          appId: 1,
          requestedAction: `confirm:${waiting.id}`,
          login,
        }),
      });
    const pressRun = (login: string) =>
      waitFor(`${login}'s press answered`, async () => {
        const [run] = await s.storeQuery(
          "select status, title from runs where trigger = 'button' and requested_by = $1 and status not in ('queued', 'in_progress') order by id desc",
          [login],
        );
        return run as { status: string; title: string } | undefined;
      });

    await press(WRITER);
    const refused = await pressRun(WRITER);
    assert.equal(refused.status, "failure");
    assert.match(refused.title, /admin/);
    await s.settled();
    assert.equal(await customers(s), 4, "a writer's press restores nothing");
    assert.equal((await s.storeQuery("select status from runs where id = $1", [waiting.id]))[0].status, "action_required", "still waiting");

    await press(ADMIN);
    await waitFor("the confirmed restore", async () => (await customers(s)) === 2);
    await s.settled();
    const [restored] = await s.storeQuery("select status, summary from runs where kind = 'rollback' order by id desc limit 1");
    assert.equal(restored.status, "success");
    assert.match(restored.summary, /discards writes made since: customers \+2 inserted/);
    assert.match(restored.summary, /A backup of the state before this rollback was taken first: `bk_/);

    await press(ADMIN);
    await waitFor("a second press refused", async () => {
      const [run] = await s.storeQuery("select status, title from runs where trigger = 'button' and requested_by = $1 order by id desc limit 1", [ADMIN]);
      return run?.status === "failure" && /not waiting for a confirmation/.test(run.title);
    });
  });

  test("`rollback … --confirm` restores at once, and reports what it discarded", async () => {
    await appWrites(s, "update customers set email = email || '.old'");
    const id = await s.comment(`/autopilot rollback ${backupId} --confirm`, { login: ADMIN });
    const { reply } = await s.answered(1, id, 40_000);
    assert.match(reply, new RegExp(`Restored production from backup ${backupId}`));
    assert.deepEqual(
      (await s.targetQuery("select email from customers order by id")).map((r) => r.email),
      ["ada@example.org", "grace@example.org"],
    );
  });

  test("the automatic restore after a failed migration reports the figures in its Check Run", async () => {
    const sha = await s.push({
      "migrations/0002_loyalty.sql": "create table loyalty (customer_id bigint primary key);\ninsert into customers (email) values ('new@example.org');\n",
      // Its session's statistics are flushed before the failure is answered, so the estimate sees 0002's insert.
      "migrations/0003_broken.sql": "select pg_stat_force_next_flush();\nselect 1 / 0;\n",
    });
    const run = await s.completedCheckRun(sha, 40_000);
    assert.equal(run.conclusion, "failure");
    const [preRun] = await s.storeQuery("select backup_id from runs where commit_sha = $1 and kind = 'migrate'", [sha]);
    assert.match(
      run.output.summary!,
      new RegExp(`Restoring backup \`${preRun.backup_id}\` \\(taken \\d+ min ago\\) discards writes made since: customers \\+1 inserted`),
    );
    assert.ok(!s.everythingSent().includes(TARGET_PASSWORD), "no password in anything sent");
  });
});
