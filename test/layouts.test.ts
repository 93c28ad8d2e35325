// Every migration layout through the same engine, on real PostgreSQL: applied from empty, re-run as
// a no-op, rolled back where the layout has down files; detection; and crates.io's diesel history.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";
import { describeLayout, layoutNamed, type LayoutName } from "../src/database/layouts/index.js";
import { compareVersions, gitBlobSha, indexMigrations, loadMigrationDirectory, versionKey, type MigrationFile } from "../src/database/migration-files.js";
import { readHistoryFromUrl } from "../src/database/history.js";
import { migrate } from "../src/database/migrator.js";
import { plan } from "../src/database/planner.js";
import { applyDownMigrations, planRevertOf, type DownFile } from "../src/database/rollback.js";
import { planMarkdown } from "../src/report/plan-report.js";

/** Writes files (paths relative to a fresh directory) and returns that directory. */
function repository(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "layout-"));
  for (const [relative, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    writeFileSync(path.join(root, relative), content);
  }
  return root;
}

async function planAndMigrate(url: string, dir: string, layout?: LayoutName) {
  const loaded = await loadMigrationDirectory(dir, layout);
  assert.deepEqual(
    loaded.problems.filter((p) => p.severity === "error"),
    [],
  );
  const planned = plan(loaded.files, await readHistoryFromUrl(url), { outOfOrder: false });
  assert.deepEqual(planned.problems, []);
  const pending = new Set(planned.pending.map((r) => r.path));
  const result = await migrate({ databaseUrl: url, migrations: loaded.files.filter((f) => pending.has(f.path)), appliedBy: "test", lockWaitSeconds: 5 });
  assert.equal(result.failure, undefined, result.failure?.message);
  return { loaded, applied: result.applied.map((a) => a.file.filename) };
}

/** Reverts every applied versioned migration with the layout's down files, newest first. */
async function rollBackAll(url: string, files: MigrationFile[]) {
  const downs = new Map<string, DownFile>(
    files.filter((f) => f.down).map((f) => [f.version, { version: f.version, name: f.name, path: f.down!.path, sql: f.down!.sql }]),
  );
  const history = await readHistoryFromUrl(url);
  const revert = planRevertOf(
    history.map((h) => h.version),
    history,
    downs,
    "migrations",
  );
  assert.ok(!("error" in revert), JSON.stringify(revert));
  assert.deepEqual(revert.missing, []);
  const result = await applyDownMigrations({ databaseUrl: url, downs: revert.downs, revertedBy: "test", lockWaitSeconds: 5 });
  assert.equal(result.failure, undefined, result.failure?.message);
  return revert.downs.map((d) => d.version);
}

const tables = async (url: string) =>
  (await query(url, "select table_name from information_schema.tables where table_schema = 'public' order by 1")).map((r) => r.table_name);

// One database for the small repositories, emptied before each: creating a database per test costs more than the test.
let db: TestDatabase;
before(async () => (db = await createTestDatabase("layout")));
after(() => db.drop());
const emptyDatabase = () => query(db.url, "drop schema if exists autopilot cascade; drop schema public cascade; create schema public");

interface Story {
  layout: LayoutName;
  files: Record<string, string>;
  /** The migrations directory inside the repository. */
  dir?: string;
  applied: string[];
  tables: string[];
  reverted?: string[];
}

const STORIES: Story[] = [
  {
    layout: "autopilot",
    files: {
      "0001_users.sql": "create table users (id int primary key);\n",
      "0001_users.down.sql": "drop table users;\n",
      "0002_orders.sql": "create table orders (id int primary key, user_id int references users);\n",
      "0002_orders.down.sql": "drop table orders;\n",
    },
    applied: ["0001_users.sql", "0002_orders.sql"],
    tables: ["orders", "users"],
    reverted: ["0002", "0001"],
  },
  {
    layout: "supabase",
    dir: "supabase/migrations",
    files: {
      "supabase/migrations/20240101120000_users.sql": "create table users (id int primary key);\n",
      "supabase/migrations/20240102120000_orders.sql": "create table orders (id int primary key);\n",
    },
    applied: ["20240101120000_users.sql", "20240102120000_orders.sql"],
    tables: ["orders", "users"],
  },
  {
    layout: "flyway",
    files: {
      "V1__users.sql": "create table users (id int primary key);\n",
      "V1.1__email.sql": "alter table users add column email text;\n",
      "U1.1__email.sql": "alter table users drop column email;\n",
      "V2_1__orders.sql": "create table orders (id int primary key);\n",
      "U2_1__orders.sql": "drop table orders;\n",
      "V10__audit.sql": "create table audit (id int);\n",
      "U10__audit.sql": "drop table audit;\n",
      "R__user_ids.sql": "create or replace view user_ids as select id from users;\n",
    },
    applied: ["V1__users.sql", "V1.1__email.sql", "V2_1__orders.sql", "V10__audit.sql", "R__user_ids.sql"],
    tables: ["audit", "orders", "user_ids", "users"],
  },
  {
    layout: "golang-migrate",
    files: {
      "000001_users.up.sql": "create table users (id int primary key);\n",
      "000001_users.down.sql": "drop table users;\n",
      "000002_orders.up.sql": "create table orders (id int primary key);\n",
      "000002_orders.down.sql": "drop table orders;\n",
    },
    applied: ["000001_users.up.sql", "000002_orders.up.sql"],
    tables: ["orders", "users"],
    reverted: ["000002", "000001"],
  },
  {
    layout: "dbmate",
    files: {
      "20240101120000_users.sql": "-- migrate:up\ncreate table users (id int primary key, email text);\n\n-- migrate:down\ndrop table users;\n",
      "20240102120000_email_index.sql":
        "-- migrate:up transaction:false\ncreate index concurrently users_email on users (email);\n\n-- migrate:down\ndrop index users_email;\n",
    },
    applied: ["20240101120000_users.sql", "20240102120000_email_index.sql"],
    tables: ["users"],
    reverted: ["20240102120000", "20240101120000"],
  },
  {
    layout: "diesel",
    files: {
      "00000000000000_diesel_initial_setup/up.sql": "create function noop() returns int language sql as 'select 1';\n",
      "00000000000000_diesel_initial_setup/down.sql": "drop function noop();\n",
      "2017-10-12-213331_users/up.sql": "create table users (id int primary key);\n",
      "2017-10-12-213331_users/down.sql": "drop table users;\n",
      "20180101000000_orders/up.sql": "create table orders (id int primary key);\n",
      "20180101000000_orders/down.sql": "drop table orders;\n",
    },
    applied: ["00000000000000_diesel_initial_setup/up.sql", "2017-10-12-213331_users/up.sql", "20180101000000_orders/up.sql"],
    tables: ["orders", "users"],
    reverted: ["20180101000000", "20171012213331", "00000000000000"],
  },
  {
    layout: "prisma",
    files: {
      "migration_lock.toml": 'provider = "postgresql"\n',
      "20240101120000_init/migration.sql": 'create table "User" (id int primary key);\n',
      "20240102120000_orders/migration.sql": 'create table "Order" (id int primary key);\n',
    },
    applied: ["20240101120000_init/migration.sql", "20240102120000_orders/migration.sql"],
    tables: ["Order", "User"],
  },
];

for (const story of STORIES) {
  test(`${story.layout}: detected, applied from empty, re-run as a no-op${story.reverted ? ", rolled back" : ""}`, async () => {
    await emptyDatabase();
    {
      const dir = path.join(repository(story.files), story.dir ?? "");
      const first = await planAndMigrate(db.url, dir);
      assert.equal(first.loaded.layout.name, story.layout);
      assert.deepEqual(first.applied, story.applied);
      assert.deepEqual(await tables(db.url), story.tables);
      const again = await planAndMigrate(db.url, dir, story.layout);
      assert.deepEqual(again.applied, []);
      if (story.reverted) {
        assert.deepEqual(await rollBackAll(db.url, first.loaded.files), story.reverted);
        assert.deepEqual(await tables(db.url), []);
      } else if (story.layout !== "flyway") {
        assert.equal(layoutNamed(story.layout).hasDownFiles, false);
        assert.ok(first.loaded.files.every((f) => !f.down));
      }
    }
  });
}

test("flyway: repeatables re-run after the versioned files only when their checksum changes; undo files roll back", async () => {
  await emptyDatabase();
  {
    const files = STORIES.find((s) => s.layout === "flyway")!.files;
    const dir = repository(files);
    await planAndMigrate(db.url, dir);
    writeFileSync(path.join(dir, "R__user_ids.sql"), "create or replace view user_ids as select id, email from users;\n");
    writeFileSync(path.join(dir, "V11__more.sql"), "create table more (id int);\n");
    writeFileSync(path.join(dir, "U11__more.sql"), "drop table more;\n");
    const changed = await planAndMigrate(db.url, dir);
    assert.deepEqual(changed.applied, ["V11__more.sql", "R__user_ids.sql"]);
    const [row] = await query(db.url, "select checksum from autopilot.schema_migrations where version = 'R__user_ids'");
    assert.equal(row.checksum, gitBlobSha("create or replace view user_ids as select id, email from users;\n"));
    assert.deepEqual((await planAndMigrate(db.url, dir)).applied, []);

    // U files undo their versions; the repeatable is not reverted, so drop the view that uses email first.
    writeFileSync(path.join(dir, "R__user_ids.sql"), "create or replace view user_ids as select id from users;\n");
    await query(db.url, "drop view user_ids");
    const loaded = await loadMigrationDirectory(dir);
    const downs = new Map<string, DownFile>(loaded.files.filter((f) => f.down).map((f) => [f.version, { ...f.down!, version: f.version, name: f.name }]));
    const history = await readHistoryFromUrl(db.url);
    const revert = planRevertOf(["11", "10", "2.1", "1.1"], history, downs, dir);
    assert.ok(!("error" in revert));
    assert.deepEqual(
      revert.downs.map((d) => d.path.slice(dir.length + 1)),
      ["U11__more.sql", "U10__audit.sql", "U2_1__orders.sql", "U1.1__email.sql"],
    );
    const result = await applyDownMigrations({ databaseUrl: db.url, downs: revert.downs, revertedBy: "test", lockWaitSeconds: 5 });
    assert.equal(result.failure, undefined);
    assert.deepEqual(await tables(db.url), ["users"]);
  }
});

test("versions: numeric part by part; autopilot's leading zeros and Flyway's trailing .0 are one version", () => {
  assert.equal(versionKey("0001"), versionKey("1"));
  assert.equal(versionKey("1.0"), versionKey("1"));
  const sorted = ["10", "R__views", "2.1", "1.10", "1.2", "1", "20171012213331"].sort(compareVersions);
  assert.deepEqual(sorted, ["1", "1.2", "1.10", "2.1", "10", "20171012213331", "R__views"]);
});

const listing = (paths: string[], dir = "migrations") => paths.map((p) => ({ path: `${dir}/${p}`, sha: gitBlobSha(p) }));

test("detection: each layout from its file names, shown in the plan; mixed layouts are refused naming the files", () => {
  const cases: Array<[string[], LayoutName]> = [
    [["0001_users.sql", "0001_users.down.sql"], "autopilot"],
    [["V1__init.sql", "V2__users.sql", "R__views.sql"], "flyway"],
    [["000001_init.up.sql", "000001_init.down.sql"], "golang-migrate"],
    [["2017-10-12-213331_init/up.sql", "2017-10-12-213331_init/down.sql"], "diesel"],
    [["20240101120000_init/migration.sql", "migration_lock.toml"], "prisma"],
  ];
  for (const [paths, layout] of cases) assert.equal(indexMigrations(listing(paths), "migrations").layout.name, layout, paths.join(", "));

  const flyway = indexMigrations(listing(["V1__init.sql", "V2__users.sql", "V3__orders.sql", "V4__x.sql"]), "migrations");
  assert.equal(describeLayout(flyway.layout), "flyway (detected from V1__init.sql, V2__users.sql, V3__orders.sql …)");
  const markdown = planMarkdown({ pending: [], problems: [], findings: [], layout: describeLayout(flyway.layout) });
  assert.match(markdown, /Layout: flyway \(detected from V1__init\.sql/);
  assert.equal(describeLayout(indexMigrations(listing(["V1__init.sql"]), "migrations", "flyway").layout), "flyway (set by migrations.layout)");

  // The Supabase CLI's folder stands in for an absent default directory.
  const supabase = indexMigrations(listing(["20240101120000_init.sql"], "supabase/migrations"), "migrations");
  assert.deepEqual([supabase.directory, supabase.layout.name, supabase.refs.length], ["supabase/migrations", "supabase", 1]);

  const mixed = indexMigrations(listing(["0001_users.sql", "V2__orders.sql", "000003_x.up.sql"]), "migrations");
  assert.deepEqual(mixed.refs, []);
  assert.equal(mixed.problems.length, 1);
  assert.equal(mixed.problems[0].code, "ambiguous-layout");
  assert.match(mixed.problems[0].message, /^migrations mixes migration layouts: .*; keep one layout there or set migrations\.layout$/);
  for (const named of ["flyway (V2__orders.sql)", "golang-migrate (000003_x.up.sql)", "autopilot (0001_users.sql)"])
    assert.ok(mixed.problems[0].message.includes(named), named);
});

test("a bad file name in a layout is a problem naming the file and the layout's naming", () => {
  const cases: Array<[LayoutName, string, RegExp]> = [
    ["flyway", "V1_users.sql", /V<version>__<name>\.sql/],
    ["golang-migrate", "1_users.sql", /\.up\.sql/],
    ["diesel", "2017-10-12-213331_users/upp.sql", /up\.sql and down\.sql/],
    ["prisma", "init/migration.sql", /<timestamp>_<name>\/ holding migration\.sql/],
  ];
  for (const [layout, bad, naming] of cases) {
    const index = indexMigrations(listing([bad]), "migrations", layout);
    assert.equal(index.problems.length, 1, layout);
    assert.equal(index.problems[0].code, "bad-filename");
    assert.equal(index.problems[0].path, `migrations/${bad}`);
    assert.match(index.problems[0].message, naming);
  }
  const orphan = indexMigrations(listing(["U3__gone.sql"]), "migrations", "flyway");
  assert.deepEqual(
    orphan.problems.map((p) => [p.code, p.path]),
    [["orphan-down", "migrations/U3__gone.sql"]],
  );
});

test("dbmate: a file with its sections is refused in autopilot's layout; broken sections are errors with their line", async () => {
  const dir = repository({ "0001_users.sql": "-- migrate:up\ncreate table users (id int);\n-- migrate:down\ndrop table users;\n" });
  const asAutopilot = await loadMigrationDirectory(dir, "autopilot");
  assert.deepEqual(
    asAutopilot.problems.map((p) => p.code),
    ["wrong-layout"],
  );
  const broken = await loadMigrationDirectory(repository({ "0001_x.sql": "select 1;\n-- migrate:up transaction:maybe\nselect 2;\n" }), "dbmate");
  assert.deepEqual(
    broken.problems.map((p) => [p.line, p.message]),
    [
      [1, "statements before -- migrate:up belong to neither direction"],
      [2, 'unknown dbmate option "transaction:maybe" (known: transaction:false)'],
    ],
  );
});

const CRATES_IO = path.join(import.meta.dirname, "..", "fixtures", "crates-io", "migrations");
/** The first migration that diesel runs outside a transaction (its metadata.toml says so), which we do not read. */
const FIRST_OUTSIDE_A_TRANSACTION = "20240212120203";

test("crates.io: 285 diesel migrations indexed in order; the history up to the first metadata.toml applies to an empty database", async () => {
  const loaded = await loadMigrationDirectory(CRATES_IO);
  assert.equal(loaded.layout.name, "diesel");
  assert.equal(loaded.files.length, 285);
  assert.deepEqual(
    loaded.problems.filter((p) => p.severity === "error"),
    [],
  );
  assert.equal(loaded.problems.filter((p) => p.code === "unread-file").length, 7);
  const versions = loaded.files.map((f) => f.version);
  assert.deepEqual([...versions].sort(compareVersions), versions);
  assert.equal(new Set(versions.map(versionKey)).size, versions.length);

  await emptyDatabase();
  {
    const prefix = loaded.files.filter((f) => compareVersions(f.version, FIRST_OUTSIDE_A_TRANSACTION) < 0);
    const result = await migrate({ databaseUrl: db.url, migrations: prefix, appliedBy: "test", lockWaitSeconds: 5 });
    assert.equal(result.failure, undefined, result.failure && `${result.failure.file.filename}: ${result.failure.message}`);
    assert.equal(result.applied.length, prefix.length);
    assert.ok((await tables(db.url)).includes("crates"));
    const again = plan(prefix, await readHistoryFromUrl(db.url), { outOfOrder: false });
    assert.deepEqual([again.pending.length, again.problems], [0, []]);
  }
});
