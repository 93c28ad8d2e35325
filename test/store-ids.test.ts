// GitHub's ids are 64-bit (check-run ids passed 2^31 long ago): the store keeps and returns them
// exactly, on a real PostgreSQL through the app's own store functions.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Store } from "../src/store/store.js";
import { insertBackup, getBackup, listBackups } from "../src/store/backups.js";
import { int8 } from "../src/store/int8.js";
import { recentAppliedRuns, recordRunMigrations } from "../src/store/run-migrations.js";
import { createRun, findRunByCheckRun, finishRun, getRun, latestRun, startAttempt, unfinishedRuns, updateRun, type Run } from "../src/store/runs.js";
import { useTestStore } from "./harness/test-store.js";

// Past 2^32 (where `::int` has long overflowed) and past 2^40; still exact in JavaScript.
const CHECK_RUN_ID = 2 ** 40 + 12_345;
const INSTALLATION_ID = 2 ** 32 + 7;
const REPO = "acme/shop";

describe("store with 64-bit GitHub ids", () => {
  const t = useTestStore("store_ids");
  let store: Store;
  let run: Run;

  before(async () => {
    store = t.store;
    // A store that has been running for a while: its own run ids are past 2^31 as well.
    await store.pool.query("select setval('runs_id_seq', $1)", [2 ** 31 + 100]);
    run = (await createRun(store.pool, {
      kind: "migrate",
      trigger: "push",
      repo: REPO,
      installationId: INSTALLATION_ID,
      ref: "refs/heads/main",
      commitSha: "a".repeat(40),
      requestedBy: "alice",
      deliveryId: "d1",
      params: {},
    }))!;
    await updateRun(store.pool, run.id, { environment: "production", checkRunId: CHECK_RUN_ID });
  });

  const assertIds = (found: Run | undefined, where: string) => {
    assert.ok(found, `${where} found the run`);
    assert.equal(found.id, run.id, `${where}: run id`);
    assert.equal(found.installationId, INSTALLATION_ID, `${where}: installation id`);
    assert.equal(found.checkRunId, CHECK_RUN_ID, `${where}: check run id`);
    assert.equal(typeof found.id, "number");
  };

  test("createRun returns the ids as numbers", () => {
    assert.ok(run.id > 2 ** 31, `run id ${run.id}`);
    assert.equal(run.installationId, INSTALLATION_ID);
    assert.equal(run.checkRunId, null);
  });

  test("getRun", async () => {
    assertIds(await getRun(store.pool, run.id), "getRun");
  });

  test("findRunByCheckRun (the Approve and Roll back buttons)", async () => {
    assertIds(await findRunByCheckRun(store.pool, CHECK_RUN_ID), "findRunByCheckRun");
    assert.equal(await findRunByCheckRun(store.pool, CHECK_RUN_ID + 1), undefined, "another check run is another run");
  });

  test("unfinishedRuns (the reaper) and startAttempt (retries)", async () => {
    assertIds(
      (await unfinishedRuns(store.pool)).runs.find((r) => r.id === run.id),
      "unfinishedRuns",
    );
    const started = await startAttempt(store.pool, run.id);
    assertIds(started, "startAttempt");
    assert.equal(started?.attempts, 1);
  });

  test("latestRun (status, rollback last)", async () => {
    await finishRun(store.pool, run.id, { status: "success", title: "applied" });
    assertIds(await latestRun(store.pool, REPO, "production", "migrate", ["success"]), "latestRun");
  });

  test("a backup and the applied migrations name the run by its 64-bit id", async () => {
    await insertBackup(store.pool, {
      id: "bk-ids",
      repo: REPO,
      environment: "production",
      runId: run.id,
      commitSha: null,
      status: "ok",
      path: "/tmp/x.dump",
      sizeBytes: 10,
      sha256: null,
      durationMs: 1,
      error: null,
    });
    assert.equal((await getBackup(store.pool, "bk-ids"))?.runId, run.id);
    assert.equal((await listBackups(store.pool, REPO, "production"))[0]?.runId, run.id);
    await recordRunMigrations(store.pool, run.id, [{ version: "0001", name: "init", path: "migrations/0001_init.sql" }]);
    assert.equal((await recentAppliedRuns(store.pool, REPO, "production"))[0]?.runId, run.id);
  });

  test("every integer column that holds an id is bigint", async () => {
    const { rows } = await store.pool.query(
      `select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'public' and (column_name = 'id' or column_name like '%\\_id') and data_type in ('smallint', 'integer')`,
    );
    assert.deepEqual(rows, []);
  });
});

test("int8 reads node-postgres' bigint strings exactly and refuses what a number cannot hold", () => {
  assert.equal(int8("4294968296", "runs.check_run_id"), 4294968296);
  assert.equal(int8(String(Number.MAX_SAFE_INTEGER), "x"), Number.MAX_SAFE_INTEGER);
  assert.throws(() => int8("9007199254740993", "runs.check_run_id"), /runs\.check_run_id is "9007199254740993", not an integer/);
  assert.throws(() => int8("12abc", "runs.id"), /runs\.id/);
  assert.throws(() => int8(null, "runs.installation_id"), /runs\.installation_id is null/);
});
