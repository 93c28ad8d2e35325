// Forks' pull requests through the app with `forks.rehearse: true`: their SQL runs sandboxed on
// the shadow server (here the test cluster's superuser, the worst case), and whatever it tries, the
// shadow server, the other rehearsals and the public output stay clean.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";

const MARKER = "<!-- autopilot:plan -->";

describe("plans of forks' pull requests, rehearsed in a sandbox", () => {
  let s: Scenario;
  let main: Record<string, string>;
  before(async () => {
    s = await Scenario.start({ shadow: true, serverExtra: "forks:\n  rehearse: true\n  statement_timeout: 1s\n  rehearsal_timeout_seconds: 8" });
    main = shopRepo(["0001_init.sql", "0002_orders.sql"]);
    const sha = await s.push(main);
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  });
  after(() => s.stop());

  /** A fork's pull request, seeded in the fake so that the plan's comment has somewhere to go. */
  function forkPullRequest(number: number, changes: Record<string, string>): Promise<string> {
    s.github.addIssue(REPO, { number, title: `fork pull request ${number}` });
    return s.pullRequest(number, changes, { fork: true });
  }

  /** The Check Run and the sticky comment of a pull request: everything a fork's author can read. */
  async function publicPlan(number: number, sha: string) {
    const run = await s.completedPlan(sha, 90_000); // generous: the machine running the tests may be busy
    const comment = await waitFor(`the plan comment on #${number} for ${sha.slice(0, 7)}`, () =>
      s.github.comments(REPO, number).find((c) => c.body.includes(MARKER) && c.body.includes(sha.slice(0, 7))),
    );
    return { run, text: JSON.stringify(run.output) + comment.body };
  }

  const leftovers = async () => {
    const databases = await s.storeQuery("select datname as name from pg_database where datname like 'autopilot\\_scratch\\_%'");
    const roles = await s.storeQuery("select rolname as name from pg_roles where rolname like 'autopilot\\_scratch\\_%'");
    return [...databases, ...roles].map((r) => r.name);
  };

  test("a fork that makes its role read-only and RAISEs the server's databases and roles: SQLSTATE and line only", async () => {
    s.resetFiles(main);
    const sha = await forkPullRequest(21, {
      "migrations/0003_read_only.sql": "alter role current_user set default_transaction_read_only = on;\n",
      "migrations/0004_leak.sql":
        "create table t (id int);\ndo $$ begin raise exception '%', (select string_agg(datname, ',') from pg_database) " +
        "using detail = (select string_agg(rolname, ',') from pg_roles); end $$;\n",
    });
    const { run, text } = await publicPlan(21, sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.title!, /rehearsal failed/);
    const annotation = run.output.annotations.find((a) => a.title === "rehearsal failed");
    assert.deepEqual(
      [annotation?.path, annotation?.start_line, annotation?.message],
      ["migrations/0004_leak.sql", 2, "failed with SQLSTATE P0001 (a fork's rehearsal shows no error text)"],
    );
    assert.match(text, /`migrations\/0004_leak\.sql:2` failed with SQLSTATE P0001/);
    assert.match(text, /ran as a throw-away unprivileged role, each statement limited to 1s/);
    for (const name of [s.store.name, s.target.name, "template0", "pg_read_all_data", "shop"]) {
      assert.ok(!text.includes(name), `the public plan names ${name}`);
    }
    assert.deepEqual(await leftovers(), []);
    const settings = await s.storeQuery("select setrole::regrole::text as role from pg_db_role_setting");
    assert.deepEqual(settings, [], "the shadow role (and every other) keeps its defaults");
  });

  test("a fork that sleeps forever with the timeout lifted is stopped at the ceiling; the next plans rehearse", async () => {
    s.resetFiles(main);
    const started = Date.now();
    const sha = await forkPullRequest(22, { "migrations/0003_sleep.sql": "set statement_timeout = 0;\nselect pg_sleep(3600);\n" });
    const { run, text } = await publicPlan(22, sha);
    assert.ok(Date.now() - started < 40_000, `the plan took ${Date.now() - started} ms`);
    assert.equal(run.conclusion, "failure");
    assert.match(text, /ran longer than the 8 s a fork's rehearsal may take/);
    const sessions = await s.storeQuery("select pid from pg_stat_activity where query like '%pg_sleep(3600)%' and pid <> pg_backend_pid()");
    assert.deepEqual(sessions, [], "no worker or session is held");
    assert.deepEqual(await leftovers(), []);

    s.resetFiles(main);
    const sameRepo = await s.pullRequest(23, { "migrations/0003_ok.sql": "create table from_branch (id bigint primary key);\n" });
    const sameRun = await s.completedPlan(sameRepo, 90_000);
    assert.equal(sameRun.conclusion, "success", sameRun.output.summary ?? "");
    assert.match(sameRun.output.title!, /rehearsal passed/);
    assert.doesNotMatch(sameRun.output.summary!, /throw-away unprivileged role/, "a same-repository pull request is rehearsed as before");

    s.resetFiles(main);
    const fork = await forkPullRequest(24, { "migrations/0003_fork.sql": "create table from_fork (id bigint primary key);\n" });
    const forkPlan = await publicPlan(24, fork);
    assert.equal(forkPlan.run.conclusion, "success", forkPlan.run.output.summary ?? "");
    assert.match(forkPlan.run.output.title!, /rehearsal passed/);
    assert.deepEqual(await leftovers(), []);
  });
});
