// The dashboard's sign-in and who-sees-what, end to end: the app as a child process, GitHub's OAuth
// web flow through the fake GitHub, the store on a real PostgreSQL.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { waitFor } from "./harness/app-process.js";
import { csrfOf, DASHBOARD_ENV, getPage, postForm, signIn, cookieHeader, cookiesOf } from "./harness/dashboard-client.js";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";

const OTHER = "umbrella/secret-lab";

describe("dashboard sign-in and permissions", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start({ env: DASHBOARD_ENV });
    s.github.setPermission(REPO, "reader", "read");
    s.github.setPermission(REPO, "writer", "write");
    // The repository's config on its default branch (a heal run reads it); nothing to migrate.
    s.commit(shopRepo([]));
    s.github.setOAuthApp(DASHBOARD_ENV.GITHUB_CLIENT_ID, DASHBOARD_ENV.GITHUB_CLIENT_SECRET);
    s.github.addRepo(OTHER, { installationId: 777_000_000_001, private: true });
    s.github.setPermission(OTHER, "stranger", "admin");
  });
  after(async () => s?.stop());

  test("signing in with GitHub shows the user's repositories only, and a signed HttpOnly SameSite=Lax cookie", async () => {
    s.github.signInAs("reader");
    const signedIn = await signIn(s.app.url);
    const line = signedIn.setCookieLines.find((l) => l.startsWith("autopilot_session="))!;
    assert.match(line, /HttpOnly/);
    assert.match(line, /SameSite=Lax/);
    assert.match(line, /Max-Age=28800/);
    assert.doesNotMatch(line, /Secure/, "plain http: a Secure cookie would never come back");
    const overview = await getPage(s.app.url, "/autopilot", signedIn.cookie);
    assert.equal(overview.status, 200);
    assert.match(overview.html, /acme\/shop/);
    assert.match(overview.html, /Signed in as <strong>reader<\/strong>/);
    assert.doesNotMatch(overview.html, /secret-lab/);
    assert.equal((await getPage(s.app.url, `/autopilot/repos/${OTHER}`, signedIn.cookie)).status, 404);
    const repoPage = await getPage(s.app.url, `/autopilot/repos/${REPO}`, signedIn.cookie);
    assert.equal(repoPage.status, 200);
    assert.match(repoPage.html, /<svg class="chart"/);
    assert.match(repoPage.html, /Runs/);
  });

  test("a cookie over https (behind a proxy) is Secure", async () => {
    const response = await fetch(`${s.app.url}/autopilot/login`, { redirect: "manual", headers: { "x-forwarded-proto": "https" } });
    assert.match(response.headers.getSetCookie()[0]!, /; Secure/);
  });

  test("a callback whose state does not match, or without the state cookie, is refused", async () => {
    s.github.signInAs("reader");
    const login = await fetch(`${s.app.url}/autopilot/login`, { redirect: "manual" });
    const authorize = await fetch(login.headers.get("location")!, { redirect: "manual" });
    const back = new URL(authorize.headers.get("location")!);
    const forged = new URL(back);
    forged.searchParams.set("state", "attacker-chosen");
    const wrong = await fetch(forged, { redirect: "manual", headers: { cookie: cookieHeader(cookiesOf(login)) } });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /state does not match/);
    const noCookie = await fetch(back, { redirect: "manual" });
    assert.equal(noCookie.status, 400);
    assert.equal(cookiesOf(wrong).autopilot_session, undefined);
  });

  test("a tampered, re-signed-expired, or store-expired session cookie is not a session", async () => {
    s.github.signInAs("writer");
    const { session } = await signIn(s.app.url);
    const [id, expiry, signature] = session.split(".") as [string, string, string];
    const tampered = `autopilot_session=${id}x.${expiry}.${signature}`;
    const page = await getPage(s.app.url, "/autopilot", tampered);
    assert.match(page.html, /Sign in with GitHub/);
    assert.doesNotMatch(page.html, /Signed in as/);
    const past = Math.floor(Date.now() / 1000) - 60;
    const payload = `${id}.${past}`;
    const expiredSig = createHmac("sha256", DASHBOARD_ENV.AUTOPILOT_SECRET).update(payload).digest("base64url");
    assert.match((await getPage(s.app.url, "/autopilot", `autopilot_session=${payload}.${expiredSig}`)).html, /Sign in with GitHub/);
    assert.match((await getPage(s.app.url, "/autopilot", `autopilot_session=${session}`)).html, /Signed in as <strong>writer/);
    await s.storeQuery("update dashboard_sessions set expires_at = now() - interval '1 second' where login = 'writer'");
    assert.match((await getPage(s.app.url, "/autopilot", `autopilot_session=${session}`)).html, /Sign in with GitHub/);
    assert.equal(
      (await postForm(s.app.url, `/autopilot/repos/${REPO}/actions`, `autopilot_session=${session}`, { verb: "heal", environment: "production" })).status,
      401,
    );
  });

  test("a form without the session's CSRF token is refused and queues nothing", async () => {
    s.github.signInAs("writer");
    const { cookie } = await signIn(s.app.url);
    const before = (await s.storeQuery("select count(*)::int as n from runs"))[0].n;
    const missing = await postForm(s.app.url, `/autopilot/repos/${REPO}/actions`, cookie, { verb: "heal", environment: "production" });
    assert.equal(missing.status, 403);
    const wrong = await postForm(s.app.url, `/autopilot/repos/${REPO}/actions`, cookie, { verb: "heal", environment: "production", csrf: "guess" });
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /CSRF/);
    assert.equal((await s.storeQuery("select count(*)::int as n from runs"))[0].n, before);
  });

  test("a reader's heal button is refused, and the refusal is in the audit trail as from the dashboard", async () => {
    s.github.signInAs("reader");
    const { cookie } = await signIn(s.app.url);
    const page = await getPage(s.app.url, `/autopilot/repos/${REPO}`, cookie);
    assert.match(page.html, /<button type="button" class="secondary" disabled title="heal on production needs write permission; @reader has read">Heal now/);
    const response = await postForm(s.app.url, `/autopilot/repos/${REPO}/actions`, cookie, {
      verb: "heal",
      environment: "production",
      csrf: csrfOf(page.html),
    });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /heal on production needs write permission/);
    const [row] = await s.storeQuery("select outcome, detail from audit where actor = 'reader' and action = 'heal'");
    assert.equal(row.outcome, "refused");
    assert.equal(row.detail.via, "dashboard");
    assert.equal((await s.storeQuery("select count(*)::int as n from runs where requested_by = 'reader'"))[0].n, 0);
  });

  test("a writer's heal now queues the heal run a slash command would, audited as done from the dashboard by them", async () => {
    s.github.signInAs("writer");
    const { cookie } = await signIn(s.app.url);
    const page = await getPage(s.app.url, `/autopilot/repos/${REPO}`, cookie);
    const response = await postForm(s.app.url, `/autopilot/repos/${REPO}/actions`, cookie, {
      verb: "heal",
      environment: "production",
      csrf: csrfOf(page.html),
    });
    assert.equal(response.status, 303);
    assert.match(response.headers.get("location")!, /\?queued=\d+$/);
    const heal = await waitFor(
      "the heal run",
      async () => (await s.storeQuery("select id, trigger from runs where kind = 'heal' and requested_by = 'writer'"))[0],
    );
    assert.equal(heal.trigger, "button");
    const [entry] = await s.storeQuery("select outcome, detail from audit where actor = 'writer' and action = 'heal'");
    assert.equal(entry.outcome, "queued");
    assert.equal(entry.detail.command, "dashboard: heal production");
    // Rollback on production needs admin: a writer's button is greyed out, and the server refuses it too.
    assert.match(page.html, /disabled title="rollback on production needs admin permission; @writer has write">Roll back last/);
  });

  test("the page lists incident issues with their link, state, duration and heal actions; the card shows pending files, the last backup's place and the last verified restore", async () => {
    const repo = REPO.toLowerCase();
    await s.storeQuery(
      `insert into incident_records (repo, issue_number, check_name, down_since, opened_at, closed_at) values
         ($1, 41, 'site', now() - interval '3 hours', now() - interval '170 minutes', now() - interval '2 hours'),
         ($1, 42, 'db', now() - interval '10 minutes', now() - interval '5 minutes', null)`,
      [repo],
    );
    await s.storeQuery(
      `insert into heal_actions (repo, check_name, action, ok, detail, at) values
         ($1, 'site', 'deploy_hook', false, 'hook answered 502', now() - interval '175 minutes'),
         ($1, 'site', 'deploy_hook', true, 'hook answered 200', now() - interval '150 minutes'),
         ($1, 'site', 'repair', true, null, now() - interval '1 day')`,
      [repo],
    );
    const [run] = await s.storeQuery(
      `insert into runs (kind, trigger, repo, installation_id, environment, ref, commit_sha, status, pending_files, finished_at)
       values ('migrate', 'push', $1, 1, 'production', 'refs/heads/main', 'abc1234', 'action_required', 3, now()) returning id`,
      [REPO],
    );
    // A job of that run in the dead-letter queue, its error quoting a connection string.
    await s.storeQuery("insert into pgboss.job (name, data, output) values ('dead-letters', $1, $2)", [
      { runId: Number(run.id) },
      { message: "connect failed: postgres://app:hunter2-secret@db.internal/shop" },
    ]);
    await s.storeQuery(
      `insert into backups (id, repo, environment, status, path, store, created_at) values
         ('bk_old', $1, 'production', 'ok', '/srv/autopilot/backups/acme/shop/production/old.dump', 'local', now() - interval '2 days'),
         ('bk_new', $1, 'production', 'ok', 'backups/acme/shop/production/bk_new.dump.enc', 's3', now() - interval '3 hours')`,
      [REPO],
    );
    await s.storeQuery(
      `insert into restore_drills (backup_id, repo, environment, started_at, finished_at, ok, details) values
         ('bk_old', $1, 'production', now() - interval '1 day', now() - interval '1 day', true, 'counts match'),
         ('bk_new', $1, 'production', now() - interval '1 hour', now() - interval '1 hour', false, 'checksum mismatch')`,
      [REPO],
    );
    s.github.signInAs("reader");
    const { cookie } = await signIn(s.app.url);
    const page = await getPage(s.app.url, `/autopilot/repos/${REPO}`, cookie);
    const rows = page.html.split("<tr>").filter((r) => r.includes("/issues/4"));
    const closed = rows.find((r) => r.includes(">#41<"))!;
    assert.match(closed, new RegExp(`href="[^"]*/${REPO}/issues/41"`));
    assert.match(closed, /closed/);
    assert.match(closed, /1 h 0 min/);
    assert.match(closed, /deploy_hook/);
    assert.doesNotMatch(closed, /repair/, "a heal outside the incident's window is not counted");
    const failedJobs = page.html.slice(page.html.indexOf('id="failed-jobs"'));
    assert.match(failedJobs, new RegExp(`migrate</td>\\s*<td>#${run.id}</td>\\s*<td>connect failed: postgres://app:`));
    assert.doesNotMatch(page.html, /hunter2-secret/);
    assert.match(failedJobs, /npx autopilot jobs retry &lt;job&gt;/);
    const open = rows.find((r) => r.includes(">#42<"))!;
    assert.match(open, /open/);
    assert.match(open, /so far/);
    assert.match(open, /none/);
    const overview = await getPage(s.app.url, "/autopilot", cookie);
    assert.match(overview.html, /Pending files<\/dt>\s*<dd>3 \(as of run #\d+\)/);
    assert.match(overview.html, /Last good backup<\/dt>\s*<dd>\s*bk_new \(3 h 0 min ago\), s3 backups\/acme\/shop\/production\/bk_new\.dump\.enc/);
    assert.match(overview.html, /Last verified restore<\/dt>\s*<dd>\s*bk_old \(24 h 0 min ago\)/);
    assert.match(overview.html, /drill of bk_new failed 1 h 0 min ago: checksum mismatch/);
  });

  test("no user token, client secret or session id is ever written to the log", async () => {
    const output = s.app.output();
    const tokens = s.github.issuedUserTokens();
    assert.ok(tokens.length >= 4, "the tests above signed in several times");
    for (const token of tokens) assert.ok(!output.includes(token), "a user token reached the log");
    assert.ok(!output.includes(DASHBOARD_ENV.GITHUB_CLIENT_SECRET));
    s.github.signInAs("writer");
    const { session } = await signIn(s.app.url);
    await getPage(s.app.url, "/autopilot", `autopilot_session=${session}`);
    assert.ok(!s.app.output().includes(session.split(".")[0]!), "a session id reached the log");
    assert.match(output, /dashboard: signed in/);
  });
});
