// Verification after a change, as a user lives it: a release that breaks the site fails its Check
// Run with the evidence; with `on_regression: rollback` Autopilot rolls it back, redeploys the
// previous release through the deploy hook, and verifies that too.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";

/** Each step backs up, migrates and probes: generous on a machine shared with other jobs. */
const LOADED_MS = 120_000;
const SERVER_HEALTH = "health:\n  allow_hosts: ['127.0.0.1']\n  discovery_seconds: 1\n  min_schedule_seconds: 1";

function repoConfig(siteUrl: string, onRegression: "comment" | "rollback"): string {
  return [
    "environments:",
    "  - { branch: main, environment: production }",
    "health:",
    // The monitor stays quiet: only verification probes the site in this story.
    '  schedule: "0 0 1 1 *"',
    '  scan_schedule: "0 0 1 1 *"',
    "  retries: 0",
    "  checks:",
    `    - { name: site, url: "${siteUrl}/health", timeout_ms: 1000 }`,
    "verify:",
    "  minutes: 1",
    `  on_regression: ${onRegression}`,
  ].join("\n");
}

describe("verify after migrate and rollback", () => {
  let s: Scenario;
  let site: Server;
  let siteUrl: string;
  /** Releases that break the site once the deploy hook has shipped them. */
  const badCommits = new Set<string>();

  before(async () => {
    s = await Scenario.start({ serverExtra: SERVER_HEALTH });
    // The site serves whatever the deploy hook shipped last: a bad commit answers 503 until a rollback redeploys.
    site = createServer((_req, res) => {
      const shipped = s.deployHook.requests.at(-1)?.body as { commit?: string; reason?: string } | undefined;
      const broken = shipped?.commit !== undefined && badCommits.has(shipped.commit) && shipped.reason !== "rollback";
      res.writeHead(broken ? 503 : 200, { "content-type": "text/plain" }).end(broken ? "down" : "ok");
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });
  after(async () => {
    await s.stop();
    await new Promise((resolve) => site.close(resolve));
  });

  test("a healthy release stays in progress while it is verified, then concludes 'verified'", async () => {
    const sha = await s.push({ ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": repoConfig(siteUrl, "comment") });
    const run = await s.completedCheckRun(sha, LOADED_MS);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    assert.equal(run.output.title, "Applied 1 migration to production; verified (1 min)");
    assert.match(run.output.summary!, /Verification: ✅ verified\*\* on \*\*production\*\* \(2 probe rounds of 1 min/);
    const titles = s.github.requests.filter((r) => r.method === "PATCH").map((r) => (r.body as { output?: { title?: string } }).output?.title);
    assert.ok(titles.includes("Verifying production (0 of 1 min)…"), `in-progress titles: ${titles.join(" | ")}`);
    // Slack hears of it after the Check Run is complete.
    await waitFor("Slack's 'verified'", () => s.slack.slackMessages().some((m) => /verified \(1 min\)/.test(m.text ?? "")));
  });

  test("a release that breaks the site fails with the evidence and keeps the Roll back button", async () => {
    const sha = s.commit({
      "migrations/0100_badges.sql": "create table badges (id int primary key);",
      "migrations/0100_badges.down.sql": "drop table badges;",
    });
    badCommits.add(sha);
    s.github.setPullsForCommit(REPO, sha, [{ number: 7, merged_at: new Date().toISOString(), title: "Add badges" }]);
    await s.deliverPush(sha);
    const run = await s.completedCheckRun(sha, LOADED_MS);
    assert.equal(run.conclusion, "failure");
    assert.equal(run.output.title, "Applied 1 migration to production; regressed: site down, site error rate 100%");
    assert.match(run.output.summary!, /`site` is down: its latest probe failed \(error rate 100% now, – in the hour before\)/);
    assert.match(run.output.summary!, /\| site \| – → 100% \|/);
    assert.ok(run.actions.some((a) => a.label === "Roll back"));
    await waitFor("Slack's 'regressed'", () =>
      s.slack.slackMessages().some((m) => (m.text ?? "").includes(`${sha.slice(0, 7)}: Applied 1 migration to production; regressed: site down`)),
    );
    assert.equal((await s.targetQuery("select to_regclass('public.badges') is not null as present"))[0].present, true, "`comment` leaves the release in place");
    const [comment] = await waitFor("the merged pull request's comment", () => {
      const found = s.github.comments(REPO, 7);
      return found.length ? found : undefined;
    });
    assert.match(comment.body, /regressed: site down/);
    assert.match(comment.body, /`site` is down: its latest probe failed/);
  });

  test("with on_regression: rollback the release is rolled back, the previous one redeployed and verified", async () => {
    const sha = s.commit({
      ".github/autopilot.yml": repoConfig(siteUrl, "rollback"),
      "migrations/0101_coupons.sql": "create table coupons (code text primary key);",
      "migrations/0101_coupons.down.sql": "drop table coupons;",
    });
    badCommits.add(sha);
    await s.deliverPush(sha);
    assert.equal((await s.completedCheckRun(sha, LOADED_MS)).conclusion, "failure");
    const rollback = await waitFor(
      `a completed rollback on ${sha.slice(0, 7)}`,
      () => {
        const run = s.checkRun(sha, "autopilot/rollback");
        return run?.status === "completed" ? run : undefined;
      },
      LOADED_MS,
    );
    assert.equal(rollback.conclusion, "success", rollback.output.summary ?? "");
    assert.equal(rollback.output.title, "Reverted 1 migration on production; verified (1 min)");
    assert.match(rollback.output.summary!, /A backup of the state before this rollback was taken first: `[^`]+`/);
    const coupons = await s.targetQuery("select to_regclass('public.coupons') is not null as present");
    assert.equal(coupons[0].present, false, "the database is back at the previous version");
    const [history] = await s.targetQuery("select reverted_at is not null as reverted from autopilot.schema_migrations where version = '0101'");
    assert.equal(history.reverted, true);
    const hook = s.deployHook.requests.at(-1)!.body as { commit: string; reason?: string };
    assert.deepEqual([hook.commit, hook.reason], [sha, "rollback"], "the rollback redeployed through the deploy hook");
    const [audit] = await s.storeQuery("select actor, outcome from audit where action = 'rollback' order by id desc limit 1");
    assert.deepEqual(audit, { actor: "autopilot", outcome: "success" });
    const [run] = await s.storeQuery("select trigger, params from runs where kind = 'rollback' order by id desc limit 1");
    assert.equal(run.trigger, "verify");
    assert.equal(run.params.destination.kind, "run");
    assert.deepEqual(s.github.violations, [], "no request body GitHub would reject");
    assert.ok(!JSON.stringify([s.github.requests, s.slack.requests.map((r) => r.rawBody)]).includes(TARGET_PASSWORD), "the target's password never leaks");
  });
});
