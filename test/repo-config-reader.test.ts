// The config reader against the fake GitHub over HTTP: an unchanged config is re-read by a 304 and
// not parsed again (`npm run drill:load` measured parsing as the larger part of a feature-branch
// push's cost), a changed one is read in full and parsed anew.
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { ProbotOctokit } from "probot";
import { FakeGitHub } from "./harness/fake-github.js";
import { generateAppKey } from "./harness/app-key.js";
import { RepoConfigReader, TRUSTED_FOR_MS } from "../src/github/api/repo-files.js";
import { waitFor } from "./harness/app-process.js";
import { DEFAULT_SERVER_LIMITS, environmentForBranch, loadRepoConfig, REPO_CONFIG_PATH, type LoadedRepoConfig } from "../src/config/repo-config.js";

const key = generateAppKey();
const REPO = "acme/shop";
const repo = { owner: "acme", repo: "shop" };
let fake: FakeGitHub;
let github: InstanceType<typeof ProbotOctokit>;

before(async () => {
  fake = await FakeGitHub.start({ privateKey: key });
  fake.addRepo(REPO, { installationId: 7 });
  github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: 7 } });
});

/**
 * A clock of the reader's own for the tests that move time: Octokit's request pacing is shared by
 * every client in the process and remembers times, so a mocked global clock 10 minutes ahead would
 * hold the next test's requests for 10 minutes.
 */
function movableClock(): { now: () => number; tick: (ms: number) => void } {
  let now = Date.now();
  return { now: () => now, tick: (ms) => void (now += ms) };
}
after(() => fake.close());

const config = (branch: string) => `environments:\n  - { branch: ${branch}, environment: staging }\n`;

test("an unchanged config is parsed once however often it is re-read; a changed one is parsed again", async () => {
  const reader = new RepoConfigReader();
  const parsed: Array<string | null> = [];
  const parse = (text: string | null): LoadedRepoConfig => {
    parsed.push(text);
    return loadRepoConfig(text);
  };
  fake.commit(REPO, { [REPO_CONFIG_PATH]: config("staging") }, { branch: "main" });

  const first = await reader.readParsed(github, repo, "main", parse);
  const again = await Promise.all([1, 2, 3].map(() => reader.readParsed(github, repo, "main", parse)));
  assert.equal(environmentForBranch(first.config, "staging")?.environment, "staging");
  for (const result of again) assert.equal(result, first, "the same parsed config, not a new parse");
  assert.deepEqual(parsed, [config("staging")], "parsed once");
  assert.deepEqual(fake.contentReads(REPO, REPO_CONFIG_PATH), { full: 1, notModified: 1, conditionalFull: 0 }, "three reads at once were one 304");
  await reader.readParsed(github, repo, "main", parse);
  assert.deepEqual(fake.contentReads(REPO, REPO_CONFIG_PATH), { full: 1, notModified: 2, conditionalFull: 0 }, "a later read asks again");

  fake.commit(REPO, { [REPO_CONFIG_PATH]: config("feature/*") }, { branch: "main" });
  const changed = await reader.readParsed(github, repo, "main", parse);
  assert.equal(environmentForBranch(changed.config, "feature/x")?.environment, "staging", "the change is seen at once");
  assert.equal(environmentForBranch(changed.config, "staging"), undefined);
  assert.deepEqual(parsed, [config("staging"), config("feature/*")]);
  assert.equal(fake.contentReads(REPO, REPO_CONFIG_PATH).conditionalFull, 1, "the change came back in full to a conditional read");

  // Another parse (other server limits, say) never gets the first one's result.
  const other = (text: string | null) => loadRepoConfig(text, { ...DEFAULT_SERVER_LIMITS });
  assert.notEqual(await reader.readParsed(github, repo, "main", other), changed);
});

test("a repository without a config: each read asks again (a 404 is not cached) and parses the answer as no config", async () => {
  const reader = new RepoConfigReader();
  fake.addRepo("acme/empty", { installationId: 7 });
  fake.commit("acme/empty", { "README.md": "hi" }, { branch: "main" });
  const calls: Array<string | null> = [];
  const parse = (text: string | null) => (calls.push(text), loadRepoConfig(text));
  const missing = await reader.readParsed(github, { owner: "acme", repo: "empty" }, "main", parse);
  await reader.readParsed(github, { owner: "acme", repo: "empty" }, "main", parse);
  assert.deepEqual(calls, [null, null], "a 404 caches nothing: each read asks again and parses its answer");
  assert.equal(environmentForBranch(missing.config, "main")?.environment, "production", "the default rules");
});

test("a trusted read asks GitHub only while nobody listens for default-branch moves, or after one", async () => {
  const reader = new RepoConfigReader();
  const parse = (text: string | null) => loadRepoConfig(text);
  fake.commit(REPO, { [REPO_CONFIG_PATH]: config("staging") }, { branch: "main" });
  const requests = () => fake.requests.filter((r) => r.path.includes("/contents/.github") && r.path.startsWith("/repos/acme/shop/")).length;

  const before = requests();
  await reader.readParsedTrusted(github, repo, "main", parse);
  await reader.readParsedTrusted(github, repo, "main", parse);
  assert.equal(requests() - before, 2, "not listening: every read asks");

  reader.listen(true);
  await reader.readParsedTrusted(github, repo, "main", parse);
  const confirmed = requests();
  const trusted = await Promise.all([1, 2, 3].map(() => reader.readParsedTrusted(github, repo, "main", parse)));
  assert.equal(requests(), confirmed, "confirmed since listening: no request");
  assert.equal(environmentForBranch(trusted[0].config, "staging")?.environment, "staging");

  fake.commit(REPO, { [REPO_CONFIG_PATH]: config("feature/*") }, { branch: "main" });
  reader.forget("Acme/Shop");
  const moved = await reader.readParsedTrusted(github, repo, "main", parse);
  assert.equal(requests(), confirmed + 1, "the default branch moved: asked again");
  assert.equal(environmentForBranch(moved.config, "feature/x")?.environment, "staging", "and the new config routes");

  reader.listen(false);
  await reader.readParsedTrusted(github, repo, "main", parse);
  assert.equal(requests(), confirmed + 2, "listening lost: asks again");
});

test("reads at once share one request, but one after the default branch moved asks again", async () => {
  const reader = new RepoConfigReader();
  fake.addRepo("acme/burst", { installationId: 7 });
  fake.commit("acme/burst", { [REPO_CONFIG_PATH]: config("staging") }, { branch: "main" });
  const burst = { owner: "acme", repo: "burst" };
  const texts = await Promise.all(Array.from({ length: 20 }, () => reader.read(github, burst, "main")));
  assert.ok(texts.every((t) => t === config("staging")));
  assert.deepEqual(fake.contentReads("acme/burst", REPO_CONFIG_PATH), { full: 1, notModified: 0, conditionalFull: 0 }, "20 reads at once, one request");

  fake.commit("acme/burst", { [REPO_CONFIG_PATH]: config("feature/*") }, { branch: "main" });
  const before = reader.read(github, burst, "main");
  reader.forget("acme/burst");
  const after = reader.read(github, burst, "main");
  assert.notEqual(before, after, "the read after the move is its own");
  assert.equal(await after, config("feature/*"));
  await before;
  assert.equal(fake.contentReads("acme/burst", REPO_CONFIG_PATH).full, 3);
});

test("a shared read that fails fails every reader at once, and the next read asks again", async () => {
  const reader = new RepoConfigReader();
  fake.addRepo("acme/flaky", { installationId: 7 });
  fake.commit("acme/flaky", { [REPO_CONFIG_PATH]: config("staging") }, { branch: "main" });
  const flaky = { owner: "acme", repo: "flaky" };
  // 403: not retried by the client (a 5xx would be, and answered).
  fake.failNext("GET", /\/repos\/acme\/flaky\/contents\//, 403);
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => reader.read(github, flaky, "main")));
  assert.ok(
    results.every((r) => r.status === "rejected"),
    "no reader is handed a config it did not get",
  );
  assert.equal(await reader.read(github, flaky, "main"), config("staging"), "the failure is not cached");
});

test("a push whose delivery was lost: the old config is trusted for at most 10 minutes, then asked for again", async () => {
  const clock = movableClock();
  const reader = new RepoConfigReader(clock.now);
  const parse = (text: string | null) => loadRepoConfig(text);
  fake.addRepo("acme/lossy", { installationId: 7 });
  fake.commit("acme/lossy", { [REPO_CONFIG_PATH]: config("staging") }, { branch: "main" });
  const lossy = { owner: "acme", repo: "lossy" };
  reader.listen(true);
  await reader.readParsedTrusted(github, lossy, "main", parse);
  // The config changes on main, and the push's delivery never arrives: no `forget`.
  fake.commit("acme/lossy", { [REPO_CONFIG_PATH]: config("feature/*") }, { branch: "main" });
  clock.tick(TRUSTED_FOR_MS - 1000);
  const stale = await reader.readParsedTrusted(github, lossy, "main", parse);
  assert.equal(environmentForBranch(stale.config, "feature/x"), undefined, "still trusted within the bound");
  clock.tick(2000);
  const fresh = await reader.readParsedTrusted(github, lossy, "main", parse);
  assert.equal(environmentForBranch(fresh.config, "feature/x")?.environment, "staging", "past the bound it is asked for, and the change is seen");
});

test("a config read late in its trust is answered at once and renewed behind the answer, so it never runs out while in use", async () => {
  const clock = movableClock();
  const reader = new RepoConfigReader(clock.now);
  fake.addRepo("acme/busy", { installationId: 7 });
  fake.commit("acme/busy", { [REPO_CONFIG_PATH]: config("staging") }, { branch: "main" });
  const busy = { owner: "acme", repo: "busy" };
  const reads = () => fake.contentReads("acme/busy", REPO_CONFIG_PATH);
  reader.listen(true);
  await reader.readTrusted(github, busy, "main");
  clock.tick(TRUSTED_FOR_MS * 0.5);
  await reader.readTrusted(github, busy, "main");
  assert.deepEqual(reads(), { full: 1, notModified: 0, conditionalFull: 0 }, "early in its trust nothing is asked");

  // The config changed on main and the push's delivery was lost: the renewal sees it before the 10 minutes are out.
  fake.commit("acme/busy", { [REPO_CONFIG_PATH]: config("feature/*") }, { branch: "main" });
  clock.tick(TRUSTED_FOR_MS * 0.45);
  assert.equal(await reader.readTrusted(github, busy, "main"), config("staging"), "answered from the cache, not after a request");
  await waitFor("the renewal", () => reads().conditionalFull === 1, 5000);
  assert.equal(await reader.readTrusted(github, busy, "main"), config("feature/*"));

  // Renewed: past the first confirmation's 10 minutes, nothing is asked on the way.
  clock.tick(TRUSTED_FOR_MS * 0.55);
  const before = reads();
  assert.equal(await reader.readTrusted(github, busy, "main"), config("feature/*"));
  assert.deepEqual(reads(), before);
});

test("a renewal that fails loses nothing: no unhandled error, and the next read asks GitHub and is answered", async () => {
  const clock = movableClock();
  const reader = new RepoConfigReader(clock.now);
  fake.addRepo("acme/renewal", { installationId: 7 });
  fake.commit("acme/renewal", { [REPO_CONFIG_PATH]: config("staging") }, { branch: "main" });
  const renewal = { owner: "acme", repo: "renewal" };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    reader.listen(true);
    await reader.readTrusted(github, renewal, "main");
    clock.tick(TRUSTED_FOR_MS * 0.95);
    fake.failNext("GET", /\/repos\/acme\/renewal\/contents\//, 403);
    assert.equal(await reader.readTrusted(github, renewal, "main"), config("staging"));
    await waitFor("the failed renewal", () => fake.requests.some((r) => r.status === 403 && r.path.includes("/repos/acme/renewal/contents/")), 5000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
    assert.equal(await reader.readTrusted(github, renewal, "main"), config("staging"));
    assert.equal(fake.contentReads("acme/renewal", REPO_CONFIG_PATH).full, 2, "asked again in full: the failure dropped the cached entry");
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
