// `autopilot rollback --dir --to` and `autopilot restore --id` through bin/autopilot.js, against a real
// PostgreSQL, the real pg_dump/pg_restore, a real store and S3 (s3rver).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import S3rver from "s3rver";
import { takeBackup } from "../src/backups/service.js";
import { resolveBackupSettings } from "../src/config/backup-config.js";
import { parseServerConfig } from "../src/config/server-config.js";
import { listBackups } from "../src/store/backups.js";
import { openStore, type Store } from "../src/store/store.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const withPassword = (url: string) => {
  const u = new URL(url);
  u.password = "s3cret-pass";
  return u.toString();
};

test("rollback --to reverts the later migrations with their down files; refusals exit non-zero and change nothing", async () => {
  const db = await createTestDatabase("cli_rb");
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-cli-rb-"));
  const files: Record<string, string> = {
    "0001_users.sql": "create table users (id int primary key);\n",
    "0001_users.down.sql": "drop table users;\n",
    "0002_orders.sql": "create table orders (id int primary key);\n",
    "0002_orders.down.sql": "drop table orders;\n",
    "0003_notes.sql": "create table notes (id int primary key);\n",
    "0003_notes.down.sql": "drop table notes;\n",
  };
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  const env = { AUTOPILOT_DATABASE_URL: withPassword(db.url) };
  const migrated = await autopilot(["migrate", "--dir", dir], { AUTOPILOT_DATABASE_URL: db.url });
  assert.equal(migrated.code, 0, migrated.stderr);

  const unknown = await autopilot(["rollback", "--dir", dir, "--to", "0009"], { AUTOPILOT_DATABASE_URL: db.url });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: 0009 was never applied to this database\n$/);

  const rolled = await autopilot(["rollback", "--dir", dir, "--to", "0001", "--reverted-by", "ops"], { AUTOPILOT_DATABASE_URL: db.url });
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(rolled.stderr, /Reverting 1 of 2: 0003_notes\nReverting 2 of 2: 0002_orders/);
  assert.match(rolled.stdout, /rolled back to 0001: 2 migration\(s\) reverted/);
  const tables = await query(db.url, "select relname from pg_class where relname in ('users', 'orders', 'notes') and relkind = 'r' order by 1");
  assert.deepEqual(
    tables.map((t) => t.relname),
    ["users"],
  );
  const history = await query(db.url, "select version, reverted_by from autopilot.schema_migrations order by version");
  assert.deepEqual(
    history.map((h) => [h.version, h.reverted_by]),
    [
      ["0001", null],
      ["0002", "ops"],
      ["0003", "ops"],
    ],
  );

  const again = await autopilot(["rollback", "--dir", dir, "--to", "0001"], { AUTOPILOT_DATABASE_URL: db.url });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /nothing to revert: 0001_users is the latest applied migration/);

  // 0002 and 0003 again, but 0003's down file gone: refused before anything runs.
  const remigrated = await autopilot(["migrate", "--dir", dir], { AUTOPILOT_DATABASE_URL: db.url });
  assert.equal(remigrated.code, 0, remigrated.stderr);
  const partialDir = mkdtempSync(path.join(tmpdir(), "autopilot-cli-rb-"));
  for (const [name, sql] of Object.entries(files)) if (name !== "0003_notes.down.sql") writeFileSync(path.join(partialDir, name), sql);
  const missing = await autopilot(["rollback", "--dir", partialDir, "--to", "0001"], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nothing was reverted: these migrations have no down file: .*0003_notes\.down\.sql/);
  assert.equal((await query(db.url, "select count(*)::int as n from pg_class where relname in ('orders', 'notes')"))[0].n, 2);
  assert.doesNotMatch(missing.stderr + unknown.stderr, /s3cret-pass/);
  await db.drop();
});

describe("restore --id from the store that holds the backup", () => {
  const REPO = "acme/shop";
  let storeDb: TestDatabase;
  let store: Store;
  let target: TestDatabase;
  let s3: S3rver;
  let endpoint: string;
  const work = mkdtempSync(path.join(tmpdir(), "autopilot-cli-restore-"));
  const key = randomBytes(32).toString("base64");

  /** A server config binding acme/shop's `environment` to $TARGET_URL, backups in `store`. */
  function serverConfig(environment: string, store: "local" | "s3"): { file: string; env: Record<string, string> } {
    const file = path.join(work, `${environment}.yml`);
    const backups =
      store === "local"
        ? `backups:\n  directory: ${JSON.stringify(path.join(work, "local"))}\n`
        : `backups:\n  store: s3\n  directory: ${JSON.stringify(path.join(work, "staging"))}\n  encryption_key_env: TEST_BACKUP_KEY\n` +
          `  s3: { endpoint: "${endpoint}", region: us-east-1, bucket: autopilot, prefix: "backups/", access_key_id_env: TEST_S3_ID, secret_access_key_env: TEST_S3_SECRET, force_path_style: true }\n`;
    writeFileSync(file, `${backups}targets:\n  - { repo: ${REPO}, environment: ${environment}, database_url_env: TEST_TARGET_URL }\n`);
    const env = {
      AUTOPILOT_SERVER_CONFIG: file,
      DATABASE_URL: storeDb.url,
      TEST_TARGET_URL: target.url,
      TEST_BACKUP_KEY: key,
      TEST_S3_ID: "S3RVER",
      TEST_S3_SECRET: "S3RVER",
    };
    return { file, env };
  }

  async function backupNow(environment: string, config: { file: string; env: Record<string, string> }) {
    const settings = resolveBackupSettings(parseServerConfig(config.file, readFileSync(config.file, "utf8")), REPO, environment, config.env);
    return takeBackup({ db: store.pool, settings, databaseUrl: target.url, repo: REPO, environment, runId: null, commitSha: null });
  }

  /** Waits until the statistics count these writes to items (PostgreSQL flushes its counters lazily). */
  async function countersReach(inserted: number, deleted = 0) {
    for (let i = 0; i < 100; i++) {
      const [row] = await query(target.url, "select n_tup_ins::int as ins, n_tup_del::int as del from pg_stat_user_tables where relname = 'items'");
      if (row && row.ins >= inserted && row.del >= deleted) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`the statistics never counted ${inserted} inserts and ${deleted} deletes`);
  }

  const count = async () => Number((await query(target.url, "select count(*)::int as n from items"))[0].n);

  before(async () => {
    storeDb = await createTestDatabase("cli_rs_store");
    store = await openStore(storeDb.url);
    target = await createTestDatabase("cli_rs_target");
    await query(target.url, "create table items (id int primary key, body text); insert into items select g, md5(g::text) from generate_series(1, 500) g");
    s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: path.join(work, "s3"), configureBuckets: [{ name: "autopilot" }] });
    endpoint = `http://127.0.0.1:${((await s3.run()) as { port: number }).port}`;
  });
  after(async () => {
    await s3.close();
    await store.close();
    await target.drop();
    await storeDb.drop();
  });

  test("a local backup: the loss report first, --confirm required, then a safety backup and the restore", async () => {
    const config = serverConfig("production", "local");
    await countersReach(500);
    const backup = await backupNow("production", config);
    await query(target.url, "insert into items select g, 'new' from generate_series(501, 512) g");
    await countersReach(512);

    const refused = await autopilot(["restore", "--id", backup.id], config.env);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, new RegExp(`Restoring backup ${backup.id} \\(taken \\d+ min ago\\) discards writes made since: items \\+12 inserted`));
    assert.match(refused.stderr, /not restored: re-run with --confirm/);
    assert.equal(await count(), 512, "nothing restored without --confirm");

    const restored = await autopilot(["restore", "--id", backup.id, "--confirm"], config.env);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /items \+12 inserted/);
    assert.match(restored.stdout, /safety backup of the current state: (bk_\w+)/);
    assert.match(restored.stdout, new RegExp(`restore complete: acme/shop / production restored from backup ${backup.id}`));
    assert.equal(await count(), 500);
    const recorded = await listBackups(store.pool, REPO, "production");
    assert.equal(recorded.length, 2, "the backup and the safety backup");

    const unknown = await autopilot(["restore", "--id", "bk_20260101000000_ffffff"], config.env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: no backup bk_20260101000000_ffffff is recorded in the store\n$/);
    const neither = await autopilot(["restore"], config.env);
    assert.equal(neither.code, 1);
    assert.match(neither.stderr, /give either --file or --id/);
  });

  test("an encrypted backup in S3 restores; a wrong key is a clear error and touches nothing", async () => {
    const config = serverConfig("s3env", "s3");
    await countersReach(500); // the restored table's own counters: its rows, copied in
    const backup = await backupNow("s3env", config);
    assert.equal(backup.store, "s3");
    assert.match(backup.path!, /\.dump\.enc$/);
    await query(target.url, "delete from items where id > 400");
    await countersReach(500, 100);

    const wrongKey = await autopilot(["restore", "--id", backup.id, "--confirm"], { ...config.env, TEST_BACKUP_KEY: randomBytes(32).toString("base64") });
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /could not be fetched from s3:\/\/autopilot\/backups\/.*key id [0-9a-f]+, which is not among the keys of \$TEST_BACKUP_KEY/);
    assert.equal(await count(), 400, "the target untouched");
    assert.equal((await listBackups(store.pool, REPO, "s3env")).length, 1, "no safety backup taken");
    assert.doesNotMatch(wrongKey.stderr + wrongKey.stdout, new RegExp(key.replace(/[+/=]/g, ".")));

    const restored = await autopilot(["restore", "--id", backup.id, "--confirm"], config.env);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /items 100 deleted/);
    assert.equal(await count(), 500);
  });
});
