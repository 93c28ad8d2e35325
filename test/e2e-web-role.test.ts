// AUTOPILOT_ROLE=web as an operator who scales the answers apart from the work runs it: the web
// replica answers a push and records its run but runs no job, not even long after; a replica with the
// default role, started later on the same store, picks the queued run up and applies it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { sleep, waitFor, type RunningApp } from "./harness/app-process.js";

describe("a web replica and a worker replica on one store", () => {
  let s: Scenario;
  let worker: RunningApp | undefined;
  before(async () => {
    s = await Scenario.start({ env: { AUTOPILOT_ROLE: "web" } });
  });
  after(async () => {
    await worker?.stop();
    await s.stop();
  });

  test("the web replica records and queues the push's run and runs nothing; the worker replica applies it", async () => {
    const sha = await s.push(shopRepo(["0001_init.sql"]));
    const [run] = await waitFor("the push's run recorded", async () => {
      const rows = await s.storeQuery("select id from runs where kind = 'migrate' and repo = $1", [REPO]);
      return rows.length ? rows : undefined;
    });
    // Several of the queue's polling intervals (1 s): a worker would have taken the job by now.
    await sleep(4_000);
    const [waiting] = await s.storeQuery("select status, started_at from runs where id = $1", [run.id]);
    assert.deepEqual(waiting, { status: "queued", started_at: null }, "the web replica ran no job");
    const [{ tables }] = await s.targetQuery<{ tables: number }>("select count(*)::int as tables from pg_tables where schemaname = 'public'");
    assert.equal(tables, 0, "nothing applied yet");

    worker = await s.startAnotherApp({ env: {} });
    const { conclusion } = await s.completedCheckRun(sha);
    assert.equal(conclusion, "success");
    const applied = await s.targetQuery<{ version: string }>("select version from autopilot.schema_migrations");
    assert.deepEqual(
      applied.map((r) => r.version),
      ["0001"],
    );
    assert.deepEqual(s.github.violations, [], "no request body GitHub would reject");
  });

  test("a role other than all or web stops the app at start-up, naming the variable", async () => {
    await assert.rejects(s.startAnotherApp({ env: { AUTOPILOT_ROLE: "worker" } }), /AUTOPILOT_ROLE: must be all or web \(got \\?"worker\\?"\)/);
  });
});
