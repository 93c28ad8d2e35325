// Recording a run and its queue job is one transaction (jobs/queue.ts recordAndEnqueue), on real
// pg-boss over a throw-away store: the run names its job, the job names its run, a failure of the
// job's insert leaves neither (nor the run's dedup keys, so the delivery can be recorded once the store
// works), and thirty concurrent twins of one command leave one run and one job.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startQueue, recordAndEnqueue, deliveryKey, type Queue } from "../src/jobs/queue.js";
import { createLogger } from "../src/logger.js";
import type { NewRun } from "../src/store/runs.js";
import { useTestStore } from "./harness/test-store.js";

const REPO = "acme/shop";
const INSTALLATION_ID = 2 ** 33 + 5;

function commandRun(deliveryId: string, commentId: number): NewRun {
  return {
    repo: REPO,
    installationId: INSTALLATION_ID,
    ref: null,
    requestedBy: "ada",
    deliveryId,
    kind: "command",
    trigger: "comment",
    commitSha: null,
    params: { commentId, issueNumber: 7, isPullRequest: true, body: "/autopilot status" },
    dedupKeys: [deliveryKey(deliveryId), `comment:${REPO}#${commentId}`],
  };
}

describe("a run and its job are recorded together", () => {
  const t = useTestStore("run_recording");
  let queue: Queue;
  before(async () => {
    // No workers: the jobs stay in the queue to be read.
    queue = await startQueue(t.store.url, t.store.pool, { retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 }, createLogger("silent"));
  });
  after(() => queue.stop());

  const jobsOf = (runId: number) =>
    t.store.pool.query("select id, name, priority, data from pgboss.job where (data->>'runId')::bigint = $1", [runId]).then((r) => r.rows);

  test("the run names its job and the job its run; the priority counts the repository's runs waiting before it", async () => {
    const first = await recordAndEnqueue(t.store.pool, queue, commandRun("d-1", 2 ** 33 + 1));
    const second = await recordAndEnqueue(t.store.pool, queue, commandRun("d-2", 2 ** 33 + 2));
    assert.ok(first && second);
    assert.equal(second.installationId, INSTALLATION_ID, "64-bit installation id exact");
    for (const [run, ahead] of [
      [first, 0],
      [second, 1],
    ] as const) {
      const [job] = await jobsOf(run.id);
      assert.equal(job.id, run.jobId, "the run names its job");
      assert.deepEqual([job.name, job.data, job.priority], ["command", { runId: run.id }, ahead === 0 ? 0 : -ahead]);
    }
  });

  test("a job insert that fails leaves no run and no dedup key; the delivery is recorded once the store accepts jobs", async () => {
    // A real PostgreSQL error on the job's insert, inside the recording transaction.
    await t.store.pool.query("alter table pgboss.job add constraint refuse_commands check (name <> 'command') not valid");
    const delivery = "d-refused";
    try {
      await assert.rejects(recordAndEnqueue(t.store.pool, queue, commandRun(delivery, 2 ** 33 + 10)), /refuse_commands/);
    } finally {
      await t.store.pool.query("alter table pgboss.job drop constraint refuse_commands");
    }
    const { rows: runs } = await t.store.pool.query("select id from runs where delivery_id = $1", [delivery]);
    assert.deepEqual(runs, [], "no run without its job");
    const { rows: keys } = await t.store.pool.query("select key from run_dedup_keys where key = $1", [deliveryKey(delivery)]);
    assert.deepEqual(keys, [], "its keys went with it");

    const recorded = await recordAndEnqueue(t.store.pool, queue, commandRun(delivery, 2 ** 33 + 10));
    assert.ok(recorded, "the redelivery is not taken for a twin");
    assert.equal((await jobsOf(recorded.id)).length, 1);
  });

  test("thirty concurrent twins of one comment leave one run and one job", async () => {
    const commentId = 2 ** 33 + 20;
    const recorded = await Promise.all(Array.from({ length: 30 }, (_, i) => recordAndEnqueue(t.store.pool, queue, commandRun(`twin-${i}`, commentId))));
    const runs = recorded.filter((run) => run !== undefined);
    assert.equal(runs.length, 1, "one recorded; the others were told they were twins");
    const { rows } = await t.store.pool.query(
      "select count(*)::int as n from pgboss.job where name = 'command' and data->>'runId' in (select id::text from runs where delivery_id like 'twin-%')",
    );
    assert.equal(rows[0].n, 1);
    const { rows: orphans } = await t.store.pool.query(
      "select count(*)::int as n from pgboss.job j where j.name = 'command' and not exists (select 1 from runs r where r.id = (j.data->>'runId')::bigint)",
    );
    assert.equal(orphans[0].n, 0, "no job of a twin rolled back");
  });
});
