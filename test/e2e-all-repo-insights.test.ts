// Scans and weekly insights of a repository without a `health` section: it has no samples to scan, so
// the scan runs on the server's `health.scan_schedule` and posts the week's insights only once the
// week had runs: a quiet repository gets no empty "Autopilot weekly" issue.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";

// Scans every 2 s (and discovery every second) keep this short; the default is every 6 hours.
const SERVER_HEALTH = 'health:\n  discovery_seconds: 1\n  scan_schedule: "*/2 * * * * *"';

const weeklyIssue = (s: Scenario) => s.github.issues(REPO).find((i) => i.title === "Autopilot weekly");

describe("weekly insights of a repository without a health section", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start({ serverExtra: SERVER_HEALTH });
    s.commit(shopRepo([])); // its config on main (no health section), nothing run yet
  });
  after(() => s.stop());

  test("its scans run on the server's schedule, and a week without runs posts nothing", async () => {
    await s.moreRunsFinished("scan", 2);
    const [scan] = await s.storeQuery("select trigger, status from runs where kind = 'scan' and finished_at is not null order by id desc limit 1");
    assert.deepEqual(scan, { trigger: "schedule", status: "success" });
    assert.equal(weeklyIssue(s), undefined, "no weekly issue for a week with nothing in it");
    const [posted] = await s.storeQuery("select count(*)::int as n from heal_actions where action = 'weekly insights'");
    assert.equal(posted.n, 0, "not recorded as posted, so a later scan tries again");
  });

  test("once a migration ran in the week, the next scan posts its insights", async () => {
    const sha = await s.push(shopRepo(["0001_init.sql"]));
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
    const weekly = await waitFor("the weekly issue", () => weeklyIssue(s), 30_000);
    const comment = await waitFor("its insights comment", () => s.github.comments(REPO, weekly.number).find((c) => /Autopilot insights/.test(c.body)), 30_000);
    assert.match(comment.body, /\| Migrations \| 1 \(1 succeeded, 0 failed\) \|/);
    await s.moreRunsFinished("scan", 1);
    assert.equal(s.github.comments(REPO, weekly.number).filter((c) => /Autopilot insights/.test(c.body)).length, 1, "once a week, not every scan");
  });

  test("no request body GitHub would reject was sent, and the target's password went nowhere", () => {
    assert.deepEqual(s.github.violations, []);
    assert.ok(!s.everythingSent().includes(TARGET_PASSWORD));
  });
});
