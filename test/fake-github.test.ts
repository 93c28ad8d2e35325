// Self-tests of the GitHub test harness, over real HTTP with Probot's own Octokit.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { verify } from "@octokit/webhooks-methods";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { generateAppKey } from "./harness/app-key.js";
import { FakeGitHub, gitBlobSha } from "./harness/fake-github.js";
import { RepoConfigReader } from "../src/github/api/repo-files.js";
import { FakeHttpSink } from "./harness/fake-http-sink.js";
import { validateRequest } from "./harness/openapi-validator.js";
import { checkRunPayload, issueCommentPayload, pullRequestPayload, pushPayload, sendWebhook, signPayload } from "./harness/webhooks.js";

const APP_ID = 4242;
const INSTALLATION = 2 ** 32 + 77;
const REPO = "acme/shop";
const silent = { debug() {}, info() {}, warn() {}, error() {} };

let fake: FakeGitHub;
let privateKey: string;

function appOctokit(opts: { installationId?: number; key?: string } = {}): InstanceType<typeof ProbotOctokit> {
  return new ProbotOctokit({
    baseUrl: fake.apiUrl,
    auth: { appId: APP_ID, privateKey: opts.key ?? privateKey, installationId: opts.installationId ?? INSTALLATION },
    log: silent,
    throttle: { enabled: false },
    retry: { enabled: false },
  });
}

function statusOf(error: unknown): number | undefined {
  return (error as { status?: number }).status;
}

before(async () => {
  privateKey = generateAppKey();
  fake = await FakeGitHub.start({ appId: APP_ID, privateKey });
  fake.addRepo(REPO, { installationId: INSTALLATION });
});

after(async () => {
  await fake.close();
});

describe("app key", () => {
  it("is a PKCS#1 RSA PEM", () => {
    assert.match(privateKey, /^-----BEGIN RSA PRIVATE KEY-----\n/);
  });
});

describe("authentication", () => {
  it("exchanges the App JWT for an installation token and uses it", async () => {
    const octokit = appOctokit();
    const { data } = await octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "shop" });
    assert.equal(data.full_name, REPO);
    assert.equal(data.default_branch, "main");

    const exchange = fake.requests.find((r) => r.method === "POST" && r.path === `/app/installations/${INSTALLATION}/access_tokens`);
    assert.ok(exchange, "token exchange was requested");
    assert.equal(exchange.status, 201);
    assert.equal(exchange.token, "jwt");
    const repoRequest = [...fake.requests].reverse().find((r) => r.path === "/repos/acme/shop");
    assert.match(repoRequest?.token ?? "", /^ghs_/);
    assert.equal(repoRequest?.installationId, INSTALLATION);
  });

  it("refuses tokens it did not issue and JWTs signed by another key", async () => {
    const res = await fetch(`${fake.apiUrl}/repos/acme/shop`, { headers: { authorization: "token ghs_madeup" } });
    assert.equal(res.status, 401);
    await assert.rejects(
      appOctokit({ key: generateAppKey(), installationId: 9 }).request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "shop" }),
      (e) => statusOf(e) === 401,
    );
  });

  it("serves the app endpoints to the JWT only", async () => {
    const octokit = appOctokit();
    const { data: installation } = await octokit.request("GET /repos/{owner}/{repo}/installation", { owner: "acme", repo: "shop" });
    assert.equal(installation.id, INSTALLATION);
    const { data: repos } = await octokit.request("GET /installation/repositories");
    assert.deepEqual(
      repos.repositories.map((r) => r.full_name),
      [REPO],
    );
  });
});

describe("git data", () => {
  const files = {
    ".github/autopilot.yml": "migrations:\n  directory: db/migrations\n",
    "db/migrations/0001_init.sql": "CREATE TABLE t (id int);\n",
    "db/migrations/0002_more.sql": "ALTER TABLE t ADD COLUMN n text;\n",
    "db/migrations-old/x.sql": '-- sorts after "db/migrations/" in git order\n',
    "README.md": "# shop ✓\n",
    "logo.bin": Buffer.from([0, 1, 2, 255, 254]),
  };
  let sha: string;

  before(() => {
    sha = fake.commit(REPO, files, { message: "initial" });
  });

  it("has the blob and tree SHAs git computes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fake-gh-"));
    try {
      execFileSync("git", ["init", "-q"], { cwd: dir });
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(join(dir, dirname(path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      execFileSync("git", ["add", "-A"], { cwd: dir });
      const gitTree = execFileSync("git", ["write-tree"], { cwd: dir, encoding: "utf8" }).trim();
      const gitBlob = execFileSync("git", ["hash-object", "db/migrations/0001_init.sql"], { cwd: dir, encoding: "utf8" }).trim();

      const { data: commit } = await appOctokit().rest.repos.getCommit({ owner: "acme", repo: "shop", ref: "main" });
      assert.equal(commit.sha, sha);
      assert.equal(commit.commit.tree.sha, gitTree);
      assert.equal(gitBlobSha(files["db/migrations/0001_init.sql"]), gitBlob);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("round-trips files through the trees and blobs APIs", async () => {
    const octokit = appOctokit();
    const { data: tree } = await octokit.rest.git.getTree({ owner: "acme", repo: "shop", tree_sha: "main", recursive: "1" });
    const blobs = tree.tree.filter((e) => e.type === "blob");
    assert.deepEqual(blobs.map((e) => e.path).sort(), Object.keys(files).sort());
    assert.ok(tree.tree.some((e) => e.type === "tree" && e.path === "db/migrations"));
    for (const entry of blobs) {
      const expected = files[entry.path as keyof typeof files];
      assert.equal(entry.sha, gitBlobSha(expected), entry.path);
      const { data: blob } = await octokit.rest.git.getBlob({ owner: "acme", repo: "shop", file_sha: entry.sha as string });
      assert.deepEqual(Buffer.from(blob.content, "base64"), Buffer.from(expected), entry.path);
    }
  });

  it("serves contents as base64 JSON, raw, directory listings and 404s", async () => {
    const octokit = appOctokit();
    const { data: file } = await octokit.rest.repos.getContent({ owner: "acme", repo: "shop", path: "README.md", ref: sha });
    assert.ok(!Array.isArray(file) && file.type === "file");
    assert.equal(Buffer.from(file.content, "base64").toString("utf8"), files["README.md"]);
    assert.equal(file.sha, gitBlobSha(files["README.md"]));

    const { data: raw } = await octokit.rest.repos.getContent({
      owner: "acme",
      repo: "shop",
      path: "db/migrations/0002_more.sql",
      mediaType: { format: "raw" },
    });
    assert.equal(raw as unknown, files["db/migrations/0002_more.sql"]);

    const { data: listing } = await octokit.rest.repos.getContent({ owner: "acme", repo: "shop", path: "db/migrations" });
    assert.ok(Array.isArray(listing));
    assert.deepEqual(listing.map((e) => e.name).sort(), ["0001_init.sql", "0002_more.sql"]);

    await assert.rejects(octokit.rest.repos.getContent({ owner: "acme", repo: "shop", path: "nope.txt" }), (e) => statusOf(e) === 404);
  });

  it("satisfies Probot's config plugin (repo file found, {owner}/.github missing)", async () => {
    const { config } = await appOctokit().config.get({ owner: "acme", repo: "shop", path: ".github/autopilot.yml" });
    assert.deepEqual(config, { migrations: { directory: "db/migrations" } });
  });

  it("resolves branch refs and moves the branch on each commit", async () => {
    const octokit = appOctokit();
    const next = fake.commit(REPO, { ...files, "db/migrations/0003_x.sql": "SELECT 1;\n" });
    const { data: ref } = await octokit.rest.git.getRef({ owner: "acme", repo: "shop", ref: "heads/main" });
    assert.equal(ref.object.sha, next);
    const { data: branch } = await octokit.rest.repos.getBranch({ owner: "acme", repo: "shop", branch: "main" });
    assert.equal(branch.commit.sha, next);
    const { data: commit } = await octokit.rest.repos.getCommit({ owner: "acme", repo: "shop", ref: next });
    assert.deepEqual(
      commit.parents.map((p) => p.sha),
      [sha],
    );
    assert.deepEqual(
      commit.files?.map((f) => [f.filename, f.status]),
      [["db/migrations/0003_x.sql", "added"]],
    );
  });
});

describe("conditional reads of the repo config (ETag)", () => {
  const ETAG_REPO = "acme/etag";
  before(() => fake.addRepo(ETAG_REPO, { installationId: INSTALLATION }));

  it("re-reads an unchanged config by a 304 and picks up a change in full", async () => {
    const octokit = appOctokit();
    const reader = new RepoConfigReader();
    const repo = { owner: "acme", repo: "etag" };
    fake.commit(ETAG_REPO, { ".github/autopilot.yml": "health:\n  schedule: '*/5 * * * *'\n" });
    assert.match((await reader.read(octokit, repo, "main")) ?? "", /\*\/5/);
    assert.match((await reader.read(octokit, repo, "main")) ?? "", /\*\/5/, "the cached text, from a 304");
    assert.match((await reader.read(octokit, repo, "main")) ?? "", /\*\/5/);
    assert.deepEqual(fake.contentReads(ETAG_REPO, ".github/autopilot.yml"), { full: 1, notModified: 2, conditionalFull: 0 });

    fake.commit(ETAG_REPO, { ".github/autopilot.yml": "health:\n  schedule: '*/7 * * * *'\n" });
    assert.match((await reader.read(octokit, repo, "main")) ?? "", /\*\/7/);
    assert.match((await reader.read(octokit, repo, "main")) ?? "", /\*\/7/);
    assert.deepEqual(fake.contentReads(ETAG_REPO, ".github/autopilot.yml"), { full: 2, notModified: 3, conditionalFull: 1 });

    fake.commit(ETAG_REPO, { "README.md": "no config any more\n" });
    assert.equal(await reader.read(octokit, repo, "main"), null);
  });
});

describe("check runs", () => {
  let head: string;
  before(() => {
    head = fake.commit(REPO, { "a.sql": "select 1;" }, { branch: "checks" });
  });

  it("hands out check run and comment ids above 2^32, as GitHub does", async () => {
    const octokit = appOctokit();
    const head = fake.commit(REPO, { "big.sql": "select 1;" }, { branch: "big-ids" });
    const { data: run } = await octokit.rest.checks.create({ owner: "acme", repo: "shop", name: "big", head_sha: head });
    assert.ok(run.id > 2 ** 32, `check run id ${run.id}`);
    const { data: again } = await octokit.rest.checks.get({ owner: "acme", repo: "shop", check_run_id: run.id });
    assert.equal(again.id, run.id);
    fake.addIssue(REPO, { number: 900, title: "ids" });
    const { data: comment } = await octokit.rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: 900, body: "hello" });
    assert.ok(comment.id > 2 ** 32, `comment id ${comment.id}`);
    const { data: read } = await octokit.rest.issues.getComment({ owner: "acme", repo: "shop", comment_id: comment.id });
    assert.equal(read.body, "hello");
    assert.ok(read.user!.id > 2 ** 32, `user id ${read.user!.id}`);
  });

  it("applies create and every PATCH into one merged state", async () => {
    const octokit = appOctokit();
    const annotation = (line: number) => ({ path: "a.sql", start_line: line, end_line: line, annotation_level: "failure" as const, message: `bad ${line}` });
    const { data: created } = await octokit.rest.checks.create({
      owner: "acme",
      repo: "shop",
      name: "autopilot/migrate",
      head_sha: head,
      status: "in_progress",
      external_id: "job-1",
    });
    await octokit.rest.checks.update({
      owner: "acme",
      repo: "shop",
      check_run_id: created.id,
      output: { title: "Running", summary: "step 1", annotations: [annotation(1)] },
    });
    const { data: done } = await octokit.rest.checks.update({
      owner: "acme",
      repo: "shop",
      check_run_id: created.id,
      conclusion: "failure",
      output: { title: "Failed", summary: "boom", annotations: [annotation(2)] },
      actions: [{ label: "Roll back", description: "Restore the last backup", identifier: "rollback" }],
    });
    assert.equal(done.status, "completed");

    const [run] = fake.checkRuns(REPO).filter((r) => r.id === created.id);
    assert.equal(run?.name, "autopilot/migrate");
    assert.equal(run?.head_sha, head);
    assert.equal(run?.status, "completed");
    assert.equal(run?.conclusion, "failure");
    assert.equal(run?.external_id, "job-1");
    assert.equal(run?.output.title, "Failed");
    assert.equal(run?.output.summary, "boom");
    assert.deepEqual(
      run?.output.annotations.map((a) => a.message),
      ["bad 1", "bad 2"],
    );
    assert.deepEqual(
      run?.actions.map((a) => a.identifier),
      ["rollback"],
    );

    const { data: listed } = await octokit.rest.checks.listForRef({ owner: "acme", repo: "shop", ref: "checks", check_name: "autopilot/migrate" });
    assert.equal(listed.total_count, 1);
    assert.equal(listed.check_runs[0]?.output.annotations_count, 2);
  });

  it("rejects a body the OpenAPI schema rejects with 422 and records the violation", async () => {
    const before = fake.checkRuns(REPO).length;
    const violationsBefore = fake.violations.length;
    await assert.rejects(
      appOctokit().request("POST /repos/{owner}/{repo}/check-runs", {
        owner: "acme",
        repo: "shop",
        name: "x",
        head_sha: head,
        status: "bogus" as "queued" /* deliberately outside the enum */,
      }),
      (e) => statusOf(e) === 422,
    );
    assert.equal(fake.checkRuns(REPO).length, before);
    const added = fake.violations.slice(violationsBefore);
    assert.equal(added.length, 1);
    assert.match(added[0] ?? "", /check-runs.*\/status must be equal to one of the allowed values/);
  });

  it("enforces GitHub rules beyond the schema (unknown head_sha, completed without conclusion)", async () => {
    const octokit = appOctokit();
    await assert.rejects(octokit.rest.checks.create({ owner: "acme", repo: "shop", name: "x", head_sha: "f".repeat(40) }), (e) => statusOf(e) === 422);
    await assert.rejects(
      octokit.rest.checks.create({ owner: "acme", repo: "shop", name: "x", head_sha: head, status: "completed" }),
      (e) => statusOf(e) === 422,
    );
    assert.ok(fake.violations.some((v) => /conclusion is required/.test(v)));
  });
});

describe("openapi validator", () => {
  it("accepts nullable fields and rejects unknown enum values", () => {
    assert.deepEqual(validateRequest("PATCH", "/repos/a/b/issues/1", { state: "closed", state_reason: null, milestone: null }), []);
    assert.equal(validateRequest("POST", "/repos/a/b/issues/comments/1/reactions", { content: "thumbsup" }).length, 1);
    assert.deepEqual(validateRequest("GET", "/repos/a/b", undefined), []);
  });
});

describe("issues and comments", () => {
  it("paginates comments over two pages with a Link header", async () => {
    const octokit = appOctokit();
    const { data: issue } = await octokit.rest.issues.create({ owner: "acme", repo: "shop", title: "Incident", labels: ["autopilot"] });
    for (let i = 0; i < 25; i++) {
      await octokit.rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: issue.number, body: `comment ${i}` });
    }
    const firstPageCount = fake.requests.length;
    const all = await octokit.paginate(octokit.rest.issues.listComments, { owner: "acme", repo: "shop", issue_number: issue.number, per_page: 20 });
    assert.deepEqual(
      all.map((c) => c.body),
      Array.from({ length: 25 }, (_, i) => `comment ${i}`),
    );
    const pages = fake.requests.slice(firstPageCount).filter((r) => r.method === "GET" && r.path.endsWith("/comments"));
    assert.deepEqual(
      pages.map((r) => r.query.page ?? "1"),
      ["1", "2"],
    );
    assert.equal(fake.comments(REPO, issue.number).length, 25);
    assert.equal(fake.comments(REPO, issue.number)[0]?.user, "autopilot[bot]");
  });

  it("filters issues by label and state, and closes them", async () => {
    const octokit = appOctokit();
    const { data: issue } = await octokit.rest.issues.create({
      owner: "acme",
      repo: "shop",
      title: "Site down",
      body: "<!-- autopilot:incident acme/shop site -->",
      labels: ["autopilot", "urgent"],
    });
    const open = await octokit.paginate(octokit.rest.issues.listForRepo, { owner: "acme", repo: "shop", labels: "autopilot,urgent" });
    assert.deepEqual(
      open.map((i) => i.number),
      [issue.number],
    );
    await octokit.rest.issues.update({ owner: "acme", repo: "shop", issue_number: issue.number, state: "closed" });
    const { data: closed } = await octokit.rest.issues.listForRepo({ owner: "acme", repo: "shop", state: "closed" });
    assert.equal(closed[0]?.state_reason, "completed");
    await octokit.rest.issues.addLabels({ owner: "acme", repo: "shop", issue_number: issue.number, labels: ["resolved"] });
    assert.deepEqual(fake.issues(REPO).find((i) => i.number === issue.number)?.labels, ["autopilot", "urgent", "resolved"]);
  });

  it("lists only issues updated since a time, newest update first", async () => {
    const octokit = appOctokit();
    const longAgo = fake.addIssue(REPO, { title: "old", labels: ["since-test"], state: "closed", closedAt: "2025-01-01T00:00:00Z" });
    const recent = fake.addIssue(REPO, { title: "recent", labels: ["since-test"], state: "closed" });
    const query = { owner: "acme", repo: "shop", labels: "since-test", state: "closed", sort: "updated", direction: "desc" } as const;
    const all = await octokit.paginate(octokit.rest.issues.listForRepo, query);
    assert.deepEqual(
      all.map((i) => i.number),
      [recent, longAgo],
    );
    assert.equal(all[1]?.closed_at, "2025-01-01T00:00:00Z");
    const since = await octokit.paginate(octokit.rest.issues.listForRepo, { ...query, since: new Date(Date.now() - 3_600_000).toISOString() });
    assert.deepEqual(
      since.map((i) => i.number),
      [recent],
    );
    await assert.rejects(octokit.rest.issues.listForRepo({ ...query, since: "yesterday" }), (e) => statusOf(e) === 422);
  });

  it("reacts to seeded comments and 404s on unknown ones", async () => {
    const octokit = appOctokit();
    const id = fake.addComment(REPO, 500, { body: "/autopilot status", user: "alice" });
    const { status } = await octokit.rest.reactions.createForIssueComment({ owner: "acme", repo: "shop", comment_id: id, content: "eyes" });
    assert.equal(status, 201);
    assert.deepEqual(fake.comments(REPO, 500)[0]?.reactions, ["eyes"]);
    await assert.rejects(
      octokit.rest.reactions.createForIssueComment({ owner: "acme", repo: "shop", comment_id: 999999, content: "eyes" }),
      (e) => statusOf(e) === 404,
    );
  });
});

describe("pulls, permissions, deployments, failures", () => {
  it("associates pulls with commits", async () => {
    const octokit = appOctokit();
    const sha = fake.commit(REPO, { "x.sql": "select 2;" }, { branch: "pr-branch" });
    fake.setPullsForCommit(REPO, sha, [{ number: 12, merged_at: "2025-02-01T00:00:00Z", title: "Add x", user: "bob" }]);
    fake.setReviews(REPO, 12, [{ user: "carol", state: "APPROVED" }]);
    const { data: pulls } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: "acme", repo: "shop", commit_sha: sha });
    assert.deepEqual(
      pulls.map((p) => [p.number, p.state, p.user?.login]),
      [[12, "closed", "bob"]],
    );
    const { data: pull } = await octokit.rest.pulls.get({ owner: "acme", repo: "shop", pull_number: 12 });
    assert.equal(pull.merged, true);
    const { data: reviews } = await octokit.rest.pulls.listReviews({ owner: "acme", repo: "shop", pull_number: 12 });
    assert.deepEqual(
      reviews.map((r) => [r.user?.login, r.state]),
      [["carol", "APPROVED"]],
    );
  });

  it("reports permissions the way GitHub does (legacy field + role_name)", async () => {
    const octokit = appOctokit();
    fake.setPermission(REPO, "maya", "maintain");
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "shop", username: "maya" });
    assert.equal(data.permission, "write");
    assert.equal(data.role_name, "maintain");
  });

  it("creates deployments and statuses", async () => {
    const octokit = appOctokit();
    const { data: deployment } = await octokit.rest.repos.createDeployment({
      owner: "acme",
      repo: "shop",
      ref: "main",
      environment: "production",
      required_contexts: [],
      auto_merge: false,
    });
    assert.ok("id" in deployment);
    await octokit.rest.repos.createDeploymentStatus({ owner: "acme", repo: "shop", deployment_id: deployment.id, state: "success" });
    const [stored] = fake.deployments(REPO);
    assert.deepEqual(
      stored?.statuses.map((s) => s.state),
      ["success"],
    );
  });

  it("injects failures for the next matching requests only", async () => {
    const octokit = appOctokit();
    fake.failNext("GET", /^\/repos\/acme\/shop$/, 502);
    await assert.rejects(octokit.rest.repos.get({ owner: "acme", repo: "shop" }), (e) => statusOf(e) === 502);
    const { status } = await octokit.rest.repos.get({ owner: "acme", repo: "shop" });
    assert.equal(status, 200);
  });

  it("answers unknown endpoints with a recorded 404", async () => {
    await assert.rejects(appOctokit().request("GET /repos/{owner}/{repo}/topics", { owner: "acme", repo: "shop" }), (e) => statusOf(e) === 404);
    assert.equal(fake.requests.at(-1)?.status, 404);
  });
});

describe("webhooks", () => {
  it("signs payloads the way @octokit/webhooks-methods verifies them", async () => {
    const body = JSON.stringify(pushPayload({ repo: REPO, before: "0".repeat(40), after: "a".repeat(40), installationId: INSTALLATION }));
    const signature = signPayload("s3cret", body);
    assert.match(signature, /^sha256=[0-9a-f]{64}$/);
    assert.equal(await verify("s3cret", body, signature), true);
    assert.equal(await verify("other", body, signature), false);
  });

  it("builds payloads from the examples with the overrides applied", () => {
    const push = pushPayload({ repo: REPO, ref: "refs/heads/main", before: "b".repeat(40), after: "c".repeat(40), installationId: 5 });
    assert.equal(push.repository.full_name, REPO);
    assert.equal(push.repository.owner.login, "acme");
    assert.equal(push.head_commit?.id, "c".repeat(40));
    assert.equal(push.installation?.id, 5);
    assert.ok(push.repository.node_id, "untouched example fields are kept");

    const pr = pullRequestPayload({
      action: "synchronize",
      repo: REPO,
      number: 3,
      headSha: "d".repeat(40),
      baseRef: "main",
      headRef: "feat",
      installationId: 5,
      fork: true,
    });
    assert.equal(pr.pull_request.head.repo?.full_name, "octocat/shop");
    assert.equal(pr.pull_request.base.ref, "main");

    const comment = issueCommentPayload({ repo: REPO, issueNumber: 3, isPullRequest: true, body: "/autopilot plan", login: "alice", installationId: 5 });
    assert.ok(comment.issue.pull_request);
    assert.equal(comment.comment.user.login, "alice");

    const run = checkRunPayload({ action: "requested_action", repo: REPO, installationId: 5, headSha: "e".repeat(40), requestedAction: "rollback" });
    assert.equal(run.action, "requested_action");
    assert.equal("requested_action" in run ? run.requested_action?.identifier : undefined, "rollback");
  });

  it("carries ids above 2^32 by default, as GitHub's are", () => {
    const aboveUint32 = (id: number | undefined, what: string) => assert.ok(id !== undefined && id > 2 ** 32 && Number.isSafeInteger(id), `${what}: ${id}`);
    const push = pushPayload({ repo: REPO, before: "0".repeat(40), after: "a".repeat(40), installationId: INSTALLATION });
    aboveUint32(push.installation?.id, "installation");
    aboveUint32(push.repository.id, "repository");
    aboveUint32(push.sender?.id, "sender");
    const comment = issueCommentPayload({
      repo: REPO,
      issueNumber: 3,
      isPullRequest: false,
      body: "/autopilot status",
      login: "alice",
      installationId: INSTALLATION,
    });
    aboveUint32(comment.comment.id, "comment");
    aboveUint32(comment.comment.user.id, "comment user");
    aboveUint32(comment.issue.id, "issue");
    const run = checkRunPayload({
      action: "requested_action",
      repo: REPO,
      installationId: INSTALLATION,
      headSha: "e".repeat(40),
      pullRequests: [{ number: 3 }],
    });
    aboveUint32(run.check_run.id, "check run");
    aboveUint32(run.check_run.pull_requests[0]?.base.repo.id, "pull request base repository");
    const pr = pullRequestPayload({ action: "opened", repo: REPO, number: 3, headSha: "d".repeat(40), installationId: INSTALLATION });
    aboveUint32(pr.pull_request.id, "pull request");
    assert.equal(pr.pull_request.head.repo?.id, pr.pull_request.base.repo.id, "a same-repository pull request's head and base are one repository");
  });

  it("delivers to a Probot app whose handler writes back to the fake", async () => {
    const secret = "hook-secret";
    const probot = new Probot({ appId: APP_ID, privateKey, secret, baseUrl: fake.apiUrl, logLevel: "fatal" });
    const head = fake.commit(REPO, { "z.sql": "select 3;" });
    const middleware = await createNodeMiddleware(
      (app) => {
        app.on("push", async (context) => {
          await context.octokit.rest.checks.create(context.repo({ name: "autopilot/migrate", head_sha: context.payload.after, status: "in_progress" }));
        });
      },
      { probot },
    );
    const server: Server = createServer((req, res) => void middleware(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const payload = pushPayload({ repo: REPO, before: "0".repeat(40), after: head, installationId: INSTALLATION });
      const forged = await sendWebhook(appUrl, { event: "push", payload, secret, signature: signPayload("wrong", "{}") });
      assert.notEqual(forged.status, 200);
      const delivered = await sendWebhook(appUrl, { event: "push", payload, secret });
      assert.equal(delivered.status, 200);
      assert.ok(fake.checkRuns(REPO).some((r) => r.head_sha === head && r.status === "in_progress"));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("http sink", () => {
  it("records requests and flags Slack bodies without text or blocks", async () => {
    const sink = await FakeHttpSink.start();
    try {
      const post = (body: unknown) =>
        fetch(sink.url + "/hook", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      assert.equal((await post({ text: "Migration failed" })).status, 200);
      await post({ attachments: [] });
      sink.setStatus(500);
      assert.equal((await post({ blocks: [{ type: "section" }] })).status, 500);
      assert.equal(sink.requests.length, 3);
      assert.deepEqual(
        sink.slackMessages().map((m) => m.text ?? "blocks"),
        ["Migration failed", "blocks"],
      );
      assert.equal(sink.violations.length, 1);
    } finally {
      await sink.close();
    }
  });
});
