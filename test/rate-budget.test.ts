// GitHub's rate-limit budget per installation, read from the fake GitHub's real response headers,
// kept in a real store; secondary rate limits waited out as GitHub documents.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ProbotOctokit } from "probot";
import { RateBudgets, deferredBecause } from "../src/github/api/rate-budget.js";
import { renderMetrics } from "../src/web/metrics.js";
import { generateAppKey } from "./harness/app-key.js";
import { FakeGitHub } from "./harness/fake-github.js";
import { useTestStore } from "./harness/test-store.js";
import { waitFor } from "./harness/app-process.js";

const key = generateAppKey();
const INSTALLATION = 9_007_199_254_740; // beyond 32 bits, as GitHub's ids are

describe("GitHub rate budget", () => {
  const t = useTestStore("ratebudget");
  let fake: FakeGitHub;
  const waits: number[] = [];
  let budgets: RateBudgets;
  // As Probot's `run` builds it: its throttling only logs a secondary limit and does not retry.
  const throttle = { onSecondaryRateLimit: () => undefined, onRateLimit: () => false };
  const client = () =>
    budgets.watch(new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: INSTALLATION }, throttle }), INSTALLATION);

  before(async () => {
    fake = await FakeGitHub.start({ privateKey: key });
    fake.addRepo("acme/shop", { installationId: INSTALLATION });
    budgets = new RateBudgets(t.store.pool, async (ms) => waits.push(ms));
  });
  after(() => fake.close());

  test("plenty left: nothing is deferred", async () => {
    await client().rest.repos.get({ owner: "acme", repo: "shop" });
    assert.equal(await budgets.low(INSTALLATION), undefined);
  });

  test("below 10 % of the limit: low, stored for the other replicas, and shown in /metrics", async () => {
    fake.setRateRemaining(312);
    await client().rest.repos.get({ owner: "acme", repo: "shop" });
    const low = await budgets.low(INSTALLATION);
    assert.equal(low?.remaining, 312);
    assert.equal(low?.limit, 5000);
    assert.match(deferredBecause(low!), /^deferred: GitHub API budget of installation 9007199254740 is at 312 of 5000 \(below 10 %\) until \d\d:\d\d UTC$/);
    const replica = new RateBudgets(t.store.pool);
    await waitFor("the budget stored", async () => (await replica.low(INSTALLATION))?.remaining === 312);
    const { body } = await renderMetrics(t.store.pool);
    assert.match(body, /autopilot_github_rate_limit_remaining\{installation="9007199254740"\} 312/);
    assert.match(body, /autopilot_github_deferring_work\{installation="9007199254740"\} 1/);
    fake.setRateRemaining(4999);
    await client().rest.repos.get({ owner: "acme", repo: "shop" });
    assert.equal(await budgets.low(INSTALLATION), undefined, "back above 10 %");
  });

  test("a secondary rate limit is waited out for retry-after seconds, then the request goes through", async () => {
    waits.length = 0;
    fake.secondaryLimitNext("GET", /^\/repos\/acme\/shop$/, 7, 2);
    const { data } = await client().rest.repos.get({ owner: "acme", repo: "shop" });
    assert.equal(data.full_name, "acme/shop");
    assert.deepEqual(waits, [7000, 7000]);
  });

  test("after three waits it gives up with GitHub's error; other errors are not retried", async () => {
    waits.length = 0;
    fake.secondaryLimitNext("GET", /^\/repos\/acme\/shop$/, 1, 4);
    await assert.rejects(client().rest.repos.get({ owner: "acme", repo: "shop" }), /secondary rate limit/);
    assert.deepEqual(waits, [1000, 1000, 1000]);
    waits.length = 0;
    fake.failNext("GET", /^\/repos\/acme\/shop$/, 403);
    await assert.rejects(client().rest.repos.get({ owner: "acme", repo: "shop" }), /Injected failure/);
    assert.deepEqual(waits, [], "a plain 403 is no rate limit");
  });
});
