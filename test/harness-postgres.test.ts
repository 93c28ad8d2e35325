import { test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, query } from "./harness/postgres.js";

test("the harness gives each test its own empty database", async () => {
  const a = await createTestDatabase();
  const b = await createTestDatabase();
  await query(a.url, "create table only_in_a (id int)");
  const inB = await query(b.url, "select count(*)::int as n from pg_tables where tablename = 'only_in_a'");
  assert.equal(inB[0].n, 0);
  await a.drop();
  await b.drop();
});
