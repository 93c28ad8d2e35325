// Databases as other migration tools leave them: each tool's history table with the tool's own
// schema (the source of each is named above its DDL), its rows, and the schema objects its files made.
// Every tool here migrated the same three files: users, orders, items.

export const SCHEMA_OBJECTS = `
create table users (id int primary key, email text);
create table orders (id int primary key, user_id int references users);
create table items (id int primary key);
`;

export interface ToolFixture {
  tool: string;
  toolName: string;
  /** The versions of the three files, as the repository names them. */
  versions: [string, string, string];
  /** The version of the next file, which Autopilot applies after adopting. */
  next: string;
  /** The table Autopilot must leave untouched. */
  table: string;
  /** Creates the tool's table and its rows for the three files. */
  setup: string;
  /** Whether the tool keeps the time each file was applied (set to 2021-02-03 in the rows). */
  keepsTime: boolean;
}

export const KEPT_TIME = "2021-02-03 04:05:06";

export const TOOLS: ToolFixture[] = [
  {
    tool: "supabase",
    toolName: "the Supabase CLI",
    versions: ["20240101000000", "20240102000000", "20240103000000"],
    next: "20240104000000",
    table: "supabase_migrations.schema_migrations",
    keepsTime: false,
    // supabase/cli pkg/migration/history.go (SET_LOCK_TIMEOUT / CREATE_VERSION_SCHEMA / CREATE_VERSION_TABLE /
    // ADD_STATEMENTS_COLUMN / ADD_NAME_COLUMN): the table is created, then its columns added.
    setup: `
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
      alter table supabase_migrations.schema_migrations add column if not exists statements text[];
      alter table supabase_migrations.schema_migrations add column if not exists name text;
      insert into supabase_migrations.schema_migrations (version, statements, name) values
        ('20240101000000', array['create table users (id int primary key, email text)'], 'users'),
        ('20240102000000', array['create table orders (id int primary key, user_id int references users)'], 'orders'),
        ('20240103000000', array['create table items (id int primary key)'], 'items');`,
  },
  {
    tool: "flyway",
    toolName: "Flyway",
    versions: ["0001", "0002", "0003"],
    next: "0004",
    table: "public.flyway_schema_history",
    keepsTime: true,
    // flyway/flyway-database-postgresql: org/flywaydb/database/postgresql/createMetaDataTable.sql
    setup: `
      CREATE TABLE "public"."flyway_schema_history" (
        "installed_rank" INT NOT NULL,
        "version" VARCHAR(50),
        "description" VARCHAR(200) NOT NULL,
        "type" VARCHAR(20) NOT NULL,
        "script" VARCHAR(1000) NOT NULL,
        "checksum" INTEGER,
        "installed_by" VARCHAR(100) NOT NULL,
        "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
        "execution_time" INTEGER NOT NULL,
        "success" BOOLEAN NOT NULL
      );
      ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
      CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
      insert into flyway_schema_history values
        (1, '1', 'users', 'SQL', 'V1__users.sql', 1591050818, 'postgres', '${"2021-02-03 04:05:06"}', 12, true),
        (2, '2', 'orders', 'SQL', 'V2__orders.sql', 1025839934, 'postgres', '${"2021-02-03 04:05:06"}', 7, true),
        (3, '3', 'items', 'SQL', 'V3__items.sql', 1944474316, 'postgres', '${"2021-02-03 04:05:06"}', 5, true);`,
  },
  {
    tool: "golang-migrate",
    toolName: "golang-migrate",
    versions: ["1", "2", "3"],
    next: "4",
    table: "public.schema_migrations",
    keepsTime: false,
    // golang-migrate/migrate database/postgres/postgres.go ensureVersionTable; it keeps one row, the latest version.
    setup: `
      CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null);
      insert into schema_migrations values (3, false);`,
  },
  {
    tool: "dbmate-or-rails",
    toolName: "dbmate or Rails",
    versions: ["20240101120000", "20240102120000", "20240103120000"],
    next: "20240104120000",
    table: "public.schema_migrations",
    keepsTime: false,
    // amacneil/dbmate pkg/driver/postgres/postgres.go CreateMigrationsTable
    setup: `
      create table if not exists public.schema_migrations (version varchar(128) primary key);
      insert into public.schema_migrations (version) values ('20240101120000'), ('20240102120000'), ('20240103120000');`,
  },
  {
    tool: "rails",
    toolName: "Rails",
    versions: ["20240101120000", "20240102120000", "20240103120000"],
    next: "20240104120000",
    table: "public.schema_migrations",
    keepsTime: false,
    // rails/rails activerecord/lib/active_record/schema_migration.rb (create_table, version string primary key)
    // and internal_metadata.rb (ar_internal_metadata), as PostgreSQL's adapter spells them.
    setup: `
      CREATE TABLE "schema_migrations" ("version" character varying NOT NULL PRIMARY KEY);
      CREATE TABLE "ar_internal_metadata" ("key" character varying NOT NULL PRIMARY KEY, "value" character varying,
        "created_at" timestamp(6) NOT NULL, "updated_at" timestamp(6) NOT NULL);
      insert into ar_internal_metadata values ('environment', 'production', now(), now());
      insert into schema_migrations values ('20240101120000'), ('20240102120000'), ('20240103120000');`,
  },
  {
    tool: "node-pg-migrate",
    toolName: "node-pg-migrate",
    versions: ["1700000000001", "1700000000002", "1700000000003"],
    next: "1700000000004",
    table: "public.pgmigrations",
    keepsTime: true,
    // salsita/node-pg-migrate src/runner.ts ensureMigrationsTable (id SERIAL, name varchar(255), run_on timestamp)
    setup: `
      CREATE TABLE "public"."pgmigrations" (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
      insert into pgmigrations (name, run_on) values
        ('1700000000001_users', '${"2021-02-03 04:05:06"}'), ('1700000000002_orders', '${"2021-02-03 04:05:06"}'),
        ('1700000000003_items', '${"2021-02-03 04:05:06"}');`,
  },
  {
    tool: "diesel",
    toolName: "diesel",
    versions: ["20240101120000", "20240102120000", "20240103120000"],
    next: "20240104120000",
    table: "public.__diesel_schema_migrations",
    keepsTime: true,
    // diesel-rs/diesel diesel_migrations/src/migration_harness.rs CREATE_MIGRATIONS_TABLE
    setup: `
      CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
        version VARCHAR(50) PRIMARY KEY NOT NULL,
        run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
      );
      insert into __diesel_schema_migrations values
        ('20240101120000', '${"2021-02-03 04:05:06"}'), ('20240102120000', '${"2021-02-03 04:05:06"}'), ('20240103120000', '${"2021-02-03 04:05:06"}');`,
  },
  {
    tool: "prisma",
    toolName: "Prisma",
    versions: ["20240101120000", "20240102120000", "20240103120000"],
    next: "20240104120000",
    table: "public._prisma_migrations",
    keepsTime: true,
    // prisma/prisma-engines schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs create_migrations_table
    setup: `
      CREATE TABLE _prisma_migrations (
        id                      VARCHAR(36) PRIMARY KEY NOT NULL,
        checksum                VARCHAR(64) NOT NULL,
        finished_at             TIMESTAMPTZ,
        migration_name          VARCHAR(255) NOT NULL,
        logs                    TEXT,
        rolled_back_at          TIMESTAMPTZ,
        started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
        applied_steps_count     INTEGER NOT NULL DEFAULT 0
      );
      insert into _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) values
        ('0b0c5c7e-0001-4000-8000-000000000001', repeat('a', 64), '${"2021-02-03 04:05:06"}+00', '20240101120000_users', '${"2021-02-03 04:05:05"}+00', 1),
        ('0b0c5c7e-0001-4000-8000-000000000002', repeat('b', 64), '${"2021-02-03 04:05:06"}+00', '20240102120000_orders', '${"2021-02-03 04:05:05"}+00', 1),
        ('0b0c5c7e-0001-4000-8000-000000000003', repeat('c', 64), '${"2021-02-03 04:05:06"}+00', '20240103120000_items', '${"2021-02-03 04:05:05"}+00', 1);`,
  },
];
