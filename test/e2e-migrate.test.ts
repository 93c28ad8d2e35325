import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";

describe("push → backup → migrate → check run", () => {
  let s: Scenario;
  before(async () => (s = await Scenario.start()));
  after(() => s.stop());

  test("a first push applies every migration and reports a table", async () => {
    const sha = await s.push(shopRepo(["0001_init.sql", "0002_orders.sql"]));
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "success", run.output.summary ?? "");
    assert.match(run.output.title!, /Applied 2 migrations to production/);
    assert.match(run.output.summary!, /\| 0001 \| init \|/);
    assert.match(run.output.summary!, /bk_\d{14}_[0-9a-f]{6}/);
    const orders = await s.targetQuery("select count(*)::int as n from orders");
    assert.equal(orders[0].n, 2);
    const history = await s.targetQuery("select version, commit_sha from autopilot.schema_migrations order by version");
    assert.deepEqual(history.map((h) => h.version), ["0001", "0002"]);
    assert.equal(history[0].commit_sha, sha);
  });
});
