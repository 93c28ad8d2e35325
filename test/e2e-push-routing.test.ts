// Routing pushes to branches no environment maps, on two replicas of the app over one store: once a
// replica has the default branch's config, such pushes cost no request to GitHub at all; a push to
// the default branch that maps a new branch is heard by the other replica at once (a notification on
// the store), so the very next push to that branch, delivered there, is recorded.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor, WEBHOOK_SECRET, type RunningApp } from "./harness/app-process.js";
import { pushPayload, sendWebhook } from "./harness/webhooks.js";

const CONFIG = ".github/autopilot.yml";

describe("push routing on two replicas", () => {
  let s: Scenario;
  let other: RunningApp;
  let main: Record<string, string>;
  before(async () => {
    // Discovery once an hour: every config request the test counts is a push's.
    s = await Scenario.start({ serverExtra: "health:\n  discovery_seconds: 3600" });
    main = shopRepo(["0001_init.sql"]);
    const sha = await s.push(main);
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
    other = await s.startAnotherApp();
  });
  after(async () => {
    await other?.stop();
    await s.stop();
  });

  const configRequests = () => s.github.requests.filter((r) => r.path.includes("/contents/.github")).length;
  const runsOf = async (ref: string) => (await s.storeQuery<{ n: number }>("select count(*)::int as n from runs where ref = $1", [ref]))[0].n;
  async function pushTo(app: RunningApp, branch: string, files: Record<string, string>): Promise<void> {
    const sha = s.github.commit(REPO, files, { branch });
    const payload = pushPayload({ repo: REPO, ref: `refs/heads/${branch}`, before: "0".repeat(40), after: sha, installationId: INSTALLATION_ID });
    const response = await sendWebhook(app.url, { event: "push", payload, secret: WEBHOOK_SECRET });
    assert.equal(response.status, 200, response.body);
  }

  test("pushes to an unmapped branch, on either replica, read the config at most once per replica", async () => {
    const before = configRequests();
    for (let i = 0; i < 20; i++) await pushTo(i % 2 ? other : s.app, "feature/burst", { ...main, "notes.txt": `draft ${i}` });
    assert.equal(await runsOf("refs/heads/feature/burst"), 0, "nothing recorded");
    assert.ok(configRequests() - before <= 2, `${configRequests() - before} config requests for 20 pushes (at most one per replica)`);

    const quiet = configRequests();
    for (let i = 0; i < 10; i++) await pushTo(i % 2 ? other : s.app, "feature/burst", { ...main, "notes.txt": `again ${i}` });
    assert.equal(configRequests(), quiet, "no request at all once both replicas have the config");
  });

  test("a push to main that maps a new branch reaches the other replica's routing at once", async () => {
    main = { ...main, [CONFIG]: `${main[CONFIG]}  - { branch: "feature/new", environment: review }\n` };
    await pushTo(s.app, "main", main);
    await pushTo(other, "feature/new", main);
    await waitFor("the push to the newly mapped branch recorded", async () => (await runsOf("refs/heads/feature/new")) === 1);
  });

  test("no request body GitHub would reject was sent", () => {
    assert.deepEqual(s.github.violations, []);
  });
});
