import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { createTestDatabase, query } from "./harness/postgres.js";
import { gitBlobSha, readMigration, type MigrationFile } from "../src/database/migration-files.js";
import { readHistoryFromUrl } from "../src/database/history.js";
import { plan } from "../src/database/planner.js";
import { LockTimeoutError, migrate, MIGRATION_LOCK_KEY, TargetUnavailableError, type MigrateOptions } from "../src/database/migrator.js";

function migration(filename: string, sql: string): MigrationFile {
  const [, version, name] = /^(\d+)_(.+)\.sql$/.exec(filename)!;
  const { file, problems } = readMigration({ version, name, filename, path: `migrations/${filename}`, checksum: gitBlobSha(sql) }, sql);
  assert.deepEqual(problems, []);
  return file!;
}

const run = (url: string, migrations: MigrationFile[], extra: Partial<MigrateOptions> = {}) =>
  migrate({ databaseUrl: url, migrations, appliedBy: "test", commitSha: "c0ffee", ...extra });

const history = async (url: string) =>
  await query(url, "select version, name, checksum, applied_by, commit_sha, duration_ms from autopilot.schema_migrations order by version");

const users = migration("0001_users.sql", "create table users (id int primary key, email text unique);\n");
const orders = migration(
  "0002_orders.sql",
  "create table orders (id int primary key, user_id int references users);\ninsert into users values (1, 'a@example.org');\n",
);
const items = migration("0003_items.sql", "create table items (id int primary key);");

test("applies all files and records them; then only the new; then nothing", async () => {
  const db = await createTestDatabase();
  const first = await run(db.url, [users, orders]);
  assert.equal(first.failure, undefined);
  assert.deepEqual(
    first.applied.map((a) => a.file.version),
    ["0001", "0002"],
  );
  const rows = await history(db.url);
  assert.deepEqual(
    rows.map((r) => [r.version, r.name, r.checksum, r.applied_by, r.commit_sha]),
    [
      ["0001", "users", users.checksum, "test", "c0ffee"],
      ["0002", "orders", orders.checksum, "test", "c0ffee"],
    ],
  );
  assert.ok(rows.every((r) => Number.isInteger(r.duration_ms) && r.duration_ms >= 0));

  const pending = plan([users, orders, items], await readHistoryFromUrl(db.url), { outOfOrder: false }).pending;
  assert.deepEqual(
    pending.map((p) => p.version),
    ["0003"],
  );
  const second = await run(db.url, [items]);
  assert.deepEqual(
    second.applied.map((a) => a.file.version),
    ["0003"],
  );

  const third = await run(db.url, []);
  assert.deepEqual(third, { applied: [], skipped: [] });
  await db.drop();
});

test("a failure in file 2 of 3 keeps file 1, rolls back file 2, stops, and points at the line", async () => {
  const db = await createTestDatabase();
  const broken = migration("0002_broken.sql", "create table half (id int);\n\ninsert into half values (1);\nselect * from no_such_table;\n");
  const result = await run(db.url, [users, broken, items]);
  assert.deepEqual(
    result.applied.map((a) => a.file.version),
    ["0001"],
  );
  assert.equal(result.failure?.file.filename, "0002_broken.sql");
  assert.equal(result.failure?.code, "42P01");
  assert.equal(result.failure?.line, 4);
  assert.equal(result.failure?.column, 15);
  assert.equal(result.failure?.statement, "select * from no_such_table");
  assert.deepEqual(
    result.failure?.committedBefore.map((f) => f.version),
    ["0001"],
  );
  assert.deepEqual(
    (await history(db.url)).map((r) => r.version),
    ["0001"],
  );
  assert.equal((await query(db.url, "select to_regclass('half') as t"))[0].t, null);
  assert.equal((await query(db.url, "select to_regclass('items') as t"))[0].t, null);
  await db.drop();
});

test("an error without a position is located by replaying the file (unique violation on line 7)", async () => {
  const db = await createTestDatabase();
  const sql = [
    "create table t (id int primary key);",
    "",
    "insert into t values (1);",
    "",
    "-- a comment",
    "insert into t values (2);",
    "insert into t",
    "  values (1);",
    "insert into t values (3);",
  ].join("\n");
  const result = await run(db.url, [migration("0001_dupes.sql", sql)]);
  assert.equal(result.failure?.code, "23505");
  assert.equal(result.failure?.line, 7);
  assert.match(result.failure!.message, /duplicate key/);
  assert.equal(result.failure?.statement, "insert into t\n  values (1)");
  assert.equal((await query(db.url, "select to_regclass('t') as t"))[0].t, null, "the replay was rolled back");
  await db.drop();
});

test("a file that ends in a comment or without a semicolon still records its history", async () => {
  const db = await createTestDatabase();
  const result = await run(db.url, [
    migration("0001_a.sql", "create table a (id int) -- no semicolon"),
    migration("0002_b.sql", "create table b (id int);\n/* trailing */"),
  ]);
  assert.equal(result.failure, undefined);
  assert.deepEqual(
    (await history(db.url)).map((r) => r.version),
    ["0001", "0002"],
  );
  await db.drop();
});

test("CREATE INDEX CONCURRENTLY runs with the no-transaction directive and fails without it", async () => {
  const db = await createTestDatabase();
  await run(db.url, [users]);
  const without = await run(db.url, [migration("0002_index.sql", "create index concurrently users_email on users (email);")]);
  assert.equal(without.failure?.code, "25001");
  assert.match(without.failure!.message, /CREATE INDEX CONCURRENTLY cannot run inside a transaction block/);

  const withDirective = migration(
    "0002_index.sql",
    "-- autopilot:no-transaction\ncreate index concurrently users_email on users (email);\ncreate index concurrently users_id_email on users (id, email);\n",
  );
  const result = await run(db.url, [withDirective]);
  assert.equal(result.failure, undefined);
  const indexes = await query(db.url, "select indexname from pg_indexes where tablename = 'users' order by 1");
  assert.deepEqual(
    indexes.map((r) => r.indexname),
    ["users_email", "users_email_key", "users_id_email", "users_pkey"],
  );
  assert.deepEqual(
    (await history(db.url)).map((r) => r.version),
    ["0001", "0002"],
  );
  await db.drop();
});

test("a failing no-transaction file keeps its earlier statements, writes no history row, and points at the statement", async () => {
  const db = await createTestDatabase();
  const file = migration("0001_nt.sql", "-- autopilot:no-transaction\ncreate table kept (id int);\n\nselect 1/0;\n");
  const result = await run(db.url, [file]);
  assert.equal(result.failure?.code, "22012");
  assert.equal(result.failure?.line, 4);
  assert.equal(result.failure?.statementsCommitted, 1);
  assert.notEqual((await query(db.url, "select to_regclass('kept') as t"))[0].t, null);
  assert.deepEqual(await history(db.url), []);
  await db.drop();
});

test("a per-file statement-timeout directive takes effect (57014), in both modes", async () => {
  const db = await createTestDatabase();
  const slow = migration("0001_slow.sql", "-- autopilot:statement-timeout 100ms\nselect 1;\nselect pg_sleep(1);\n");
  const result = await run(db.url, [slow], { statementTimeout: "0" });
  assert.equal(result.failure?.code, "57014");
  assert.equal(result.failure?.line, 3);
  const slowNt = migration("0001_slow.sql", "-- autopilot:no-transaction\n-- autopilot:statement-timeout 100ms\nselect pg_sleep(1);\n");
  assert.equal((await run(db.url, [slowNt])).failure?.code, "57014");
  await db.drop();
});

test("the lock timeout applies: a file waiting on a busy table fails fast with 55P03", async () => {
  const db = await createTestDatabase();
  await run(db.url, [users]);
  const blocker = new pg.Client({ connectionString: db.url });
  await blocker.connect();
  try {
    await blocker.query("begin; lock table users in access exclusive mode");
    const result = await run(db.url, [migration("0002_alter.sql", "alter table users add column name text;")], { lockTimeout: "200ms" });
    assert.equal(result.failure?.code, "55P03");
    assert.equal(result.failure?.line, 1);
  } finally {
    await blocker.end();
  }
  await db.drop();
});

test("two concurrent runs of the same files apply each file once", async () => {
  const db = await createTestDatabase();
  const files = [users, orders, items];
  const [a, b] = await Promise.all([run(db.url, files), run(db.url, files)]);
  assert.equal(a.failure ?? b.failure, undefined);
  assert.equal(a.applied.length + b.applied.length, 3);
  assert.equal(a.skipped.length + b.skipped.length, 3);
  assert.deepEqual(
    (await history(db.url)).map((r) => r.version),
    ["0001", "0002", "0003"],
  );
  await db.drop();
});

test("a file changed since it was applied is a failure when found under the lock", async () => {
  const db = await createTestDatabase();
  await run(db.url, [users]);
  const edited = migration("0001_users.sql", "create table users (id bigint primary key);\n");
  const result = await run(db.url, [edited]);
  assert.equal(result.failure?.code, "checksum-mismatch");
  assert.match(result.failure!.message, /0001_users\.sql was applied with checksum/);
  await db.drop();
});

test("a held advisory lock makes the run give up at the deadline with LockTimeoutError", async () => {
  const db = await createTestDatabase();
  const holder = new pg.Client({ connectionString: db.url, application_name: "other-deployer" });
  await holder.connect();
  try {
    await holder.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    const events: string[] = [];
    await assert.rejects(run(db.url, [users], { lockWaitSeconds: 0.6, onProgress: (e) => events.push(e.kind) }), (error: Error) => {
      assert.ok(error instanceof LockTimeoutError);
      assert.match(error.message, /held by pid \d+, other-deployer/);
      return true;
    });
    assert.deepEqual(events, ["waiting-for-lock"]);
    assert.equal((await query(db.url, "select to_regclass('users') as t"))[0].t, null);
  } finally {
    await holder.end();
  }
  // released by the holder: the next run goes through, and its own lock is released afterwards
  assert.equal((await run(db.url, [users])).applied.length, 1);
  const locks = await query(db.url, "select count(*)::int as n from pg_locks where locktype = 'advisory'");
  assert.equal(locks[0].n, 0);
  await db.drop();
});

test("progress events and reverted rows", async () => {
  const db = await createTestDatabase();
  const events: string[] = [];
  await run(db.url, [users, items], {
    onProgress: (e) => events.push(e.kind === "waiting-for-lock" ? e.kind : `${e.kind} ${e.position}/${e.total}${"durationMs" in e ? " timed" : ""}`),
  });
  assert.deepEqual(events, ["applying 1/2", "applied 1/2 timed", "applying 2/2", "applied 2/2 timed"]);
  // a reverted file is applied again and its row revived
  await query(db.url, "drop table items; update autopilot.schema_migrations set reverted_at = now() where version = '0003'");
  const again = await run(db.url, [items]);
  assert.deepEqual(
    again.applied.map((a) => a.file.version),
    ["0003"],
  );
  const rows = await query(db.url, "select reverted_at from autopilot.schema_migrations where version = '0003'");
  assert.equal(rows[0].reverted_at, null);
  await db.drop();
});

test("an unreachable target throws a redacted TargetUnavailableError", async () => {
  await assert.rejects(run("postgres://someone:hunter2secret@127.0.0.1:1/nowhere", [users]), (error: Error) => {
    assert.ok(error instanceof TargetUnavailableError);
    assert.doesNotMatch(error.message, /hunter2secret/);
    return true;
  });
});

test("a syntax error maps PostgreSQL's character position to the file's line and column, past multibyte text", async () => {
  const db = await createTestDatabase();
  const sql = "-- 😀 émoji before the error\ncreate table a (label text default '😀😀');\ninsert into a values ('ü'), ('x') returning );\n";
  const result = await run(db.url, [migration("0001_syntax.sql", sql)]);
  assert.equal(result.failure?.code, "42601");
  assert.equal(result.failure?.line, 3);
  assert.equal(result.failure?.column, 45);
  assert.equal(result.failure?.statement, "insert into a values ('ü'), ('x') returning )");
  assert.equal((await query(db.url, "select to_regclass('a') as t"))[0].t, null, "nothing ran");
  await db.drop();
});

test("a transactional file with COMMIT in the middle is refused before anything runs: nothing of it committed, no history row", async () => {
  const db = await createTestDatabase();
  const splits = migration(
    "0002_splits.sql",
    "create table split_first (id int);\ncommit;\ncreate table split_second (id int);\n-- the history row would have been written here\n",
  );
  const result = await run(db.url, [users, splits, items]);
  assert.deepEqual(result.applied, [], "no file of the run is applied, not even the ones before the refused file");
  assert.equal(result.failure?.file.filename, "0002_splits.sql");
  assert.equal(result.failure?.line, 2);
  assert.equal(result.failure?.code, "transaction-nesting");
  assert.match(result.failure!.message, /^0002_splits\.sql line 2: COMMIT inside a file that Autopilot already runs in a transaction/);
  assert.match(result.failure!.hint!, /autopilot:no-transaction/);
  assert.deepEqual(result.failure?.committedBefore, []);
  const tables = await query(db.url, "select tablename from pg_tables where tablename in ('users', 'split_first', 'split_second', 'items')");
  assert.deepEqual(tables, []);
  const recorded = await query(db.url, "select count(*)::int as n from pg_tables where schemaname = 'autopilot'");
  assert.equal(recorded[0].n, 0, "not even the history table: the target was not touched");
  await db.drop();
});

test("BEGIN, END, ROLLBACK and START TRANSACTION are refused at their line; savepoints and words in strings are not", async () => {
  const db = await createTestDatabase();
  const cases: Array<[string, number, string]> = [
    ["begin;\ncreate table b1 (id int);\n", 1, "BEGIN"],
    ["create table b2 (id int);\n\nend;\n", 3, "COMMIT"],
    ["create table b3 (id int);\nrollback;\n", 2, "ROLLBACK"],
    ["select 1;\n  start transaction isolation level serializable;\nselect 2;\n", 2, "START TRANSACTION"],
  ];
  for (const [index, [sql, line, keyword]] of cases.entries()) {
    const result = await run(db.url, [migration(`000${index + 1}_case.sql`, sql)]);
    assert.equal(result.failure?.line, line, sql);
    assert.match(result.failure!.message, new RegExp(`line ${line}: ${keyword} inside`), sql);
  }
  const fine = migration(
    "0009_fine.sql",
    "create table fine (note text default 'begin; commit;');\nsavepoint s;\ninsert into fine values ('x');\nrollback to savepoint s;\nrelease savepoint s;\n" +
      "create function end_of(x int) returns int language plpgsql as $$ begin return x; end $$;\n",
  );
  const result = await run(db.url, [fine]);
  assert.equal(result.failure, undefined, JSON.stringify(result.failure));
  assert.equal((await query(db.url, "select count(*)::int as n from fine"))[0].n, 0, "the savepoint rolled the insert back");
  await db.drop();
});

test("a no-transaction file may use BEGIN and COMMIT, and runs", async () => {
  const db = await createTestDatabase();
  const own = migration(
    "0001_own.sql",
    "-- autopilot:no-transaction\nbegin;\ncreate table own_a (id int);\ncommit;\nbegin;\ncreate table own_b (id int);\nend;\n",
  );
  const result = await run(db.url, [own]);
  assert.equal(result.failure, undefined, JSON.stringify(result.failure));
  assert.deepEqual(
    result.applied.map((a) => a.file.version),
    ["0001"],
  );
  assert.equal((await query(db.url, "select count(*)::int as n from pg_tables where tablename in ('own_a', 'own_b')"))[0].n, 2);
  assert.deepEqual(
    (await history(db.url)).map((r) => r.version),
    ["0001"],
  );
  await db.drop();
});
