import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_POOL_SIZE, type Store } from "../src/store/store.js";
import { RunLocks, whileOrphaned } from "../src/jobs/liveness.js";
import { healthzHandler } from "../src/web/healthz.js";
import { recordingLogger } from "./harness/recording-logger.js";
import type pg from "pg";
import { query, type TestDatabase } from "./harness/postgres.js";
import { useTestStore } from "./harness/test-store.js";
import { waitFor } from "./harness/app-process.js";

/** True when no live worker holds the run's lock: what the reaper finds before it hands a run back. */
async function isOrphaned(db: pg.Pool, runId: number): Promise<boolean> {
  return (await whileOrphaned(db, runId, async () => true)) ?? false;
}

/** Fails with `what` instead of hanging when `work` deadlocks. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe("run locks", () => {
  const t = useTestStore("liveness");
  let db: TestDatabase;
  let store: Store;
  before(() => ({ db, store } = t));

  test("three times more concurrent jobs than the pool has connections all complete, each holding its lock", async () => {
    const locks = new RunLocks(store.url, recordingLogger());
    const jobs = 3 * DEFAULT_POOL_SIZE;
    const started = gate();
    let running = 0;
    try {
      const results = Array.from({ length: jobs }, (_, i) =>
        locks.hold(1000 + i, async () => {
          // Every job is inside its lock at once before any of them queries: the old pool deadlocked here.
          if (++running === jobs) started.open();
          await started.wait;
          await store.pool.query("select pg_sleep(0.02)");
          return isOrphaned(store.pool, 1000 + i);
        }),
      );
      const orphaned = await within(20_000, `${jobs} concurrent jobs`, Promise.all(results));
      assert.deepEqual(
        orphaned,
        Array.from({ length: jobs }, () => false),
        "each run's lock is held while its job runs",
      );
      assert.equal(await isOrphaned(store.pool, 1000), true, "released when the job ended");
    } finally {
      await locks.close();
    }
    const sessions = await query(
      db.url,
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'autopilot-liveness'",
    );
    assert.equal(sessions[0].n, 0, "closing ends the one run-lock session");
  });

  test("all of a replica's locks share one connection, outside the pool", async () => {
    const locks = new RunLocks(store.url, recordingLogger());
    const release = gate();
    const inside = gate();
    let entered = 0;
    const jobs = [1, 2, 3, 4, 5].map((runId) =>
      locks.hold(runId, async () => {
        if (++entered === 5) inside.open();
        await release.wait;
      }),
    );
    try {
      await inside.wait;
      const sessions = await query(
        db.url,
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'autopilot-liveness'",
      );
      assert.equal(sessions[0].n, 1);
      const held = await query(db.url, "select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = 16720 and granted");
      assert.equal(held[0].n, 5);
    } finally {
      release.open();
      await Promise.all(jobs);
      await locks.close();
    }
  });

  test("a lost run-lock connection is re-established and its locks taken again", async () => {
    const log = recordingLogger();
    const locks = new RunLocks(store.url, log, { reconnectDelayMs: 100 });
    const release = gate();
    const inside = gate();
    const job = locks.hold(77, async () => {
      inside.open();
      await release.wait;
      return "finished";
    });
    try {
      await inside.wait;
      assert.equal(await isOrphaned(store.pool, 77), false);
      const [{ pid }] = await query(db.url, "select pid from pg_stat_activity where datname = current_database() and application_name = 'autopilot-liveness'");
      await query(db.url, "select pg_terminate_backend($1)", [pid]);
      await waitFor(
        () => `the lock re-taken on a new connection; log: ${log.messages.join(" | ")}`,
        () => log.messages.includes("run locks re-established"),
        10_000,
      );
      const [{ n }] = await query(
        db.url,
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'autopilot-liveness' and pid <> $1",
        [pid],
      );
      assert.equal(n, 1, "a new session");
      assert.equal(await isOrphaned(store.pool, 77), false, "the run is not taken for orphaned");
      release.open();
      assert.equal(await job, "finished");
      assert.equal(await isOrphaned(store.pool, 77), true);
    } finally {
      release.open();
      await locks.close();
    }
  });

  test("a run another replica holds waits for it; a second job of a run on this replica waits for the first", async () => {
    const log = recordingLogger();
    const [replicaA, replicaB] = [new RunLocks(store.url, log), new RunLocks(store.url, log, { contendedRetryMs: 50 })];
    const order: string[] = [];
    const release = gate();
    const inside = gate();
    try {
      const first = replicaA.hold(5, async () => {
        order.push("A start");
        inside.open();
        await release.wait;
        order.push("A end");
      });
      await inside.wait;
      const elsewhere = replicaB.hold(5, async () => void order.push("B"));
      const again = replicaA.hold(5, async () => void order.push("A again"));
      await waitFor("B to find the lock taken", () => log.messages.includes("another worker holds this run's lock; waiting for it"));
      release.open();
      await within(10_000, "the waiting jobs", Promise.all([first, elsewhere, again]));
      assert.deepEqual(order.slice(0, 2), ["A start", "A end"]);
      assert.deepEqual(order.slice(2).sort(), ["A again", "B"]);
    } finally {
      release.open();
      await Promise.all([replicaA.close(), replicaB.close()]);
    }
  });

  test("the reaper decides about a run under its lock: skipped while a worker holds it, and no worker starts it meanwhile", async () => {
    const log = recordingLogger();
    const locks = new RunLocks(store.url, log, { contendedRetryMs: 50 });
    try {
      const verdictWhileHeld = await locks.hold(31, () => whileOrphaned(store.pool, 31, async () => "reaped"));
      assert.equal(verdictWhileHeld, undefined, "a run whose worker is alive is left alone");
      const order: string[] = [];
      const decided = gate();
      let worker: Promise<void> | undefined;
      const reaped = whileOrphaned(store.pool, 31, async () => {
        order.push("reaper decides");
        worker = locks.hold(31, async () => void order.push("worker runs"));
        await waitFor("the worker to find the run taken", () => log.messages.includes("another worker holds this run's lock; waiting for it"));
        order.push("reaper done");
        decided.open();
        return "reaped";
      });
      assert.equal(await reaped, "reaped");
      await decided.wait;
      await within(10_000, "the worker", worker!);
      assert.deepEqual(order, ["reaper decides", "reaper done", "worker runs"]);
    } finally {
      await locks.close();
    }
  });

  test("after close the locks are gone and a new job is refused", async () => {
    const locks = new RunLocks(store.url, recordingLogger());
    await locks.hold(9, async () => assert.equal(await isOrphaned(store.pool, 9), false));
    await locks.close();
    await assert.rejects(
      locks.hold(9, async () => undefined),
      /run 9: the run-lock session is closed/,
    );
  });
});

describe("the store pool under load", () => {
  const t = useTestStore("pool", { poolSize: 2, connectionTimeoutMillis: 500 });
  let store: Store;
  let server: Server;
  let url: string;
  before(async () => {
    store = t.store;
    server = createServer((req, res) => {
      void healthzHandler(store.healthzPool)(req, res).then((handled) => handled || res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => void server.close());

  test("/healthz answers within a second while every pool connection is taken, and a query waiting for one fails instead of hanging", async () => {
    const taken = await Promise.all([store.pool.connect(), store.pool.connect()]);
    try {
      const startedAt = performance.now();
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      const elapsed = performance.now() - startedAt;
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: "ok" });
      assert.ok(elapsed < 1000, `/healthz took ${Math.round(elapsed)} ms`);
      await assert.rejects(within(5000, "a query on the exhausted pool", store.pool.query("select 1")), /timeout exceeded when trying to connect/);
    } finally {
      for (const client of taken) client.release();
    }
    assert.equal((await store.pool.query("select 1 as one")).rows[0].one, 1, "the pool serves again once connections are back");
  });
});
