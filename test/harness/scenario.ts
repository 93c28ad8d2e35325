// A whole installation for end-to-end tests: fake GitHub with `acme/shop`, the app's store, a target
// database bound to production (its URL carries a password, to prove it never leaks), and the app.
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { FakeGitHub, type CheckRunState, type Permission } from "./fake-github.js";
import { FakeHttpSink } from "./fake-http-sink.js";
import { APP_PRIVATE_KEY, startApp, waitFor, WEBHOOK_SECRET, type RunningApp } from "./app-process.js";
import { createTestDatabase, query, testServerUrl, type TestDatabase } from "./postgres.js";
import { shopRepo } from "./fixtures.js";
import { issueCommentPayload, pullRequestPayload, pushPayload, sendWebhook } from "./webhooks.js";
import { RUN_QUEUES } from "../../src/jobs/queue.js";

const RUN_KINDS = Object.keys(RUN_QUEUES);

export const REPO = "acme/shop";
/** Above 2^32, as real installation ids are. */
export const INSTALLATION_ID = 2 ** 32 + 42;
export const TARGET_PASSWORD = "s3cret-Pa55word";

export interface ScenarioOptions {
  /** Extra YAML appended under the production target. */
  targetExtra?: string;
  /** Overrides the target URL (e.g. a database that is down). */
  targetUrl?: string;
  env?: Record<string, string>;
  backupDirectory?: string;
  /** Binds the test cluster as the target's shadow server (plan rehearsals). */
  shadow?: boolean;
  /** Top-level YAML appended to the server config (e.g. a `health:` section). */
  serverExtra?: string;
  /** Lets forks' plans read the target (server config `forks.read_targets`). */
  forksReadTargets?: boolean;
}

export class Scenario {
  app!: RunningApp;
  private head?: string;
  private files: Record<string, string> = {};

  private constructor(
    readonly github: FakeGitHub,
    readonly store: TestDatabase,
    readonly target: TestDatabase,
    readonly targetUrl: string,
    readonly slack: FakeHttpSink,
    readonly deployHook: FakeHttpSink,
    readonly shadowUrl: string,
    private readonly options: ScenarioOptions,
  ) {}

  static async start(options: ScenarioOptions = {}): Promise<Scenario> {
    const github = await FakeGitHub.start({ privateKey: APP_PRIVATE_KEY });
    github.addRepo(REPO, { installationId: INSTALLATION_ID, defaultBranch: "main" });
    const [store, target] = [await createTestDatabase("store"), await createTestDatabase("shop")];
    await ensureShopRole();
    const url = new URL(target.url);
    url.username = "shop";
    url.password = TARGET_PASSWORD;
    const [slack, deployHook] = [await FakeHttpSink.start(), await FakeHttpSink.start()];
    const scenario = new Scenario(github, store, target, options.targetUrl ?? url.toString(), slack, deployHook, await testServerUrl(), options);
    await scenario.boot(options);
    return scenario;
  }

  /** A scenario whose first release (`0001_init.sql`) is applied to production, with these users' permissions. */
  static async released(grants: Record<string, Permission>, options: ScenarioOptions = {}): Promise<Scenario> {
    const scenario = await Scenario.start(options);
    for (const [login, permission] of Object.entries(grants)) scenario.github.setPermission(REPO, login, permission);
    const sha = await scenario.push(shopRepo(["0001_init.sql"]));
    const { conclusion } = await scenario.completedCheckRun(sha);
    assert.equal(conclusion, "success", "the first release is applied");
    return scenario;
  }

  private serverConfig(options: ScenarioOptions): string {
    return [
      "targets:",
      `  - repo: ${REPO}`,
      "    environment: production",
      "    database_url_env: SHOP_PROD_DATABASE_URL",
      "    deploy_hook_env: SHOP_BUILD_HOOK",
      "    slack_webhook_env: SHOP_SLACK_WEBHOOK",
      options.shadow ? "    shadow_database_url_env: SHADOW_DATABASE_URL" : "",
      options.targetExtra ?? "",
      options.forksReadTargets ? "forks:\n  read_targets: true" : "",
      withQuietAlertsOnlyCycles(options.serverExtra ?? ""),
      "backups:",
      `  directory: ${options.backupDirectory ?? `/tmp/autopilot-test-backups/${this.store.name}`}`,
    ].join("\n");
  }

  async boot(options: ScenarioOptions = this.options): Promise<void> {
    this.app = await this.startAnotherApp(options);
  }

  /** Another replica of the app on the same store, GitHub and targets. */
  startAnotherApp(options: ScenarioOptions = this.options): Promise<RunningApp> {
    return startApp({
      github: this.github,
      storeUrl: this.store.url,
      serverConfig: this.serverConfig(options),
      env: {
        SHOP_PROD_DATABASE_URL: this.targetUrl,
        SHOP_BUILD_HOOK: `${this.deployHook.url}/build_hooks/abc123`,
        SHOP_SLACK_WEBHOOK: `${this.slack.url}/services/T000/B000/XXXXSECRET`,
        SHADOW_DATABASE_URL: this.shadowUrl,
        ...options.env,
      },
    });
  }

  /** Commits a full snapshot (previous files plus `changes`; null deletes) to `branch` and pushes it. */
  async push(changes: Record<string, string | null>, branch = "main", deliveryId?: string): Promise<string> {
    const sha = this.commit(changes, branch);
    await this.deliverPush(sha, branch, deliveryId);
    return sha;
  }

  commit(changes: Record<string, string | null>, branch = "main"): string {
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) delete this.files[path];
      else this.files[path] = content;
    }
    return this.github.commit(REPO, { ...this.files }, { branch });
  }

  async deliverPush(sha: string, branch = "main", deliveryId?: string): Promise<number> {
    const payload = pushPayload({ repo: REPO, ref: `refs/heads/${branch}`, before: this.head ?? "0".repeat(40), after: sha, installationId: INSTALLATION_ID });
    this.head = sha;
    const response = await sendWebhook(this.app.url, { event: "push", payload, secret: WEBHOOK_SECRET, deliveryId });
    if (response.status >= 300) throw new Error(`webhook rejected: ${response.status} ${response.body}`);
    return response.status;
  }

  /** Commits `changes` on the pull request's own branch and announces it (opened, then synchronize). */
  async pullRequest(number: number, changes: Record<string, string | null>, opts: { action?: string; fork?: boolean } = {}): Promise<string> {
    const branch = `pr-${number}`;
    const sha = this.commit(changes, branch);
    const payload = pullRequestPayload({
      action: opts.action ?? "opened",
      repo: REPO,
      number,
      headSha: sha,
      baseRef: "main",
      headRef: branch,
      installationId: INSTALLATION_ID,
      fork: opts.fork,
    });
    const response = await sendWebhook(this.app.url, { event: "pull_request", payload, secret: WEBHOOK_SECRET });
    if (response.status >= 300) throw new Error(`webhook rejected: ${response.status} ${response.body}`);
    return sha;
  }

  /** Posts a comment as `login` (seeded in the fake, then delivered as issue_comment.created); returns its id. */
  async comment(body: string, opts: { login: string; issueNumber?: number; isPullRequest?: boolean; userType?: "User" | "Bot" }): Promise<number> {
    const issueNumber = opts.issueNumber ?? 1;
    if (!this.github.issues(REPO).some((i) => i.number === issueNumber) && !opts.isPullRequest)
      this.github.addIssue(REPO, { number: issueNumber, title: "ops" });
    const commentId = this.github.addComment(REPO, issueNumber, { body, user: opts.login });
    const payload = issueCommentPayload({
      repo: REPO,
      issueNumber,
      isPullRequest: Boolean(opts.isPullRequest),
      body,
      login: opts.login,
      installationId: INSTALLATION_ID,
      commentId,
      userType: opts.userType,
    });
    const response = await sendWebhook(this.app.url, { event: "issue_comment", payload, secret: WEBHOOK_SECRET });
    if (response.status >= 300) throw new Error(`webhook rejected: ${response.status} ${response.body}`);
    return commentId;
  }

  /** The reply Autopilot posted to a comment, once it has reacted with a final 🚀 or 😕. */
  async answered(issueNumber: number, commentId: number, timeoutMs = 30_000): Promise<{ reply: string; reactions: string[] }> {
    return waitFor(
      () => `an answer to comment ${commentId}; comments: ${JSON.stringify(this.github.comments(REPO, issueNumber).filter((c) => c.id >= commentId))}`,
      () => {
        const comments = this.github.comments(REPO, issueNumber);
        const own = comments.find((c) => c.id === commentId);
        const done = own?.reactions.some((r) => r === "rocket" || r === "confused");
        const reply = comments.find((c) => c.id > commentId && c.user === this.github.botLogin);
        return done && reply ? { reply: reply.body, reactions: own!.reactions } : undefined;
      },
      timeoutMs,
    );
  }

  /** Restores the snapshot to `files` (e.g. main's content after working on a pull request branch). */
  resetFiles(files: Record<string, string>): void {
    this.files = { ...files };
  }

  completedPlan(sha: string, timeoutMs = 30_000): Promise<CheckRunState> {
    return waitFor(
      `completed plan on ${sha.slice(0, 7)}`,
      () => {
        const run = this.checkRun(sha, "autopilot/plan");
        return run?.status === "completed" ? run : undefined;
      },
      timeoutMs,
    );
  }

  checkRun(sha: string, name = "autopilot/migrate"): CheckRunState | undefined {
    return this.github.checkRuns(REPO).find((c) => c.head_sha === sha && c.name === name);
  }

  completedCheckRun(sha: string, timeoutMs = 30_000): Promise<CheckRunState> {
    return waitFor(
      `completed check run on ${sha.slice(0, 7)}`,
      () => {
        const run = this.checkRun(sha);
        return run?.status === "completed" ? run : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Waits until the app has nothing left to do: no run job queued, retrying or running and no run
   * unfinished, seen on two polls in a row (a job may enqueue another as it ends). Tests that assert
   * "nothing happened" wait for this instead of a fixed sleep, which a slow machine passes vacuously.
   */
  async settled(timeoutMs = 60_000): Promise<void> {
    let quietPolls = 0;
    await waitFor(
      "the queue to drain",
      async () => {
        const [{ busy }] = await this.storeQuery<{ busy: number }>(
          `select (select count(*) from pgboss.job where name = any($1) and state in ('created', 'retry', 'active'))::int
                + (select count(*) from runs where status in ('queued', 'in_progress'))::int as busy`,
          [RUN_KINDS],
        );
        quietPolls = busy === 0 ? quietPolls + 1 : 0;
        return quietPolls >= 2;
      },
      timeoutMs,
    );
  }

  /** Waits until `count` more runs of `kind` have finished than have now (e.g. scheduler cycles). */
  async moreRunsFinished(kind: string, count: number, timeoutMs = 60_000): Promise<void> {
    const finished = async () =>
      (await this.storeQuery<{ n: number }>("select count(*)::int as n from runs where kind = $1 and finished_at is not null", [kind]))[0].n;
    const goal = (await finished()) + count;
    await waitFor(`${count} more finished ${kind} run(s)`, async () => (await finished()) >= goal, timeoutMs);
  }

  targetQuery<T extends Record<string, any> = any>(sql: string): Promise<T[]> {
    return query<T>(this.target.url, sql);
  }

  storeQuery<T extends Record<string, any> = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    return query<T>(this.store.url, sql, params);
  }

  /** Every byte the app sent out: GitHub requests, Slack, deploy hooks, and its own logs. */
  everythingSent(): string {
    return JSON.stringify([this.github.requests, this.slack.requests, this.deployHook.requests]) + this.app.output();
  }

  async stop(): Promise<void> {
    await this.app.stop();
    // For debugging a failing end-to-end test: AUTOPILOT_TEST_LOG=/tmp/app.log npm test
    if (process.env.AUTOPILOT_TEST_LOG) appendFileSync(process.env.AUTOPILOT_TEST_LOG, this.app.output());
    await Promise.all([this.github.close(), this.slack.close(), this.deployHook.close()]);
    await this.store.drop().catch(() => undefined);
    await this.target.drop().catch(() => undefined);
  }
}

let roleReady: Promise<void> | undefined;
function ensureShopRole(): Promise<void> {
  roleReady ??= testServerUrl().then((url) =>
    query(url, `do $$ begin create role shop login superuser password '${TARGET_PASSWORD}'; exception when duplicate_object then null; end $$`).then(
      () => undefined,
    ),
  );
  return roleReady;
}

/**
 * A repository without a health section gets an alerts-only heal cycle every 5 minutes (and a scan
 * every 6 hours); a test that happened to cross that boundary would see a run it did not ask for.
 * Scenarios run them once a year unless they set `health.alerts_schedule` / `health.scan_schedule`
 * themselves (test/e2e-all-repo-alerts.test.ts, test/e2e-all-repo-insights.test.ts do).
 */
function withQuietAlertsOnlyCycles(serverExtra: string): string {
  const quiet = ["alerts_schedule", "scan_schedule"]
    .filter((key) => !new RegExp(`^\\s+${key}:`, "m").test(serverExtra))
    .map((key) => `  ${key}: "0 0 1 1 *"`)
    .join("\n");
  if (!quiet) return serverExtra;
  return /^health:\s*$/m.test(serverExtra) ? serverExtra.replace(/^health:\s*$/m, `health:\n${quiet}`) : `${serverExtra}\nhealth:\n${quiet}`;
}
