// Commands and buttons do exactly what was pressed, once: redelivered comments run once, a Roll
// back button reverts its own run only, production stays production whatever a repository says,
// approvals come from someone else on the merged head, and a locked run is not an approvable one.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor, WEBHOOK_SECRET } from "./harness/app-process.js";
import { checkRunPayload, issueCommentPayload, pullRequestReviewPayload, sendWebhook } from "./harness/webhooks.js";

const ADMIN = "ada";
const ADMIN2 = "alan";
const WRITER = "bob";
const WRITER2 = "wes";
const AUTHOR = "aria";
const MERGER = "max";

const GRANTS = {
  [ADMIN]: "admin",
  [ADMIN2]: "admin",
  [WRITER]: "write",
  [WRITER2]: "write",
  [AUTHOR]: "write",
  [MERGER]: "write",
  octocat: "write",
} as const;

function permissions(s: Scenario) {
  for (const [login, permission] of Object.entries(GRANTS)) s.github.setPermission(REPO, login, permission);
}

async function deliver(s: Scenario, event: string, payload: object, deliveryId?: string): Promise<void> {
  const response = await sendWebhook(s.app.url, { event, payload, secret: WEBHOOK_SECRET, deliveryId });
  assert.ok(response.status < 300, `webhook rejected: ${response.status} ${response.body}`);
}

async function tableExists(s: Scenario, name: string): Promise<boolean> {
  return (await s.targetQuery(`select count(*)::int as n from pg_tables where tablename = '${name}'`))[0].n === 1;
}

async function migrateRunOf(s: Scenario, sha: string): Promise<number> {
  return (await s.storeQuery("select id::int from runs where kind = 'migrate' and commit_sha = $1 order by id desc limit 1", [sha]))[0].id;
}

describe("commands and buttons act once, on what was pressed", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.released(GRANTS);
  });
  after(() => s.stop());

  test("a comment delivered twice (same delivery, then same comment id again) gets one reply and one run", async () => {
    s.github.addIssue(REPO, { number: 1, title: "ops" });
    const body = "/autopilot status";
    const commentId = s.github.addComment(REPO, 1, { body, user: ADMIN });
    const payload = issueCommentPayload({ repo: REPO, issueNumber: 1, isPullRequest: false, body, login: ADMIN, installationId: INSTALLATION_ID, commentId });
    // The webhook is answered once the handler has recorded (or dropped) the run.
    await deliver(s, "issue_comment", payload, "delivery-once");
    await deliver(s, "issue_comment", payload, "delivery-once");
    await deliver(s, "issue_comment", payload, "delivery-redelivered-with-a-new-id");
    const { reactions } = await s.answered(1, commentId);
    const runs = await s.storeQuery("select id from runs where kind = 'command' and params->>'commentId' = $1", [String(commentId)]);
    assert.equal(runs.length, 1, "one run for the comment");
    const replies = s.github.comments(REPO, 1).filter((c) => c.id > commentId && c.user === s.github.botLogin);
    assert.equal(replies.length, 1, "one reply");
    assert.deepEqual(
      reactions.filter((r) => r === "eyes"),
      ["eyes"],
    );
  });

  const press = (sha: string, checkRunId: number, identifier: string, login: string) =>
    deliver(
      s,
      "check_run",
      checkRunPayload({
        action: "requested_action",
        repo: REPO,
        installationId: INSTALLATION_ID,
        headSha: sha,
        checkRunId,
        name: "autopilot/migrate",
        appId: 1,
        requestedAction: identifier,
        login,
      }),
    );

  const finishedRollbacks = (count: number) =>
    waitFor(
      `${count} finished rollback runs`,
      async () => {
        const rows = await s.storeQuery("select status, title from runs where kind = 'rollback' and finished_at is not null order by id");
        return rows.length >= count ? rows : undefined;
      },
      60_000,
    );

  test("a double press of Roll back (two admins) rolls back once; the second is refused as already rolled back", async () => {
    const sha = await s.push({
      "migrations/0002_twice.sql": "create table twice (id bigint);\n",
      "migrations/0002_twice.down.sql": "drop table twice;\n",
    });
    const check = await s.completedCheckRun(sha);
    const runId = await migrateRunOf(s, sha);
    assert.deepEqual(
      check.actions.map((a) => a.identifier),
      [`rollback:${runId}`],
    );
    assert.ok(`rollback:${runId}`.length <= 20, "GitHub's identifier limit");
    await press(sha, check.id, `rollback:${runId}`, ADMIN);
    await press(sha, check.id, `rollback:${runId}`, ADMIN2);
    const rollbacks = await finishedRollbacks(2);
    // Whichever press ran first reverted the run; the other found it reverted.
    assert.deepEqual(rollbacks.map((r) => r.status).sort(), ["failure", "success"]);
    const refused = rollbacks.find((r) => r.status === "failure")!;
    assert.match(refused.title, new RegExp(`Rollback refused: migrate run ${runId} \\(${sha.slice(0, 7)}: 0002\\) was already rolled back`));
    assert.equal(await tableExists(s, "twice"), false);
    const history = await s.targetQuery("select version, reverted_at is not null as reverted from autopilot.schema_migrations order by version");
    assert.deepEqual(
      history.map((h) => `${h.version}:${h.reverted}`),
      ["0001:false", "0002:true"],
      "0001 was not reverted by the second press",
    );
    const refusedCheck = s.github.checkRuns(REPO).find((c) => c.name === "autopilot/rollback" && c.conclusion === "failure");
    assert.match(refusedCheck?.output.summary ?? "", /already rolled back/);
  });

  test("an older release's Roll back button is refused while a newer release is applied on top of it", async () => {
    const older = await s.push({
      "migrations/0003_older.sql": "create table older (id bigint);\n",
      "migrations/0003_older.down.sql": "drop table older;\n",
    });
    const olderCheck = await s.completedCheckRun(older);
    const newer = await s.push({
      "migrations/0004_newer.sql": "create table newer (id bigint);\n",
      "migrations/0004_newer.down.sql": "drop table newer;\n",
    });
    const newerCheck = await s.completedCheckRun(newer);
    const olderRun = await migrateRunOf(s, older);
    const newerRun = await migrateRunOf(s, newer);

    // Counted from here, so this test does not depend on the rollbacks an earlier one ran.
    const [{ n: finishedBefore }] = await s.storeQuery("select count(*)::int as n from runs where kind = 'rollback' and finished_at is not null");
    await press(older, olderCheck.id, `rollback:${olderRun}`, ADMIN);
    const refused = (await finishedRollbacks(finishedBefore + 1))[finishedBefore];
    assert.equal(refused.status, "failure");
    assert.match(
      refused.title,
      new RegExp(`migrate run ${olderRun} .* is no longer the latest applied on production: migrate run ${newerRun} \\(${newer.slice(0, 7)}\\) applied 0004`),
    );
    assert.equal(await tableExists(s, "older"), true);
    assert.equal(await tableExists(s, "newer"), true);

    // The newest release's button still works, and reverts that release only.
    await press(newer, newerCheck.id, `rollback:${newerRun}`, ADMIN);
    const reverted = (await finishedRollbacks(finishedBefore + 2))[finishedBefore + 1];
    assert.equal(reverted.status, "success");
    assert.equal(await tableExists(s, "newer"), false);
    assert.equal(await tableExists(s, "older"), true);
  });
});

describe("production environments belong to the server config", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start({ serverExtra: "commands:\n  production_environments: [production]" });
    permissions(s);
    const config = [
      "environments:",
      "  - { branch: main, environment: production }",
      "commands:",
      "  production: [staging]",
      "  permissions: { rollback: write }",
      "",
    ].join("\n");
    const sha = await s.push({ ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": config });
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  });
  after(() => s.stop());

  test("a repo config that drops production or lowers rollback is ignored with a warning; a writer may not roll back production", async () => {
    const id = await s.comment("/autopilot rollback production", { login: WRITER });
    const { reply, reactions } = await s.answered(1, id);
    assert.match(reply, /rollback on production needs admin permission; @bob has write/);
    assert.match(reply, /`commands\.production`: leaves out production, which the server config names a production environment: it stays production/);
    assert.match(reply, /`commands\.permissions\.rollback`: write holds outside production only: rollback on production, staging needs admin/);
    assert.ok(reactions.includes("confused"));
    const audit = await s.storeQuery("select outcome from audit where actor = $1 and action = 'rollback'", [WRITER]);
    assert.deepEqual(
      audit.map((a) => a.outcome),
      ["refused"],
    );
    assert.equal(await tableExists(s, "customers"), true);
  });
});

describe("approvals come from someone else, on the merged head", () => {
  let s: Scenario;
  const config = "environments:\n  - { branch: main, environment: production, approvals: 1 }\n";
  before(async () => {
    s = await Scenario.start();
    permissions(s);
  });
  after(() => s.stop());

  /** A merge commit on main by pull request `number`, authored by AUTHOR and merged by MERGER, pushed by octocat. */
  async function mergedPush(number: number, files: Record<string, string>) {
    const sha = s.commit(files);
    s.github.setPullsForCommit(REPO, sha, [{ number, merged_at: new Date().toISOString(), user: AUTHOR, mergedBy: MERGER }]);
    return sha;
  }

  test("the author's, the merger's, the pusher's and a stale head's approvals do not count; a review after the merge starts the migration", async () => {
    const sha = await mergedPush(31, { ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": config });
    s.github.setReviews(REPO, 31, [
      { user: AUTHOR, state: "APPROVED" },
      { user: MERGER, state: "APPROVED" },
      { user: "octocat", state: "APPROVED" },
      { user: WRITER, state: "APPROVED", commit_id: "1".repeat(40) },
    ]);
    await s.deliverPush(sha);
    const waiting = await s.completedCheckRun(sha);
    assert.equal(waiting.conclusion, "action_required");
    assert.equal(waiting.output.title, "Waiting for approval (0 of 1)");
    const [run] = await s.storeQuery("select status, waiting_for from runs where kind = 'migrate' and commit_sha = $1", [sha]);
    assert.deepEqual(run, { status: "action_required", waiting_for: "approval" });

    // The merger cannot approve by command either, and is told why.
    const byMerger = await s.comment("/autopilot approve", { login: MERGER, issueNumber: 31, isPullRequest: true });
    assert.match((await s.answered(31, byMerger)).reply, /@max merged pull request #31, so their approval does not count/);

    // An approving review of the merged head, submitted after the merge, starts the waiting migration.
    s.github.setReviews(REPO, 31, [
      { user: AUTHOR, state: "APPROVED" },
      { user: WRITER, state: "APPROVED", commit_id: "1".repeat(40) },
      { user: WRITER2, state: "APPROVED" },
    ]);
    await deliver(
      s,
      "pull_request_review",
      pullRequestReviewPayload({
        repo: REPO,
        installationId: INSTALLATION_ID,
        number: 31,
        login: WRITER2,
        state: "approved",
        commitId: sha,
        mergeCommitSha: sha,
      }),
    );
    await waitFor("the migration started by the review", () => s.checkRun(sha)?.conclusion === "success", 40_000);
    assert.equal(await tableExists(s, "customers"), true);
  });

  test("a locked run is not awaiting approval: approve is refused with the lock's reason", async () => {
    const lock = await s.comment("/autopilot lock production release freeze", { login: ADMIN });
    await s.answered(1, lock);
    const sha = await mergedPush(32, { "migrations/0002_orders.sql": "create table orders (id bigint primary key);\n" });
    s.github.setReviews(REPO, 32, []);
    await s.deliverPush(sha);
    const locked = await s.completedCheckRun(sha);
    assert.equal(locked.conclusion, "action_required");
    assert.match(locked.output.title!, /^Locked: production is locked by @ada/);
    const [run] = await s.storeQuery("select status, waiting_for from runs where kind = 'migrate' and commit_sha = $1", [sha]);
    assert.deepEqual(run, { status: "action_required", waiting_for: "lock" });

    const approve = await s.comment("/autopilot approve", { login: WRITER, issueNumber: 32, isPullRequest: true });
    const { reply, reactions } = await s.answered(32, approve);
    assert.match(reply, /waits for a lock, not for approval: production is locked by @ada since .*: release freeze/);
    assert.ok(reactions.includes("confused"));
    assert.equal((await s.storeQuery("select count(*)::int as n from approvals"))[0].n, 0);
    assert.equal(await tableExists(s, "orders"), false);
  });
});
