import { test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, query } from "./harness/postgres.js";
import { describeCost, formatBytes, formatRows, tableCosts, type TableCost } from "../src/database/table-costs.js";

test("existing, missing, quoted and schema-qualified tables in one call", async () => {
  const db = await createTestDatabase();
  await query(
    db.url,
    `create table orders (id bigint primary key, note text);
     insert into orders select g, repeat('x', 50) from generate_series(1, 20000) g;
     analyze orders;
     create schema shop;
     create table shop.items (id int);
     insert into shop.items select generate_series(1, 300);
     analyze shop.items;
     create table "Order Items" (id int);
     create schema "My Schema";
     create table "My Schema"."Odd ""Name""" (id int);`,
  );
  const names = [
    "orders",
    "public.orders",
    "ORDERS",
    "shop.items",
    '"Order Items"',
    '"My Schema"."Odd ""Name"""',
    "Order Items",
    "missing",
    "nope.orders",
    'bad"name',
    "",
    "a.b.c",
  ];
  const costs = await tableCosts(db.url, names);
  assert.deepEqual([...costs.keys()], names);

  const orders = costs.get("orders")!;
  assert.equal(orders.exists, true);
  assert.equal(orders.rowsFrom, "statistics");
  assert.equal(orders.rows, 20000);
  const [{ size }] = await query(db.url, "select pg_total_relation_size('orders')::bigint as size");
  assert.equal(orders.bytes, Number(size));
  assert.deepEqual({ ...costs.get("public.orders")!, table: "orders" }, orders);
  assert.deepEqual({ ...costs.get("ORDERS")!, table: "orders" }, orders, "unquoted names fold to lower case");

  assert.equal(costs.get("shop.items")!.rows, 300);
  assert.equal(costs.get('"Order Items"')!.exists, true);
  assert.equal(costs.get('"My Schema"."Odd ""Name"""')!.exists, true);
  for (const missing of ["Order Items", "missing", "nope.orders", 'bad"name', "", "a.b.c"]) {
    assert.deepEqual(costs.get(missing), { table: missing, rows: -1, bytes: 0, exists: false, rowsFrom: "none" }, missing);
  }
  await db.drop();
});

test("never-analyzed tables: empty is 0 rows, a loaded one is estimated from its size", async () => {
  const db = await createTestDatabase();
  await query(
    db.url,
    "create table fresh (id int); create table loaded (id bigint, at timestamptz); insert into loaded select g, now() from generate_series(1, 10000) g",
  );
  const [{ reltuples }] = await query(db.url, "select reltuples from pg_class where relname = 'loaded'");
  assert.equal(reltuples, -1, "precondition: never analyzed");
  const costs = await tableCosts(db.url, ["fresh", "loaded"]);
  assert.deepEqual(costs.get("fresh"), { table: "fresh", rows: 0, bytes: 0, exists: true, rowsFrom: "size" });
  const loaded = costs.get("loaded")!;
  assert.equal(loaded.rowsFrom, "size");
  // 28 + 8 + 8 = 44 bytes a row by the estimate, 48 in fact (alignment): within 15%.
  assert.ok(Math.abs(loaded.rows - 10000) / 10000 < 0.15, `estimate ${loaded.rows}`);
  assert.match(describeCost(loaded, "ACCESS EXCLUSIVE", true), /^rewrites loaded \(≈1\d\.\dk rows, never analyzed, \d+ kB\) under ACCESS EXCLUSIVE$/);
  await db.drop();
});

test("a partitioned table sums its partitions", async () => {
  const db = await createTestDatabase();
  await query(
    db.url,
    `create table events (id int, k int) partition by range (k);
     create table events_a partition of events for values from (0) to (100);
     create table events_b partition of events for values from (100) to (200);
     insert into events select g, g % 200 from generate_series(1, 4000) g;
     analyze events_a; analyze events_b;`,
  );
  const costs = await tableCosts(db.url, ["events", "events_a"]);
  assert.equal(costs.get("events")!.rows, 4000);
  assert.equal(costs.get("events")!.rowsFrom, "statistics");
  assert.equal(costs.get("events_a")!.rows, 2000);
  const [{ size }] = await query(db.url, "select (pg_total_relation_size('events_a') + pg_total_relation_size('events_b'))::bigint as size");
  assert.equal(costs.get("events")!.bytes, Number(size));
  await db.drop();
});

test("no tables asks nothing; an unreachable database throws without its password", async () => {
  assert.deepEqual(await tableCosts("postgres://x:hunter22@127.0.0.1:1/db", []), new Map());
  await assert.rejects(tableCosts("postgres://x:hunter22@127.0.0.1:1/db", ["orders"]), (error: Error) => {
    assert.match(error.message, /could not read table sizes/);
    assert.doesNotMatch(error.message, /hunter22/);
    return true;
  });
});

const cost = (rows: number, bytes: number, extra: Partial<TableCost> = {}): TableCost => ({
  table: "orders",
  rows,
  bytes,
  exists: true,
  rowsFrom: "statistics",
  ...extra,
});

test("describeCost: the verb, the lock, rows and bytes for people", () => {
  assert.equal(describeCost(cost(12_400_000, 3.1 * 1024 ** 3), "ACCESS EXCLUSIVE", true), "rewrites orders (≈12.4M rows, 3.1 GB) under ACCESS EXCLUSIVE");
  assert.equal(describeCost(cost(1204, 96 * 1024), "SHARE"), "locks orders (≈1,204 rows, 96 kB) under SHARE");
  assert.equal(describeCost(cost(1, 8192)), "locks orders (≈1 row, 8 kB)");
  assert.equal(
    describeCost(cost(-1, 0, { exists: false, rowsFrom: "none" }), "SHARE ROW EXCLUSIVE"),
    "locks orders (not on the target yet) under SHARE ROW EXCLUSIVE",
  );
  assert.equal(describeCost(cost(0, 0, { rowsFrom: "size" }), "ACCESS EXCLUSIVE", true), "rewrites orders (≈0 rows, 0 bytes) under ACCESS EXCLUSIVE");
});

test("formatRows and formatBytes", () => {
  assert.deepEqual([0, 1, 999, 9_999, 10_000, 45_300, 453_000, 999_960, 1_000_000, 2_100_000_000].map(formatRows), [
    "≈0 rows",
    "≈1 row",
    "≈999 rows",
    "≈9,999 rows",
    "≈10k rows",
    "≈45.3k rows",
    "≈453k rows",
    "≈1M rows",
    "≈1M rows",
    "≈2.1B rows",
  ]);
  assert.deepEqual([0, 512, 1024, 1536, 96 * 1024, 1024 ** 2 - 1, 5.25 * 1024 ** 2, 3.1 * 1024 ** 3, 2 * 1024 ** 4].map(formatBytes), [
    "0 bytes",
    "512 bytes",
    "1 kB",
    "1.5 kB",
    "96 kB",
    "1 MB",
    "5.3 MB",
    "3.1 GB",
    "2 TB",
  ]);
});
