import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { FakeHttpSink } from "./harness/fake-http-sink.js";
import { waitFor } from "./harness/app-process.js";
import { signEvent } from "../src/web/events.js";
import { history, insertSamples } from "./harness/synthetic-health.js";
import { parsePrometheusText, valueOf } from "./harness/prometheus-text.js";

const TOKEN = "metrics-token-for-tests";
const SECRET = "events-secret-for-tests";

function postEvent(s: Scenario, body: string, signature?: string) {
  return fetch(`${s.app.url}/autopilot/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(signature ? { "x-autopilot-signature-256": signature } : {}) },
    body,
  });
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
  ].join("\n");
}

describe("metrics, alert rules and anomaly scans", () => {
  let s: Scenario;
  let site: FakeHttpSink;
  before(async () => {
    site = await FakeHttpSink.start();
    s = await Scenario.start({
      serverExtra: "health:\n  allow_hosts: ['127.0.0.1']\n  discovery_seconds: 1\n  min_schedule_seconds: 1",
      env: { AUTOPILOT_METRICS_TOKEN: TOKEN, AUTOPILOT_SECRET: SECRET },
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
    const response = await fetch(`${s.app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200);
    const metrics = parsePrometheusText(await response.text());
    assert.equal(valueOf(metrics, "autopilot_migrations_total", { repo: REPO, environment: "production", outcome: "success" }), 1);
    assert.ok((valueOf(metrics, "autopilot_health_checks_total", { repo: REPO, check: "api", status: "healthy" }) ?? 0) > 2000);
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
    s.github.setPermission(REPO, "ada", "admin");
    const id = await s.comment("/autopilot status", { login: "ada" });
    const { reply } = await s.answered(1, id, 30_000);
    assert.match(reply, /Open anomaly findings[\s\S]*api/);
  });

  test("a critical alert rule fires into an incident issue and Slack, and resolves", async () => {
    site.setStatus(503);
    const issue = await waitFor("an alert incident", () => s.github.issues(REPO).find((i) => i.title.startsWith("🔴 alert site-errors is firing")), 30_000);
    assert.ok(issue.labels.includes("autopilot"));
    assert.ok(s.slack.slackMessages().some((m) => /alert site-errors firing/.test(m.text ?? "")));
    site.setStatus(200);
  });

  test("POST /autopilot/events: signed with AUTOPILOT_SECRET, validated, then queued or recorded", async () => {
    const heal = JSON.stringify({ repo: REPO, action: "heal" });
    assert.equal((await postEvent(s, heal)).status, 401);
    assert.equal((await postEvent(s, heal, signEvent("wrong", heal))).status, 401);
    const bad = JSON.stringify({ repo: "nope", action: "explode" });
    const refused = await postEvent(s, bad, signEvent(SECRET, bad));
    assert.equal(refused.status, 422);
    assert.match(JSON.stringify(await refused.json()), /repo: must be owner\/name/);
    const queued = await postEvent(s, heal, signEvent(SECRET, heal));
    assert.equal(queued.status, 202);
    const { run } = (await queued.json()) as { run: number };
    await waitFor("the heal run", async () => (await s.storeQuery("select status from runs where id = $1", [run]))[0]?.status === "success", 30_000);
    const deployed = JSON.stringify({ repo: REPO, action: "deployed", environment: "production", commit: "abc1234" });
    assert.equal((await postEvent(s, deployed, signEvent(SECRET, deployed))).status, 202);
    assert.equal((await s.storeQuery("select count(*)::int as n from deployments where hook = 'external' and commit_sha = 'abc1234'"))[0].n, 1);
  });

  test("GET /autopilot shows runs, locks and checks behind the token", async () => {
    assert.equal((await fetch(`${s.app.url}/autopilot`)).status, 401);
    const page = await fetch(`${s.app.url}/autopilot?token=${TOKEN}`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Recent runs/);
    assert.match(html, /acme\/shop/);
    assert.match(html, /<span class="success">success<\/span>/);
  });
});
