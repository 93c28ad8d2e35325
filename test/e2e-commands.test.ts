import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor, WEBHOOK_SECRET } from "./harness/app-process.js";
import { checkRunPayload, sendWebhook } from "./harness/webhooks.js";

const ADMIN = "ada";
const WRITER = "bob";
const READER = "rita";
const WRITER2 = "wes";

const GRANTS = { [ADMIN]: "admin", [WRITER]: "write", [WRITER2]: "write", [READER]: "read" } as const;

function permissions(s: Scenario) {
  for (const [login, permission] of Object.entries(GRANTS)) s.github.setPermission(REPO, login, permission);
}

describe("slash commands", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.released(GRANTS);
  });
  after(() => s.stop());

  test("help is acknowledged with 👀, answered once, and marked 🚀", async () => {
    const id = await s.comment("Hi!\n/autopilot help", { login: READER });
    const { reply, reactions } = await s.answered(1, id);
    assert.deepEqual(reactions.slice(0, 1), ["eyes"]);
    assert.ok(reactions.includes("rocket"));
    assert.match(reply, /\/autopilot rollback/);
  });

  test("an unknown verb gets the help with did you mean, marked 😕", async () => {
    const id = await s.comment("/autopilot rollbak", { login: ADMIN });
    const { reply, reactions } = await s.answered(1, id);
    assert.match(reply, /Did you mean `\/autopilot rollback`/);
    assert.ok(reactions.includes("confused"));
  });

  test("status shows each environment's applied version, pending files, last run, lock and backup", async () => {
    const id = await s.comment("/autopilot status", { login: READER });
    const { reply } = await s.answered(1, id);
    assert.match(reply, /\| \*\*production\*\* \| 0001 \(1\) \| 0 \| success/);
    assert.match(reply, /`bk_\d{14}_[0-9a-f]{6}`/);
  });

  test("a refusal says which permission is needed and changes nothing", async () => {
    const id = await s.comment("/autopilot rollback", { login: WRITER });
    const { reply, reactions } = await s.answered(1, id);
    assert.match(reply, /rollback on production needs admin permission; @bob has write/);
    assert.ok(reactions.includes("confused"));
    assert.equal((await s.targetQuery("select count(*)::int as n from customers"))[0].n, 2);
    const audit = await s.storeQuery("select action, outcome, actor from audit where actor = 'bob'");
    assert.deepEqual(
      audit.map((a) => `${a.action}:${a.outcome}`),
      ["rollback:refused"],
    );
  });

  test("comments by bots, and commands inside code blocks or quotes, are ignored", async () => {
    const bot = await s.comment("/autopilot status", { login: "dependabot[bot]", userType: "Bot" });
    const quoted = await s.comment("> /autopilot migrate\n```\n/autopilot rollback\n```", { login: ADMIN });
    await s.settled();
    assert.deepEqual(s.github.comments(REPO, 1).find((c) => c.id === bot)?.reactions, []);
    assert.deepEqual(s.github.comments(REPO, 1).find((c) => c.id === quoted)?.reactions, []);
  });

  // One release history: each step starts from the state the one before left.
  test("a lock blocks pushes with action_required naming it; unlock and migrate apply; rollback last, rollback from a backup, and rollback to a version without down files", async () => {
    const lock = await s.comment("/autopilot lock production release freeze", { login: ADMIN });
    assert.match((await s.answered(1, lock)).reply, /production\*\* is locked by @ada: release freeze/);
    const sha = await s.push({ "migrations/0002_orders.sql": "create table orders (id bigint primary key, customer_id bigint);\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "action_required");
    assert.match(run.output.title!, /locked by @ada/);
    assert.match(run.output.summary!, /release freeze/);
    assert.deepEqual(await storedMigrateRun(s, sha), { status: "action_required", waiting_for: "lock" });
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'orders'"))[0].n, 0);

    const unlock = await s.comment("/autopilot unlock production", { login: ADMIN });
    assert.match((await s.answered(1, unlock)).reply, /is unlocked/);
    const migrate = await s.comment("/autopilot migrate", { login: WRITER });
    const { reply } = await s.answered(1, migrate, 40_000);
    assert.match(reply, /\*\*migrate production\*\*: Applied 1 migration to production/);
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'orders'"))[0].n, 1);

    await rollbackLastRevertsDownFilesInReverseOrder(s);
    await rollbackWithoutDownFilesRestoresTheBackup(s);
    await rollbackToAVersionNamesTheMissingDownFiles(s);
  });

  test("a successful migration creates a GitHub deployment for the environment", () => {
    const deployments = s.github.deployments(REPO);
    assert.ok(deployments.some((d: any) => d.environment === "production" && d.statuses.some((st: any) => st.state === "success")));
  });

  test("a backup id of another repository is refused", async () => {
    await s.storeQuery(
      "insert into backups (id, repo, environment, status, path) values ('bk_20250101000000_abcdef', 'evil/other', 'production', 'ok', '/tmp/x.dump')",
    );
    const id = await s.comment("/autopilot rollback bk_20250101000000_abcdef", { login: ADMIN });
    const { reply } = await s.answered(1, id, 40_000);
    assert.match(reply, /there is no backup bk_20250101000000_abcdef of acme\/shop/);
  });

  test("backup takes a verified backup and answers with its id", async () => {
    const id = await s.comment("/autopilot backup", { login: WRITER });
    const { reply } = await s.answered(1, id, 40_000);
    assert.match(reply, /\*\*backup production\*\*: `bk_\d{14}_[0-9a-f]{6}`/);
  });

  test("the Roll back button reverts its own run, by whoever pressed it, with their authorization (on a check run id past 2^32)", async () => {
    const sha = await s.push({
      "migrations/0007_button.sql": "create table pressed (id bigint);\n",
      "migrations/0007_button.down.sql": "drop table pressed;\n",
    });
    const run = await s.completedCheckRun(sha);
    assert.ok(run.id > 2 ** 32, `GitHub's check run ids are 64-bit; the fake's too: ${run.id}`);
    const [migrateRun] = await s.storeQuery("select id::int from runs where kind = 'migrate' and commit_sha = $1", [sha]);
    assert.deepEqual(
      run.actions.map((a) => a.identifier),
      [`rollback:${migrateRun.id}`],
    );
    const press = (login: string) =>
      sendWebhook(s.app.url, {
        event: "check_run",
        secret: WEBHOOK_SECRET,
        payload: checkRunPayload({
          action: "requested_action",
          repo: REPO,
          installationId: INSTALLATION_ID,
          headSha: sha,
          checkRunId: run.id,
          name: "autopilot/migrate",
          appId: 1,
          requestedAction: `rollback:${migrateRun.id}`,
          login,
        }),
      });
    await press(WRITER);
    await waitFor("the writer's press refused", async () => {
      const [press] = await s.storeQuery("select status, title from runs where trigger = 'button' and requested_by = $1", [WRITER]);
      return press?.status === "failure" && /admin/.test(press.title) ? press : undefined;
    });
    assert.equal(
      (await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'pressed'"))[0].n,
      1,
      "a writer may not roll back production",
    );
    await press(ADMIN);
    await waitFor(
      "the button's rollback",
      async () => (await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'pressed'"))[0].n === 0,
    );
  });

  test("every command and refusal is in the audit trail", async () => {
    // One of each, answered before the trail is read: a status, a refused and an allowed rollback, a lock, an unlock and a backup.
    const commands: [string, string][] = [
      ["/autopilot status", READER],
      ["/autopilot rollback", WRITER],
      ["/autopilot lock production audit", ADMIN],
      ["/autopilot unlock production", ADMIN],
      ["/autopilot backup", WRITER],
      ["/autopilot rollback", ADMIN],
    ];
    for (const [body, login] of commands) await s.answered(1, await s.comment(body, { login }), 40_000);
    const rows = await s.storeQuery("select actor, action, outcome from audit where action not in ('migrate')");
    const seen = new Set(rows.map((r) => `${r.action}:${r.outcome}`));
    for (const expected of ["lock:success", "unlock:success", "rollback:refused", "rollback:success", "backup:success", "status:success"]) {
      assert.ok(seen.has(expected), `${expected} missing from ${[...seen].join(", ")}`);
    }
  });
});

describe("approvals", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    permissions(s);
  });
  after(() => s.stop());

  test("an environment with approvals: 2 waits for two writers, then migrates by itself", async () => {
    const config = "environments:\n  - { branch: main, environment: production, approvals: 2 }\n";
    const sha = s.commit({ ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": config });
    s.github.setPullsForCommit(REPO, sha, [{ number: 21, merged_at: new Date().toISOString() }]);
    s.github.setReviews(REPO, 21, [{ user: READER, state: "APPROVED" }]);
    await s.deliverPush(sha);
    let run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "action_required");
    assert.equal(run.output.title, "Waiting for approval (0 of 2)", "a reader's review does not count");
    assert.deepEqual(await storedMigrateRun(s, sha), { status: "action_required", waiting_for: "approval" });
    assert.ok(run.id > 2 ** 32, `a 64-bit check run id: ${run.id}`);
    assert.deepEqual(
      run.actions.map((a) => a.identifier),
      ["approve"],
    );

    const id = await s.comment("/autopilot approve", { login: WRITER, issueNumber: 21, isPullRequest: true });
    await s.answered(21, id);
    run = await waitFor("1 of 2", () =>
      s.checkRun(sha)?.output.title === "Waiting for approval (1 of 2)" && s.checkRun(sha)?.status === "completed" ? s.checkRun(sha) : undefined,
    );
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'customers'"))[0].n, 0);

    await sendWebhook(s.app.url, {
      event: "check_run",
      secret: WEBHOOK_SECRET,
      payload: checkRunPayload({
        action: "requested_action",
        repo: REPO,
        installationId: INSTALLATION_ID,
        headSha: sha,
        checkRunId: run.id,
        name: "autopilot/migrate",
        appId: 1,
        requestedAction: "approve",
        login: WRITER2,
      }),
    });
    await waitFor("the migration", () => s.checkRun(sha)?.conclusion === "success", 40_000);
    assert.equal((await s.targetQuery("select count(*)::int as n from customers"))[0].n, 2);
    assert.deepEqual(await storedMigrateRun(s, sha), { status: "success", waiting_for: null }, "the approved run waits for nothing any more");
  });
});

/** The stored state of the newest migrate run of a commit, once it is finished (it is stored just after its Check Run completes). */
function storedMigrateRun(s: Scenario, sha: string) {
  return waitFor(`the stored migrate run of ${sha.slice(0, 7)}`, async () => {
    const [run] = await s.storeQuery("select status, waiting_for from runs where kind = 'migrate' and commit_sha = $1 order by id desc limit 1", [sha]);
    return run && !["queued", "in_progress"].includes(run.status) ? run : undefined;
  });
}

/** Rollback last with down files reverts in reverse order, after a safety backup. */
async function rollbackLastRevertsDownFilesInReverseOrder(s: Scenario): Promise<void> {
  const sha = await s.push({
    "migrations/0003_loyalty.sql": "create table loyalty (id bigint primary key);\n",
    "migrations/0003_loyalty.down.sql": "drop table loyalty;\n",
    "migrations/0004_points.sql": "alter table loyalty add column points bigint not null default 0;\n",
    "migrations/0004_points.down.sql": "alter table loyalty drop column points;\n",
  });
  assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  const backupsBefore = (await s.storeQuery("select count(*)::int as n from backups"))[0].n;
  const id = await s.comment("/autopilot rollback last", { login: ADMIN });
  const { reply, reactions } = await s.answered(1, id, 40_000);
  assert.match(reply, /\*\*rollback production\*\*: Reverted 2 migrations on production/);
  assert.ok(reactions.includes("rocket"));
  assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'loyalty'"))[0].n, 0);
  const history = await s.targetQuery("select version, reverted_at is not null as reverted from autopilot.schema_migrations order by version");
  assert.deepEqual(
    history.map((h) => `${h.version}:${h.reverted}`),
    ["0001:false", "0002:false", "0003:true", "0004:true"],
  );
  assert.equal((await s.storeQuery("select count(*)::int as n from backups"))[0].n, backupsBefore + 1, "a safety backup first");
  const check = s.github.checkRuns(REPO).find((c) => c.name === "autopilot/rollback" && c.status === "completed");
  assert.equal(check?.conclusion, "success");
}

/** Rollback of a run without down files restores that run's backup. */
async function rollbackWithoutDownFilesRestoresTheBackup(s: Scenario): Promise<void> {
  const sha = await s.push({ "migrations/0005_rows.sql": "insert into customers (email) values ('x@example.org'), ('y@example.org');\n" });
  assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  assert.equal((await s.targetQuery("select count(*)::int as n from customers"))[0].n, 4);
  // The restore discards the run's inserts: it waits for a confirmation unless given one.
  const id = await s.comment("/autopilot rollback --confirm", { login: ADMIN });
  const { reply } = await s.answered(1, id, 40_000);
  assert.match(reply, /Restored production from backup bk_/);
  assert.equal((await s.targetQuery("select count(*)::int as n from customers"))[0].n, 2);
  const history = await s.targetQuery("select version from autopilot.schema_migrations where reverted_at is null order by version");
  assert.deepEqual(
    history.map((h) => h.version),
    ["0001", "0002"],
  );
}

/** Rollback to a version refuses, naming the missing down files. */
async function rollbackToAVersionNamesTheMissingDownFiles(s: Scenario): Promise<void> {
  const sha = await s.push({ "migrations/0006_more.sql": "create table more_stuff (id bigint);\n" });
  assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  const id = await s.comment("/autopilot rollback production 0001", { login: ADMIN });
  const { reply, reactions } = await s.answered(1, id, 40_000);
  assert.match(reply, /no down file: .*migrations\/0002_orders\.down\.sql/);
  assert.ok(reactions.includes("confused"));
  assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'more_stuff'"))[0].n, 1);
}
