// Secrets, tenants and what the public sees: production row values stay out of reports unless the
// operator allows them, readers see "unreachable" without connection details, markers count only in
// the app's own comments, and a target serves one repository id, not whatever holds its name.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";
import { testServerUrl } from "./harness/postgres.js";
import { gitBlobSha, indexMigrations } from "../src/database/migration-files.js";
import { baselineHistory } from "../src/database/take-over.js";

const EMAIL = "alice.private@example.com";
const USERS = "create table users (id int primary key, email text not null unique);\n";
const COPY_ALICE_TO_BOB = "-- gives Bob Alice's address\nupdate users set email = (select email from users where id = 1) where id = 2;\n";

describe("row values in migration errors", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    // A production database that already has users, taken over by a baseline (first-run safety
    // refuses to migrate a populated database without one).
    await s.targetQuery(`${USERS} insert into users values (1, '${EMAIL}'), (2, 'bob.private@example.com')`);
    s.commit({ ...shopRepo([]), "migrations/0000_users.sql": USERS });
    const { refs } = indexMigrations([{ path: "migrations/0000_users.sql", sha: gitBlobSha(USERS) }], "migrations");
    const baselined = await baselineHistory({ databaseUrl: s.targetUrl, refs, version: "0000", by: "the test", lockWaitSeconds: 5 });
    assert.equal(baselined.kind, "recorded", JSON.stringify(baselined));
  });
  after(() => s.stop());

  test("a sticky-marker comment someone else wrote is left alone; the app writes its own", async () => {
    const bait = "I planted the plan marker here <!-- autopilot:plan -->";
    s.github.addComment(REPO, 31, { body: bait, user: "mallory" });
    const sha = await s.pullRequest(31, { "migrations/0002_more.sql": "create table more (id int);\n" });
    await s.completedPlan(sha);
    const own = await waitFor("the app's plan comment", () =>
      s.github.comments(REPO, 31).find((c) => c.user === s.github.botLogin && c.body.includes("<!-- autopilot:plan -->")),
    );
    assert.match(own.body, /Autopilot plan/);
    const planted = s.github.comments(REPO, 31).find((c) => c.user === "mallory")!;
    assert.equal(planted.body, bait, "the attacker's comment is not edited");
  });

  test("a unique violation on a production row is reported without the row's values; with the target's show_row_values the values are shown", async () => {
    const sha = s.commit({ ...shopRepo([]), "migrations/0001_dedupe.sql": COPY_ALICE_TO_BOB });
    s.github.setPullsForCommit(REPO, sha, [{ number: 7, merged_at: new Date().toISOString(), title: "Dedupe" }]);
    await s.deliverPush(sha);
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.summary!, /Key \(email\)=\(…\) already exists/, "the message keeps its shape");
    const comment = await waitFor("the merged pull request's comment", () => s.github.comments(REPO, 7).find((c) => c.body.includes("0001_dedupe failed")));
    assert.match(comment.body, /Key \(email\)=\(…\) already exists/);
    const slack = await waitFor("Slack's failure message", () => s.slack.requests.find((r) => r.rawBody.includes("0001_dedupe failed")));
    assert.match(slack.rawBody, /Key \(email\)=\(…\) already exists/);
    const published = JSON.stringify([run, s.github.comments(REPO, 7), s.slack.requests.map((r) => r.rawBody)]);
    assert.ok(!published.includes(EMAIL), "Alice's address is production data");

    // The same failing migration again, once the operator allows row values.
    await s.app.stop();
    await s.boot({ targetExtra: "    show_row_values: true" });
    const slackBefore = s.slack.requests.length;
    const again = await s.push({ "README.md": "again\n" });
    const runShowingValues = await s.completedCheckRun(again);
    assert.equal(runShowingValues.conclusion, "failure");
    assert.ok(runShowingValues.output.summary!.includes(`Key (email)=(${EMAIL}) already exists`), runShowingValues.output.summary!);
    const slackShowingValues = await waitFor("Slack's failure message", () =>
      s.slack.requests.slice(slackBefore).find((r) => r.rawBody.includes("0001_dedupe failed")),
    );
    assert.ok(slackShowingValues.rawBody.includes(EMAIL));
  });
});

describe("/autopilot status for readers", () => {
  let s: Scenario;
  before(async () => {
    const server = new URL(await testServerUrl());
    const badRole = `postgres://zed_role_x:wrong@${server.host}/postgres`;
    s = await Scenario.start({
      targetUrl: "postgres://carol_role_x:pw@db-host-x.invalid:6543/shop",
      targetExtra: ["  - repo: acme/shop", "    environment: preprod", "    database_url_env: SHOP_PREPROD_DATABASE_URL"].join("\n"),
      env: { SHOP_PREPROD_DATABASE_URL: badRole },
    });
    s.github.setPermission(REPO, "rita", "read");
    s.commit(shopRepo(["0001_init.sql"]));
  });
  after(() => s.stop());

  test("an unreachable target shows as unreachable, without hosts, ports or roles", async () => {
    const id = await s.comment("/autopilot status", { login: "rita" });
    const { reply } = await s.answered(1, id);
    assert.match(reply, /\*\*production\*\* \| ⚠️ unreachable \|/);
    assert.match(reply, /\*\*preprod\*\* \| ⚠️ unreachable \|/);
    for (const detail of ["db-host-x", "6543", "carol_role_x", "zed_role_x", "ENOTFOUND", "authentication"]) {
      assert.ok(!reply.includes(detail), `the reply shows ${detail}: ${reply}`);
    }
  });
});

describe("targets are bound to the repository's id", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
  });
  after(() => s.stop());

  // One repository's story: each step starts from the state the one before left.
  test("a repository re-created under the old name is refused, and nothing is migrated; the operator accepts it with repo_id; a repo_id that does not match is refused before anything runs", async () => {
    const first = await s.push(shopRepo(["0001_init.sql"]));
    assert.equal((await s.completedCheckRun(first)).conclusion, "success");
    const [bound] = await s.storeQuery("select repository_id::text as id from repository_bindings where repo = 'acme/shop' and environment = 'production'");
    assert.ok(bound, "the first run recorded the repository id");

    s.github.addRepo(REPO, { installationId: INSTALLATION_ID, defaultBranch: "main", id: 987654 });
    const sha = await s.push({ "migrations/0002_orders.sql": "create table impostor_orders (id int);\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.title!, /Refused: acme\/shop is not the repository production is bound to/);
    assert.match(run.output.summary!, new RegExp(`repository id ${bound.id}, but acme/shop is now repository id 987654`));
    assert.match(run.output.summary!, /`repo_id: 987654`/, "it tells the operator how to accept the new repository");
    const [table] = await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'impostor_orders'");
    assert.equal(table.n, 0, "nothing was migrated");

    // The operator accepts the new repository with repo_id.
    await s.app.stop();
    await s.boot({ targetExtra: "    repo_id: 987654" });
    const accepted = await s.push({ "README.md": "accepted\n" });
    const acceptedRun = await s.completedCheckRun(accepted);
    assert.equal(acceptedRun.conclusion, "success", acceptedRun.output.summary ?? "");
    const [acceptedTable] = await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'impostor_orders'");
    assert.equal(acceptedTable.n, 1);

    // A repo_id that does not match is refused before anything runs.
    await s.app.stop();
    await s.boot({ targetExtra: "    repo_id: 12345" });
    const mismatched = await s.push({ "migrations/0003_more.sql": "create table never_there (id int);\n" });
    const mismatchedRun = await s.completedCheckRun(mismatched);
    assert.equal(mismatchedRun.conclusion, "failure");
    assert.match(mismatchedRun.output.summary!, /binds acme\/shop \/ production to repository id 12345 \(`repo_id`\), but acme\/shop is repository id 987654/);
    const [neverThere] = await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'never_there'");
    assert.equal(neverThere.n, 0);
  });
});
