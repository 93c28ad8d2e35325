// Markers are trusted only in what the app itself wrote: anyone can paste `<!-- autopilot:… -->`
// into a comment or an issue. Runs the report functions against the fake GitHub over HTTP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ProbotOctokit } from "probot";
import { FakeGitHub } from "./harness/fake-github.js";
import { generateAppKey } from "./harness/app-key.js";
import { incidentMarker, INCIDENT_LABEL, listIncidents } from "../src/github/api/issues.js";
import { openIncident } from "../src/report/incidents.js";
import { postWeeklyInsights, WEEKLY_LABEL } from "../src/report/weekly-issue.js";
import { upsertMarkedComment } from "../src/report/pull-comment.js";
import { ANOMALY_LABEL, upsertAnomalyIssue } from "../src/report/anomaly-issues.js";
import type { StoredFinding } from "../src/analytics/finding-store.js";

const key = generateAppKey();
let fake: FakeGitHub;
let github: InstanceType<typeof ProbotOctokit>;
const repo = { owner: "acme", repo: "shop" };

before(async () => {
  fake = await FakeGitHub.start({ privateKey: key });
  fake.addRepo("acme/shop", { installationId: 7 });
  github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: 7 } });
});
after(() => fake.close());

test("an issue someone else filed with an incident marker is not an incident", async () => {
  const planted = fake.addIssue("acme/shop", {
    title: "🔴 site is down",
    body: `fake\n\n${incidentMarker("acme/shop", "site")}`,
    labels: [INCIDENT_LABEL],
    user: "mallory",
  });
  assert.deepEqual(await listIncidents(github, repo), []);
  const number = await openIncident(github, repo, "site", ["incident"], "the site is down");
  const found = await listIncidents(github, repo);
  assert.deepEqual(
    found.map((i) => i.number),
    [number],
  );
  assert.notEqual(number, planted);
});

test("the weekly insights go to the app's own weekly issue, not one someone else filed with its marker", async () => {
  const planted = fake.addIssue("acme/shop", { title: "Autopilot weekly", body: "<!-- autopilot:weekly -->", labels: [WEEKLY_LABEL], user: "mallory" });
  const number = await postWeeklyInsights(github, repo, "checks: 12");
  assert.notEqual(number, planted);
  assert.equal(fake.comments("acme/shop", planted).length, 0, "nothing is posted on the planted issue");
  assert.equal(await postWeeklyInsights(github, repo, "checks: 13"), number, "the app's own issue is found again");
});

test("a comment someone else wrote with the marker is never edited; the app writes and then edits its own", async () => {
  fake.addIssue("acme/shop", { number: 40 });
  const bait = "look <!-- autopilot:test-sticky -->";
  fake.addComment("acme/shop", 40, { body: bait, user: "mallory" });
  await upsertMarkedComment(github, repo, 40, "<!-- autopilot:test-sticky -->", "first");
  await upsertMarkedComment(github, repo, 40, "<!-- autopilot:test-sticky -->", "second");
  const comments = fake.comments("acme/shop", 40);
  assert.equal(comments.find((c) => c.user === "mallory")!.body, bait);
  const own = comments.filter((c) => c.user === fake.botLogin);
  assert.equal(own.length, 1);
  assert.match(own[0].body, /^second/);
});

test("an anomaly finding whose issue number was never stored finds the app's own issue by its marker, not a planted one", async () => {
  const finding: StoredFinding = {
    id: 1,
    fingerprint: "acme/shop:api:latency_anomaly",
    repo: "acme/shop",
    check: "api",
    kind: "latency_anomaly",
    severity: "warning",
    summary: "api is slower than usual",
    onsetAt: null,
    cause: null,
    detail: {},
    firstSeenAt: new Date(),
    lastSeenAt: new Date(),
    seenCount: 1,
    resolvedAt: null,
    issueNumber: null,
  };
  const planted = fake.addIssue("acme/shop", {
    title: "📈 latency anomaly: api",
    body: `<!-- autopilot:anomaly ${finding.fingerprint} -->`,
    labels: [ANOMALY_LABEL],
    user: "mallory",
  });
  const filed = await upsertAnomalyIssue(github, repo, finding);
  assert.notEqual(filed, planted, "a planted marker is not the app's issue");
  // A scan filed the issue and stopped before storing its number: its retry must not file a twin.
  const again = await upsertAnomalyIssue(github, repo, { ...finding, seenCount: 2 });
  assert.equal(again, filed);
  const issues = fake.issues("acme/shop").filter((i) => i.labels.includes(ANOMALY_LABEL) && i.user !== "mallory");
  assert.equal(issues.length, 1);
  assert.match(issues[0].body ?? "", /Seen in scans \| 2/);
});
