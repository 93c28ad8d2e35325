import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, query, testServerUrl } from "./harness/postgres.js";
import { migration } from "./harness/migration-file.js";
import { migrate } from "../src/database/migrator.js";
import { loadMigrationDirectory, type MigrationFile } from "../src/database/migration-files.js";
import { detectDrift, DriftError, type DriftReport } from "../src/database/drift/detect.js";
import { describeDifference } from "../src/database/drift/describe.js";

const SHADOW_PASSWORD = "drift-Sh4dow!pw";
let admin: string;
let shadowUrl: string;

before(async () => {
  admin = await testServerUrl();
  await query(admin, `create role drift_shadow login createdb password '${SHADOW_PASSWORD}'`);
  await query(admin, `create role reporting nologin`);
  const url = new URL(admin);
  url.username = "drift_shadow";
  url.password = encodeURIComponent(SHADOW_PASSWORD);
  shadowUrl = url.toString();
});

/** A small shop: one object of every kind drift compares. */
const BASE: MigrationFile[] = [
  migration("0001_types.sql", `create extension citext;\ncreate type order_status as enum ('new', 'paid', 'shipped');`),
  migration(
    "0002_customers.sql",
    `create table customers (
       id bigint generated always as identity primary key,
       email citext not null unique,
       name text,
       created_at timestamptz not null default now(),
       updated_at timestamptz not null default now()
     );
     create table newsletter_signups (id bigint primary key, email text not null);`,
  ),
  migration(
    "0003_orders.sql",
    `create sequence invoice_numbers start 1000;
     create table orders (
       id bigserial primary key,
       customer_id bigint not null references customers (id),
       status order_status not null default 'new',
       total_cents bigint not null constraint orders_total_positive check (total_cents >= 0),
       invoice_no bigint default nextval('invoice_numbers'),
       updated_at timestamptz not null default now()
     );
     create index orders_customer_id_idx on orders (customer_id);`,
  ),
  migration(
    "0004_touch.sql",
    `create function touch_updated_at() returns trigger language plpgsql as $$ begin new.updated_at := now(); return new; end $$;
     create trigger orders_touch before update on orders for each row execute function touch_updated_at();
     create trigger customers_touch before update on customers for each row execute function touch_updated_at();`,
  ),
  migration(
    "0005_views.sql",
    `create view customer_totals as
       select c.id, c.email, sum(o.total_cents) as total_cents from customers c left join orders o on o.customer_id = c.id group by c.id, c.email;`,
  ),
  migration(
    "0006_events.sql",
    `create table events (id bigint not null, occurred_at timestamptz not null, payload jsonb) partition by range (occurred_at);
     create table events_2026_01 partition of events for values from ('2026-01-01') to ('2026-02-01');
     create index events_occurred_at_idx on events (occurred_at);`,
  ),
  migration(
    "0007_security.sql",
    `grant select on customer_totals to reporting;
     alter table orders enable row level security;
     create policy orders_for_reporting on orders for select to reporting using (customer_id > 0);`,
  ),
];

/** A target migrated from `files`, then changed by hand with `drift` (as someone would in production). */
async function driftedTarget(drift: string, files = BASE): Promise<string> {
  const db = await createTestDatabase("drift");
  const result = await migrate({ databaseUrl: db.url, migrations: files, appliedBy: "test" });
  assert.equal(result.failure, undefined);
  if (drift) await query(db.url, drift);
  return db.url;
}

/** Every kind of hand-made change at once, on one target: one comparison serves the tests of each kind. */
const HAND_MADE = `
  create table audit_log (id int);
  drop table newsletter_signups;
  alter table customers alter column name type varchar(80), alter column created_at drop not null, alter column created_at set default clock_timestamp();
  alter table customers add column phone text;
  create index orders_created_at_idx on orders (status);
  drop index orders_customer_id_idx; create index orders_customer_id_idx on orders (customer_id, status);
  alter table orders drop constraint orders_total_positive;
  create or replace view customer_totals as select c.id, c.email, 0::numeric as total_cents from customers c;
  create or replace function touch_updated_at() returns trigger language plpgsql as $$ begin return new; end $$;
  alter table orders disable trigger orders_touch;
  drop trigger customers_touch on customers;
  alter sequence invoice_numbers increment by 10;
  create extension pg_trgm;
  grant select, insert on orders to reporting;
  revoke select on customer_totals from reporting;
  alter table orders disable row level security;
  alter policy orders_for_reporting on orders using (true);
  alter type order_status add value 'refunded';
  create table events_2026_02 partition of events for values from ('2026-02-01') to ('2026-03-01');
  alter table events detach partition events_2026_01;
`;

let drifted: Promise<DriftReport>;
before(() => {
  drifted = driftedTarget(HAND_MADE).then((targetUrl) => detectDrift({ targetUrl, shadowUrl, files: BASE }));
});

/** The differences of these kinds, each as its sentence followed by its SQL suggestion. */
async function differencesOf(...kinds: string[]): Promise<Array<[string, string]>> {
  const report = await drifted;
  return report.differences.filter((d) => kinds.includes(d.kind)).map((d) => [describeDifference(d, "production"), d.suggestion]);
}

test("a database freshly migrated from its files has no drift, whatever is in the autopilot schema", async () => {
  const targetUrl = await driftedTarget(`create table autopilot.notes (id int); create index on autopilot.schema_migrations (applied_at)`);
  const report = await detectDrift({ targetUrl, shadowUrl, files: BASE });
  assert.deepEqual(
    report.differences.map((d) => describeDifference(d, "production")),
    [],
  );
  assert.equal(report.appliedFiles, BASE.length);
  assert.deepEqual(report.unknownVersions, []);
  // This file's scratch databases only (its shadow role owns them): other test files make theirs on the same cluster meanwhile.
  // The drifted target's detection, started in before(), makes one too: wait for it to end.
  await drifted;
  const left = await query(
    admin,
    `select datname from pg_database d join pg_roles r on r.oid = d.datdba where datname like 'autopilot\\_scratch\\_%' and r.rolname = 'drift_shadow'`,
  );
  assert.deepEqual(left, [], "the scratch database is dropped");
});

test("tables: one added by hand, one dropped by hand (its primary key listed with it)", async () => {
  const tables = await differencesOf("table");
  assert.deepEqual(tables.slice(0, 2), [
    ["table `audit_log` exists only in production", "DROP TABLE public.audit_log;"],
    ["table `newsletter_signups` is missing from production", "CREATE TABLE public.newsletter_signups (id bigint NOT NULL, email text NOT NULL);"],
  ]);
  assert.deepEqual(await differencesOf("constraint").then((c) => c.find(([line]) => line.includes("newsletter"))), [
    "constraint `newsletter_signups_pkey` is missing from production",
    "ALTER TABLE public.newsletter_signups ADD CONSTRAINT newsletter_signups_pkey PRIMARY KEY (id);",
  ]);
});

test("columns: type, nullability, default, and one added", async () => {
  assert.deepEqual(await differencesOf("column"), [
    [
      "column `customers.created_at` differs: nullable is `NULL` in production, `NOT NULL` in the migrations; default is `clock_timestamp()` in production, `now()` in the migrations",
      "ALTER TABLE public.customers ALTER COLUMN created_at SET NOT NULL;\nALTER TABLE public.customers ALTER COLUMN created_at SET DEFAULT now();",
    ],
    [
      "column `customers.name` differs: type is `character varying(80)` in production, `text` in the migrations",
      "ALTER TABLE public.customers ALTER COLUMN name TYPE text USING name::text;",
    ],
    ["column `customers.phone` exists only in production", "ALTER TABLE public.customers DROP COLUMN phone;"],
    // a detached partition is a table of its own, with its own columns
    ["column `events_2026_01.id` exists only in production", "ALTER TABLE public.events_2026_01 DROP COLUMN id;"],
    ["column `events_2026_01.occurred_at` exists only in production", "ALTER TABLE public.events_2026_01 DROP COLUMN occurred_at;"],
    ["column `events_2026_01.payload` exists only in production", "ALTER TABLE public.events_2026_01 DROP COLUMN payload;"],
  ]);
});

test("indexes: one created by hand (the issue's example), one redefined by hand", async () => {
  assert.deepEqual(await differencesOf("index"), [
    ["index `events_2026_01_occurred_at_idx` exists only in production", "DROP INDEX public.events_2026_01_occurred_at_idx;"],
    ["index `orders_created_at_idx` exists only in production", "DROP INDEX public.orders_created_at_idx;"],
    [
      "index `orders_customer_id_idx` differs: definition is `CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id, status)` in production, `CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)` in the migrations",
      "DROP INDEX public.orders_customer_id_idx;\nCREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id);",
    ],
  ]);
});

test("constraints: a check constraint dropped by hand", async () => {
  const constraints = await differencesOf("constraint");
  assert.deepEqual(
    constraints.find(([line]) => line.includes("orders_total_positive")),
    [
      "constraint `orders_total_positive` is missing from production",
      "ALTER TABLE public.orders ADD CONSTRAINT orders_total_positive CHECK ((total_cents >= 0));",
    ],
  );
  assert.equal(constraints.length, 2);
});

test("views: a definition replaced by hand", async () => {
  const [[line, suggestion], ...others] = await differencesOf("view", "materialized view");
  assert.deepEqual(others, []);
  assert.match(
    line,
    /^view `customer_totals` differs: definition is `SELECT c\.id, c\.email, 0::numeric AS total_cents FROM customers c` in production, `SELECT c\.id, c\.email, sum\(o\.total_cents\) AS total_cents FROM customers c LEFT JOIN orders o/,
  );
  assert.match(suggestion, /^CREATE OR REPLACE VIEW public\.customer_totals AS\nSELECT c\.id,[\s\S]*GROUP BY c\.id, c\.email;$/);
});

test("functions: a body changed by hand", async () => {
  const [[line, suggestion], ...others] = await differencesOf("function", "procedure");
  assert.deepEqual(others, [], "the extension's functions are not listed");
  assert.match(
    line,
    /^function `touch_updated_at\(\)` differs: definition is `CREATE OR REPLACE FUNCTION public\.touch_updated_at\(\) RETURNS trigger LANGUAGE plpgsql AS \$function\$ begin return new;/,
  );
  assert.match(suggestion, /^CREATE OR REPLACE FUNCTION public\.touch_updated_at\(\)[\s\S]*new\.updated_at := now\(\)[\s\S]*;$/);
});

test("triggers: one disabled, one dropped", async () => {
  assert.deepEqual(await differencesOf("trigger"), [
    [
      "trigger `customers_touch` is missing from production",
      "CREATE TRIGGER customers_touch BEFORE UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION touch_updated_at();",
    ],
    [
      "trigger `orders_touch` differs: enabled is `disabled` in production, `enabled` in the migrations",
      "ALTER TABLE public.orders ENABLE TRIGGER orders_touch;",
    ],
  ]);
});

test("sequences: increment changed by hand", async () => {
  const [[line, suggestion], ...others] = await differencesOf("sequence");
  assert.deepEqual(others, []);
  assert.equal(line, "sequence `invoice_numbers` differs: increment is `10` in production, `1` in the migrations");
  assert.match(
    suggestion,
    /^DROP SEQUENCE public\.invoice_numbers;\nCREATE SEQUENCE public\.invoice_numbers AS bigint INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 START 1000 CACHE 1 NO CYCLE;$/,
  );
});

test("extensions: one installed by hand (its functions and types are not listed one by one)", async () => {
  assert.deepEqual(await differencesOf("extension"), [["extension `pg_trgm` exists only in production", "DROP EXTENSION pg_trgm;"]]);
});

test("grants: one given by hand, one revoked by hand", async () => {
  assert.deepEqual(await differencesOf("grant"), [
    ["grant `table customer_totals to reporting` is missing from production", "GRANT SELECT ON TABLE public.customer_totals TO reporting;"],
    ["grant `table orders to reporting` exists only in production", "REVOKE ALL ON TABLE public.orders FROM reporting;"],
  ]);
});

test("row-level security: disabled by hand, and a policy changed by hand", async () => {
  const tables = await differencesOf("table");
  assert.deepEqual(tables[2], [
    "table `orders` differs: row level security is `disabled` in production, `enabled` in the migrations",
    "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;",
  ]);
  assert.deepEqual(await differencesOf("policy"), [
    [
      "policy `orders_for_reporting` differs: using is `true` in production, `(customer_id > 0)` in the migrations",
      "DROP POLICY orders_for_reporting ON public.orders;\nCREATE POLICY orders_for_reporting ON public.orders AS PERMISSIVE FOR SELECT TO reporting USING ((customer_id > 0));",
    ],
  ]);
});

test("enums: a value added by hand", async () => {
  assert.deepEqual(await differencesOf("enum"), [
    [
      "enum `order_status` differs: values is `'new', 'paid', 'shipped', 'refunded'` in production, `'new', 'paid', 'shipped'` in the migrations",
      "DROP TYPE public.order_status;\nCREATE TYPE public.order_status AS ENUM ('new', 'paid', 'shipped');",
    ],
  ]);
});

test("partitioned tables: a partition attached by hand, one detached by hand", async () => {
  const [detached, added, ...others] = await differencesOf("partition");
  assert.deepEqual(others, []);
  assert.match(
    detached[0],
    /^partition `events_2026_01` differs: kind is `table` in production, `partition` in the migrations; partition of is none in production, `public\.events FOR VALUES FROM \('2026-01-01 00:00:00\+00'\) TO \('2026-02-01 00:00:00\+00'\)` in the migrations$/,
  );
  assert.match(detached[1], /^DROP TABLE public\.events_2026_01;\nCREATE TABLE public\.events_2026_01 PARTITION OF public\.events FOR VALUES FROM/);
  assert.deepEqual(added, ["partition `events_2026_02` exists only in production", "DROP TABLE public.events_2026_02;"]);
});

test("an enum value the migrations add; history versions without a file; a file that no longer applies (redacted errors)", async () => {
  const target = await driftedTarget("");
  await query(
    target,
    `insert into autopilot.schema_migrations (version, name, checksum, duration_ms, applied_by) values ('0008', 'refunds', 'x', 0, 'test'), ('0009', 'gone', 'y', 0, 'test')`,
  );
  const refunds = migration("0008_refunds.sql", `alter type order_status add value 'refunded'`);
  const report = await detectDrift({ targetUrl: target, shadowUrl, files: [...BASE, refunds] });
  assert.deepEqual(report.unknownVersions, ["0009"]);
  assert.deepEqual(
    report.differences.map((d) => d.suggestion),
    [`ALTER TYPE public.order_status ADD VALUE 'refunded';`],
  );

  const broken = migration("0008_refunds.sql", `select 1;\nalter table nowhere add column x int;`);
  await assert.rejects(detectDrift({ targetUrl: target, shadowUrl, files: [...BASE, broken] }), (error: Error) => {
    assert.ok(error instanceof DriftError);
    assert.equal(
      error.message,
      `could not rebuild the schema from the applied files: migrations/0008_refunds.sql:2: relation "nowhere" does not exist (SQLSTATE 42P01)`,
    );
    return true;
  });
  const badShadow = `postgres://drift_shadow:${encodeURIComponent(SHADOW_PASSWORD)}@127.0.0.1:1/postgres`;
  await assert.rejects(detectDrift({ targetUrl: target, shadowUrl: badShadow, files: BASE }), (error: Error) => {
    assert.match(error.message, /^could not create the scratch database: shadow server: connect ECONNREFUSED/);
    assert.ok(!error.message.includes(SHADOW_PASSWORD));
    return true;
  });
});

test("no drift on a freshly migrated 100+ file corpus with views, functions, triggers, partitions and enums", async () => {
  const { files, problems } = await loadMigrationDirectory("fixtures/drift-corpus");
  assert.deepEqual(problems, []);
  assert.ok(files.length >= 100, `${files.length} files`);
  const report = await detectDrift({ targetUrl: await driftedTarget("", files), shadowUrl, files });
  assert.deepEqual(
    report.differences.map((d) => describeDifference(d, "production")),
    [],
  );
  assert.equal(report.appliedFiles, files.length);
});

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("CLI: `autopilot drift` exits 0 without drift, 1 with drift (each with its SQL), 2 on an error; no password shown", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-drift-"));
  const files = BASE.slice(0, 3);
  for (const file of files) writeFileSync(path.join(dir, file.filename), file.sql);
  const target = new URL(await driftedTarget("", files));
  target.password = "t4rget-Secret";
  const env = { AUTOPILOT_DATABASE_URL: target.toString(), AUTOPILOT_SHADOW_DATABASE_URL: shadowUrl };
  const leaks = (out: { stdout: string; stderr: string }) => ["t4rget-Secret", SHADOW_PASSWORD].filter((s) => (out.stdout + out.stderr).includes(s));

  const clean = await autopilot(["drift", "--dir", dir], env);
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(clean.stdout, "No drift: the database matches its migrations.\n");

  await query(target.toString(), `create index orders_created_at_idx on orders (status); alter table customers add column phone text`);
  const drifted = await autopilot(["drift", "--dir", dir, "--shadow-database-url-env", "DRIFT_SHADOW"], {
    AUTOPILOT_DATABASE_URL: target.toString(),
    DRIFT_SHADOW: shadowUrl,
  });
  assert.equal(drifted.code, 1, drifted.stderr);
  assert.equal(
    drifted.stdout,
    [
      "The database differs from its migrations: 2 differences.",
      "- column `customers.phone` exists only in the database",
      "    ALTER TABLE public.customers DROP COLUMN phone;",
      "- index `orders_created_at_idx` exists only in the database",
      "    DROP INDEX public.orders_created_at_idx;",
      "",
    ].join("\n"),
  );
  assert.deepEqual(leaks(drifted), []);

  const noShadow = await autopilot(["drift", "--dir", dir], { AUTOPILOT_DATABASE_URL: target.toString(), AUTOPILOT_SHADOW_DATABASE_URL: "" });
  assert.equal(noShadow.code, 2);
  assert.match(noShadow.stderr, /--shadow-database-url \(or AUTOPILOT_SHADOW_DATABASE_URL, or --shadow-database-url-env\) is required/);
  const unreachable = await autopilot(["drift", "--dir", dir], {
    ...env,
    AUTOPILOT_SHADOW_DATABASE_URL: `postgres://drift_shadow:${SHADOW_PASSWORD}@127.0.0.1:1/postgres`,
  });
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, /error: could not create the scratch database: shadow server: connect ECONNREFUSED/);
  assert.deepEqual(leaks(unreachable), []);
});
