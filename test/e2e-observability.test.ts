import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { FakeHttpSink } from "./harness/fake-http-sink.js";
import { waitFor, type RunningApp } from "./harness/app-process.js";
import { signEvent } from "../src/web/events.js";
import { history, insertSamples } from "./harness/synthetic-health.js";
import { parsePrometheusText, valueOf } from "./harness/prometheus-text.js";

const TOKEN = "metrics-token-for-tests";
const SECRET = "events-secret-for-tests";
const SHOP_SECRET = "shop-events-secret-for-tests";
const BLOG_SECRET = "blog-events-secret-for-tests";
/** A second repository in the server config, with its own events secret. */
const BLOG_TARGET = [
  "    events_secret_env: SHOP_EVENTS_SECRET",
  "  - repo: acme/blog",
  "    environment: production",
  "    database_url_env: BLOG_DATABASE_URL",
  "    events_secret_env: BLOG_EVENTS_SECRET",
].join("\n");

interface EventHeaders {
  secret?: string;
  timestamp?: string;
  deliveryId?: string;
}

/** Posts an event signed with `secret` (unsigned without), fresh unless told otherwise; returns the response and the delivery id used. */
async function postEvent(s: Scenario, body: string, opts: EventHeaders = {}) {
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const deliveryId = opts.deliveryId ?? randomUUID();
  const headers: Record<string, string> = { "content-type": "application/json", "x-autopilot-timestamp": timestamp, "x-autopilot-delivery": deliveryId };
  if (opts.secret) headers["x-autopilot-signature-256"] = signEvent(opts.secret, { timestamp, deliveryId, body });
  const response = await fetch(`${s.app.url}/autopilot/events`, { method: "POST", headers, body });
  return Object.assign(response, { deliveryId });
}

function config(siteUrl: string): string {
  return [
    "health:",
    '  schedule: "*/2 * * * * *"',
    '  scan_schedule: "*/3 * * * * *"',
    "  retries: 0",
    "  recovery_wait_seconds: 0.2",
    "  checks:",
    `    - { name: site, url: "${siteUrl}/health", timeout_ms: 1000 }`,
    "alerts:",
    "  - { name: site-errors, metric: errors_1h, condition: '>', threshold: 0, for_minutes: 0, severity: critical }",
    "  - { name: api-slow, metric: p95_response_seconds, condition: '>', threshold: 0.5, for_minutes: 0, severity: critical }",
  ].join("\n");
}

describe("metrics, alert rules and anomaly scans", () => {
  let s: Scenario;
  let site: FakeHttpSink;
  before(async () => {
    site = await FakeHttpSink.start();
    s = await Scenario.start({
      serverExtra: "health:\n  allow_hosts: ['127.0.0.1']\n  discovery_seconds: 1\n  min_schedule_seconds: 1",
      targetExtra: BLOG_TARGET,
      env: {
        AUTOPILOT_METRICS_TOKEN: TOKEN,
        AUTOPILOT_SECRET: SECRET,
        SHOP_EVENTS_SECRET: SHOP_SECRET,
        BLOG_EVENTS_SECRET: BLOG_SECRET,
        BLOG_DATABASE_URL: "postgres://blog@127.0.0.1:1/blog",
      },
    });
    // A week of history for another check, with the last three hours much slower than usual.
    const pool = new pg.Pool({ connectionString: s.store.url, max: 1 });
    await insertSamples(pool, history({ repo: REPO, check: "api", now: new Date(), days: 8, seed: 7, latencyMs: (h) => (h <= 3 ? 900 : 200) }));
    await pool.end();
    const sha = await s.push({ ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": config(site.url) });
    await s.completedCheckRun(sha);
  });
  after(async () => {
    await s.stop();
    await site.close();
  });

  test("/metrics needs the bearer token and reports from the store", async () => {
    assert.equal((await fetch(`${s.app.url}/metrics`)).status, 401);
    await waitFor("health results", async () => (await s.storeQuery("select count(*)::int as n from health_log where check_name = 'site'"))[0].n > 0);
    const scrape = async () => {
      const response = await fetch(`${s.app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.status, 200);
      return parsePrometheusText(await response.text());
    };
    assert.equal(valueOf(await scrape(), "autopilot_migrations_total", { repo: REPO, environment: "production", outcome: "success" }), 1);
    // The week of samples was written straight into the store, behind the rollups: the next roll-up
    // (every minute) counts them.
    await waitFor(
      "the backfilled week counted",
      async () => (valueOf(await scrape(), "autopilot_health_checks_total", { repo: REPO, check: "api", status: "healthy" }) ?? 0) > 2000,
      90_000,
    );
  });

  test("a latency anomaly is posted as one issue labelled anomaly, updated by later scans", async () => {
    const issue = await waitFor("an anomaly issue", () => s.github.issues(REPO).find((i) => i.labels.includes("anomaly") && /api/.test(i.title)), 30_000);
    assert.match(issue.body ?? "", /<!-- autopilot:anomaly /);
    await waitFor("a second scan", async () => (await s.storeQuery("select max(seen_count)::int as n from anomaly_findings"))[0].n >= 2, 30_000);
    assert.equal(s.github.issues(REPO).filter((i) => i.labels.includes("anomaly") && /api/.test(i.title) && i.title.includes("latency anomaly")).length, 1);
  });

  test("the first scan posts the week's insights on an 'Autopilot weekly' issue", async () => {
    const weekly = await waitFor("the weekly issue", () => s.github.issues(REPO).find((i) => i.title === "Autopilot weekly"), 30_000);
    const comment = await waitFor("its insights comment", () => s.github.comments(REPO, weekly.number).find((c) => /Autopilot insights/.test(c.body)), 30_000);
    assert.match(comment.body, /Nothing is applied automatically/);
    await s.moreRunsFinished("scan", 1);
    assert.equal(s.github.comments(REPO, weekly.number).filter((c) => /Autopilot insights/.test(c.body)).length, 1, "once a week, not every scan");
  });

  test("/autopilot status lists the open anomaly findings", async () => {
    await waitFor("a scan to find the latency anomaly", () => s.github.issues(REPO).find((i) => i.labels.includes("anomaly") && /api/.test(i.title)), 30_000);
    s.github.setPermission(REPO, "ada", "admin");
    const id = await s.comment("/autopilot status", { login: "ada" });
    const { reply } = await s.answered(1, id, 30_000);
    assert.match(reply, /Open anomaly findings[\s\S]*api/);
  });

  test("a critical alert without an incident for its subject files an issue of its own", async () => {
    const issue = await waitFor("the api-slow alert issue", () => s.github.issues(REPO).find((i) => i.title === "🔴 alert api-slow is firing (api)"), 30_000);
    assert.ok(issue.labels.includes("autopilot"));
    assert.match(issue.body ?? "", /Critical alert \*\*api-slow\*\* is firing for \*\*api\*\*: p95_response_seconds > 0\.5/);
  });

  test("a critical alert about a check that is down is a comment on its incident, not a second issue; Slack hears it", async () => {
    site.setStatus(503);
    const incident = await waitFor("the site incident", () => s.github.issues(REPO).find((i) => i.title === "🔴 site is down"), 30_000);
    await waitFor("the alert on the incident", () =>
      s.github.comments(REPO, incident.number).some((c) => /Critical alert \*\*site-errors\*\* is firing for \*\*site\*\*: errors_1h > 0/.test(c.body)),
    );
    assert.ok(s.slack.slackMessages().some((m) => /alert site-errors firing/.test(m.text ?? "")));
    assert.deepEqual(
      s.github.issues(REPO).filter((i) => i.title.includes("site-errors")),
      [],
    );
    site.setStatus(200);
  });

  test("POST /autopilot/events: signed with the repository's secret, fresh, once; validated, then queued or recorded", async () => {
    const heal = JSON.stringify({ repo: REPO, action: "heal" });
    assert.equal((await postEvent(s, heal)).status, 401);
    assert.equal((await postEvent(s, heal, { secret: "wrong" })).status, 401);
    const otherRepos = await postEvent(s, heal, { secret: BLOG_SECRET });
    assert.equal(otherRepos.status, 401, "acme/blog's secret does not authorize events for acme/shop");
    assert.match(JSON.stringify(await otherRepos.json()), /sign with the events secret of acme\/shop/);
    const unlisted = JSON.stringify({ repo: "acme/elsewhere", action: "heal" });
    assert.equal((await postEvent(s, unlisted, { secret: SECRET })).status, 401, "AUTOPILOT_SECRET only for repositories in the server config");

    const stale = await postEvent(s, heal, { secret: SHOP_SECRET, timestamp: String(Math.floor(Date.now() / 1000) - 10 * 60) });
    assert.equal(stale.status, 401);
    assert.match(JSON.stringify(await stale.json()), /stale X-Autopilot-Timestamp: \d+ s from this server's clock/);
    const undated = await fetch(`${s.app.url}/autopilot/events`, { method: "POST", body: heal, headers: { "x-autopilot-delivery": randomUUID() } });
    assert.equal(undated.status, 400);
    assert.match(JSON.stringify(await undated.json()), /X-Autopilot-Timestamp is required/);

    const bad = JSON.stringify({ repo: REPO, action: "explode" });
    const refused = await postEvent(s, bad, { secret: SHOP_SECRET });
    assert.equal(refused.status, 422);
    assert.match(JSON.stringify(await refused.json()), /action: /);

    const queued = await postEvent(s, heal, { secret: SHOP_SECRET });
    assert.equal(queued.status, 202);
    const { run } = (await queued.json()) as { run: number };
    const replay = await postEvent(s, heal, { secret: SHOP_SECRET, deliveryId: queued.deliveryId });
    assert.equal(replay.status, 409);
    assert.match(JSON.stringify(await replay.json()), /already received: a replay is refused/);
    assert.equal((await s.storeQuery("select count(*)::int as n from runs where trigger = 'event'"))[0].n, 1, "the replay queued nothing");

    const deployed = JSON.stringify({ repo: REPO, action: "deployed", environment: "production", commit: "abc1234" });
    assert.equal((await postEvent(s, deployed, { secret: SECRET })).status, 202, "AUTOPILOT_SECRET still signs for a listed repository");
    assert.equal((await s.storeQuery("select count(*)::int as n from deployments where hook = 'external' and commit_sha = 'abc1234'"))[0].n, 1);
    await waitFor("the heal run", async () => (await s.storeQuery("select status from runs where id = $1", [run]))[0]?.status === "success", 30_000);
  });

  // The shared token opens /metrics only: the dashboard is for people signed in with GitHub (test/dashboard.test.ts).
  test("the metrics token does not open /autopilot, which stays off without OAuth credentials", async () => {
    const page = await fetch(`${s.app.url}/autopilot?token=${TOKEN}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(page.status, 403);
    assert.match(await page.text(), /dashboard is off\. To turn it on, set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET/);
  });
});

describe("endpoints closed by default", () => {
  let s: Scenario;
  let publicMetrics: RunningApp | undefined;
  before(async () => {
    s = await Scenario.start();
  });
  after(async () => {
    await publicMetrics?.stop();
    await s.stop();
  });

  test("without AUTOPILOT_METRICS_TOKEN, /metrics and /autopilot answer 403 saying how to open them; /healthz stays open", async () => {
    const metrics = await fetch(`${s.app.url}/metrics`);
    assert.equal(metrics.status, 403);
    assert.match(await metrics.text(), /set AUTOPILOT_METRICS_TOKEN .* or set AUTOPILOT_METRICS_PUBLIC=true/);
    const dashboard = await fetch(`${s.app.url}/autopilot`);
    assert.equal(dashboard.status, 403);
    assert.match(await dashboard.text(), /dashboard is off\. To turn it on, set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET .* AUTOPILOT_SECRET/);
    assert.equal((await fetch(`${s.app.url}/healthz`)).status, 200);
  });

  test("without any events secret, POST /autopilot/events is off", async () => {
    const response = await postEvent(s, JSON.stringify({ repo: REPO, action: "heal" }), { secret: "anything" });
    assert.equal(response.status, 404);
  });

  test("AUTOPILOT_METRICS_PUBLIC=true opens /metrics, and only /metrics", async () => {
    publicMetrics = await s.startAnotherApp({ env: { AUTOPILOT_METRICS_PUBLIC: "true" } });
    const metrics = await fetch(`${publicMetrics.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /# TYPE autopilot_health_checks_total counter/);
    assert.equal((await fetch(`${publicMetrics.url}/autopilot`)).status, 403);
  });

  test("a value of AUTOPILOT_METRICS_PUBLIC that is not a boolean stops the app at start-up, naming it", async () => {
    await assert.rejects(
      s.startAnotherApp({ env: { AUTOPILOT_METRICS_PUBLIC: "sometimes" } }),
      /AUTOPILOT_METRICS_PUBLIC: must be true or false \(got \\?"sometimes\\?"\)/,
    );
  });
});
