// What a heal cycle tells GitHub about critical alerts, against the fake GitHub over HTTP and a real
// store: an alert issue filed before its check's incident folds into the incident, and a transition
// GitHub did not hear about is made again on the next cycle.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ProbotOctokit } from "probot";
import { FakeGitHub } from "./harness/fake-github.js";
import { generateAppKey } from "./harness/app-key.js";
import { createTestDatabase, type TestDatabase } from "./harness/postgres.js";
import { insertMigrationRun } from "./harness/synthetic-health.js";
import { openStore, type Store } from "../src/store/store.js";
import { listIncidents } from "../src/github/api/issues.js";
import { openIncident } from "../src/report/incidents.js";
import { ALERT_PREFIX, notifyAlerts, stepAlerts } from "../src/runbooks/heal-alerts.js";
import type { RunContext } from "../src/runbooks/run-context.js";
import type { RepoConfig } from "../src/config/repo-config.js";
import { parseServerConfig } from "../src/config/server-config.js";

const key = generateAppKey();
const REPO = "acme/shop";
const repo = { owner: "acme", repo: "shop" };
let fake: FakeGitHub;
let github: InstanceType<typeof ProbotOctokit>;
let db: TestDatabase;
let store: Store;
const warnings: string[] = [];

before(async () => {
  fake = await FakeGitHub.start({ privateKey: key });
  fake.addRepo(REPO, { installationId: 7 });
  github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: 7 } });
  db = await createTestDatabase("heal_alerts");
  store = await openStore(db.url);
});
after(async () => {
  await store.close();
  await db.drop();
  await fake.close();
});

/** The slice of a heal cycle's context that heal-alerts uses. */
function cycleContext(): RunContext {
  const log = { warn: (_fields: unknown, message: string) => warnings.push(message) };
  // An operator's config with no targets: no scheduled backups, so no backup-age rule.
  const serverConfig = parseServerConfig("autopilot.server.yml", "");
  return { deps: { db: store.pool, log, serverConfig }, run: { repo: REPO }, github, repo } as unknown as RunContext;
}

const silent = { silenced: () => false, now: new Date() };

test("an alert issue filed before its check's incident is closed into the incident: one outage, one open issue", async () => {
  const ctx = cycleContext();
  // GitHub refused the incident the cycle the alert fired, so the alert filed an issue of its own.
  const alertIssue = await openIncident(
    github,
    repo,
    `${ALERT_PREFIX}uptime-24h-critical:site`,
    ["incident"],
    "alert body",
    "🔴 alert uptime-24h-critical is firing (site)",
  );
  const incident = await openIncident(github, repo, "site", ["incident"], "site is down");

  await notifyAlerts(ctx, {} as RepoConfig, [], await listIncidents(github, repo), silent);

  assert.deepEqual(
    fake.comments(REPO, alertIssue).map((c) => c.body),
    [`Continued in #${incident}, the incident of **site**.`],
  );
  assert.deepEqual(
    fake.comments(REPO, incident).map((c) => c.body),
    [`🔔 The critical alert of #${alertIssue} is about this outage; it continues here.`],
  );
  const open = (await listIncidents(github, repo)).filter((i) => i.open);
  assert.deepEqual(
    open.map((i) => i.number),
    [incident],
  );

  // Folded once: the next cycle finds nothing more to move.
  await notifyAlerts(ctx, {} as RepoConfig, [], await listIncidents(github, repo), silent);
  assert.equal(fake.comments(REPO, alertIssue).length, 1);
  assert.equal(fake.comments(REPO, incident).length, 1);
});

test("a critical alert whose issue GitHub refused is filed on the next cycle, not lost", async () => {
  const ctx = cycleContext();
  const other = "acme/other";
  fake.addRepo(other, { installationId: 7 });
  const otherCtx = { ...ctx, run: { repo: other }, repo: { owner: "acme", repo: "other" } } as unknown as RunContext;
  const config = {
    alerts: [{ name: "deploy-broken", metric: "migration_failures_1h", condition: ">", threshold: 0, for_minutes: 0, severity: "critical" }],
  } as unknown as RepoConfig;
  const now = new Date();
  await insertMigrationRun(store.pool, { repo: other, commitSha: "bad", finishedAt: new Date(now.getTime() - 60_000), status: "failure" });
  const alertIssues = () => fake.issues(other).filter((i) => i.title.includes("deploy-broken"));

  fake.failNext("POST", /\/repos\/acme\/other\/issues$/, 422);
  const first = await stepAlerts(otherCtx, config, now);
  assert.deepEqual(
    first.filter((t) => t.ruleName === "deploy-broken").map((t) => t.to),
    ["firing"],
  );
  await notifyAlerts(otherCtx, config, first, await listIncidents(github, otherCtx.repo), { silenced: () => false, now });
  assert.deepEqual(alertIssues(), [], "GitHub refused the issue");
  assert.ok(warnings.includes("alert incident update failed; retried next cycle"));

  const later = new Date(now.getTime() + 10_000);
  const second = await stepAlerts(otherCtx, config, later);
  assert.deepEqual(
    second.filter((t) => t.ruleName === "deploy-broken").map((t) => `${t.from} → ${t.to}`),
    ["inactive → firing"],
    "the undelivered transition is made again",
  );
  await notifyAlerts(otherCtx, config, second, await listIncidents(github, otherCtx.repo), { silenced: () => false, now: later });
  assert.deepEqual(
    alertIssues().map((i) => i.title),
    ["🔴 alert deploy-broken is firing ()"],
  );

  const third = await stepAlerts(otherCtx, config, new Date(later.getTime() + 10_000));
  assert.deepEqual(
    third.filter((t) => t.ruleName === "deploy-broken"),
    [],
    "a delivered transition is not made again",
  );
});
