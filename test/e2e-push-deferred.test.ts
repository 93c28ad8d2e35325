// A push whose repository's config the replica does not hold (after a start, or once the default
// branch moved) is answered at once and routed behind the answer: a slow GitHub (config reads answered
// 3 s late) costs the acknowledgement nothing, a mapped branch still gets its run, an unmapped one
// none, a redelivery is routed once, and a push kept by a replica that stopped before routing it is
// routed by another replica's sweep (one kept for a day is dropped, saying so).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { INSTALLATION_ID, REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor, WEBHOOK_SECRET, type RunningApp } from "./harness/app-process.js";
import { pushPayload, sendWebhook } from "./harness/webhooks.js";

const CONFIG = ".github/autopilot.yml";
const CONFIG_READ = /\/contents\/\.github/;
const LATE_MS = 3_000;

describe("pushes answered before their config is at hand", () => {
  let s: Scenario;
  let other: RunningApp | undefined;
  let main: Record<string, string>;
  before(async () => {
    // Discovery once an hour: it does not warm the cache while the test looks.
    s = await Scenario.start({ serverExtra: "health:\n  discovery_seconds: 3600" });
    main = shopRepo(["0001_init.sql"]);
    main = { ...main, [CONFIG]: `${main[CONFIG]}  - { branch: "release/next", environment: review }\n` };
    const sha = await s.push(main);
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  });
  after(async () => {
    await other?.stop();
    await s.stop();
  });

  const configAnswers = () => s.github.requests.filter((r) => CONFIG_READ.test(r.path)).length;
  const runsOf = async (ref: string) => (await s.storeQuery<{ n: number }>("select count(*)::int as n from runs where ref = $1", [ref]))[0].n;
  const kept = async () => (await s.storeQuery<{ delivery_id: string }>("select delivery_id from pushes_to_route")).map((r) => r.delivery_id);

  async function pushTo(app: RunningApp, branch: string, deliveryId: string = randomUUID()): Promise<string> {
    const sha = s.github.commit(REPO, { ...main, "notes.txt": `${branch} ${deliveryId}` }, { branch });
    const payload = pushPayload({ repo: REPO, ref: `refs/heads/${branch}`, before: "0".repeat(40), after: sha, installationId: INSTALLATION_ID });
    const response = await sendWebhook(app.url, { event: "push", payload, secret: WEBHOOK_SECRET, deliveryId });
    assert.equal(response.status, 200, response.body);
    return deliveryId;
  }

  /**
   * A push to main forgets the config on every replica, and its job asks for it again, answered late
   * (as every config read for a while): the next push to another branch finds no config it trusts.
   * Returns the push's commit.
   */
  async function forgetConfigOnSlowGitHub(): Promise<string> {
    s.github.answerLate("GET", CONFIG_READ, LATE_MS, 5);
    const sha = s.github.commit(REPO, main, { branch: "main" });
    const payload = pushPayload({ repo: REPO, ref: "refs/heads/main", before: "0".repeat(40), after: sha, installationId: INSTALLATION_ID });
    assert.equal((await sendWebhook(s.app.url, { event: "push", payload, secret: WEBHOOK_SECRET })).status, 200);
    return sha;
  }

  test("a push to a mapped branch is answered before the config read and recorded after it", async () => {
    const answeredBefore = configAnswers();
    const mainPush = await forgetConfigOnSlowGitHub();
    const delivery = await pushTo(s.app, "release/next");
    assert.equal(configAnswers(), answeredBefore, "answered while GitHub still held the config");
    assert.deepEqual(await kept(), [delivery], "kept in the store until routed");
    assert.equal(await runsOf("refs/heads/release/next"), 0);

    await waitFor("the push's run recorded", async () => (await runsOf("refs/heads/release/next")) === 1 || undefined, 30_000);
    await waitFor("the kept push forgotten", async () => (await kept()).length === 0 || undefined);
    await s.completedCheckRun(mainPush);
  });

  test("pushes to an unmapped branch and a redelivery: answered at once, one config read, no run, nothing kept", async () => {
    const answeredBefore = configAnswers();
    const mainPush = await forgetConfigOnSlowGitHub();
    const first = await pushTo(s.app, "feature/cold");
    await pushTo(s.app, "feature/cold");
    await pushTo(s.app, "feature/cold", first);
    assert.equal(configAnswers(), answeredBefore, "all three answered before the config was");
    assert.equal((await kept()).length, 2, "two deliveries kept (the redelivery is the first one's)");
    await waitFor("the kept pushes forgotten", async () => (await kept()).length === 0 || undefined, 30_000);
    assert.equal(await runsOf("refs/heads/feature/cold"), 0, "nothing recorded for an unmapped branch");
    await s.completedCheckRun(mainPush);
    assert.ok(
      configAnswers() - answeredBefore <= 3,
      `the waiting pushes shared a read (${configAnswers() - answeredBefore} config reads with the main push's job)`,
    );
  });

  test("a push kept by a replica that stopped before routing it is routed by another replica's sweep", async () => {
    const sha = s.github.commit(REPO, { ...main, "notes.txt": "left behind" }, { branch: "release/next" });
    const before = await runsOf("refs/heads/release/next");
    await s.storeQuery(
      `insert into pushes_to_route (delivery_id, repo, installation_id, ref, commit_sha, default_branch, requested_by, received_at)
       values ('left-behind-1', $1, $2, 'refs/heads/release/next', $3, 'main', 'ada', now() - interval '5 minutes')`,
      [REPO, INSTALLATION_ID, sha],
    );
    // Kept for a day: nobody could route it (the app lost the repository, say); dropped, with an error logged.
    await s.storeQuery(
      `insert into pushes_to_route (delivery_id, repo, installation_id, ref, commit_sha, default_branch, requested_by, received_at)
       values ('left-behind-day', $1, $2, 'refs/heads/release/next', $3, 'main', 'ada', now() - interval '25 hours')`,
      [REPO, INSTALLATION_ID, sha],
    );
    // A replica sweeps as it starts (and every 30 s).
    other = await s.startAnotherApp();
    await waitFor("the left-behind push routed", async () => (await kept()).length === 0 || undefined, 30_000);
    assert.equal(await runsOf("refs/heads/release/next"), before + 1);
    const [run] = await s.storeQuery("select commit_sha, delivery_id, requested_by from runs where delivery_id = 'left-behind-1'");
    assert.deepEqual(run, { commit_sha: sha, delivery_id: "left-behind-1", requested_by: "ada" });
    assert.deepEqual(await s.storeQuery("select id from runs where delivery_id = 'left-behind-day'"), [], "a day-old push is not routed");
    assert.match(s.app.output() + other.output(), /a push could not be routed for 24 hours; dropped/);
  });

  test("no request body GitHub would reject was sent", () => {
    assert.deepEqual(s.github.violations, []);
  });
});
