// Each installation's writes go one at a time, the most urgent kind of run first (github/api/write-lanes.ts),
// over real HTTP to the fake GitHub, through Probot's own client and, where it matters, its real throttling.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ProbotOctokit } from "probot";
import { WriteLanes } from "../src/github/api/write-lanes.js";
import type { RunKind } from "../src/store/run-requests.js";
import { generateAppKey } from "./harness/app-key.js";
import { FakeGitHub } from "./harness/fake-github.js";

const key = generateAppKey();
// Beyond 32 bits, as GitHub's ids are.
const SHOP = 9_007_199_254_740;
const BLOG = 9_007_199_254_741;

describe("GitHub write lanes", () => {
  let fake: FakeGitHub;
  let shopSha: string;
  let blogSha: string;

  before(async () => {
    fake = await FakeGitHub.start({ privateKey: key });
    fake.addRepo("acme/shop", { installationId: SHOP });
    fake.addRepo("acme/blog", { installationId: BLOG });
    shopSha = fake.commit("acme/shop", { "README.md": "shop" });
    blogSha = fake.commit("acme/blog", { "README.md": "blog" });
  });
  after(() => fake.close());

  /** A client as Probot's `auth(installationId)` builds it; `throttled`: with its throttling keyed by the installation, as in production. */
  function client(lanes: WriteLanes, installationId: number, kind: RunKind, throttled = false) {
    const throttle = throttled ? { id: String(installationId), onSecondaryRateLimit: () => undefined, onRateLimit: () => false } : { enabled: false as const };
    const github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId }, throttle });
    return lanes.order(github, installationId, kind);
  }

  const createCheck = (github: ReturnType<typeof client>, repo: "shop" | "blog", name: string) =>
    github.rest.checks.create({ owner: "acme", repo, name, head_sha: repo === "shop" ? shopSha : blogSha, status: "in_progress" });

  test("under Probot's one write a second, a migration's write goes before the plans' queued earlier; plans keep their order", async () => {
    const lanes = new WriteLanes();
    // Authenticate first, so the writes below are the only requests the throttle spaces.
    const plan = client(lanes, SHOP, "plan", true);
    const migration = client(lanes, SHOP, "migrate", true);
    await Promise.all([plan.rest.repos.get({ owner: "acme", repo: "shop" }), migration.rest.repos.get({ owner: "acme", repo: "shop" })]);
    const before = fake.checkRuns("acme/shop").length;
    const plans = [0, 1, 2, 3].map((i) => createCheck(plan, "shop", `plan-${i}`));
    // The migration's write comes once the first plan's is answered and the next one is going out.
    await plans[0];
    await Promise.all([...plans, createCheck(migration, "shop", "migrate")]);
    const order = fake
      .checkRuns("acme/shop")
      .slice(before)
      .map((c) => c.name);
    // plan-1 was already handed to the throttle, waiting out its second; in the throttle's arrival
    // order the migration's would have been last (checked without the lanes).
    assert.deepEqual(order, ["plan-0", "plan-1", "migrate", "plan-2", "plan-3"]);
  });

  test("reads are not held behind a slow write", async () => {
    const lanes = new WriteLanes();
    const plan = client(lanes, SHOP, "plan");
    await plan.rest.repos.get({ owner: "acme", repo: "shop" });
    fake.answerLate("POST", /^\/repos\/acme\/shop\/check-runs$/, 600);
    const finished: string[] = [];
    const write = createCheck(plan, "shop", "slow").then(() => finished.push("write"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await plan.rest.repos.get({ owner: "acme", repo: "shop" }).then(() => finished.push("read"));
    await write;
    assert.deepEqual(finished, ["read", "write"]);
  });

  test("one installation's slow write does not hold another installation's", async () => {
    const lanes = new WriteLanes();
    const shop = client(lanes, SHOP, "scan");
    const blog = client(lanes, BLOG, "scan");
    await Promise.all([shop.rest.repos.get({ owner: "acme", repo: "shop" }), blog.rest.repos.get({ owner: "acme", repo: "blog" })]);
    fake.answerLate("POST", /^\/repos\/acme\/shop\/check-runs$/, 600);
    const finished: string[] = [];
    const slow = createCheck(shop, "shop", "slow").then(() => finished.push("shop"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await createCheck(blog, "blog", "quick").then(() => finished.push("blog"));
    await slow;
    assert.deepEqual(finished, ["blog", "shop"]);
  });

  test("a refused write frees the lane for the next", async () => {
    const lanes = new WriteLanes();
    const migration = client(lanes, SHOP, "migrate");
    await migration.rest.repos.get({ owner: "acme", repo: "shop" });
    fake.failNext("POST", /^\/repos\/acme\/shop\/check-runs$/, 422);
    const [refused, next] = await Promise.allSettled([createCheck(migration, "shop", "refused"), createCheck(migration, "shop", "next")]);
    assert.equal(refused.status, "rejected");
    assert.equal((refused as PromiseRejectedResult).reason.status, 422);
    assert.equal(next.status, "fulfilled");
    assert.equal(fake.checkRuns("acme/shop").at(-1)?.name, "next");
  });
});
