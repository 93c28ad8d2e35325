import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { createTestDatabase, query } from "./harness/postgres.js";
import { waitFor } from "./harness/app-process.js";
import { gitBlobSha, readMigration, type MigrationFile } from "../src/database/migration-files.js";
import { readHistoryFromUrl } from "../src/database/history.js";
import type { AppliedMigration } from "../src/database/planner.js";
import { LockTimeoutError, migrate, MIGRATION_LOCK_KEY } from "../src/database/migrator.js";
import { applyDownMigrations, planRevertOf, planRevertTo, type DownFile, type RevertOptions, type RevertPlan } from "../src/database/rollback.js";

function migration(filename: string, sql: string, down?: string): MigrationFile {
  const [, version, name] = /^(\d+)_(.+)\.sql$/.exec(filename)!;
  const ref = { version, name, filename, path: `migrations/${filename}`, checksum: gitBlobSha(sql) };
  const { file, problems } = readMigration(ref, sql, down);
  assert.deepEqual(problems, []);
  return file!;
}

const users = migration(
  "0001_users.sql",
  "create table users (id int primary key, email text);\ninsert into users values (1, 'a@example.org'), (2, 'b@example.org');\n",
  "drop table users;\n",
);
const nicknames = migration(
  "0002_nicknames.sql",
  "alter table users add column nickname text;\nupdate users set nickname = 'nick' || id;\n",
  "alter table users drop column nickname;\n",
);
const orders = migration("0003_orders.sql", "create table orders (id int primary key, user_id int references users);\n", "drop table orders;\n");
const all = [users, nicknames, orders];
const downs = new Map<string, DownFile>(
  all.filter((file) => file.down).map((file) => [file.version, { version: file.version, name: file.name, path: file.down!.path, sql: file.down!.sql }]),
);
const down = (file: MigrationFile): DownFile => downs.get(file.version)!;

const migrateAll = (url: string, files = all) => migrate({ databaseUrl: url, migrations: files, appliedBy: "test", lockWaitSeconds: 5 });
const revert = (url: string, files: DownFile[], extra: Partial<RevertOptions> = {}) =>
  applyDownMigrations({ databaseUrl: url, downs: files, revertedBy: "alice", lockWaitSeconds: 5, ...extra });

const tableExists = async (url: string, table: string) => (await query(url, "select to_regclass($1) is not null as present", [table]))[0].present;
const columns = async (url: string, table: string) =>
  (await query(url, "select column_name from information_schema.columns where table_name = $1 order by ordinal_position", [table])).map((r) => r.column_name);
const revertedVersions = async (url: string) =>
  (await query(url, "select version from autopilot.schema_migrations where reverted_at is not null order by version")).map((r) => r.version);

function row(version: string, name: string, minute: number, revertedAt: Date | null = null): AppliedMigration {
  const appliedAt = new Date(Date.UTC(2025, 0, 1, 0, minute));
  return { version, name, checksum: `sum-${name}`, appliedAt, durationMs: 1, appliedBy: "test", commitSha: null, revertedAt };
}

const history = [row("0001", "users", 1), row("0002", "nicknames", 2), row("0003", "orders", 3)];

function planOf(result: RevertPlan | { error: string }): RevertPlan {
  assert.ok(!("error" in result), "error" in result ? result.error : "");
  return result;
}

// ---- planning ------------------------------------------------------------------------------------

test("rollback <version> reverts everything newer, newest first, and names missing down files by their expected path", () => {
  const plan = planOf(planRevertTo("0001", history, downs, "migrations"));
  assert.deepEqual(
    plan.revert.map((r) => r.version),
    ["0003", "0002"],
  );
  assert.deepEqual(
    plan.downs.map((d) => d.path),
    ["migrations/0003_orders.down.sql", "migrations/0002_nicknames.down.sql"],
  );
  assert.deepEqual(plan.missing, []);

  const withoutDown = new Map([...downs].filter(([version]) => version !== "0002"));
  const missing = planOf(planRevertTo("1", history, withoutDown, "db/migrations/"));
  assert.deepEqual(missing.missing, [{ version: "0002", name: "nicknames", expectedPath: "db/migrations/0002_nicknames.down.sql" }]);
  assert.deepEqual(
    missing.downs.map((d) => d.version),
    ["0003"],
  );
  assert.equal(planOf(planRevertTo("0001", history, new Map(), "")).missing[0].expectedPath, "0003_orders.down.sql");

  const oneReverted = [row("0001", "users", 1), row("0002", "nicknames", 2), row("0003", "orders", 3, new Date())];
  assert.deepEqual(
    planOf(planRevertTo("0001", oneReverted, downs, "migrations")).revert.map((r) => r.version),
    ["0002"],
  );
});

test("rollback <version> refuses an unknown, reverted or latest version, and a non-version", () => {
  assert.match((planRevertTo("0009", history, downs, "m") as { error: string }).error, /0009 was never applied/);
  assert.match((planRevertTo("0003", history, downs, "m") as { error: string }).error, /nothing to revert: 0003_orders is the latest applied migration/);
  assert.match((planRevertTo("abc; drop", history, downs, "m") as { error: string }).error, /not a migration version/);
  const reverted = [row("0001", "users", 1), row("0002", "nicknames", 2, new Date("2025-02-01T00:00:00Z"))];
  assert.match((planRevertTo("0002", reverted, downs, "m") as { error: string }).error, /0002_nicknames is itself reverted \(reverted 2025-02-01/);
});

test("rollback last reverts exactly that run's versions still applied, newest first", () => {
  assert.deepEqual(
    planOf(planRevertOf(["0002", "0003"], history, downs, "migrations")).revert.map((r) => r.version),
    ["0003", "0002"],
  );
  assert.deepEqual(
    planOf(planRevertOf(["3"], history, downs, "migrations")).downs.map((d) => d.version),
    ["0003"],
  );

  const partlyReverted = [row("0001", "users", 1), row("0002", "nicknames", 2), row("0003", "orders", 3, new Date())];
  assert.deepEqual(
    planOf(planRevertOf(["0002", "0003"], partlyReverted, downs, "migrations")).revert.map((r) => r.version),
    ["0002"],
  );
  assert.match((planRevertOf(["0003"], partlyReverted, downs, "m") as { error: string }).error, /nothing to revert: 0003 is no longer applied/);
  assert.match((planRevertOf([], history, downs, "m") as { error: string }).error, /nothing to revert/);

  const noDowns = planOf(planRevertOf(["0002", "0003"], history, new Map(), "migrations"));
  assert.deepEqual(
    noDowns.missing.map((m) => m.expectedPath),
    ["migrations/0003_orders.down.sql", "migrations/0002_nicknames.down.sql"],
  );
});

// ---- applying ------------------------------------------------------------------------------------

test("down files run newest first, restore the schema and data, and mark the rows reverted by whom", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  await query(db.url, "insert into orders values (10, 1)");

  const plan = planOf(planRevertTo("0001", await readHistoryFromUrl(db.url), downs, "migrations"));
  const events: string[] = [];
  const result = await revert(db.url, plan.downs, { onProgress: (e) => events.push(`${e.position}/${e.total} ${e.file.version}`) });

  assert.equal(result.failure, undefined);
  assert.deepEqual(
    result.reverted.map((r) => r.file.version),
    ["0003", "0002"],
  );
  assert.ok(result.reverted.every((r) => Number.isInteger(r.durationMs) && r.durationMs >= 0));
  assert.deepEqual(events, ["1/2 0003", "2/2 0002"]);
  assert.equal(await tableExists(db.url, "orders"), false);
  assert.deepEqual(await columns(db.url, "users"), ["id", "email"]);
  assert.deepEqual(await query(db.url, "select id, email from users order by id"), [
    { id: 1, email: "a@example.org" },
    { id: 2, email: "b@example.org" },
  ]);

  const rows = await readHistoryFromUrl(db.url);
  assert.deepEqual(
    rows.map((r) => [r.version, r.revertedAt !== null, r.revertedBy]),
    [
      ["0001", false, null],
      ["0002", true, "alice"],
      ["0003", true, "alice"],
    ],
  );
  assert.equal((await query(db.url, "select count(*)::int as n from pg_locks where locktype = 'advisory'"))[0].n, 0, "lock released");
  await db.drop();
});

test("a failing down file rolls back alone, stops the rest, keeps earlier reverts and points at its line", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  const broken: DownFile = { ...down(nicknames), sql: "alter table users drop column nickname;\n\nselect * from no_such_table;\n" };

  const result = await revert(db.url, [down(orders), broken, down(users)]);
  assert.deepEqual(
    result.reverted.map((r) => r.file.version),
    ["0003"],
  );
  assert.equal(result.failure?.file, broken);
  assert.equal(result.failure?.code, "42P01");
  assert.equal(result.failure?.line, 3);
  assert.equal(result.failure?.column, 15);
  assert.deepEqual(
    result.failure?.revertedBefore.map((f) => f.version),
    ["0003"],
  );

  assert.equal(await tableExists(db.url, "orders"), false, "the earlier revert is kept");
  assert.deepEqual(await columns(db.url, "users"), ["id", "email", "nickname"], "the failing file rolled back");
  assert.equal(await tableExists(db.url, "users"), true, "the later file did not run");
  assert.deepEqual(await revertedVersions(db.url), ["0003"]);
  await db.drop();
});

test("a down file with COMMIT in it is refused before anything is reverted, at its line", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  const splits: DownFile = { ...down(nicknames), sql: "alter table users drop column nickname;\ncommit;\n" };
  const result = await revert(db.url, [down(orders), splits]);
  assert.deepEqual(result.reverted, []);
  assert.equal(result.failure?.file, splits);
  assert.equal(result.failure?.line, 2);
  assert.equal(result.failure?.code, "transaction-nesting");
  assert.match(result.failure!.message, /0002_nicknames\.down\.sql line 2: COMMIT inside a file that Autopilot already runs in a transaction/);
  assert.equal(await tableExists(db.url, "orders"), true, "not even the down file before it ran");
  assert.deepEqual(await columns(db.url, "users"), ["id", "email", "nickname"]);
  assert.deepEqual(await revertedVersions(db.url), []);
  await db.drop();
});

test("a run-time error without a position is located by replaying the down file", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url, [users, nicknames]);
  const duplicate: DownFile = { ...down(nicknames), sql: "alter table users drop column nickname;\n-- make room\ninsert into users\n  values (1, 'again');\n" };
  const result = await revert(db.url, [duplicate]);
  assert.equal(result.failure?.code, "23505");
  assert.equal(result.failure?.line, 3);
  assert.match(result.failure!.message, /duplicate key/);
  assert.deepEqual(await columns(db.url, "users"), ["id", "email", "nickname"]);
  assert.deepEqual(await revertedVersions(db.url), []);
  await db.drop();
});

test("a version no longer applied when the lock is taken refuses the whole rollback, doing nothing", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  const plan = planOf(planRevertTo("0001", await readHistoryFromUrl(db.url), downs, "migrations"));
  assert.equal((await revert(db.url, [down(orders)], { revertedBy: "bob" })).failure, undefined); // someone else got there first

  const result = await revert(db.url, plan.downs);
  assert.deepEqual(result.reverted, []);
  assert.equal(result.failure?.code, "not-applied");
  assert.match(result.failure!.message, /0003_orders was already reverted .* by bob: the history changed/);
  assert.deepEqual(await columns(db.url, "users"), ["id", "email", "nickname"], "0002 was not reverted");
  assert.deepEqual(await revertedVersions(db.url), ["0003"]);
  await db.drop();
});

// ---- racing a migration --------------------------------------------------------------------------

test("a rollback waits for the migration lock, then proceeds; past its deadline it throws LockTimeoutError", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  const holder = new pg.Client({ connectionString: db.url, application_name: "other-deployer" });
  await holder.connect();
  try {
    await holder.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    await assert.rejects(revert(db.url, [down(orders)], { lockWaitSeconds: 0.5 }), (error: Error) => {
      assert.ok(error instanceof LockTimeoutError);
      assert.match(error.message, /held by pid \d+, other-deployer/);
      return true;
    });
    assert.equal(await tableExists(db.url, "orders"), true);

    const waiting = revert(db.url, [down(orders)]);
    // Not a fixed sleep: wait until the reverter has asked for the lock and been refused at least once.
    await waitFor("the reverter to try the lock", async () => {
      const rows = await query(
        db.url,
        "select 1 from pg_stat_activity where pid <> pg_backend_pid() and application_name <> 'other-deployer' and query like '%pg_try_advisory_lock%'",
      );
      return rows.length > 0;
    });
    assert.equal(await tableExists(db.url, "orders"), true, "nothing ran while the lock was held");
    await holder.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
    const result = await waiting;
    assert.deepEqual(
      result.reverted.map((r) => r.file.version),
      ["0003"],
    );
    assert.equal(await tableExists(db.url, "orders"), false);
  } finally {
    await holder.end();
  }
  await db.drop();
});

test("a rollback racing a migration waits for it, then refuses: the new migration would sit on top of the reverted ones", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  const plan = planOf(planRevertOf(["0003"], await readHistoryFromUrl(db.url), downs, "migrations"));
  const slow = migration("0004_slow.sql", "select pg_sleep(0.5);\ncreate table audit (id int references orders);\n");

  let rollback: Promise<Awaited<ReturnType<typeof revert>>> | undefined;
  const migrating = migrate({
    databaseUrl: db.url,
    migrations: [slow],
    appliedBy: "test",
    onProgress: (e) => {
      if (e.kind === "applying") rollback = revert(db.url, plan.downs); // starts while the migration holds the lock
    },
  });
  assert.deepEqual(
    (await migrating).applied.map((a) => a.file.version),
    ["0004"],
  );
  const result = await rollback!;
  assert.deepEqual(result.reverted, []);
  assert.equal(result.failure?.code, "history-changed");
  assert.match(result.failure!.message, /0004_slow was applied .* plan the rollback again/);
  assert.equal(await tableExists(db.url, "orders"), true);
  await db.drop();
});

test("a rollback waits behind a migration run that applies nothing (it fails), then proceeds", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  const failing = migration("0004_failing.sql", "select pg_sleep(0.5);\nselect 1 / 0;\n");
  let rollback: Promise<Awaited<ReturnType<typeof revert>>> | undefined;
  const migrating = migrate({
    databaseUrl: db.url,
    migrations: [failing],
    appliedBy: "test",
    onProgress: (e) => {
      if (e.kind === "applying") rollback = revert(db.url, [down(orders)]);
    },
  });
  assert.equal((await migrating).failure?.code, "22012");
  const result = await rollback!;
  assert.equal(result.failure, undefined);
  assert.deepEqual(
    result.reverted.map((r) => r.file.version),
    ["0003"],
  );
  assert.equal(await tableExists(db.url, "orders"), false);
  await db.drop();
});

// ---- afterwards ----------------------------------------------------------------------------------

test("reverted migrations are applied again by the migrator, their rows back in effect", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url);
  assert.equal((await revert(db.url, [down(orders), down(nicknames)])).failure, undefined);

  const again = await migrateAll(db.url);
  assert.equal(again.failure, undefined);
  assert.deepEqual(
    again.applied.map((a) => a.file.version),
    ["0002", "0003"],
  );
  assert.deepEqual(
    again.skipped.map((f) => f.version),
    ["0001"],
  );
  const rows = await readHistoryFromUrl(db.url);
  assert.deepEqual(
    rows.map((r) => [r.version, r.revertedAt, r.revertedBy]),
    [
      ["0001", null, null],
      ["0002", null, null],
      ["0003", null, null],
    ],
  );
  assert.deepEqual(await columns(db.url, "users"), ["id", "email", "nickname"]);
  assert.equal(await tableExists(db.url, "orders"), true);
  await db.drop();
});

test("a history table from before reverted_by is read as is and gains the column on the first rollback", async () => {
  const db = await createTestDatabase();
  await migrateAll(db.url, [users, nicknames]);
  await query(db.url, "alter table autopilot.schema_migrations drop column reverted_by");
  assert.deepEqual(
    (await readHistoryFromUrl(db.url)).map((r) => r.revertedBy),
    [null, null],
  );

  assert.equal((await revert(db.url, [down(nicknames)])).failure, undefined);
  assert.deepEqual(
    (await readHistoryFromUrl(db.url)).map((r) => r.revertedBy),
    [null, "alice"],
  );
  await db.drop();
});
