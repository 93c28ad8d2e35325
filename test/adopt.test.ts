// Taking over a database another tool migrated, baselining one, and refusing to run file one on a
// populated database: on real PostgreSQL, with each tool's real history table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestDatabase, query } from "./harness/postgres.js";
import { loadMigrationDirectory, type MigrationFile } from "../src/database/migration-files.js";
import { readHistoryFromUrl } from "../src/database/history.js";
import { plan } from "../src/database/planner.js";
import { migrate } from "../src/database/migrator.js";
import { adoptForeignHistory, baselineHistory } from "../src/database/take-over.js";
import { targetOriginFromUrl } from "../src/database/target-origin.js";
import { loadRepoConfig } from "../src/config/repo-config.js";
import { renderCheckRun } from "../src/report/migrate-report.js";
import { takeOverOrStop } from "../src/runbooks/migrate-take-over.js";
import { SCHEMA_OBJECTS, TOOLS } from "./foreign-history-fixtures.js";
import { flywayChecksum } from "../src/database/foreign-history/flyway.js";
import { dieselMigrationsDirectory } from "../src/database/layouts/index.js";

const NAMES = ["users", "orders", "items"];

/** A migrations directory with the three files the tools applied, and optionally a fourth. */
async function repository(versions: string[], next?: string): Promise<MigrationFile[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-adopt-"));
  const sql = [
    "create table users (id int primary key, email text);",
    "create table orders (id int primary key, user_id int references users);",
    "create table items (id int primary key);",
  ];
  versions.forEach((version, i) => writeFileSync(path.join(dir, `${version}_${NAMES[i]}.sql`), `${sql[i]}\n`));
  if (next) writeFileSync(path.join(dir, `${next}_reviews.sql`), "create table reviews (id int primary key, item_id int references items);\n");
  const { files, problems } = await loadMigrationDirectory(dir);
  assert.deepEqual(problems, []);
  return files;
}

const fingerprint = async (url: string, table: string) =>
  (await query(url, `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as sum, count(*)::int as n from ${table} t`))[0];

const autopilotRows = async (url: string) =>
  await query(url, "select version, name, checksum, applied_by, applied_at, commit_sha from autopilot.schema_migrations order by version");

for (const fixture of TOOLS) {
  test(`adopts ${fixture.toolName}'s history, then applies a new file on top, leaving ${fixture.table} untouched`, async () => {
    const db = await createTestDatabase("adopt");
    await query(db.url, SCHEMA_OBJECTS + fixture.setup);
    const before = await fingerprint(db.url, fixture.table);
    const files = await repository(fixture.versions, fixture.next);

    const origin = await targetOriginFromUrl(db.url);
    assert.equal(origin.kind, "foreign");
    assert.equal(origin.kind === "foreign" && origin.histories[0].description, `${fixture.toolName} up to version ${Number(fixture.versions[2])}`);

    const result = await adoptForeignHistory({ databaseUrl: db.url, refs: files });
    assert.deepEqual(result.kind === "recorded" && result.recorded.map((r) => r.version), fixture.versions, JSON.stringify(result));
    const rows = await autopilotRows(db.url);
    assert.deepEqual(
      rows.map((r) => [r.version, r.name, r.checksum, r.applied_by, r.commit_sha]),
      files.slice(0, 3).map((f) => [f.version, f.name, f.checksum, `adopted from ${fixture.toolName}`, null]),
    );
    // The tool's own time where it kept one (2021), now where it kept none.
    for (const row of rows) assert.equal(row.applied_at.getFullYear() < 2022, fixture.keepsTime, `${row.version} applied_at ${row.applied_at}`);

    const pending = plan(files, await readHistoryFromUrl(db.url), { outOfOrder: false });
    assert.deepEqual(pending.problems, []);
    assert.deepEqual(
      pending.pending.map((p) => p.version),
      [fixture.next],
    );
    const applied = await migrate({ databaseUrl: db.url, migrations: files.filter((f) => f.version === fixture.next), appliedBy: "test", commitSha: null });
    assert.equal(applied.failure, undefined);
    assert.deepEqual(await query(db.url, "select to_regclass('reviews') is not null as made"), [{ made: true }]);
    assert.deepEqual(await fingerprint(db.url, fixture.table), before);
    assert.equal((await targetOriginFromUrl(db.url)).kind, "autopilot");
    await db.drop();
  });
}

const flyway = TOOLS.find((t) => t.tool === "flyway")!;
const golang = TOOLS.find((t) => t.tool === "golang-migrate")!;
const dbmate = TOOLS.find((t) => t.tool === "dbmate-or-rails")!;

async function refusedAdoption(setup: string, versions: string[]) {
  const db = await createTestDatabase("adopt");
  await query(db.url, SCHEMA_OBJECTS + setup);
  const result = await adoptForeignHistory({ databaseUrl: db.url, refs: await repository(versions) });
  const recorded = await query(db.url, "select to_regclass('autopilot.schema_migrations') is not null as present");
  const rows = recorded[0].present ? await autopilotRows(db.url) : [];
  await db.drop();
  return { result, rows };
}

test("a version applied but missing from the files, and a failed Flyway row, are reported and nothing is recorded", async () => {
  const setup = `${flyway.setup}
    insert into flyway_schema_history values (4, '4', 'reviews', 'SQL', 'V4__reviews.sql', 1, 'postgres', now(), 3, false),
      (5, '5', 'gone', 'SQL', 'V5__gone.sql', 1, 'postgres', now(), 3, true);`;
  const { result, rows } = await refusedAdoption(setup, [...flyway.versions, "0004"]);
  assert.equal(result.kind, "mismatches");
  const mismatches = result.kind === "mismatches" ? result.mismatches : [];
  assert.equal(mismatches.length, 2, mismatches.join("\n"));
  assert.match(mismatches[0], /Flyway marks V4__reviews\.sql \(version 4\) as failed/);
  assert.match(mismatches[1], /Flyway applied V5__gone\.sql \(version 5\) but no migration file has that version/);
  assert.deepEqual(rows, []);
});

test("Flyway's checksum (CRC-32 of the file's lines) is compared with the file: a changed file is a mismatch, line endings are not", async () => {
  // Flyway's own value for a one-line script, whatever its line endings or BOM.
  assert.equal(flywayChecksum("create table items (id int primary key);\n"), "1944474316");
  assert.equal(flywayChecksum("\uFEFFcreate table items (id int primary key);\r\n"), "1944474316");
  const changed = flyway.setup.replace("'V2__orders.sql', 1025839934", "'V2__orders.sql', 123456");
  const { result, rows } = await refusedAdoption(changed, flyway.versions);
  assert.equal(result.kind, "mismatches", JSON.stringify(result));
  assert.deepEqual(result.kind === "mismatches" && result.mismatches.length, 1);
  assert.match(
    result.kind === "mismatches" ? result.mismatches[0] : "",
    /Flyway ran V2__orders\.sql \(version 2\) with checksum 123456, but .*0002_orders\.sql now has checksum 1025839934: the file changed after Flyway applied it/,
  );
  assert.deepEqual(rows, []);
});

test("a dirty golang-migrate version is reported, not adopted", async () => {
  const { result, rows } = await refusedAdoption(golang.setup.replace("(3, false)", "(3, true)"), golang.versions);
  assert.equal(result.kind, "mismatches");
  assert.match(result.kind === "mismatches" ? result.mismatches.join("\n") : "", /golang-migrate marks version 3 dirty/);
  assert.deepEqual(rows, []);
});

test("golang-migrate at a version no file has is a mismatch; a Flyway baseline row without a file covers the files before it", async () => {
  const ahead = await refusedAdoption(golang.setup.replace("(3, false)", "(5, false)"), golang.versions);
  assert.match(
    ahead.result.kind === "mismatches" ? ahead.result.mismatches.join("\n") : "",
    /golang-migrate applied version 5 but no migration file has that version/,
  );
  assert.deepEqual(ahead.rows, []);

  const db = await createTestDatabase("adopt");
  const rows = `insert into flyway_schema_history values (1, '2', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', null, 'postgres', now(), 0, true),
    (2, '3', 'items', 'SQL', 'V3__items.sql', 1944474316, 'postgres', now(), 4, true);`;
  await query(db.url, SCHEMA_OBJECTS + flyway.setup.slice(0, flyway.setup.indexOf("insert into")) + rows);
  const result = await adoptForeignHistory({ databaseUrl: db.url, refs: await repository(["0001", "0002", "0003"]) });
  assert.deepEqual(result.kind === "recorded" && result.recorded.map((r) => r.version), ["0001", "0002", "0003"]);
  await db.drop();
});

test("a file older than the latest adopted version that the tool never recorded is reported", async () => {
  const { result, rows } = await refusedAdoption(dbmate.setup.replace("('20240102120000'), ", ""), dbmate.versions);
  assert.equal(result.kind, "mismatches");
  const text = result.kind === "mismatches" ? result.mismatches.join("\n") : "";
  assert.match(text, /20240102120000_orders\.sql \(version 20240102120000\) sorts before version 20240103120000/);
  assert.deepEqual(rows, []);
});

test("two tools' histories, or Autopilot's own, or none: adopt refuses and says why", async () => {
  const two = await refusedAdoption(flyway.setup + TOOLS.find((t) => t.tool === "diesel")!.setup, flyway.versions);
  assert.equal(two.result.kind, "refused");
  assert.match(two.result.kind === "refused" ? two.result.reason : "", /several tools' histories were found: Flyway .*diesel/);

  const none = await refusedAdoption("", flyway.versions);
  assert.match(none.result.kind === "refused" ? none.result.reason : "", /no other tool's migration history was found/);

  const db = await createTestDatabase("adopt");
  const files = await repository(["0001", "0002", "0003"]);
  await migrate({ databaseUrl: db.url, migrations: files.slice(0, 1), appliedBy: "test", commitSha: null });
  await query(db.url, flyway.setup);
  const owned = await adoptForeignHistory({ databaseUrl: db.url, refs: files });
  assert.match(owned.kind === "refused" ? owned.reason : "", /already has Autopilot history \(1 row\(s\), latest 0001\)/);
  await db.drop();
});

test("baseline records every file up to the version without running it, then the rest apply; refused once history exists", async () => {
  const db = await createTestDatabase("adopt");
  await query(db.url, SCHEMA_OBJECTS.split("\n").slice(0, 3).join("\n")); // users and orders exist; items does not
  const files = await repository(["0001", "0002", "0003"]);
  assert.deepEqual(await targetOriginFromUrl(db.url), { kind: "populated", tableCount: 2, tables: ["public.orders", "public.users"] });

  const unknown = await baselineHistory({ databaseUrl: db.url, refs: files, version: "7", by: "@alice" });
  assert.match(unknown.kind === "refused" ? unknown.reason : "", /no migration file has version 7/);
  const result = await baselineHistory({ databaseUrl: db.url, refs: files, version: "2", by: "@alice" });
  assert.deepEqual(result.kind === "recorded" && result.recorded.map((r) => r.version), ["0001", "0002"]);
  assert.deepEqual(
    (await autopilotRows(db.url)).map((r) => [r.version, r.applied_by]),
    [
      ["0001", "baselined by @alice"],
      ["0002", "baselined by @alice"],
    ],
  );
  const pending = plan(files, await readHistoryFromUrl(db.url), { outOfOrder: false }).pending;
  const applied = await migrate({ databaseUrl: db.url, migrations: files.filter((f) => pending.includes(f)), appliedBy: "test", commitSha: null });
  assert.deepEqual(
    applied.applied.map((a) => a.file.version),
    ["0003"],
  );

  const again = await baselineHistory({ databaseUrl: db.url, refs: files, version: "3", by: "@alice" });
  assert.match(
    again.kind === "refused" ? again.reason : "",
    /already has Autopilot history \(3 row\(s\), latest 0003\); baseline only records into an empty history/,
  );
  await db.drop();
});

test("a new database, or one with only a platform's schemas, is empty; extension tables do not count", async () => {
  const db = await createTestDatabase("adopt");
  await query(db.url, "create schema auth; create table auth.users (id uuid primary key); create schema storage; create table storage.objects (id int)");
  assert.deepEqual(await targetOriginFromUrl(db.url), { kind: "empty" });
  await db.drop();
});

test("CLI: adopt exits 1 on a mismatch, then records once the files match; baseline refuses a history; no secret printed", async () => {
  const db = await createTestDatabase("adopt");
  await query(db.url, SCHEMA_OBJECTS + flyway.setup);
  const url = new URL(db.url);
  url.password = "s3cret-pass";
  const env = { AUTOPILOT_DATABASE_URL: url.toString() };
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-adopt-cli-"));
  writeFileSync(path.join(dir, "0001_users.sql"), "create table users (id int primary key, email text);\n");
  writeFileSync(path.join(dir, "0003_items.sql"), "create table items (id int primary key);\n");

  const mismatch = await cli(["adopt", "--dir", dir], env);
  assert.equal(mismatch.code, 1, mismatch.stderr);
  assert.match(
    mismatch.stderr,
    /Nothing recorded: Flyway's history does not match the files:\n {2}- Flyway applied V2__orders\.sql \(version 2\) but no migration file has that version/,
  );

  writeFileSync(path.join(dir, "0002_orders.sql"), "create table orders (id int primary key, user_id int references users);\n");
  const adopted = await cli(["adopt", "--dir", dir], env);
  assert.equal(adopted.code, 0, adopted.stderr);
  assert.match(adopted.stdout, /Recorded 3 migration\(s\) up to 0003 \(adopted from Flyway\) without running them\./);

  const baseline = await cli(["baseline", "--dir", dir, "--version", "0002"], env);
  assert.equal(baseline.code, 1);
  assert.match(baseline.stderr, /error: this database already has Autopilot history \(3 row\(s\), latest 0003\)/);
  for (const out of [mismatch, adopted, baseline]) assert.doesNotMatch(out.stdout + out.stderr, /s3cret-pass/);
  await db.drop();
});

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

test("CLI: without --dir, a diesel project's diesel.toml names the directory; diesel's history is adopted from it in the diesel layout", async () => {
  const db = await createTestDatabase("adopt");
  await query(db.url, SCHEMA_OBJECTS + TOOLS.find((t) => t.tool === "diesel")!.setup);
  const project = mkdtempSync(path.join(tmpdir(), "autopilot-diesel-"));
  writeFileSync(
    path.join(project, "diesel.toml"),
    '[print_schema]\nfile = "src/schema.rs"\n\n[migrations_directory]\ndir = "db/diesel" # relative to diesel.toml\n',
  );
  const sql = [
    "create table users (id int primary key, email text);",
    "create table orders (id int primary key, user_id int references users);",
    "create table items (id int primary key);",
  ];
  ["2024-01-01-120000_users", "2024-01-02-120000_orders", "2024-01-03-120000_items"].forEach((folder, i) => {
    mkdirSync(path.join(project, "db/diesel", folder), { recursive: true });
    writeFileSync(path.join(project, "db/diesel", folder, "up.sql"), `${sql[i]}\n`);
    writeFileSync(path.join(project, "db/diesel", folder, "down.sql"), "select 1;\n");
  });
  const adopted = await cli(["adopt"], { AUTOPILOT_DATABASE_URL: db.url }, project);
  assert.equal(adopted.code, 0, adopted.stderr);
  assert.match(adopted.stdout, /Recorded 3 migration\(s\) up to 20240103120000 \(adopted from diesel\) without running them\./);
  assert.equal(dieselMigrationsDirectory("[migrations_directory]\ndir = 'migrations/pg/'\n"), "migrations/pg");
  assert.equal(dieselMigrationsDirectory('[print_schema]\ndir = "elsewhere"\n'), undefined);
  await db.drop();
});

function cli(args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("a push's first run: migrations.baseline records up to it; without it, tables or another tool's history stop the run with action_required", async () => {
  const db = await createTestDatabase("adopt");
  await query(db.url, SCHEMA_OBJECTS);
  const files = await repository(["0001", "0002", "0003"], "0004");
  const target = { repo: "acme/shop", environment: "production", databaseUrl: db.url, showRowValues: false };
  const configWith = (yaml: string) => loadRepoConfig(yaml).config;

  const stopped = stopOf(await takeOverOrStop({ config: configWith("migrations:\n  directory: migrations\n"), target, refs: files }));
  assert.deepEqual(stopped, {
    kind: "unmanaged-tables",
    environment: "production",
    tableCount: 3,
    tables: ["public.items", "public.orders", "public.users"],
    pending: 4,
  });
  const rendered = renderCheckRun(stopped!);
  assert.equal(rendered.conclusion, "action_required");
  assert.equal(rendered.title, "Nothing applied: production has 3 table(s) but no migration history");
  assert.match(rendered.summary, /`\/autopilot baseline <version> production` \(or `migrations.baseline: <version>`/);

  const badBaseline = stopOf(await takeOverOrStop({ config: configWith("migrations:\n  baseline: 9\n"), target, refs: files }));
  assert.equal(badBaseline?.kind, "refused");
  assert.match(badBaseline?.kind === "refused" ? badBaseline.problems[0].message : "", /migrations.baseline: no migration file has version 9/);

  const baselined = await takeOverOrStop({ config: configWith("migrations:\n  baseline: 3\n"), target, refs: files });
  assert.ok("history" in baselined, JSON.stringify(baselined));
  // The run goes on from the rows the baseline returned, which are what the target now holds.
  assert.deepEqual(baselined.history, await readHistoryFromUrl(db.url));
  const pending = plan(files, baselined.history, { outOfOrder: false }).pending;
  assert.deepEqual(
    pending.map((p) => p.version),
    ["0004"],
  );
  assert.deepEqual(
    (await autopilotRows(db.url)).map((r) => r.applied_by),
    Array(3).fill("baselined by migrations.baseline"),
  );

  const other = await createTestDatabase("adopt");
  await query(other.url, SCHEMA_OBJECTS + TOOLS.find((t) => t.tool === "prisma")!.setup);
  const foreign = stopOf(await takeOverOrStop({ config: configWith(""), target: { ...target, databaseUrl: other.url }, refs: files }));
  assert.equal(foreign?.kind, "foreign-history");
  assert.equal(
    renderCheckRun(foreign!).title,
    "Nothing applied: this database was migrated by Prisma up to version 20240103120000; run /autopilot adopt production to continue from there",
  );
  assert.match(
    loadRepoConfig("migrations:\n  baseline: v3\n")
      .errors.map((e) => `${e.key}: ${e.message}`)
      .join(),
    /migrations.baseline: must be a migration version/,
  );
  const empty = await createTestDatabase("adopt");
  assert.deepEqual(await takeOverOrStop({ config: configWith(""), target: { ...target, databaseUrl: empty.url }, refs: files }), { history: [] });
  await Promise.all([db.drop(), other.drop(), empty.drop()]);
});

const stopOf = (result: Awaited<ReturnType<typeof takeOverOrStop>>) => ("stop" in result ? result.stop : undefined);
