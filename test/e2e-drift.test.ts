import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { readFileSync } from "node:fs";

const ADMIN = "ada";
const WRITER = "bob";

describe("drift.on_push: block", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.released({ [ADMIN]: "admin", [WRITER]: "write" }, { shadow: true });
  });
  after(() => s.stop());

  test("a push to a drifted production is held naming the difference; a writer may not accept it; an admin's --accept-drift applies; status names the drift", async () => {
    const config = `${readFileSync("fixtures/shop/autopilot.yml", "utf8")}drift:\n  on_push: block\n`;
    await s.targetQuery("create index orders_created_at_idx on customers (created_at)");
    const sha = await s.push({ ".github/autopilot.yml": config, "migrations/0002_orders.sql": "create table orders (id bigint primary key);\n" });
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "action_required", run.output.summary ?? "");
    assert.equal(run.output.title, "Held: production differs from its migrations: index `orders_created_at_idx` exists only in production");
    assert.match(run.output.summary!, /DROP INDEX public\.orders_created_at_idx;/);
    assert.match(run.output.summary!, /\/autopilot migrate production --accept-drift/);
    assert.ok(!run.output.summary!.includes(TARGET_PASSWORD));
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'orders'"))[0].n, 0, "nothing applied");

    const byWriter = await s.comment("/autopilot migrate --accept-drift", { login: WRITER });
    assert.match((await s.answered(1, byWriter)).reply, /migrate --accept-drift on production needs admin permission; @bob has write/);
    const byAdmin = await s.comment("/autopilot migrate --accept-drift", { login: ADMIN });
    assert.match((await s.answered(1, byAdmin, 60_000)).reply, /\*\*migrate production\*\*: Applied 1 migration to production/);
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'orders'"))[0].n, 1);

    const status = await s.comment("/autopilot status", { login: WRITER });
    assert.match(
      (await s.answered(1, status, 60_000)).reply,
      /\*\*Drift\*\*\n\n- production differs from its migrations: index `orders_created_at_idx` exists only in production/,
    );
  });
});
