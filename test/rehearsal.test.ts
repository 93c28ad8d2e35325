import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, query, testServerUrl, withDatabase, type TestDatabase } from "./harness/postgres.js";
import { migration } from "./harness/migration-file.js";
import { migrate } from "../src/database/migrator.js";
import { dropLeftoverScratchDatabases, rehearse, type RehearsalInput, type RehearsalResult } from "../src/database/rehearsal.js";
import { scratchDatabaseCreatedAt, scratchDatabaseName } from "../src/database/scratch-databases.js";

// The cluster trusts every local connection, so any password works; what matters is that these
// never show up in a result or a progress message.
const SHADOW_PASSWORD = "shadow-S3cret!pw";
const TARGET_PASSWORD = "target-P4ssw0rd";
let admin: string;
let shadowUrl: string;

before(async () => {
  admin = await testServerUrl();
  await query(admin, `create role rehearser login createdb password '${SHADOW_PASSWORD}'`);
  await query(admin, `create role target_owner login superuser password '${TARGET_PASSWORD}'`);
  shadowUrl = withPassword(admin, "rehearser", SHADOW_PASSWORD);
});

function withPassword(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** The target as the app would reach it: another role, with a password. */
const targetUrl = (db: TestDatabase) => withPassword(db.url, "target_owner", TARGET_PASSWORD);

const scratchDatabases = async () =>
  (await query(admin, `select datname from pg_database where datname like 'autopilot\\_scratch\\_%' order by 1`)).map((r) => r.datname as string);

/** Runs a rehearsal, collecting progress, and checks what every rehearsal must guarantee. */
async function rehearseChecked(
  input: Omit<RehearsalInput, "shadowUrl" | "onProgress"> & { shadowUrl?: string },
): Promise<{ result: RehearsalResult; progress: string[] }> {
  const progress: string[] = [];
  const result = await rehearse({ shadowUrl, ...input, onProgress: (m) => progress.push(m) });
  assert.deepEqual(await scratchDatabases(), [], "no scratch database left behind");
  const everything = JSON.stringify(result) + progress.join("\n");
  for (const secret of [SHADOW_PASSWORD, TARGET_PASSWORD, encodeURIComponent(SHADOW_PASSWORD)]) assert.ok(!everything.includes(secret), `leaked ${secret}`);
  assert.match(result.scratchDatabase, /^autopilot_scratch_\d{14}_[a-z0-9]+$/);
  assert.equal(result.cleanupError, undefined);
  return { result, progress };
}

const users = migration("0001_users.sql", "create table users (id int primary key, email text not null);\n");

/** A target with users applied by the real migrator (so it has a history) and some data. */
async function targetWithUsers(): Promise<TestDatabase> {
  const db = await createTestDatabase("target");
  const applied = await migrate({ databaseUrl: db.url, migrations: [users], appliedBy: "test" });
  assert.equal(applied.failure, undefined);
  await query(db.url, "insert into users select g, 'u' || g || '@example.org' from generate_series(1, 100) g");
  return db;
}

test("good files against the target's copied schema apply, and the target stays untouched", async () => {
  const target = await targetWithUsers();
  const addName = migration("0002_add_name.sql", "alter table users add column name text;\nupdate users set name = email;\n");
  const index = migration("0003_index.sql", "-- autopilot:lock-timeout 2s\ncreate index users_name_idx on users (name);\n");

  const { result, progress } = await rehearseChecked({ schemaSourceUrl: targetUrl(target), pending: [addName, index], lockTimeout: "5s" });
  assert.equal(result.setupError, undefined);
  assert.equal(result.ok, true);
  assert.equal(result.schemaFrom, "target");
  assert.deepEqual(
    result.files.map((f) => [f.path, f.version, f.name, f.status]),
    [
      ["migrations/0002_add_name.sql", "0002", "add_name", "applied"],
      ["migrations/0003_index.sql", "0003", "index", "applied"],
    ],
  );
  assert.ok(result.files.every((f) => Number.isInteger(f.durationMs) && f.durationMs! >= 0));
  assert.ok(result.durationMs >= 0);
  assert.ok(progress.some((m) => m.includes("0002_add_name.sql")));

  assert.deepEqual(
    (await query(target.url, "select version from autopilot.schema_migrations")).map((r) => r.version),
    ["0001"],
  );
  assert.deepEqual(
    (await query(target.url, "select column_name from information_schema.columns where table_name = 'users' order by 1")).map((r) => r.column_name),
    ["email", "id"],
  );
  assert.equal((await query(target.url, "select count(*)::int as n from users"))[0].n, 100);
  await target.drop();
});

test("a run-time failure on line 3 of the second file: reported at its line, later files not run", async () => {
  const target = await targetWithUsers();
  const first = migration("0002_first.sql", "create table teams (id int primary key);\n");
  const second = migration(
    "0003_second.sql",
    "create table members (id int);\ninsert into members values (1);\ninsert into no_such_table select * from members;\n",
  );
  const third = migration("0004_third.sql", "create table later (id int);\n");

  const { result } = await rehearseChecked({ schemaSourceUrl: targetUrl(target), pending: [first, second, third] });
  assert.equal(result.ok, false);
  assert.equal(result.setupError, undefined);
  assert.deepEqual(
    result.files.map((f) => f.status),
    ["applied", "failed", "not-run"],
  );
  const failed = result.files[1];
  assert.equal(failed.path, "migrations/0003_second.sql");
  assert.equal(failed.error?.code, "42P01");
  assert.equal(failed.error?.line, 3);
  assert.equal(failed.error?.column, 13);
  assert.match(failed.error!.message, /relation "no_such_table" does not exist/);
  assert.ok(Number.isInteger(failed.durationMs));
  assert.equal(result.files[2].durationMs, undefined);
  assert.equal(result.files[2].error, undefined);
  assert.equal((await query(target.url, "select to_regclass('teams') as t"))[0].t, null, "the target is never written");
  await target.drop();
});

test("a no-transaction file with CREATE INDEX CONCURRENTLY rehearses", async () => {
  const target = await targetWithUsers();
  const concurrently = migration(
    "0002_email_idx.sql",
    "-- autopilot:no-transaction\ncreate index concurrently users_email_idx on users (email);\ncreate index concurrently users_id_email_idx on users (id, email);\n",
  );
  const { result } = await rehearseChecked({ schemaSourceUrl: targetUrl(target), pending: [concurrently] });
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.files[0].status, "applied");
  await target.drop();
});

test("without a schema source: the baseline builds the schema and is not reported; no baseline starts empty", async () => {
  const addName = migration("0002_add_name.sql", "alter table users add column name text;\n");
  const { result } = await rehearseChecked({ baseline: [users, addName], pending: [addName] });
  assert.equal(result.schemaFrom, "migrations");
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.deepEqual(
    result.files.map((f) => [f.version, f.status]),
    [["0002", "applied"]],
    "a pending file in the baseline is rehearsed, not skipped",
  );

  const withoutBaseline = await rehearseChecked({ pending: [addName] });
  assert.equal(withoutBaseline.result.schemaFrom, "empty");
  assert.equal(withoutBaseline.result.files[0].status, "failed");
  assert.equal(withoutBaseline.result.files[0].error?.code, "42P01");

  const fresh = await rehearseChecked({ baseline: [], pending: [users, addName] });
  assert.equal(fresh.result.schemaFrom, "empty");
  assert.equal(fresh.result.ok, true);
});

test("a baseline that fails is a setup error naming the file and line", async () => {
  const broken = migration("0001_broken.sql", "create table a (id int);\nselect nope from a;\n");
  const pending = migration("0002_next.sql", "create table b (id int);\n");
  const { result } = await rehearseChecked({ baseline: [broken], pending: [pending] });
  assert.equal(result.ok, false);
  assert.match(result.setupError!, /earlier migration migrations\/0001_broken\.sql:2 failed.*column "nope" does not exist/);
  assert.deepEqual(
    result.files.map((f) => f.status),
    ["not-run"],
  );
});

test("extensions the target uses come along with its schema", async (t) => {
  const available = (await query(admin, "select name from pg_available_extensions where name in ('citext', 'pgcrypto') order by 1")).map((r) => r.name);
  if (available.length < 2) return t.skip(`citext and pgcrypto are not both available here (${available.join(", ") || "neither"})`);
  const target = await createTestDatabase("target");
  await query(target.url, "create extension citext; create extension pgcrypto; create table accounts (id int primary key, email citext unique, secret bytea)");
  const useThem = migration(
    "0002_use_extensions.sql",
    "alter table accounts add column nick citext;\ninsert into accounts values (1, 'A@example.org', digest('x', 'sha256'), 'Nick');\nselect 1 / (count(*) = 1)::int from accounts where email = 'a@EXAMPLE.org';\n",
  );
  const { result } = await rehearseChecked({ schemaSourceUrl: targetUrl(target), pending: [useThem] });
  assert.equal(result.ok, true, JSON.stringify(result));
  await target.drop();
});

test("a schema the shadow role cannot load is a clear setup error, and the scratch database is dropped", async () => {
  const target = await createTestDatabase("target");
  // dblink is not a trusted extension: the shadow server's non-superuser role may not create it.
  await query(target.url, "create extension dblink; create table t (id int)");
  const { result } = await rehearseChecked({ schemaSourceUrl: targetUrl(target), pending: [migration("0001_x.sql", "select 1;")] });
  assert.equal(result.ok, false);
  assert.match(
    result.setupError!,
    /^could not load the target's schema into the scratch database: .*schema dump line \d+: ERROR: +permission denied to create extension "dblink"/s,
  );
  assert.doesNotMatch(result.setupError!, /autopilot-rehearsal-/, "no temporary paths");
  assert.deepEqual(
    result.files.map((f) => f.status),
    ["not-run"],
  );
  await target.drop();
});

test("setup failures never throw and leave nothing: shadow server down, invalid URL, schema source down", async () => {
  const pending = [migration("0001_x.sql", "create table x (id int);")];
  const shadowDown = await rehearseChecked({ shadowUrl: `postgres://rehearser:${encodeURIComponent(SHADOW_PASSWORD)}@127.0.0.1:1/postgres`, pending });
  assert.equal(shadowDown.result.ok, false);
  assert.match(shadowDown.result.setupError!, /^could not create the scratch database: shadow server: connect ECONNREFUSED/);
  assert.deepEqual(
    shadowDown.result.files.map((f) => f.status),
    ["not-run"],
  );

  const invalid = await rehearseChecked({ shadowUrl: `not a url ${SHADOW_PASSWORD}`, pending });
  assert.match(invalid.result.setupError!, /^could not create the scratch database/);

  const sourceDown = await rehearseChecked({ schemaSourceUrl: `postgres://target_owner:${TARGET_PASSWORD}@127.0.0.1:1/shop`, pending });
  assert.equal(sourceDown.result.schemaFrom, "target");
  assert.match(sourceDown.result.setupError!, /^could not read the target's schema: pg_dump .*(refused|failed)/s);
  assert.deepEqual(
    sourceDown.result.files.map((f) => f.status),
    ["not-run"],
  );

  const badTimeout = await rehearseChecked({ pending, lockTimeout: "soon" });
  assert.match(badTimeout.result.setupError!, /invalid timeout "soon"/);
});

test("leftover cleanup drops only scratch databases older than the limit", async () => {
  const old = "autopilot_scratch_20000101000000_dead01";
  const recent = scratchDatabaseName();
  const notOurs = ["autopilot_scratch_notatime", "keep_autopilot_scratch_20000101000000_x", "autopilot_scratch_20000101000000_UPPER"];
  const shadowAdmin = withDatabase(shadowUrl, "postgres");
  for (const name of [old, recent]) await query(shadowAdmin, `create database "${name}"`);
  for (const name of notOurs) await query(admin, `create database "${name}"`);
  // Old and well named, but another role's: left alone, no error.
  const othersOld = "autopilot_scratch_20000101000000_other1";
  await query(admin, `create database "${othersOld}"`);

  assert.deepEqual(await dropLeftoverScratchDatabases(shadowUrl), [old]);
  const remaining = (await query(admin, "select datname from pg_database")).map((r) => r.datname);
  for (const name of [recent, othersOld, ...notOurs]) assert.ok(remaining.includes(name), name);
  assert.ok(!remaining.includes(old));

  assert.deepEqual(await dropLeftoverScratchDatabases(shadowUrl, 0), [recent], "age 0 takes the fresh one too");
  for (const name of [othersOld, ...notOurs]) await query(admin, `drop database "${name}"`);
  await assert.rejects(dropLeftoverScratchDatabases(`postgres://rehearser:${encodeURIComponent(SHADOW_PASSWORD)}@127.0.0.1:1/postgres`), (error: Error) => {
    assert.doesNotMatch(error.message, /S3cret/);
    return true;
  });
});

test("scratch database names carry their creation time", () => {
  const name = scratchDatabaseName(new Date("2025-01-27T13:45:06.789Z"));
  assert.match(name, /^autopilot_scratch_20250127134506_[a-z0-9]{8}$/);
  assert.equal(scratchDatabaseCreatedAt(name)?.toISOString(), "2025-01-27T13:45:06.000Z");
  assert.equal(scratchDatabaseCreatedAt("autopilot_scratch_20251399000000_abc"), undefined);
  assert.equal(scratchDatabaseCreatedAt("orders"), undefined);
});

test("the rehearsal's timeouts apply as in a real run: a statement past statement_timeout fails", async () => {
  const slow = migration("0001_slow.sql", "create table a (id int);\nselect pg_sleep(2);\n");
  const { result } = await rehearseChecked({ pending: [slow], statementTimeout: "100ms" });
  assert.equal(result.files[0].status, "failed");
  assert.equal(result.files[0].error?.code, "57014");
  assert.equal(result.files[0].error?.line, 2);
});

test("a session lost mid-rehearsal: files applied so far are reported, the rest not run, the scratch database dropped", async () => {
  const first = migration("0001_first.sql", "create table a (id int);\n");
  const killer = migration("0002_killer.sql", "select pg_terminate_backend(pg_backend_pid());\n");
  const third = migration("0003_third.sql", "create table c (id int);\n");
  const { result } = await rehearseChecked({ pending: [first, killer, third] });
  assert.equal(result.ok, false);
  assert.match(result.setupError!, /^the rehearsal could not run to the end: /);
  assert.deepEqual(
    result.files.map((f) => f.status),
    ["applied", "not-run", "not-run"],
  );
});
