// The loss report: what restoring a backup discards, from the target's pg_stat_user_tables counters
// recorded with the backup (by the real backup service, real pg_dump) and read again before the restore.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { takeBackup } from "../src/backups/service.js";
import { estimateRestoreLoss, isZeroLoss } from "../src/backups/loss-report.js";
import { describeLoss } from "../src/backups/loss-description.js";
import { insertBackup, type BackupRecord } from "../src/store/backups.js";
import { recordTableStats, tableStatsOf } from "../src/store/backup-table-stats.js";
import { readTableStats } from "../src/database/table-stats.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";
import { useTestStore } from "./harness/test-store.js";

/** Runs `sql` in one session and flushes its statistics before answering, so the counters show it at once. */
const write = (url: string, sql: string) => query(url, `${sql}; select pg_stat_force_next_flush()`);

const unrecordedBackup: BackupRecord = {
  id: "bk_20250101000000_abcdef",
  repo: "acme/shop",
  environment: "production",
  runId: null,
  commitSha: null,
  status: "ok",
  path: null,
  sizeBytes: null,
  sha256: null,
  durationMs: null,
  error: null,
  createdAt: new Date(),
};

describe("the loss report", () => {
  const store = useTestStore("loss_store");
  let target: TestDatabase;
  const directory = mkdtempSync(path.join(tmpdir(), "autopilot-loss-"));

  before(async () => {
    target = await createTestDatabase("loss_target");
    await write(
      target.url,
      `create table orders (id serial primary key, total int); create table users (id serial primary key, name text);
       insert into orders (total) select g from generate_series(1, 40) g; insert into users (name) select 'u' || g from generate_series(1, 5) g`,
    );
  });
  after(() => target.drop());

  const backUp = () =>
    takeBackup({
      db: store.store.pool,
      settings: { store: "local", directory, retentionDays: 30, keyRing: [], keyVariables: [] },
      databaseUrl: target.url,
      repo: "acme/shop",
      environment: "production",
      runId: null,
      commitSha: null,
    });

  /** A backup's record and its statistics as the backup service writes them, without the dump itself. */
  const recordedOnly = async (id: string, createdAt = new Date()): Promise<BackupRecord> => {
    const record: BackupRecord = { ...unrecordedBackup, id, createdAt };
    await insertBackup(store.store.pool, record);
    await recordTableStats(store.store.pool, id, await readTableStats(target.url));
    return record;
  };

  test("counts the writes made since the backup, table by table, and says so in words", async () => {
    const backup = await backUp();
    const untouched = await estimateRestoreLoss(store.store.pool, target.url, backup);
    assert.ok(isZeroLoss(untouched), JSON.stringify(untouched));
    assert.match(describeLoss(untouched), /discards no writes/);
    const recorded = await tableStatsOf(store.store.pool, backup.id);
    assert.deepEqual(
      recorded?.tables.map((t) => [t.table, t.liveRows, t.inserted]),
      [
        ["public.orders", 40, 40],
        ["public.users", 5, 5],
      ],
    );
    await write(target.url, "insert into orders (total) select g from generate_series(1, 1204) g");
    await write(target.url, "update orders set total = total + 1 where id <= 310; delete from orders where id in (1, 2)");
    await write(target.url, "insert into users (name) select 'new' || g from generate_series(1, 12) g");
    await write(target.url, "create table coupons (code text); insert into coupons values ('A'), ('B')");

    const loss = await estimateRestoreLoss(store.store.pool, target.url, backup);
    assert.deepEqual(loss.caveats, []);
    assert.deepEqual(
      loss.tables.map((t) => [t.table, t.inserted, t.updated, t.deleted, t.created]),
      [
        ["public.orders", 1204, 310, 2, false],
        ["public.users", 12, 0, 0, false],
        ["public.coupons", 2, 0, 0, true],
      ],
    );
    assert.equal(isZeroLoss(loss), false);
    const text = describeLoss(loss, new Date(backup.createdAt.getTime() + 42 * 60_000));
    assert.match(
      text,
      new RegExp(
        `^Restoring backup \`${backup.id}\` \\(taken 42 min ago\\) discards writes made since: orders \\+1,204 inserted / 310 updated / 2 deleted; users \\+12 inserted; coupons \\+2 inserted \\(created since: the restore drops it\\)\\.$`,
      ),
    );
  });

  test("one table's counters reset since the backup: its figures are a lower bound, and the report says so", async () => {
    const backup = await recordedOnly("bk_20250101000000_000001");
    await write(target.url, "select pg_stat_reset_single_table_counters('orders'::regclass); insert into orders (total) values (1), (2), (3)");
    const loss = await estimateRestoreLoss(store.store.pool, target.url, backup);
    assert.deepEqual(
      loss.tables.map((t) => [t.table, t.inserted, t.atLeast]),
      [["public.orders", 3, true]],
    );
    assert.match(loss.caveats.join("\n"), /statistics of public\.orders were reset since the backup/);
    assert.match(describeLoss(loss), /orders \+3 inserted \(at least\)/);
  });

  test("the database's statistics reset after the backup: said, never claimed as zero", async () => {
    const backup = await recordedOnly("bk_20250101000000_000002");
    await write(target.url, "select pg_stat_reset()");
    const loss = await estimateRestoreLoss(store.store.pool, target.url, backup);
    assert.equal(isZeroLoss(loss), false);
    assert.match(loss.caveats.join("\n"), /statistics were reset at .+, after the backup/);
    assert.match(describeLoss(loss), /no writes since it was taken, but see below[\s\S]*⚠️ the target's statistics were reset/);
  });

  test("no statistics recorded with the backup, or the target unreadable: unknown, with the password redacted", async () => {
    const old: BackupRecord = { ...unrecordedBackup, createdAt: new Date(Date.now() - 3 * 86_400_000) };
    await insertBackup(store.store.pool, old);
    const unrecorded = await estimateRestoreLoss(store.store.pool, target.url, old);
    assert.equal(isZeroLoss(unrecorded), false);
    assert.match(describeLoss(unrecorded), /taken 3 days ago[\s\S]*no table statistics were recorded with backup bk_20250101000000_abcdef/);

    const unreachable = "postgres://shop:Sup3rSecretPw@127.0.0.1:1/shop";
    const unread = await estimateRestoreLoss(store.store.pool, unreachable, old);
    assert.match(unread.caveats.join("\n"), /could not be read/);
    assert.doesNotMatch(describeLoss(unread), /Sup3rSecretPw/);
  });
});
