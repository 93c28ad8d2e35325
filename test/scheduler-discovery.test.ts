// The scheduler's discovery after a start: every config is untrusted, and reading a thousand back to
// back held the event loop the webhook answers wait for. Against the fake GitHub over HTTP: the reads
// GitHub must answer are spaced out (but for the first round, the replica's warm-up before it reports
// ready), and a stop ends a paced round at once.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Probot } from "probot";
import { FakeGitHub } from "./harness/fake-github.js";
import { generateAppKey } from "./harness/app-key.js";
import { recordingLogger } from "./harness/recording-logger.js";
import { discoveryReadGapMs, HealthScheduler } from "../src/jobs/scheduler.js";
import { RepoConfigReader } from "../src/github/api/repo-files.js";
import { ListedRepositories } from "../src/github/api/repositories.js";
import { parseServerConfig } from "../src/config/server-config.js";
import { REPO_CONFIG_PATH } from "../src/config/repo-config.js";
import type { RunbookDeps } from "../src/runbooks/deps.js";

const REPOS = Array.from({ length: 20 }, (_, i) => `acme/svc-${i}`);
const INSTALLATION_ID = 2 ** 33 + 11;
const isConfigRead = (path: string) => path.includes("/contents/.github");

/** A scheduler on the fake GitHub, with what discovery uses of the runbooks' dependencies. */
function schedulerOn(fake: FakeGitHub, key: string, baseUrl = fake.apiUrl) {
  const probot = new Probot({ appId: 1, privateKey: key, baseUrl, logLevel: "fatal" });
  const configs = new RepoConfigReader();
  // As in the app, which hears default-branch moves through the store: only then is a config trusted.
  configs.listen(true);
  const log = recordingLogger();
  const deps = { serverConfig: parseServerConfig("server.yml", ""), configs, repositories: new ListedRepositories(60_000), log } as unknown as RunbookDeps;
  return { scheduler: new HealthScheduler(probot, deps), deps, log };
}

describe("discovery paces the config reads it must ask GitHub for", () => {
  const key = generateAppKey();
  let fake: FakeGitHub;
  before(async () => {
    fake = await FakeGitHub.start({ privateKey: key });
    fake.addReposWithFiles(REPOS, INSTALLATION_ID, { [REPO_CONFIG_PATH]: "health:\n  schedule: '0 3 * * *'\n  checks: []\n" });
  });
  after(() => fake.close());

  const started: HealthScheduler[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop();
  });

  function scheduler() {
    const made = schedulerOn(fake, key);
    started.push(made.scheduler);
    return made;
  }

  const configReads = (since: number) => fake.requests.filter((r) => r.receivedAt >= since && isConfigRead(r.path));

  test("a round on a 60 s interval reads untrusted configs 20 ms apart; the next round asks nothing", async () => {
    const { scheduler: s, deps } = scheduler();
    const startedAt = performance.now();
    await s.discover(60_000);
    const reads = configReads(startedAt);
    assert.equal(reads.length, REPOS.length);
    const gaps = reads.slice(1).map((r, i) => r.receivedAt - reads[i].receivedAt);
    assert.ok(Math.min(...gaps) >= 15, `reads at least ~20 ms apart: ${gaps.map((g) => g.toFixed(0)).join(", ")}`);
    assert.ok(
      REPOS.every((repo) => deps.repositories.fresh(repo)),
      "every repository listed",
    );

    const again = performance.now();
    await s.discover(60_000);
    assert.equal(configReads(again).length, 0, "trusted configs are not asked for again");
  });

  test("reads are 20 ms apart, closer only to fit in half the interval", () => {
    assert.equal(discoveryReadGapMs(1_000, 60_000), 20, "a thousand after a start: 20 s of a 60 s interval");
    assert.equal(discoveryReadGapMs(10_000, 60_000), 3, "ten thousand: packed into 30 s");
    assert.equal(discoveryReadGapMs(0, 60_000), 20);
    assert.equal(discoveryReadGapMs(20, 0), 0, "a direct round (no interval) is not paced");
  });

  test("a start's first round is the warm-up: back to back, and warmed is called when it ends", async () => {
    const { scheduler: s } = scheduler();
    const startedAt = performance.now();
    let warmedAt: number | undefined;
    s.start(3_600, () => (warmedAt = performance.now()));
    while (warmedAt === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const reads = configReads(startedAt);
    assert.equal(reads.length, REPOS.length, "every config read before warmed");
    assert.ok(reads.every((r) => r.receivedAt <= warmedAt!));
  });

  test("a failed first round still ends the warm-up (the replica does not wait for GitHub forever)", async () => {
    // GitHub answers 404 to the listing (no retry for that, unlike a refused connection).
    const { scheduler: s, log } = schedulerOn(fake, key, `${fake.apiUrl}/no-such-api`);
    started.push(s);
    let warmed = false;
    s.start(3_600, () => (warmed = true));
    while (!warmed) await new Promise((resolve) => setTimeout(resolve, 5));
    while (!log.messages.some((m) => m.includes("could not list repositories"))) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  test("a stop ends a paced round at its next repository", async () => {
    const { scheduler: s } = scheduler();
    const startedAt = performance.now();
    const round = s.discover(3_600_000); // an hour's interval: reads 20 ms apart, the round would take 400 ms
    while (configReads(startedAt).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await s.stop();
    await round;
    const stoppedAt = performance.now();
    const read = configReads(startedAt).length;
    assert.ok(read > 0 && read < REPOS.length, `stopped mid-round after ${read} reads`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(configReads(stoppedAt).length, 0, "no read after the stop");
  });
});

describe("the warm-up round reads installations side by side, each one's configs in turn", () => {
  const key = generateAppKey();
  let fake: FakeGitHub;
  const LATE_MS = 150;
  const installations = { north: 2 ** 33 + 21, south: 2 ** 33 + 22 };
  before(async () => {
    fake = await FakeGitHub.start({ privateKey: key });
    for (const [owner, installationId] of Object.entries(installations))
      fake.addReposWithFiles(
        Array.from({ length: 4 }, (_, i) => `${owner}/svc-${i}`),
        installationId,
        { [REPO_CONFIG_PATH]: "health:\n  schedule: '0 3 * * *'\n  checks: []\n" },
      );
  });
  after(() => fake.close());

  test("two installations' reads overlap; one installation's never do", async () => {
    const { scheduler: s } = schedulerOn(fake, key);
    fake.answerLate("GET", /\/contents\/\.github/, LATE_MS, 8);
    const startedAt = performance.now();
    let warmed = false;
    s.start(3_600, () => (warmed = true));
    try {
      while (!warmed) await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      await s.stop();
    }
    const readsOf = (owner: string) => fake.requests.filter((r) => r.receivedAt >= startedAt && isConfigRead(r.path) && r.path.startsWith(`/repos/${owner}/`));
    for (const owner of Object.keys(installations)) {
      const reads = readsOf(owner);
      assert.equal(reads.length, 4);
      const gaps = reads.slice(1).map((r, i) => r.receivedAt - reads[i].receivedAt);
      assert.ok(Math.min(...gaps) >= LATE_MS - 10, `${owner}'s reads one at a time: ${gaps.map((g) => g.toFixed(0)).join(", ")} ms apart`);
    }
    const [north, south] = [readsOf("north")[0].receivedAt, readsOf("south")[0].receivedAt];
    assert.ok(Math.abs(north - south) < LATE_MS, `the installations' first reads side by side (${Math.abs(north - south).toFixed(0)} ms apart)`);
  });
});
