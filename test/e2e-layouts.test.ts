// Every migration layout through the App, as a new user would meet it: a repository written for
// another tool is pushed, applied from empty, pushed again as a no-op, and rolled back with
// `/autopilot rollback` where the layout has down files. One app and cluster for the file, one
// repository (and target database) per layout, read through the fake GitHub.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { INSTALLATION_ID, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import type { CheckRunState } from "./harness/fake-github.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";
import { waitFor, WEBHOOK_SECRET } from "./harness/app-process.js";
import { issueCommentPayload, pushPayload, sendWebhook } from "./harness/webhooks.js";

const ADMIN = "ada";
const ENVIRONMENTS = "environments:\n  - { branch: main, environment: production }\n";

/** One repository in one layout, bound to a target database of its own. */
class LayoutRepo {
  private files: Record<string, string> = {};
  private head = "0".repeat(40);
  readonly repo: string;

  constructor(
    readonly layout: string,
    readonly db: TestDatabase,
  ) {
    this.repo = `acme/${layout}`;
  }

  get envVar(): string {
    return `${this.layout.replace(/-/g, "_").toUpperCase()}_DATABASE_URL`;
  }

  /** The target's URL as the app gets it: with the password that must never leave it. */
  get targetUrl(): string {
    const url = new URL(this.db.url);
    [url.username, url.password] = ["shop", TARGET_PASSWORD];
    return url.toString();
  }

  serverTarget(): string {
    return [`  - repo: ${this.repo}`, "    environment: production", `    database_url_env: ${this.envVar}`].join("\n");
  }

  async push(s: Scenario, changes: Record<string, string | null>): Promise<CheckRunState> {
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) delete this.files[path];
      else this.files[path] = content;
    }
    const sha = s.github.commit(this.repo, { ...this.files }, { branch: "main" });
    const payload = pushPayload({ repo: this.repo, ref: "refs/heads/main", before: this.head, after: sha, installationId: INSTALLATION_ID });
    this.head = sha;
    const response = await sendWebhook(s.app.url, { event: "push", payload, secret: WEBHOOK_SECRET });
    assert.ok(response.status < 300, `push to ${this.repo} rejected: ${response.status}`);
    return waitFor(
      `the migrate check run of ${this.repo}@${sha.slice(0, 7)}`,
      () => s.github.checkRuns(this.repo).find((c) => c.head_sha === sha && c.name === "autopilot/migrate" && c.status === "completed"),
      60_000,
    );
  }

  /** Posts `/autopilot …` as the admin on issue 1 and waits for the App's reply. */
  async command(s: Scenario, body: string): Promise<string> {
    if (!s.github.issues(this.repo).some((i) => i.number === 1)) s.github.addIssue(this.repo, { number: 1, title: "ops" });
    const commentId = s.github.addComment(this.repo, 1, { body, user: ADMIN });
    const payload = issueCommentPayload({
      repo: this.repo,
      issueNumber: 1,
      isPullRequest: false,
      body,
      login: ADMIN,
      installationId: INSTALLATION_ID,
      commentId,
    });
    const response = await sendWebhook(s.app.url, { event: "issue_comment", payload, secret: WEBHOOK_SECRET });
    assert.ok(response.status < 300, `comment on ${this.repo} rejected: ${response.status}`);
    return waitFor(
      `the answer to "${body}" on ${this.repo}`,
      () => {
        const comments = s.github.comments(this.repo, 1);
        const done = comments.find((c) => c.id === commentId)?.reactions.some((r) => r === "rocket" || r === "confused");
        return done ? comments.find((c) => c.id > commentId && c.user === s.github.botLogin)?.body : undefined;
      },
      60_000,
    );
  }

  tables(): Promise<string[]> {
    return query(this.db.url, "select tablename from pg_tables where schemaname = 'public' order by 1").then((rows) => rows.map((r) => r.tablename));
  }

  history(): Promise<string[]> {
    return query(this.db.url, "select version, reverted_at is not null as reverted from autopilot.schema_migrations order by applied_at, version").then(
      (rows) => rows.map((r) => `${r.version}${r.reverted ? " (reverted)" : ""}`),
    );
  }
}

const LAYOUTS = ["autopilot", "supabase", "flyway", "golang-migrate", "dbmate", "diesel", "prisma"] as const;

describe("each migration layout through the App: applied from empty, a no-op again, rolled back where it has down files", () => {
  let s: Scenario;
  const repos = new Map<string, LayoutRepo>();
  const repo = (layout: (typeof LAYOUTS)[number]) => repos.get(layout)!;

  before(async () => {
    for (const layout of LAYOUTS) repos.set(layout, new LayoutRepo(layout, await createTestDatabase(`layout`)));
    const all = [...repos.values()];
    s = await Scenario.start({
      targetExtra: all.map((r) => r.serverTarget()).join("\n"),
      env: Object.fromEntries(all.map((r) => [r.envVar, r.targetUrl])),
    });
    for (const r of all) {
      s.github.addRepo(r.repo, { installationId: INSTALLATION_ID, defaultBranch: "main" });
      s.github.setPermission(r.repo, ADMIN, "admin");
    }
  });
  after(async () => {
    // The targets' passwords never left the process, whatever the layout.
    const leaked = s.everythingSent().includes(TARGET_PASSWORD);
    await s.stop();
    await Promise.all([...repos.values()].map((r) => r.db.drop().catch(() => undefined)));
    assert.ok(!leaked, "a target's password was sent or logged");
  });

  test("autopilot: <version>_<name>.sql with .down.sql, detected", async () => {
    const r = repo("autopilot");
    const applied = await r.push(s, {
      ".github/autopilot.yml": ENVIRONMENTS,
      "migrations/0001_users.sql": "create table users (id bigint primary key, email text not null);\n",
      "migrations/0001_users.down.sql": "drop table users;\n",
      "migrations/0002_posts.sql": "create table posts (id bigint primary key, user_id bigint references users);\n",
      "migrations/0002_posts.down.sql": "drop table posts;\n",
    });
    assert.equal(applied.conclusion, "success", applied.output.summary ?? "");
    assert.match(applied.output.title!, /Applied 2 migrations to production/);
    assert.deepEqual(await r.tables(), ["posts", "users"]);
    await upToDate(r, 2);
    assert.match(await r.command(s, "/autopilot rollback production 0001"), /Reverted 1 migration on production/);
    assert.deepEqual(await r.tables(), ["users"]);
  });

  test("supabase: supabase/migrations stands in for the absent default directory; forward only", async () => {
    const r = repo("supabase");
    const applied = await r.push(s, {
      ".github/autopilot.yml": ENVIRONMENTS,
      "supabase/config.toml": 'project_id = "shop"\n',
      "supabase/migrations/20240101120000_users.sql": "create table users (id bigint primary key, email text not null);\n",
      "supabase/migrations/20240102120000_posts.sql": "create table posts (id bigint primary key, user_id bigint references users);\n",
    });
    assert.equal(applied.conclusion, "success", applied.output.summary ?? "");
    assert.match(applied.output.title!, /Applied 2 migrations to production/);
    assert.deepEqual(await r.history(), ["20240101120000", "20240102120000"]);
    await upToDate(r, 2);
    const refused = await r.command(s, "/autopilot rollback production 20240101120000");
    assert.match(
      refused,
      /no down file: supabase\/migrations\/20240102120000_posts\.down\.sql \(the supabase layout has no down files: roll back to a backup instead\)/,
    );
    assert.deepEqual(await r.tables(), ["posts", "users"]);
  });

  test("flyway: V/U files in order, a repeatable R__ re-run after the versioned ones when its checksum changes", async () => {
    const r = repo("flyway");
    const view = (columns: string) => `create or replace view user_emails as select ${columns} from users;\n`;
    const applied = await r.push(s, {
      ".github/autopilot.yml": `migrations:\n  directory: db/migration\n${ENVIRONMENTS}`,
      "db/migration/V1__users.sql": "create table users (id bigint primary key, email text not null);\n",
      "db/migration/U1__users.sql": "drop table users;\n",
      "db/migration/V1.1__posts.sql": "create table posts (id bigint primary key, user_id bigint references users);\n",
      "db/migration/U1.1__posts.sql": "drop table posts;\n",
      "db/migration/R__user_emails.sql": view("id, email"),
    });
    assert.equal(applied.conclusion, "success", applied.output.summary ?? "");
    assert.match(applied.output.title!, /Applied 3 migrations to production/);
    await upToDate(r, 3);

    // The changed view needs V2's column: it only works when run after the versioned file.
    const rerun = await r.push(s, {
      "db/migration/V2__user_names.sql": "alter table users add column name text;\n",
      "db/migration/U2__user_names.sql": "drop view user_emails;\nalter table users drop column name;\n",
      "db/migration/R__user_emails.sql": view("id, email, name"),
    });
    assert.equal(rerun.conclusion, "success", rerun.output.summary ?? "");
    assert.match(rerun.output.title!, /Applied 2 migrations to production/);
    assert.deepEqual(await r.history(), ["1", "1.1", "2", "R__user_emails"]);
    const columns = await query(r.db.url, "select column_name from information_schema.columns where table_name = 'user_emails' order by ordinal_position");
    assert.deepEqual(
      columns.map((c) => c.column_name),
      ["id", "email", "name"],
    );

    assert.match(await r.command(s, "/autopilot rollback production 1"), /Reverted 2 migrations on production/);
    assert.deepEqual(await r.tables(), ["users"]);
  });

  test("golang-migrate: <version>_<name>.up.sql and .down.sql", async () => {
    const r = repo("golang-migrate");
    const applied = await r.push(s, {
      ".github/autopilot.yml": ENVIRONMENTS,
      "migrations/000001_users.up.sql": "create table users (id bigint primary key, email text not null);\n",
      "migrations/000001_users.down.sql": "drop table users;\n",
      "migrations/000002_posts.up.sql": "create table posts (id bigint primary key, user_id bigint references users);\n",
      "migrations/000002_posts.down.sql": "drop table posts;\n",
    });
    assert.equal(applied.conclusion, "success", applied.output.summary ?? "");
    assert.match(applied.output.title!, /Applied 2 migrations to production/);
    await upToDate(r, 2);
    assert.match(await r.command(s, "/autopilot rollback"), /Reverted 2 migrations on production/);
    assert.deepEqual(await r.tables(), []);
  });

  test("dbmate: detected from its -- migrate:up markers, only the up half applied, transaction:false honoured, the down half rolls back", async () => {
    const r = repo("dbmate");
    const applied = await r.push(s, {
      ".github/autopilot.yml": `migrations:\n  directory: db/migrations\n${ENVIRONMENTS}`,
      "db/migrations/20240101120000_users.sql":
        "-- migrate:up\ncreate table users (id bigint primary key, email text not null);\n\n-- migrate:down\ndrop table users;\n",
      "db/migrations/20240102120000_users_email.sql":
        "-- migrate:up transaction:false\ncreate index concurrently users_email on users (email);\n\n-- migrate:down\ndrop index users_email;\n",
    });
    assert.equal(applied.conclusion, "success", applied.output.summary ?? "");
    assert.match(applied.output.title!, /Applied 2 migrations to production/);
    const indexes = await query(r.db.url, "select indexname from pg_indexes where tablename = 'users' order by 1");
    assert.deepEqual(
      indexes.map((i) => i.indexname),
      ["users_email", "users_pkey"],
    );
    await upToDate(r, 2);
    assert.match(await r.command(s, "/autopilot rollback production 20240101120000"), /Reverted 1 migration on production/);
    assert.deepEqual((await query(r.db.url, "select indexname from pg_indexes where tablename = 'users'")).length, 1);
  });

  test("diesel: <version>_<name>/up.sql and down.sql folders", async () => {
    const r = repo("diesel");
    const applied = await r.push(s, {
      ".github/autopilot.yml": ENVIRONMENTS,
      "migrations/2024-01-01-120000_users/up.sql": "create table users (id bigint primary key, email text not null);\n",
      "migrations/2024-01-01-120000_users/down.sql": "drop table users;\n",
      "migrations/2024-01-02-120000_posts/up.sql": "create table posts (id bigint primary key, user_id bigint references users);\n",
      "migrations/2024-01-02-120000_posts/down.sql": "drop table posts;\n",
    });
    assert.equal(applied.conclusion, "success", applied.output.summary ?? "");
    assert.match(applied.output.title!, /Applied 2 migrations to production/);
    assert.deepEqual(await r.history(), ["20240101120000", "20240102120000"]);
    await upToDate(r, 2);
    assert.match(await r.command(s, "/autopilot rollback"), /Reverted 2 migrations on production/);
    assert.deepEqual(await r.tables(), []);
  });

  test("prisma: <timestamp>_<name>/migration.sql folders, forward only", async () => {
    const r = repo("prisma");
    const applied = await r.push(s, {
      ".github/autopilot.yml": `migrations:\n  directory: prisma/migrations\n${ENVIRONMENTS}`,
      "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
      "prisma/migrations/20240101120000_init/migration.sql":
        'CREATE TABLE "User" ("id" SERIAL NOT NULL, "email" TEXT NOT NULL, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n',
      "prisma/migrations/20240102120000_posts/migration.sql":
        'CREATE TABLE "Post" ("id" SERIAL NOT NULL, "authorId" INTEGER NOT NULL, CONSTRAINT "Post_pkey" PRIMARY KEY ("id"));\n',
    });
    assert.equal(applied.conclusion, "success", applied.output.summary ?? "");
    assert.match(applied.output.title!, /Applied 2 migrations to production/);
    assert.deepEqual(await r.tables(), ["Post", "User"]);
    await upToDate(r, 2);
    const refused = await r.command(s, "/autopilot rollback production 20240101120000");
    assert.match(refused, /\(the prisma layout has no down files: roll back to a backup instead\)/);
  });

  /** A push that changes no migration: the App applies nothing and says the target is up to date. */
  async function upToDate(r: LayoutRepo, count: number): Promise<void> {
    const before = await r.history();
    const run = await r.push(s, { "README.md": `# ${r.layout}\n` });
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    assert.equal(run.output.title, `Up to date (${count} applied)`);
    assert.deepEqual(await r.history(), before);
  }
});
