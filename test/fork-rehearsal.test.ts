// A fork's files rehearsed on a real shadow server, as the plan runbook runs them with
// `forks.rehearse: true`: each attack fails (or harms only the fork's own throw-away role), the
// shadow server is left as it was, and the next rehearsal works.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, query, testServerUrl, withDatabase } from "./harness/postgres.js";
import { migration } from "./harness/migration-file.js";
import type { MigrationFile } from "../src/database/migration-files.js";
import { migrate } from "../src/database/migrator.js";
import { dropLeftoverScratchDatabases, NO_TRANSACTION_REFUSED, rehearse, type ForkLimits, type RehearsalInput } from "../src/database/rehearsal.js";
import {
  createSandbox,
  createScratchDatabase,
  dropSandbox,
  dropScratchDatabase,
  scramVerifier,
  scratchDatabaseName,
} from "../src/database/scratch-databases.js";
import { planMarkdown, renderPlan } from "../src/report/plan-report.js";
import type { PlanReport } from "../src/runbooks/plan-outcome.js";

const SHADOW_ROLE = "fork_shadow";
const SHADOW_PASSWORD = "fork-shadow-S3cret";
// A generous ceiling, so that a loaded machine does not fail the benign rehearsals; the sleep test sets its own.
const LIMITS: ForkLimits = { statementTimeout: "500ms", rehearsalTimeoutSeconds: 60 };
const SHORT_CEILING: ForkLimits = { statementTimeout: "500ms", rehearsalTimeoutSeconds: 3 };
let admin: string;
let shadowUrl: string;
/** Another rehearsal's scratch database, there all along: no fork may touch it. */
let victim: string;

before(async () => {
  admin = await testServerUrl();
  // The least a shadow role needs for fork rehearsals: CREATEDB and CREATEROLE, not superuser.
  await query(admin, `create role ${SHADOW_ROLE} login createdb createrole password '${SHADOW_PASSWORD}'`);
  const url = new URL(withDatabase(admin, "postgres"));
  url.username = SHADOW_ROLE;
  url.password = SHADOW_PASSWORD;
  shadowUrl = url.toString();
  victim = scratchDatabaseName();
  await createScratchDatabase(shadowUrl, victim);
  await query(withDatabase(admin, victim), "create table precious (id int); insert into precious values (1)");
});

after(async () => {
  await dropScratchDatabase(shadowUrl, victim);
});

const sandboxRoles = async () =>
  (await query(admin, `select rolname from pg_roles where rolname like 'autopilot\\_scratch\\_%' order by 1`)).map((r) => r.rolname as string);
const scratchDatabases = async () =>
  (await query(admin, `select datname from pg_database where datname like 'autopilot\\_scratch\\_%' order by 1`)).map((r) => r.datname as string);

/** A fork's rehearsal, then what must hold after any of them: nothing of it left, the others untouched. */
async function rehearseFork(pending: MigrationFile[], extra: Partial<RehearsalInput> = {}) {
  const result = await rehearse({ shadowUrl, pending, fork: LIMITS, statementTimeout: "0", ...extra });
  assert.deepEqual(await scratchDatabases(), [victim], "the fork's scratch database is dropped, the other one is still there");
  assert.deepEqual(await sandboxRoles(), [], "the fork's role is dropped with its database");
  assert.equal((await query(withDatabase(admin, victim), "select count(*)::int as n from precious"))[0].n, 1);
  assert.equal(result.cleanupError, undefined);
  assert.ok(!JSON.stringify(result).includes(SHADOW_PASSWORD));
  return result;
}

/** The shadow server still works for everyone: its role is not read-only, and rehearsals of both kinds pass. */
async function assertShadowServerUnharmed(): Promise<void> {
  const settings = await query(
    admin,
    "select coalesce(d.datname, '*') as db, r.rolname, s.setconfig from pg_db_role_setting s left join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase",
  );
  assert.deepEqual(settings, [], "no role or database default was changed on the shadow server");
  const table = migration("0090_next.sql", "create table next_one (id int primary key);\ninsert into next_one values (1);\n");
  const sameRepo = await rehearse({ shadowUrl, pending: [table] });
  assert.equal(sameRepo.ok, true, JSON.stringify(sameRepo));
  const fork = await rehearseFork([table]);
  assert.equal(fork.ok, true, JSON.stringify(fork));
}

/** What the Check Run and the pull-request comment would show for this rehearsal. */
function publicOutput(rehearsal: PlanReport["rehearsal"]): string {
  const report: PlanReport = { pending: [], problems: [], findings: [], rehearsal };
  return JSON.stringify(renderPlan({ kind: "planned", report })) + planMarkdown(report);
}

test("a fork's files run as a fresh role that can do nothing but own its scratch database", async () => {
  // Divides by zero unless every isolation holds, so the file only applies in a real sandbox.
  const probe = migration(
    "0001_probe.sql",
    [
      "create table t (id int);",
      "select 1 / (current_user like 'autopilot\\_scratch\\_%')::int;",
      "select 1 / (not rolsuper and not rolcreatedb and not rolcreaterole and not rolbypassrls and not rolreplication)::int from pg_roles where rolname = current_user;",
      "select 1 / (pg_get_userbyid(datdba) = current_user)::int from pg_database where datname = current_database();",
      "select 1 / (not has_database_privilege('public', current_database(), 'CONNECT'))::int;",
      "select 1 / (not pg_has_role(current_user, '" + SHADOW_ROLE + "', 'USAGE'))::int;",
      "select 1 / (current_setting('statement_timeout') = '500ms')::int;",
      "",
    ].join("\n"),
  );
  const result = await rehearseFork([probe]);
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.deepEqual(result.fork, LIMITS);
  assert.match(publicOutput(result), /throw-away unprivileged role, each statement limited to 500ms and the whole rehearsal to 60 s/);
});

test("attack: dropping or taking over another rehearsal's scratch database", async () => {
  const dropIt = migration("0001_drop.sql", `-- autopilot:no-transaction\ndrop database "${victim}";\n`);
  const refused = await rehearseFork([dropIt]);
  assert.equal(refused.ok, false);
  assert.deepEqual(refused.files[0].status, "failed");
  assert.deepEqual(refused.files[0].error, { line: 1, message: NO_TRANSACTION_REFUSED });

  const viaBaseline = await rehearseFork([migration("0002_next.sql", "select 1;\n")], { baseline: [dropIt] });
  assert.equal(viaBaseline.ok, false);
  assert.match(
    viaBaseline.setupError!,
    /^earlier migration migrations\/0001_drop\.sql:1: -- autopilot:no-transaction is refused in a fork's rehearsal; nothing was run$/,
  );

  for (const sql of [
    `alter database "${victim}" rename to stolen;`,
    `alter database "${victim}" owner to current_user;`,
    `alter database "${victim}" set default_transaction_read_only = on;`,
  ]) {
    const result = await rehearseFork([migration("0001_take.sql", `select 1;\n${sql}\n`)]);
    assert.equal(result.files[0].status, "failed", sql);
    assert.equal(result.files[0].error?.code, "42501", sql);
    assert.equal(result.files[0].error?.line, 2, sql);
  }
  // Not the owner: PostgreSQL only warns that nothing could be revoked.
  await rehearseFork([migration("0001_revoke.sql", `revoke all on database "${victim}" from public;\n`)]);
  const [privileges] = await query(
    admin,
    "select has_database_privilege('public', $1, 'CONNECT') as connect, has_database_privilege('public', $1, 'TEMP') as temp",
    [victim],
  );
  assert.deepEqual(privileges, { connect: true, temp: true }, "the other scratch database keeps its privileges");
  await assertShadowServerUnharmed();
});

test("attack: making the shadow role read-only for every later rehearsal", async () => {
  const readOnly = migration("0001_read_only.sql", "alter role current_user set default_transaction_read_only = on;\n");
  const own = await rehearseFork([readOnly]);
  assert.equal(own.ok, true, "it may only change its own throw-away role, which is dropped");

  for (const sql of [
    `alter role ${SHADOW_ROLE} set default_transaction_read_only = on;`,
    "alter database postgres set default_transaction_read_only = on;",
    `do $$ begin execute format('grant %I to ${SHADOW_ROLE}', current_user); end $$;`,
    "set role " + SHADOW_ROLE + ";",
    "create role intruder login superuser;",
  ]) {
    const result = await rehearseFork([migration("0001_attack.sql", sql + "\n")]);
    assert.equal(result.files[0].status, "failed", sql);
    assert.equal(result.files[0].error?.code, "42501", sql);
  }
  assert.deepEqual(await query(admin, "select rolname from pg_roles where rolname = 'intruder'"), []);
  await assertShadowServerUnharmed();
});

test("attack: pg_sleep forever, with and without lifting the statement timeout", async () => {
  const sleeper = migration("0001_sleep.sql", "-- autopilot:statement-timeout 0\ncreate table a (id int);\nselect pg_sleep(3600);\n");
  const started = Date.now();
  const timedOut = await rehearseFork([sleeper], { statementTimeout: "1h" });
  assert.equal(timedOut.files[0].status, "failed");
  assert.equal(timedOut.files[0].error?.code, "57014", "the forced timeout wins over the file's directive and the repository's config");
  assert.equal(timedOut.files[0].error?.line, 3);
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);

  const lifted = migration("0001_lifted.sql", "set statement_timeout = 0;\nset lock_timeout = 0;\nselect pg_sleep(3600);\n");
  const began = Date.now();
  const stopped = await rehearseFork([lifted], { fork: SHORT_CEILING });
  const took = Date.now() - began;
  const ceiling = SHORT_CEILING.rehearsalTimeoutSeconds * 1000;
  assert.ok(took >= ceiling && took < ceiling + 10_000, `took ${took} ms`);
  assert.equal(stopped.ok, false);
  assert.match(
    stopped.setupError!,
    /ran longer than the 3 s a fork's rehearsal may take \(server config `forks\.rehearsal_timeout_seconds`\); their session was ended/,
  );
  const sessions = await query(
    admin,
    "select pid from pg_stat_activity where usename like 'autopilot\\_scratch\\_%' or query like '%pg_sleep(3600)%' and pid <> pg_backend_pid()",
  );
  assert.deepEqual(sessions, [], "no session of the fork is left running");

  const inBaseline = await rehearseFork([migration("0002_next.sql", "select 1;\n")], { baseline: [lifted], fork: SHORT_CEILING });
  assert.match(inBaseline.setupError!, /ran longer than the 3 s/);
  await assertShadowServerUnharmed();
});

test("attack: RAISE the shadow server's databases and roles into the public plan", async () => {
  const leak = (code: string) =>
    `do $$ begin raise exception using errcode = '${code}', message = (select string_agg(datname, ',') from pg_database), ` +
    `detail = (select string_agg(rolname, ',') from pg_roles), hint = current_user; end $$;\n`;
  const names = [victim, SHADOW_ROLE, "template0", "pg_read_all_data"];
  const assertNoNames = (output: string) => {
    for (const name of names) assert.ok(!output.includes(name), `public output names ${name}: ${output}`);
  };

  const raised = await rehearseFork([migration("0001_leak.sql", "create table a (id int);\n" + leak("P0001"))]);
  assert.equal(raised.files[0].status, "failed");
  assert.deepEqual(raised.files[0].error, { code: "P0001", line: 2, message: "failed with SQLSTATE P0001 (a fork's rehearsal shows no error text)" });
  const output = publicOutput(raised);
  assertNoNames(output);
  assert.match(output, /migrations\/0001_leak\.sql:2.*SQLSTATE P0001/);

  // A connection-class code makes the migrator give up rather than report the file: still no text.
  const asConnectionError = await rehearseFork([migration("0001_leak.sql", leak("08006"))]);
  assert.match(asConnectionError.setupError!, /^the rehearsal could not run to the end: failed with SQLSTATE 08006/);
  assertNoNames(publicOutput(asConnectionError));

  const inBaseline = await rehearseFork([migration("0002_next.sql", "select 1;\n")], { baseline: [migration("0001_leak.sql", leak("P0001"))] });
  assert.match(inBaseline.setupError!, /^earlier migration migrations\/0001_leak\.sql:1 failed, so the schema could not be built: failed with SQLSTATE P0001/);
  assertNoNames(publicOutput(inBaseline));

  const sameRepo = await rehearse({ shadowUrl, pending: [migration("0001_leak.sql", leak("P0001"))] });
  assert.match(sameRepo.files[0].error!.message, new RegExp(victim), "a same-repository rehearsal still shows the full error");
  await assertShadowServerUnharmed();
});

test("with forks.read_targets, a fork's rehearsal loads the target's schema as its own role", async () => {
  const target = await createTestDatabase("target");
  const users = migration("0001_users.sql", "create table users (id int primary key, email text not null);\n");
  assert.equal((await migrate({ databaseUrl: target.url, migrations: [users], appliedBy: "test" })).failure, undefined);
  const addName = migration("0002_add_name.sql", "alter table users add column name text;\ncreate index users_name on users (name);\n");
  const result = await rehearseFork([addName], { schemaSourceUrl: target.url });
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.schemaFrom, "target");
  await target.drop();
});

test("leftover cleanup drops a crashed fork rehearsal's role with its database", async () => {
  const old = "autopilot_scratch_20000101000000_f0f0f0";
  await createSandbox(shadowUrl, old, "whatever-password", "1s");
  const fresh = scratchDatabaseName();
  await createSandbox(shadowUrl, fresh, "whatever-password", "1s");
  assert.deepEqual(await sandboxRoles(), [old, fresh].sort());

  assert.deepEqual(await dropLeftoverScratchDatabases(shadowUrl), [old]);
  assert.deepEqual(await sandboxRoles(), [fresh], "the recent one may be another replica's, running right now");
  assert.deepEqual(await dropLeftoverScratchDatabases(shadowUrl, 0), [fresh, victim].sort());
  assert.deepEqual(await sandboxRoles(), []);
  victim = scratchDatabaseName(); // the cleanup took the victim too; give `after` one to drop
  await createScratchDatabase(shadowUrl, victim);
});

test("a shadow role without CREATEROLE gets a setup error saying what a fork's rehearsal needs, and nothing is left", async () => {
  await query(admin, "create role createdb_only login createdb");
  const url = new URL(shadowUrl);
  url.username = "createdb_only";
  const result = await rehearse({ shadowUrl: url.toString(), pending: [migration("0001_x.sql", "select 1;\n")], fork: LIMITS });
  assert.equal(result.ok, false);
  assert.match(
    result.setupError!,
    /^could not create the scratch database \(a fork's rehearsal needs CREATEDB and CREATEROLE for the shadow URL's role\): shadow server: permission denied to create role/,
  );
  assert.deepEqual(await scratchDatabases(), [victim]);
  assert.deepEqual(await sandboxRoles(), []);
});

test("the sandbox role's password reaches the server only as the SCRAM verifier the server itself would store", async () => {
  // The verifier is right: recomputed with the salt and iterations PostgreSQL chose, it is PostgreSQL's own.
  await query(admin, "set password_encryption = 'scram-sha-256'; create role scram_reference password 'reference-password'");
  const [reference] = await query(admin, "select rolpassword from pg_authid where rolname = 'scram_reference'");
  const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(reference.rolpassword)!;
  assert.equal(scramVerifier("reference-password", Buffer.from(salt, "base64"), Number(iterations)), reference.rolpassword);
  await query(admin, "drop role scram_reference");

  const name = scratchDatabaseName();
  const password = "sandbox-password-0123456789abcdef";
  await createSandbox(shadowUrl, name, password, "1s");
  const [stored] = await query(admin, "select rolpassword from pg_authid where rolname = $1", [name]);
  assert.ok(!stored.rolpassword.includes(password));
  const [, storedIterations, storedSalt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored.rolpassword)!;
  assert.equal(scramVerifier(password, Buffer.from(storedSalt, "base64"), Number(storedIterations)), stored.rolpassword, "a verifier of this password");
  await dropSandbox(shadowUrl, name);
});
