import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, query } from "./harness/postgres.js";

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-cli-"));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

/** A URL with a password, so the tests can check it never shows up in output. */
const withPassword = (url: string) => {
  const u = new URL(url);
  u.password = "s3cret-pass";
  return u.toString();
};

test("plan, migrate, migrate again: end to end through bin/autopilot.js, URL from the environment", async () => {
  const db = await createTestDatabase();
  const dir = migrationsDir({
    "0001_users.sql": "create table users (id int primary key);\n",
    "0002_orders.sql": "create table orders (id int primary key);\n",
    "0003_index.sql": "-- autopilot:no-transaction\ncreate index concurrently orders_id on orders (id);\n",
    "README.md": "not a migration",
  });
  const env = { AUTOPILOT_DATABASE_URL: db.url };

  const planned = await autopilot(["plan", "--dir", dir], env);
  assert.equal(planned.code, 0, planned.stderr);
  assert.match(planned.stdout, /Pending \(3\):\n {2}0001_users\.sql\n {2}0002_orders\.sql\n {2}0003_index\.sql {2}\[no-transaction\]/);

  const migrated = await autopilot(["migrate", "--dir", dir, "--applied-by", "ci", "--commit-sha", "abc123"], env);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(
    migrated.stderr,
    /Applying 1 of 3: 0001_users… done in \d+ ms\nApplying 2 of 3: 0002_orders… done in \d+ ms\nApplying 3 of 3: 0003_index… done in \d+ ms/,
  );
  assert.match(migrated.stdout, /Applied 3 migration\(s\)\./);
  const rows = await query(db.url, "select version, applied_by, commit_sha from autopilot.schema_migrations order by version");
  assert.deepEqual(
    rows.map((r) => [r.version, r.applied_by, r.commit_sha]),
    [
      ["0001", "ci", "abc123"],
      ["0002", "ci", "abc123"],
      ["0003", "ci", "abc123"],
    ],
  );

  const again = await autopilot(["migrate", "--dir", dir], env);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /Nothing to apply/);
  await db.drop();
});

test("a failing migration prints file:line: message and exits 1; the password never shows", async () => {
  const db = await createTestDatabase();
  const url = withPassword(db.url); // trust auth ignores the password
  const dir = migrationsDir({
    "0001_ok.sql": "create table ok (id int);\n",
    "0002_bad.sql": "create table bad (id int);\n\nselect nope from ok;\n",
  });
  const result = await autopilot(["migrate", "--database-url-env", "TARGET_URL", "--dir", dir], { TARGET_URL: url });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Applying 2 of 2: 0002_bad… failed\n/);
  assert.match(
    result.stderr,
    new RegExp(`${path.join(dir, "0002_bad.sql").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3:8: column "nope" does not exist \\(SQLSTATE 42703\\)`),
  );
  assert.match(result.stdout, /Applied 1 of 2 migration\(s\) before the failure/);
  assert.doesNotMatch(result.stdout + result.stderr, /s3cret-pass/);
  await db.drop();
});

test("plan refuses a changed applied file and a bad file name with exit 1", async () => {
  const db = await createTestDatabase();
  const dir = migrationsDir({ "0001_a.sql": "create table a (id int);" });
  assert.equal((await autopilot(["migrate", "--dir", dir], { AUTOPILOT_DATABASE_URL: db.url })).code, 0);
  writeFileSync(path.join(dir, "0001_a.sql"), "create table a (id bigint);");
  writeFileSync(path.join(dir, "seed.sql"), "select 1;");
  const result = await autopilot(["plan", "--dir", dir], { AUTOPILOT_DATABASE_URL: db.url });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /0001_a\.sql: error: 0001_a\.sql was applied with checksum [0-9a-f]{12}…, now [0-9a-f]{12}…/);
  assert.match(result.stderr, /seed\.sql: error: bad file name/);
  const migrate = await autopilot(["migrate", "--dir", dir], { AUTOPILOT_DATABASE_URL: db.url });
  assert.equal(migrate.code, 1);
  await db.drop();
});

test("an unreachable database is one redacted error line", async () => {
  const dir = migrationsDir({ "0001_a.sql": "select 1;" });
  const result = await autopilot(["plan", "--dir", dir], { AUTOPILOT_DATABASE_URL: "postgres://u:topsecretpw@127.0.0.1:1/x" });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: /);
  assert.doesNotMatch(result.stderr, /topsecretpw|\n {4}at /);
});

test("audit prints the store's audit trail, newest first, filtered by repository", async () => {
  const store = await createTestDatabase("audit");
  const setup = await autopilot(["audit"], { DATABASE_URL: store.url });
  assert.equal(setup.code, 0, setup.stderr);
  await query(
    store.url,
    "insert into audit (actor, repo, environment, action, outcome) values ('ada', 'acme/shop', 'production', 'lock', 'success'), ('bob', 'acme/shop', 'production', 'rollback', 'refused'), ('eve', 'other/repo', 'production', 'migrate', 'success')",
  );
  const { code, stdout } = await autopilot(["audit", "--repo", "acme/shop"], { DATABASE_URL: store.url });
  assert.equal(code, 0);
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  assert.deepEqual(
    lines.map((l) => `${l[1]}:${l[4]}:${l[5]}`),
    ["bob:rollback:refused", "ada:lock:success"],
  );
  await store.drop();
});

test("a reader that closes early (`autopilot … | head -1`) ends the command quietly: no EPIPE stack trace, a clean exit", async () => {
  // Enough findings that the output outgrows the pipe's buffer, so writes go on after the reader is gone.
  const files = Object.fromEntries(
    Array.from({ length: 400 }, (_, i) => [
      `${String(i + 1).padStart(4, "0")}_t${i}.sql`,
      `create table t${i} (id bigint primary key, a varchar(80), b varchar(80), c varchar(80));\n`,
    ]),
  );
  const dir = migrationsDir(files);
  const clean = { ...process.env };
  delete clean.AUTOPILOT_DATABASE_URL;
  const child = spawn(process.execPath, [bin, "plan", "--lint", "--dir", dir], { env: clean, stdio: ["ignore", "pipe", "pipe"] });
  let firstLine = "";
  let stderr = "";
  child.stdout.once("data", (chunk: Buffer) => {
    firstLine = chunk.toString().split("\n")[0];
    child.stdout.destroy(); // what `head -1` does once it has its line
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  assert.match(firstLine, /linting all 400 file\(s\)|prefer-text-field/);
  assert.doesNotMatch(stderr, /EPIPE|Error|\n\s+at /, stderr);
  assert.equal(stderr, "");
  assert.deepEqual([code, signal], [0, null]);
});
