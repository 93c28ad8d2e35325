// Backup and restore against a real PostgreSQL with the real pg_dump/pg_restore/psql.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { backupDatabase, BackupError } from "../src/database/backup.js";
import { restoreDatabase, RestoreError } from "../src/database/restore.js";
import { connectionEnv } from "../src/database/pg-tools.js";
import { LocalBackupStore } from "../src/backups/local-store.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";

const workDir = () => mkdtempSync(path.join(tmpdir(), "autopilot-backup-test-"));
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

async function seeded(): Promise<TestDatabase> {
  const db = await createTestDatabase("bk");
  await query(
    db.url,
    `create table customers (id int primary key, name text not null);
     insert into customers select g, 'customer ' || g from generate_series(1, 50) g;
     create view customer_names as select name from customers;
     create schema reporting;
     create table reporting.totals (day date primary key, amount numeric);
     insert into reporting.totals values ('2025-01-01', 10.5);`,
  );
  return db;
}

/** A compact picture of the database: every user relation and the rows of the tables we care about. */
async function snapshot(url: string): Promise<unknown> {
  const relations = await query(
    url,
    `select n.nspname || '.' || c.relname || ':' || c.relkind::text as r from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' order by 1`,
  );
  const customers = await query(url, "select id, name from customers order by id");
  const totals = await query(url, "select day::text, amount::text from reporting.totals order by day");
  return { relations: relations.map((r) => r.r), customers, totals };
}

test("connectionEnv keeps the password out of argv", () => {
  const conn = connectionEnv("postgres://app:s3cret%2Fpw@db.example:5433/shop?sslmode=require");
  assert.deepEqual(conn.args, ["--dbname=postgres://app@db.example:5433/shop?sslmode=require"]);
  assert.equal(conn.env.PGPASSWORD, "s3cret/pw");
  const viaQuery = connectionEnv("postgresql://app@db/shop?password=qpw&sslmode=disable");
  assert.ok(!viaQuery.args.join(" ").includes("qpw"));
  assert.equal(viaQuery.env.PGPASSWORD, "qpw");
  assert.throws(
    () => connectionEnv("host=db password=x"),
    (e: Error) => !e.message.includes("password=x"),
  );
});

test("backup of a database with data writes a verified dump atomically", async () => {
  const db = await seeded();
  const dir = workDir();
  const file = path.join(dir, "nested", "shop.dump");
  const progress: string[] = [];
  const result = await backupDatabase({ databaseUrl: db.url, file, onProgress: (l) => progress.push(l) });

  assert.equal(result.file, file);
  assert.ok(existsSync(file));
  assert.equal(result.sizeBytes, statSync(file).size);
  assert.equal(result.sha256, sha256(file));
  assert.ok(result.tocEntries > 5, `toc entries: ${result.tocEntries}`);
  assert.match(result.serverVersion ?? "", /^\d+/);
  assert.equal(statSync(file).mode & 0o077, 0, "a dump is readable by its owner only");
  assert.deepEqual(readdirSync(path.dirname(file)), ["shop.dump"], "no temporary file left behind");
  assert.ok(
    progress.some((l) => l.includes("pg_dump")),
    "pg_dump's verbose lines reach onProgress",
  );
  await db.drop();
});

test("backup of an empty database works", async () => {
  const db = await createTestDatabase("bk");
  const file = path.join(workDir(), "empty.dump");
  const result = await backupDatabase({ databaseUrl: db.url, file });
  assert.ok(result.tocEntries > 0);
  assert.ok(existsSync(file));
  await db.drop();
});

test("backup of a database that is down fails cleanly: BackupError, no file, no password", async () => {
  const dir = workDir();
  const file = path.join(dir, "down.dump");
  await assert.rejects(backupDatabase({ databaseUrl: "postgres://u:s3cret-pw@127.0.0.1:1/x", file }), (error: unknown) => {
    assert.ok(error instanceof BackupError);
    assert.equal(error.stage, "dump");
    assert.match(error.message, /pg_dump failed/);
    assert.match(error.message, /127\.0\.0\.1|connection/i);
    assert.ok(!error.message.includes("s3cret-pw"), error.message);
    return true;
  });
  assert.deepEqual(readdirSync(dir), []);
});

test("restore after a migration-like change brings back exactly the dumped state", async () => {
  const db = await seeded();
  const before = await snapshot(db.url);
  const file = path.join(workDir(), "before.dump");
  const backup = await backupDatabase({ databaseUrl: db.url, file });

  await query(
    db.url,
    `create table new_t (id int);
     insert into customers values (1000, 'added later');
     update customers set name = 'renamed' where id = 1;
     delete from reporting.totals;
     create schema autopilot;
     create table autopilot.schema_migrations (version text primary key, name text, checksum text);
     insert into autopilot.schema_migrations values ('0001', 'add_new_t', 'abc');
     create extension if not exists pgcrypto;`,
  );

  await restoreDatabase({ databaseUrl: db.url, file, expectedSha256: backup.sha256 });

  assert.deepEqual(await snapshot(db.url), before);
  const leftovers = await query(
    db.url,
    `select (select count(*)::int from pg_tables where tablename = 'new_t') as new_t,
            (select count(*)::int from pg_namespace where nspname = 'autopilot') as autopilot,
            (select count(*)::int from pg_extension where extname = 'pgcrypto') as pgcrypto`,
  );
  assert.deepEqual(leftovers[0], { new_t: 0, autopilot: 0, pgcrypto: 0 });
  // public is back the way PostgreSQL 15 creates it, so the application can keep using it.
  const [publicSchema] = await query(
    db.url,
    "select pg_get_userbyid(nspowner) as owner, obj_description(oid, 'pg_namespace') as comment from pg_namespace where nspname = 'public'",
  );
  assert.deepEqual(publicSchema, { owner: "pg_database_owner", comment: "standard public schema" });
  await db.drop();
});

test("restore brings back the autopilot history rows as they were at backup time", async () => {
  const db = await seeded();
  await query(
    db.url,
    `create schema autopilot; create table autopilot.schema_migrations (version text primary key);
                       insert into autopilot.schema_migrations values ('0001');`,
  );
  const file = path.join(workDir(), "with-history.dump");
  await backupDatabase({ databaseUrl: db.url, file });
  await query(db.url, `insert into autopilot.schema_migrations values ('0002'); create table added_by_0002 (x int);`);

  await restoreDatabase({ databaseUrl: db.url, file });

  assert.deepEqual(await query(db.url, "select version from autopilot.schema_migrations"), [{ version: "0001" }]);
  assert.deepEqual(await query(db.url, "select to_regclass('public.added_by_0002') as t"), [{ t: null }]);
  await db.drop();
});

test("restore of an empty database's backup removes everything created since", async () => {
  const db = await createTestDatabase("bk");
  const file = path.join(workDir(), "empty.dump");
  await backupDatabase({ databaseUrl: db.url, file });
  await query(db.url, "create table t (id int); create schema s; create table s.u (id int)");
  await restoreDatabase({ databaseUrl: db.url, file });
  const [{ n }] = await query(
    db.url,
    "select count(*)::int as n from pg_class c join pg_namespace ns on ns.oid = c.relnamespace where ns.nspname in ('public', 's')",
  );
  assert.equal(n, 0);
  await db.drop();
});

test("restore with a wrong expected sha256 is refused and the database is untouched", async () => {
  const db = await seeded();
  const file = path.join(workDir(), "x.dump");
  await backupDatabase({ databaseUrl: db.url, file });
  await query(db.url, "create table new_t (id int)");
  const before = await snapshot(db.url);

  await assert.rejects(restoreDatabase({ databaseUrl: db.url, file, expectedSha256: "0".repeat(64) }), (error: unknown) => {
    assert.ok(error instanceof RestoreError);
    assert.equal(error.stage, "verify");
    assert.match(error.message, /checksum mismatch/);
    return true;
  });
  assert.deepEqual(await snapshot(db.url), before);
  await db.drop();
});

test("restore of a truncated dump fails and leaves the database untouched", async () => {
  const db = await seeded();
  const file = path.join(workDir(), "truncated.dump");
  const { sizeBytes } = await backupDatabase({ databaseUrl: db.url, file });
  truncateSync(file, Math.floor(sizeBytes * 0.6));
  await query(db.url, "create table new_t (id int); insert into customers values (1000, 'later')");
  const before = await snapshot(db.url);

  await assert.rejects(restoreDatabase({ databaseUrl: db.url, file }), (error: unknown) => {
    assert.ok(error instanceof RestoreError, String(error));
    assert.match(error.message, /not touched|rolled back/);
    return true;
  });
  assert.deepEqual(await snapshot(db.url), before);
  await db.drop();
});

test("restore of a file that is not a dump fails and leaves the database untouched", async () => {
  const db = await seeded();
  const file = path.join(workDir(), "garbage.dump");
  writeFileSync(file, "this is not a pg_dump archive\n".repeat(100));
  const before = await snapshot(db.url);
  await assert.rejects(restoreDatabase({ databaseUrl: db.url, file }), (error: unknown) => {
    assert.ok(error instanceof RestoreError);
    assert.equal(error.stage, "convert");
    return true;
  });
  assert.deepEqual(await snapshot(db.url), before);
  await db.drop();
});

test("restore whose SQL fails half-way rolls back everything, including the drops", async () => {
  const db = await seeded();
  const file = path.join(workDir(), "x.dump");
  await backupDatabase({ databaseUrl: db.url, file });
  await query(db.url, "create table new_t (id int)");
  const before = await snapshot(db.url);
  // A role the dump grants to, dropped since: the GRANT fails after the prelude already dropped everything.
  await query(db.url, "create role bk_reader_gone");
  await query(db.url, "grant select on customers to bk_reader_gone");
  const withGrant = path.join(workDir(), "with-grant.dump");
  await backupDatabase({ databaseUrl: db.url, file: withGrant });
  await query(db.url, "revoke select on customers from bk_reader_gone; drop role bk_reader_gone");

  await assert.rejects(restoreDatabase({ databaseUrl: db.url, file: withGrant }), (error: unknown) => {
    assert.ok(error instanceof RestoreError);
    assert.equal(error.stage, "apply");
    assert.match(error.message, /rolled back/);
    assert.match(error.message, /bk_reader_gone/);
    return true;
  });
  assert.deepEqual(await snapshot(db.url), before);
  await db.drop();
});

test("restore while another session holds a lock fails with a lock timeout and changes nothing", async () => {
  const db = await seeded();
  const file = path.join(workDir(), "x.dump");
  await backupDatabase({ databaseUrl: db.url, file });
  await query(db.url, "create table new_t (id int)");
  const before = await snapshot(db.url);

  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query("begin");
    await holder.query("select count(*) from customers"); // AccessShareLock until commit
    await assert.rejects(restoreDatabase({ databaseUrl: db.url, file, lockTimeoutMs: 300 }), (error: unknown) => {
      assert.ok(error instanceof RestoreError);
      assert.match(error.message, /lock/);
      assert.match(error.message, /not changed/);
      return true;
    });
  } finally {
    await holder.query("rollback");
    await holder.end();
  }
  assert.deepEqual(await snapshot(db.url), before);
  await db.drop();
});

test("a restore error never shows the connection password", async () => {
  const db = await seeded();
  const file = path.join(workDir(), "x.dump");
  await backupDatabase({ databaseUrl: db.url, file });
  await assert.rejects(restoreDatabase({ databaseUrl: "postgres://u:s3cret-pw@127.0.0.1:1/x", file }), (error: unknown) => {
    assert.ok(error instanceof RestoreError);
    assert.ok(!error.message.includes("s3cret-pw"), error.message);
    return true;
  });
  await db.drop();
});

test("LocalBackupStore lays files out per repo and environment and stays inside its directory", async () => {
  const dir = workDir();
  const store = new LocalBackupStore(dir);
  const file = store.pathFor({ id: "b42", repo: "acme/shop", environment: "production", createdAt: new Date("2025-01-27T12:00:00.123Z") });
  assert.equal(file, path.join(dir, "acme", "shop", "production", "20250127T120000123Z_b42.dump"));
  assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
  assert.equal(await store.exists(file), false);
  writeFileSync(file, "x");
  assert.equal(await store.exists(file), true);
  await store.remove(file);
  await store.remove(file); // already gone: fine
  assert.equal(await store.exists(file), false);

  for (const bad of [
    { repo: "../etc", environment: "production" },
    { repo: "acme/..", environment: "production" },
    { repo: "acme/shop/extra", environment: "production" },
  ]) {
    assert.throws(() => store.pathFor({ id: "b1", createdAt: new Date(), ...bad }), /invalid|owner\/name/);
  }
  await assert.rejects(store.remove(path.join(dir, "..", "outside.dump")), /outside/);

  // Environment names are free text in the server config: encoded into one safe, distinct segment.
  const when = new Date("2025-01-27T12:00:00Z");
  const odd = store.pathFor({ id: "b1", repo: "acme/shop", environment: "../../x", createdAt: when });
  assert.equal(path.dirname(odd), path.join(dir, "acme", "shop", "%2E.%2F..%2Fx"));
  const spaced = store.pathFor({ id: "b1", repo: "acme/shop", environment: "eu west", createdAt: when });
  const underscored = store.pathFor({ id: "b1", repo: "acme/shop", environment: "eu_west", createdAt: when });
  assert.notEqual(path.dirname(spaced), path.dirname(underscored));
});

// The CLI, as an operator runs it: a child process, real exit codes, real output.
function cliCommand(): string[] {
  const root = path.resolve(import.meta.dirname, "..");
  if (existsSync(path.join(root, "bin", "autopilot.js"))) return [path.join(root, "bin", "autopilot.js")];
  if (existsSync(path.join(root, "src", "cli", "main.ts"))) return ["--import", "tsx", path.join(root, "src", "cli", "main.ts")];
  // No entry point yet: a minimal program around the same registration function.
  const entry = `import { Command } from "commander"; import { registerBackupCommands } from ${JSON.stringify(path.join(root, "src/cli/backup-commands.ts"))};
    const program = new Command("autopilot"); registerBackupCommands(program); await program.parseAsync(process.argv.slice(1), { from: "user" });`;
  return ["--import", "tsx", "--input-type=module", "-e", entry, "--"];
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliCommand(), ...args],
      { env: { ...process.env, ...env }, cwd: path.resolve(import.meta.dirname, "..") },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

test("CLI: backup then restore round trip; restore demands --yes; errors are one clean line", async () => {
  const db = await seeded();
  const before = await snapshot(db.url);
  const dir = workDir();

  const backup = await runCli(["backup", "--database-url", db.url, "--dir", dir]);
  assert.equal(backup.code, 0, backup.stderr);
  const match = /backup written: (\S+) \((.+), sha256 ([0-9a-f]{64}), (.+)\)/.exec(backup.stdout);
  assert.ok(match, backup.stdout);
  const file = match[1];
  assert.equal(sha256(file), match[3]);

  await query(db.url, "create table new_t (id int); delete from customers");

  const refused = await runCli(["restore", "--database-url", db.url, "--file", file]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /--yes/);
  assert.equal((await query(db.url, "select count(*)::int as n from customers"))[0].n, 0);

  const restored = await runCli(["restore", "--database-url", db.url, "--file", file, "--sha256", match[3], "--yes"]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /restore complete/);
  assert.deepEqual(await snapshot(db.url), before);

  const down = await runCli(["backup", "--database-url", "postgres://u:s3cret-pw@127.0.0.1:1/x", "--out", path.join(dir, "down.dump")]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^error: /m);
  assert.ok(!down.stderr.includes("s3cret-pw") && !down.stdout.includes("s3cret-pw"), down.stderr);
  assert.ok(!/\n\s+at /.test(down.stderr), `no stack trace: ${down.stderr}`);
  assert.equal(existsSync(path.join(dir, "down.dump")), false);
  await db.drop();
});
