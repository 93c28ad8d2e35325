// A new user's first day: production was migrated by Flyway. The first push applies nothing and says
// so; an admin adopts Flyway's history with a slash command; the next migration applies on top.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { shopMigration, shopRepo } from "./harness/fixtures.js";
import { TOOLS } from "./foreign-history-fixtures.js";
import { flywayChecksum } from "../src/database/foreign-history/flyway.js";

const ADMIN = "ada";
const WRITER = "bob";
const flyway = TOOLS.find((t) => t.tool === "flyway")!;
// The checksum Flyway recorded for the file it ran: adopt compares it with the repository's file.
const FLYWAY_ROW = `insert into flyway_schema_history values (1, '1', 'init', 'SQL', 'V1__init.sql', ${flywayChecksum(shopMigration("0001_init.sql"))}, 'postgres', '2021-02-03 04:05:06', 12, true)`;

describe("taking over a database Flyway migrated", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    s.github.setPermission(REPO, ADMIN, "admin");
    s.github.setPermission(REPO, WRITER, "write");
    const createTable = flyway.setup.slice(0, flyway.setup.indexOf("insert into"));
    await s.targetQuery(`${shopMigration("0001_init.sql")};\n${createTable}\n${FLYWAY_ROW}`);
  });
  after(() => s.stop());

  test("push stops with action_required, adopt records Flyway's history, migrate applies the next file; Flyway's table untouched", async () => {
    const flywayBefore = await s.targetQuery("select * from flyway_schema_history");
    const sha = await s.push(shopRepo(["0001_init.sql", "0002_orders.sql"]));
    const run = await s.completedCheckRun(sha);
    assert.equal(run.conclusion, "action_required", run.output.summary ?? "");
    assert.match(run.output.title!, /this database was migrated by Flyway up to version 1; run \/autopilot adopt production to continue from there/);
    assert.equal((await s.targetQuery("select to_regclass('autopilot.schema_migrations') as t"))[0].t, null);

    const refused = await s.comment("/autopilot adopt", { login: WRITER });
    assert.match((await s.answered(1, refused)).reply, /adopt on production needs admin permission; @bob has write/);

    const adopt = await s.comment("/autopilot adopt", { login: ADMIN });
    const { reply } = await s.answered(1, adopt);
    assert.match(reply, /\*\*adopt production\*\*: recorded 1 migration\(s\) adopted from Flyway \(0001\) without running them/);
    const history = await s.targetQuery("select version, applied_by, applied_at < '2022-01-01' as kept_time from autopilot.schema_migrations");
    assert.deepEqual(history, [{ version: "0001", applied_by: "adopted from Flyway", kept_time: true }]);

    const migrate = await s.comment("/autopilot migrate", { login: ADMIN });
    assert.match((await s.answered(1, migrate, 40_000)).reply, /\*\*migrate production\*\*: Applied 1 migration to production/);
    assert.deepEqual(await s.targetQuery("select * from flyway_schema_history"), flywayBefore);
    assert.ok(!s.everythingSent().includes(TARGET_PASSWORD));
  });
});
