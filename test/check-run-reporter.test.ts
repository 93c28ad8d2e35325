import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ProbotOctokit } from "probot";
import { FakeGitHub } from "./harness/fake-github.js";
import { generateAppKey } from "./harness/app-key.js";
import { CheckRunReporter, type Annotation } from "../src/report/check-run.js";
import { upsertMarkedComment } from "../src/report/pull-comment.js";
import { registerSecret } from "../src/redact.js";

const key = generateAppKey();
let fake: FakeGitHub;
let github: InstanceType<typeof ProbotOctokit>;
let sha: string;
const repo = { owner: "acme", repo: "shop" };

before(async () => {
  fake = await FakeGitHub.start({ privateKey: key });
  fake.addRepo("acme/shop", { installationId: 7 });
  sha = fake.commit("acme/shop", { "a.sql": "select 1;" });
  github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: 7 } });
});
after(() => fake.close());

test("annotations go out 50 per request and all arrive", async () => {
  const reporter = new CheckRunReporter(github, repo, "autopilot/migrate", sha);
  await reporter.start("Working…");
  const annotations: Annotation[] = Array.from({ length: 120 }, (_, i) => ({ path: "a.sql", line: i + 1, level: "warning", message: `finding ${i}` }));
  await reporter.complete({ conclusion: "neutral", title: "120 findings", summary: "many", annotations });
  const run = fake.checkRuns("acme/shop").find((c) => c.id === reporter.id)!;
  assert.equal(run.status, "completed");
  assert.equal(run.output.annotations.length, 120);
  const patches = fake.requests.filter((r) => r.method === "PATCH" && r.path.endsWith(`/check-runs/${reporter.id}`));
  assert.ok(patches.every((p) => ((p.body as any).output?.annotations?.length ?? 0) <= 50));
  assert.deepEqual(fake.violations, []);
});

test("a summary past GitHub's limit is cut with a pointer, and secrets are redacted", async () => {
  registerSecret("postgres://shop:hunter2-secret@db/shop");
  const reporter = new CheckRunReporter(github, repo, "autopilot/migrate", sha);
  const summary = "could not connect to postgres://shop:hunter2-secret@db/shop\n" + "x".repeat(70_000);
  await reporter.complete({ conclusion: "failure", title: "Failed", summary });
  const run = fake.checkRuns("acme/shop").find((c) => c.id === reporter.id)!;
  assert.ok(run.output.summary!.length <= 65_535);
  assert.match(run.output.summary!, /truncated: the full report is in Autopilot's run history/);
  assert.ok(!JSON.stringify(fake.requests).includes("hunter2-secret"));
});

test("progress updates closer together than the interval are coalesced", async () => {
  const reporter = new CheckRunReporter(github, repo, "autopilot/migrate", sha);
  await reporter.start("Working…");
  const before = fake.requests.length;
  for (let i = 0; i < 20; i++) await reporter.progress(`Applying ${i} of 20`);
  assert.ok(fake.requests.length - before <= 2, `sent ${fake.requests.length - before} updates`);
});

test("a marked comment is found on any page and edited in place", async () => {
  fake.addIssue("acme/shop", { number: 9 });
  for (let i = 0; i < 130; i++) fake.addComment("acme/shop", 9, { body: `chatter ${i}` });
  await upsertMarkedComment(github, repo, 9, "<!-- autopilot:test -->", "first");
  await upsertMarkedComment(github, repo, 9, "<!-- autopilot:test -->", "second");
  const marked = fake.comments("acme/shop", 9).filter((c) => c.body.includes("<!-- autopilot:test -->"));
  assert.equal(marked.length, 1);
  assert.match(marked[0].body, /^second/);
});
