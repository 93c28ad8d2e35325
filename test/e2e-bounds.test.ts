// Bounded by default, through the real app: the backup command's rate limit, the scheduler's
// conditional config re-reads, the size of what a plan or migration takes on, and incident lookups
// that do not page through every incident ever filed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { FakeHttpSink } from "./harness/fake-http-sink.js";
import { waitFor } from "./harness/app-process.js";
import { gitBlobSha } from "./harness/fake-github.js";

const WRITER = "bob";
const CONFIG = ".github/autopilot.yml";
// Discovery every second; a 2 s schedule is allowed only because the operator lowered the floor.
const SERVER_HEALTH = "health:\n  allow_hosts: ['127.0.0.1']\n  discovery_seconds: 1\n  min_schedule_seconds: 1";

function repoConfig(health: string): string {
  return `${shopRepo([])[CONFIG]}${health}`;
}

/** A health section whose cycles never come during the test: only discovery reads the config. */
const QUIET_HEALTH = 'health:\n  schedule: "0 0 1 1 *"\n  scan_schedule: "0 0 1 1 *"\n';

function busyHealth(siteUrl: string): string {
  return [
    "health:",
    '  schedule: "*/2 * * * * *"',
    '  scan_schedule: "0 0 1 1 *"',
    "  retries: 0",
    "  recovery_wait_seconds: 0.5",
    "  checks:",
    `    - { name: site, url: "${siteUrl}/health", timeout_ms: 1000 }`,
    "",
  ].join("\n");
}

describe("bounded by default", () => {
  let s: Scenario;
  let site: FakeHttpSink;
  let main: Record<string, string>;
  before(async () => {
    site = await FakeHttpSink.start({ status: 503 });
    s = await Scenario.start({ serverExtra: SERVER_HEALTH });
    s.github.setPermission(REPO, WRITER, "write");
    main = { ...shopRepo(["0001_init.sql"]), [CONFIG]: repoConfig(QUIET_HEALTH) };
    const sha = await s.push(main);
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  });
  after(async () => {
    await s.stop();
    await site.close();
  });

  test("/autopilot backup runs once per environment per 10 minutes; the refusal says when and names the last backup", async () => {
    const first = await s.comment("/autopilot backup", { login: WRITER });
    const taken = await s.answered(1, first);
    const id = /`(bk_\d{14}_[0-9a-f]{6})`/.exec(taken.reply)?.[1];
    assert.ok(id, taken.reply);

    const second = await s.comment("/autopilot backup production", { login: WRITER });
    const refused = await s.answered(1, second);
    assert.ok(refused.reactions.includes("confused"));
    assert.match(refused.reply, /at most one backup per environment every 10 minutes; the next is allowed at (\S+Z) \(in about 10 min\)/);
    assert.match(refused.reply, new RegExp(`Last backup: \`${id}\``));
    const nextAllowed = Date.parse(/allowed at (\S+Z)/.exec(refused.reply)![1]);
    assert.ok(nextAllowed > Date.now() + 9 * 60_000 && nextAllowed <= Date.now() + 10 * 60_000, refused.reply);
    const runs = await s.storeQuery("select count(*)::int as n from runs where kind = 'backup'");
    assert.equal(runs[0].n, 1, "the refused command queued no backup");
  });

  test("a backup that fails does not count: it may be asked again at once", async () => {
    for (let i = 0; i < 2; i++) {
      const id = await s.comment("/autopilot backup preprod", { login: WRITER });
      const { reply } = await s.answered(1, id);
      assert.match(reply, /backup preprod\*\*: the server config has no target for acme\/shop \/ preprod/);
    }
  });

  // One story: the changed config's site checks are what file the incident.
  test("discovery asks nothing of an unchanged config and picks up a change after its push; its incidents are found among open and recently closed issues only, one closed long ago is not reopened", async () => {
    const reads = () => s.github.contentReads(REPO, CONFIG);
    const rounds = () => s.github.requests.filter((r) => r.method === "GET" && r.path === "/installation/repositories").length;
    await waitFor("two discovery rounds", () => rounds() >= 2);
    const before = reads();
    const round = rounds();
    await waitFor("three more discovery rounds", () => rounds() >= round + 3, 15_000);
    assert.deepEqual(reads(), before, "no push moved the default branch: the config is not asked for again");

    const sha = await s.push({ [CONFIG]: repoConfig(busyHealth(site.url)) });
    await s.completedCheckRun(sha);
    await waitFor("the changed schedule to be scheduled", () => /"schedule":"\*\/2 \* \* \* \* \*".*"msg":"scheduled"/.test(s.app.output()), 15_000);
    assert.ok(reads().conditionalFull >= 1, "the change came back in full to a conditional read");

    // The changed config checks the site, which is down.
    const marker = "<!-- autopilot:incident acme/shop site -->";
    const longAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const old = s.github.addIssue(REPO, { title: "🔴 site is down", body: `old\n\n${marker}`, labels: ["autopilot"], state: "closed", closedAt: longAgo });
    const fresh = await waitFor("a new incident issue", () =>
      s.github.issues(REPO).find((i) => i.number !== old && i.state === "open" && i.body?.includes(marker)),
    );
    assert.equal(s.github.issues(REPO).find((i) => i.number === old)?.state, "closed", "closed 2 h ago: past the reopen window");
    assert.deepEqual(fresh.labels.slice(0, 1), ["autopilot"]);

    const listings = s.github.requests.filter((r) => r.method === "GET" && r.path === "/repos/acme/shop/issues");
    assert.ok(listings.length >= 2);
    for (const r of listings) {
      assert.equal(r.query.labels, "autopilot");
      assert.ok(["open", "closed"].includes(r.query.state), `state=${r.query.state}: never every issue ever filed`);
      if (r.query.state === "closed") {
        const since = Date.parse(r.query.since);
        assert.ok(Number.isFinite(since), "closed issues are asked for since the reopen window");
        assert.ok(since > Date.now() - 3_600_000 - 60_000, `since=${r.query.since} is about an hour back`);
      }
    }
  });

  test("a migration file over 5 MB is refused by plan and migrate before anything is downloaded", async () => {
    site.setStatus(200);
    const big = `-- ${"x".repeat(80)}\n`.repeat(Math.ceil((5 * 1024 * 1024 + 1) / 84));
    const downloads = () => s.github.requests.filter((r) => r.path.endsWith(`/git/blobs/${gitBlobSha(big)}`)).length;
    const head = await s.pullRequest(21, { "migrations/0002_big.sql": big });
    const plan = await s.completedPlan(head);
    assert.equal(plan.conclusion, "failure");
    assert.match(plan.output.title!, /Refused: 0002_big\.sql is 5\.0 MB; a migration file may be at most 5\.0 MB/);
    assert.match(plan.output.summary!, /Nothing was downloaded, linted or rehearsed/);
    assert.ok(plan.output.annotations.some((a) => a.path === "migrations/0002_big.sql" && a.title === "file-too-large"));

    const sha = await s.push({ "migrations/0002_big.sql": big });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "failure");
    assert.match(run.output.title!, /Refused: 0002_big\.sql is 5\.0 MB/);
    assert.ok(run.output.annotations.some((a) => a.path === "migrations/0002_big.sql" && a.title === "file-too-large"));
    assert.equal(downloads(), 0, "the big file was never downloaded");
  });

  test("more than 1,000 pending files are refused by the plan, naming the count", async () => {
    s.resetFiles(main);
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`migrations/${String(i + 2).padStart(4, "0")}_t${i}.sql`, `select ${i};\n`]));
    const head = await s.pullRequest(22, many);
    const plan = await s.completedPlan(head, 60_000);
    assert.equal(plan.conclusion, "failure");
    assert.match(plan.output.title!, /Refused: 1001 migration files are pending; one run takes at most 1000/);
    const shas = new Set(Object.values(many).map((sql) => gitBlobSha(sql)));
    assert.equal(s.github.requests.filter((r) => shas.has(r.path.split("/").at(-1)!)).length, 0, "no file was downloaded");
  });

  test("thirty pushes to a branch no environment maps queue nothing and never read the config in full; a mapped branch still runs", async () => {
    s.resetFiles(main);
    const reads = () => s.github.contentReads(REPO, CONFIG);
    const runsOf = async (ref: string) => (await s.storeQuery<{ n: number }>("select count(*)::int as n from runs where ref = $1", [ref]))[0].n;
    await waitFor("the config cached by a conditional read", () => reads().notModified >= 1);
    const full = reads().full;
    for (let i = 0; i < 30; i++) {
      const sha = s.github.commit(REPO, { ...main, "notes.txt": `draft ${i}` }, { branch: "feature/burst" });
      await s.deliverPush(sha, "feature/burst");
    }
    assert.equal(await runsOf("refs/heads/feature/burst"), 0, "no run recorded, no job queued");
    assert.equal(reads().full, full, "every routing read was answered 304");

    const release = s.github.commit(REPO, main, { branch: "release/1.0" });
    await s.deliverPush(release, "release/1.0");
    await waitFor("the release push recorded", async () => (await runsOf("refs/heads/release/1.0")) === 1);
  });

  test("no request body GitHub would reject was sent", () => {
    assert.deepEqual(s.github.violations, []);
  });
});
