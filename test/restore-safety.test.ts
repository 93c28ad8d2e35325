// Restores that must not lose anything: the owners and grants an application relies on, and the
// migration lock that keeps a restore and a migration of one database from interleaving. Real
// PostgreSQL, real pg_dump/pg_restore/psql.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { backupDatabase } from "../src/database/backup.js";
import { restoreDatabase } from "../src/database/restore.js";
import { gitBlobSha, readMigration } from "../src/database/migration-files.js";
import { LockTimeoutError, migrate, MIGRATION_LOCK_KEY } from "../src/database/migrator.js";
import { holdMigrationLock, type HeldMigrationLock } from "../src/database/target-session.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";

const dumpPath = () => path.join(mkdtempSync(path.join(tmpdir(), "autopilot-restore-safety-")), "db.dump");
const asRole = (url: string, role: string) => Object.assign(new URL(url), { username: role, password: "" }).toString();
const tableOwners = async (url: string) =>
  (await query(url, "select tablename, tableowner from pg_tables where schemaname = 'shop' order by tablename")).map((r) => `${r.tablename}:${r.tableowner}`);

/** roles: an owner of the tables (as a migration role would be) and an application role granted DML only. */
async function appDatabase(suffix: string): Promise<{ db: TestDatabase; owner: string; app: string }> {
  const db = await createTestDatabase("own");
  const [owner, app] = [`shop_owner_${suffix}_${process.pid}`, `shop_app_${suffix}_${process.pid}`];
  await query(db.url, `create role ${owner} login; create role ${app} login`);
  await query(
    db.url,
    `create schema shop authorization ${owner};
     set role ${owner};
     create table shop.orders (id serial primary key, note text not null);
     create table shop.customers (id int primary key, email text);
     insert into shop.orders (note) values ('first');
     grant usage on schema shop to ${app};
     grant select, insert, update, delete on shop.orders, shop.customers to ${app};
     grant usage on sequence shop.orders_id_seq to ${app};
     reset role;`,
  );
  return { db, owner, app };
}

async function dropRoles(...roles: string[]): Promise<void> {
  const db = await createTestDatabase("roles");
  for (const role of roles) await query(db.url, `drop role if exists ${role}`);
  await db.drop();
}

test("a restore through an admin role keeps the tables' owners, and the application role keeps its access", async () => {
  const { db, owner, app } = await appDatabase("admin");
  const file = dumpPath();
  await backupDatabase({ databaseUrl: db.url, file });
  await query(asRole(db.url, app), "insert into shop.orders (note) values ('after the backup')");

  const result = await restoreDatabase({ databaseUrl: db.url, file }); // db.url: the cluster's superuser, owner of nothing here
  assert.deepEqual(result.ownersNotKept, []);
  assert.deepEqual(await tableOwners(db.url), [`customers:${owner}`, `orders:${owner}`], "owners unchanged");
  const appUrl = asRole(db.url, app);
  assert.deepEqual(
    (await query(appUrl, "select note from shop.orders order by id")).map((r) => r.note),
    ["first"],
    "the application role reads the restored rows",
  );
  await query(appUrl, "insert into shop.orders (note) values ('written by the app after the restore'); insert into shop.customers values (1, 'a@example.org')");
  await query(asRole(db.url, owner), "alter table shop.orders add column owner_can_alter boolean"); // only an owner may
  await db.drop();
  await dropRoles(app, owner);
});

test("a restoring role that cannot become an owner restores anyway, keeps the grants and names the owners it could not keep", async () => {
  const { db, owner, app } = await appDatabase("fallback");
  const restorer = `shop_restorer_${process.pid}`;
  // The database's owner (so it may drop and recreate its schemas), but not a member of the tables' owner.
  await query(db.url, `create role ${restorer} login; alter database "${db.name}" owner to ${restorer}; alter schema shop owner to ${restorer}`);
  const file = dumpPath();
  await backupDatabase({ databaseUrl: db.url, file });

  const result = await restoreDatabase({ databaseUrl: asRole(db.url, restorer), file });
  assert.deepEqual(result.ownersNotKept, [owner]);
  assert.deepEqual(await tableOwners(db.url), [`customers:${restorer}`, `orders:${restorer}`]);
  const appUrl = asRole(db.url, app);
  await query(appUrl, "insert into shop.orders (note) values ('still allowed')");
  assert.equal((await query(appUrl, "select count(*)::int as n from shop.orders"))[0].n, 2);
  await db.drop();
  await dropRoles(app, owner, restorer);
});

test("a restore under the migration lock waits for the lock holder and gives up at its deadline without touching the database", async () => {
  const db = await createTestDatabase("lock");
  await query(db.url, "create table kept (id int)");
  const file = dumpPath();
  await backupDatabase({ databaseUrl: db.url, file });
  await query(db.url, "create table made_after_the_backup (id int)");

  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  await holder.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
  let waited = false;
  const session = { databaseUrl: db.url, applicationName: "test-restore", lockWaitSeconds: 0.6, onWaiting: () => (waited = true) };
  await assert.rejects(
    holdMigrationLock(session, () => restoreDatabase({ databaseUrl: db.url, file })),
    (error: Error) => error instanceof LockTimeoutError && /holds the migration lock .* gave up after 0\.6 s/.test(error.message),
  );
  assert.ok(waited);
  assert.equal((await query(db.url, "select to_regclass('made_after_the_backup') is not null as present"))[0].present, true, "not restored");

  // Released while a restore waits: the restore then runs.
  let startedWaiting!: () => void;
  const waiting = new Promise<void>((resolve) => (startedWaiting = resolve));
  const restoring = holdMigrationLock({ ...session, lockWaitSeconds: 10, onWaiting: startedWaiting }, () => restoreDatabase({ databaseUrl: db.url, file }));
  await waiting;
  assert.equal((await query(db.url, "select to_regclass('made_after_the_backup') is not null as present"))[0].present, true, "waits for the lock");
  await holder.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
  await restoring;
  assert.equal((await query(db.url, "select to_regclass('made_after_the_backup') is not null as present"))[0].present, false, "restored");
  await holder.end();
  await db.drop();
});

test("a migration run under a lock the caller holds, then a restore under the same hold: nothing else gets in between", async () => {
  const db = await createTestDatabase("hold");
  const file = dumpPath();
  await backupDatabase({ databaseUrl: db.url, file });
  const sql = "create table t (id int);\n";
  const { file: migration } = readMigration(
    { version: "0001", name: "t", filename: "0001_t.sql", path: "migrations/0001_t.sql", checksum: gitBlobSha(sql) },
    sql,
  );

  let other: Promise<unknown> | undefined;
  let released: HeldMigrationLock | undefined;
  await holdMigrationLock({ databaseUrl: db.url, applicationName: "test", lockWaitSeconds: 5 }, async (lock) => {
    released = lock;
    const result = await migrate({ databaseUrl: db.url, migrations: [migration!], appliedBy: "test", heldLock: lock });
    assert.equal(result.applied.length, 1, "the migrator does not wait for the lock its caller holds");
    // Another run (without the hold) must wait until the hold ends.
    other = migrate({ databaseUrl: db.url, migrations: [migration!], appliedBy: "other", lockWaitSeconds: 0.5 });
    await assert.rejects(other, LockTimeoutError);
    await restoreDatabase({ databaseUrl: db.url, file });
  });
  assert.equal((await query(db.url, "select to_regclass('t') is not null as present"))[0].present, false);
  await assert.rejects(
    migrate({ databaseUrl: db.url, migrations: [migration!], appliedBy: "test", heldLock: released }),
    /the migration lock was already released/,
  );
  await db.drop();
});

test("a hold whose session is terminated stops vouching for the lock: the migrator and the restore step refuse to go on under it", async () => {
  const db = await createTestDatabase("lost");
  const sql = "create table t (id int);\n";
  const { file: migration } = readMigration(
    { version: "0001", name: "t", filename: "0001_t.sql", path: "migrations/0001_t.sql", checksum: gitBlobSha(sql) },
    sql,
  );
  await holdMigrationLock({ databaseUrl: db.url, applicationName: "test-lost-hold", lockWaitSeconds: 5 }, async (lock) => {
    lock.assertHolds(db.url);
    await query(db.url, "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'test-lost-hold'");
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 50; i++) {
          lock.assertHolds(db.url);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      /the migration lock was lost: the session holding it ended/,
    );
    await assert.rejects(migrate({ databaseUrl: db.url, migrations: [migration!], appliedBy: "test", heldLock: lock }), /the migration lock was lost/);
  });
  assert.equal((await query(db.url, "select to_regclass('t') is not null as present"))[0].present, false, "nothing ran under the lost hold");
  await db.drop();
});
