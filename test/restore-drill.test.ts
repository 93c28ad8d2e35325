// Restore drills (README "Restore drills"): a backup restored into a scratch database on the shadow
// server and its row counts compared with those recorded when it was taken. Real PostgreSQL, real
// pg_dump/pg_restore; the app end to end against the fake GitHub for the scheduled drills.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compareCounts, drillBackup } from "../src/backups/restore-drill.js";
import { takeBackup } from "../src/backups/service.js";
import { resolveBackupSettings } from "../src/config/backup-config.js";
import { parseServerConfig } from "../src/config/server-config.js";
import { ConfigError } from "../src/config/yaml-errors.js";
import type { BackupRecord } from "../src/store/backups.js";
import { latestDrill } from "../src/store/restore-drills.js";
import { waitFor } from "./harness/app-process.js";
import { createTestDatabase, query, testServerUrl, type TestDatabase } from "./harness/postgres.js";
import { REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { useTestStore } from "./harness/test-store.js";

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));
const ENV = "production";

/** Rows written and their statistics flushed, so the backup records them (pg_stat_force_next_flush: PostgreSQL 15+). */
const write = (url: string, sql: string) => query(url, `${sql}; select pg_stat_force_next_flush()`);

async function seedTarget(target: TestDatabase): Promise<void> {
  await write(
    target.url,
    `create table customers (id bigint primary key, email text not null);
     create table orders (id bigint primary key, customer_id bigint references customers, total numeric not null);
     insert into customers select g, 'c' || g || '@example.org' from generate_series(1, 40) g;
     insert into orders select g, 1 + g % 40, g * 1.5 from generate_series(1, 1500) g`,
  );
}

/** Flips bytes in the middle of a stored object: what bit rot or a bad copy does. */
function corrupt(file: string): Buffer {
  const original = readFileSync(file);
  const damaged = Buffer.from(original);
  for (let i = Math.floor(damaged.length / 2); i < Math.floor(damaged.length / 2) + 16; i++) damaged[i] ^= 0xff;
  writeFileSync(file, damaged);
  return original;
}

async function scratchDatabasesLeft(): Promise<string[]> {
  const rows = await query<{ datname: string }>(await testServerUrl(), `select datname from pg_database where datname like 'autopilot\\_scratch\\_%'`);
  return rows.map((r) => r.datname);
}

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("restore drill of a local backup", () => {
  const t = useTestStore("drill_store");
  let target: TestDatabase;
  let backup: BackupRecord;
  let directory: string;
  let configFile: string;
  const settings = () => resolveBackupSettings(parseServerConfig("s.yml", `backups:\n  directory: ${directory}\n`), REPO, ENV, {});

  before(async () => {
    target = await createTestDatabase("drill_target");
    await seedTarget(target);
    directory = mkdtempSync(path.join(tmpdir(), "autopilot-drill-"));
    configFile = path.join(directory, "autopilot.server.yml");
    writeFileSync(configFile, `backups:\n  directory: ${directory}\n`);
    backup = await takeBackup({ db: t.store.pool, settings: settings(), databaseUrl: target.url, repo: REPO, environment: ENV, runId: null, commitSha: null });
  });
  after(() => target.drop());

  test("a good backup verifies: every recorded table is back with its rows, and the scratch database is dropped", async () => {
    const drill = await drillBackup({ db: t.store.pool, backup, settings: settings(), shadowUrl: await testServerUrl(), runId: null });
    assert.equal(drill.ok, true, drill.details);
    assert.deepEqual(
      drill.tables.map((x) => [x.table, x.recorded, x.restored]),
      [
        ["public.customers", 40, 40],
        ["public.orders", 1500, 1500],
      ],
    );
    assert.match(drill.details, /the row counts of all 2 recorded table\(s\) match/);
    assert.deepEqual(await scratchDatabasesLeft(), []);
    const recorded = await latestDrill(t.store.pool, REPO, ENV, { passed: true });
    assert.equal(recorded?.backupId, backup.id);
  });

  test("row counts that differ from those recorded fail the drill and name the table", async () => {
    // As if the dump had lost most of orders' rows: the statistics recorded say there were 9,000.
    await t.store.pool.query(
      `update backup_table_stats set tables = (select jsonb_agg(case when e->>'table' = 'public.orders' then jsonb_set(e, '{liveRows}', '9000') else e end)
         from jsonb_array_elements(tables) e) where backup_id = $1`,
      [backup.id],
    );
    try {
      const drill = await drillBackup({ db: t.store.pool, backup, settings: settings(), shadowUrl: await testServerUrl(), runId: null });
      assert.equal(drill.ok, false);
      assert.match(drill.details, /row counts differ .*public\.orders has 1,500 row\(s\), 9,000 recorded/);
      assert.doesNotMatch(drill.details, /customers/);
    } finally {
      await t.store.pool.query(
        `update backup_table_stats set tables = (select jsonb_agg(case when e->>'table' = 'public.orders' then jsonb_set(e, '{liveRows}', '1500') else e end)
           from jsonb_array_elements(tables) e) where backup_id = $1`,
        [backup.id],
      );
    }
  });

  test("the CLI's backups verify exits 0 on a good backup, 1 on a corrupted one, and needs a shadow server", async () => {
    const env = { DATABASE_URL: t.db.url, AUTOPILOT_SERVER_CONFIG: configFile, AUTOPILOT_SHADOW_DATABASE_URL: await testServerUrl() };
    const good = await autopilot(["backups", "verify", "--id", backup.id], env);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /public\.orders\t1500\t1500/);
    assert.match(good.stdout, /restore drill passed/);

    const original = corrupt(backup.path!);
    try {
      const bad = await autopilot(["backups", "verify", "--id", backup.id], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /restore drill failed: backup bk_\w+ could not be restored: backup file checksum mismatch/);
      assert.doesNotMatch(bad.stderr + bad.stdout, new RegExp(new URL(await testServerUrl()).password || "\\u0000"));
      const last = await latestDrill(t.store.pool, REPO, ENV);
      assert.equal(last?.ok, false, "the CLI's drill is recorded like the scheduler's");
    } finally {
      writeFileSync(backup.path!, original);
    }

    const noShadow = await autopilot(["backups", "verify", "--id", backup.id], { ...env, AUTOPILOT_SHADOW_DATABASE_URL: "" });
    assert.equal(noShadow.code, 1);
    assert.match(noShadow.stderr, /--shadow-database-url \(or AUTOPILOT_SHADOW_DATABASE_URL, or --shadow-database-url-env\) is required/);
    assert.deepEqual(await scratchDatabasesLeft(), []);
  });
});

test("row counts within the statistics' tolerance match; a table restored empty or missing never does", () => {
  const recorded = (tables: Array<[string, number]>) => ({
    capturedAt: new Date(),
    statsResetAt: null,
    tables: tables.map(([table, liveRows]) => ({ table, liveRows, inserted: liveRows, updated: 0, deleted: 0 })),
  });
  const restored = (entries: Array<[string, number]>) => new Map(entries);
  // 1 % of 100,000 is 1,000 rows of slack (live-row statistics are estimates); 10 rows at least.
  assert.equal(compareCounts("bk", recorded([["public.big", 100_000]]), restored([["public.big", 100_900]])).ok, true);
  assert.equal(compareCounts("bk", recorded([["public.big", 100_000]]), restored([["public.big", 98_000]])).ok, false);
  assert.equal(compareCounts("bk", recorded([["public.small", 5]]), restored([["public.small", 12]])).ok, true);
  assert.equal(compareCounts("bk", recorded([["public.small", 5]]), restored([["public.small", 0]])).ok, false);
  const missing = compareCounts("bk", recorded([["public.gone", 3]]), restored([["public.new", 7]]));
  assert.equal(missing.ok, false);
  assert.match(missing.details, /public\.gone is missing \(3 row\(s\) recorded\)/);
  assert.deepEqual(missing.tables, [
    { table: "public.gone", recorded: 3, restored: null },
    { table: "public.new", recorded: null, restored: 7 },
  ]);
  const unrecorded = compareCounts("bk", undefined, restored([["public.a", 2]]));
  assert.equal(unrecorded.ok, true);
  assert.match(unrecorded.details, /no row counts were recorded with it, so none were compared/);
});

test("backups.verify_schedule is accepted as a cron expression, server-wide or per target with a shadow server", () => {
  const target = (extra: string) => `targets:\n  - repo: ${REPO}\n    environment: production\n    database_url_env: DB\n${extra}`;
  const ok = parseServerConfig(
    "s.yml",
    `${target("    shadow_database_url_env: SHADOW\n    backups: { verify_schedule: '0 3 * * *' }\n")}backups:\n  verify_schedule: "0 4 * * 0"\n`,
  );
  assert.equal(ok.backups.verify_schedule, "0 4 * * 0");
  assert.equal(ok.targets[0].backups?.verify_schedule, "0 3 * * *");
  const problems = (yaml: string) => {
    try {
      parseServerConfig("s.yml", yaml);
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems.map((p) => `${p.key}: ${p.message}`);
    }
  };
  assert.match(problems("backups:\n  verify_schedule: weekly\n").join(), /backups\.verify_schedule: is not a valid cron expression/);
  assert.match(
    problems(target("    backups: { verify_schedule: '0 3 * * *' }\n")).join(),
    /targets\[0\]\.backups\.verify_schedule: restore drills need a shadow server: set shadow_database_url_env on this target/,
  );
});

describe("scheduled restore drills (the app against the fake GitHub)", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.released(
      { alice: "admin" },
      {
        shadow: true,
        targetExtra: `    backups:\n      verify_schedule: "*/5 * * * * *"`,
        env: { AUTOPILOT_METRICS_PUBLIC: "true" },
      },
    );
  });
  after(() => s?.stop());

  const drillIssues = () => s.github.issues(REPO).filter((i) => i.body?.includes("<!-- autopilot:incident acme/shop restore-drill:production -->"));
  const drillOf = (backupId: string, ok: boolean) => async () =>
    (await s.storeQuery("select ok, details from restore_drills where backup_id = $1 and ok = $2 limit 1", [backupId, ok]))[0];

  test("a drill verifies the newest backup, a corrupted object opens an incident, and the next passing drill closes it", async () => {
    await write(s.targetUrl, "insert into customers (email) select 'c' || g || '@example.org' from generate_series(1, 25) g");
    const commentId = await s.comment(`/autopilot backup ${ENV}`, { login: "alice" });
    const { reply } = await s.answered(1, commentId, 60_000);
    const backupId = /`(bk_\w+)`/.exec(reply)?.[1];
    assert.ok(backupId, reply);
    const passed = await waitFor(`a passing drill of ${backupId}`, drillOf(backupId, true), 60_000);
    assert.match(passed.details, /the row counts of all 1 recorded table\(s\) match/);

    const metrics = await (await fetch(`${s.app.url}/metrics`)).text();
    const line = metrics.split("\n").find((l) => l.startsWith(`autopilot_backup_last_verified_timestamp_seconds{repo="${REPO}",environment="${ENV}"}`));
    assert.ok(line, metrics);
    assert.ok(Math.abs(Number(line.split(" ")[1]) - Date.now() / 1000) < 120, line);

    const [{ path: file }] = await s.storeQuery<{ path: string }>("select path from backups where id = $1", [backupId]);
    const original = corrupt(file);
    const failed = await waitFor(`a failing drill of ${backupId}`, drillOf(backupId, false), 60_000);
    assert.match(failed.details, /could not be restored: backup file checksum mismatch/);
    const [incident] = await waitFor("the restore drill incident", () => {
      const open = drillIssues().filter((i) => i.state === "open");
      return open.length ? open : undefined;
    });
    assert.equal(incident.title, "🔴 restore drill failed (production)");
    assert.match(incident.body ?? "", /checksum mismatch/);
    assert.match(incident.body ?? "", new RegExp(`npx autopilot backups verify --id ${backupId}`));
    assert.ok(incident.labels.includes("autopilot"));

    const statusId = await s.comment(`/autopilot status ${ENV}`, { login: "alice" });
    const status = (await s.answered(1, statusId, 60_000)).reply;
    assert.match(status, /\*\*Restore drills\*\*/);
    assert.match(status, new RegExp(`last verified restore .* \\(backup \`${backupId}\`\\)`));
    assert.match(status, /❌ drill of `bk_\w+` failed/);

    writeFileSync(file, original);
    await waitFor("the incident closed by a passing drill", () => drillIssues().find((i) => i.number === incident.number && i.state === "closed"), 60_000);
    assert.equal(drillIssues().length, 1, "failures while it was open commented on the one issue");
    assert.doesNotMatch(s.everythingSent(), new RegExp(TARGET_PASSWORD));
  });
});
