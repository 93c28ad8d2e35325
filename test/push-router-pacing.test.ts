// Push routing behind the answer reads the configs it lacks at most CONFIG_READS_AT_ONCE at a time
// per replica (after a start, every repository's first push is kept and its config read: unpaced, a
// thousand answers arrived together and their parsing held the event loop). Against the fake GitHub
// over HTTP, answering config reads late, and a real store: twelve repositories' pushes are kept,
// read four at a time, and all routed (to nothing: their branches map no environment).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ProbotOctokit } from "probot";
import { FakeGitHub } from "./harness/fake-github.js";
import { generateAppKey } from "./harness/app-key.js";
import { recordingLogger } from "./harness/recording-logger.js";
import { useTestStore } from "./harness/test-store.js";
import { waitFor } from "./harness/app-process.js";
import { RepoConfigReader } from "../src/github/api/repo-files.js";
import { loadRepoConfig, REPO_CONFIG_PATH } from "../src/config/repo-config.js";
import { CONFIG_READS_AT_ONCE, PushRouter } from "../src/jobs/push-router.js";
import type { Queue } from "../src/jobs/queue.js";

const REPOS = Array.from({ length: 12 }, (_, i) => `acme/shop-${i}`);
const INSTALLATION_ID = 2 ** 33 + 7; // a 64-bit id, as GitHub's are
const CONFIG_READ = /\/contents\/\.github/;

describe("push routing paces its config reads", () => {
  const key = generateAppKey();
  const testStore = useTestStore("push_pacing");
  let fake: FakeGitHub;
  before(async () => {
    fake = await FakeGitHub.start({ privateKey: key });
    fake.addReposWithFiles(REPOS, INSTALLATION_ID, { [REPO_CONFIG_PATH]: "environments:\n  - { branch: main, environment: production }\n" });
  });
  after(() => fake.close());

  test(`twelve kept pushes: at most ${CONFIG_READS_AT_ONCE} config reads in flight, every push routed and forgotten`, async () => {
    const github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: INSTALLATION_ID } });
    let inFlight = 0;
    let most = 0;
    github.hook.wrap("request", async (request, options) => {
      // The route template (`/repos/{owner}/{repo}/contents/{path}`): the only contents read here is the config.
      const isConfigRead = String(options.url).includes("/contents/");
      if (isConfigRead) most = Math.max(most, ++inFlight);
      try {
        return await request(options);
      } finally {
        if (isConfigRead) inFlight--;
      }
    });
    fake.answerLate("GET", CONFIG_READ, 400, REPOS.length);
    const { pool } = testStore.store;
    const noQueue = {
      enqueue: () => Promise.reject(new Error("no run expected: every branch maps no environment")),
    } as unknown as Queue;
    const router = new PushRouter({
      answering: pool,
      db: pool,
      queue: noQueue,
      configs: new RepoConfigReader(),
      parse: (text) => loadRepoConfig(text),
      github: async () => github,
      log: recordingLogger(),
    });

    for (const repo of REPOS) {
      const push = {
        deliveryId: randomUUID(),
        repo,
        installationId: INSTALLATION_ID,
        ref: "refs/heads/feature/x",
        commitSha: "a".repeat(40),
        defaultBranch: "main",
        requestedBy: "dev",
      };
      await router.take(push, github);
    }
    const kept = async () => (await pool.query<{ n: number }>("select count(*)::int as n from pushes_to_route")).rows[0].n;
    assert.ok((await kept()) > 0, "the pushes were kept: no config was trusted yet");
    await waitFor("every kept push routed", async () => ((await kept()) === 0 ? true : undefined), 30_000);

    assert.equal(most, CONFIG_READS_AT_ONCE, `config reads in flight at most: ${most}`);
    assert.equal(fake.requests.filter((r) => CONFIG_READ.test(r.path)).length, REPOS.length, "one read per repository");
    assert.equal((await pool.query("select count(*)::int as n from runs")).rows[0].n, 0, "no run for an unmapped branch");
  });

  test("a burst of kept pushes is written in a few inserts, each answered once its row is committed", async () => {
    const github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: INSTALLATION_ID } });
    const { pool } = testStore.store;
    let inserts = 0;
    const counting = {
      query: (...args: Parameters<typeof pool.query>) => {
        if (/insert into pushes_to_route/.test(String(args[0]))) inserts++;
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as typeof pool;
    // Routing is held back (GitHub answers late) so the rows can be read before they are routed.
    fake.answerLate("GET", CONFIG_READ, 2_000, REPOS.length);
    const router = new PushRouter({
      answering: counting,
      db: pool,
      queue: { enqueue: () => Promise.reject(new Error("no run expected")) } as unknown as Queue,
      configs: new RepoConfigReader(),
      parse: (text) => loadRepoConfig(text),
      github: async () => github,
      log: recordingLogger(),
    });
    const pushes = Array.from({ length: 200 }, (_, i) => ({
      deliveryId: `burst-${i}`,
      repo: REPOS[i % REPOS.length],
      installationId: INSTALLATION_ID,
      ref: `refs/heads/feature/${i}`,
      commitSha: "b".repeat(40),
      defaultBranch: "main",
      requestedBy: "dev",
    }));
    // A redelivery arriving in the same burst is kept once.
    await Promise.all([...pushes, pushes[7]].map((push) => router.take(push, github)));
    assert.ok(inserts <= 3, `200 pushes in ${inserts} inserts`);
    const { rows } = await pool.query("select delivery_id, installation_id::text as installation, ref from pushes_to_route where delivery_id like 'burst-%'");
    assert.equal(rows.length, 200);
    assert.ok(
      rows.every((r) => r.installation === String(INSTALLATION_ID)),
      "the 64-bit installation id is kept exactly",
    );
    assert.equal(rows.find((r) => r.delivery_id === "burst-7")?.ref, "refs/heads/feature/7");
    await waitFor("the burst routed", async () => ((await pool.query("select 1 from pushes_to_route")).rowCount === 0 ? true : undefined), 30_000);
  });
});
