// Scheduled backups (server config `backups.schedule`): the scheduler of every replica ticks each
// slot, one run per target and slot backs up through the backup runbook and prunes; `/autopilot
// status` names the newest good backup; `backup_age_hours` fires when it is stale.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BACKUP_AGE_RULE, DEFAULT_ALERT_RULES, effectiveRules, runAlertCycle } from "../src/analytics/alerts.js";
import { LocalBackupStore } from "../src/backups/local-store.js";
import { scheduledBackups } from "../src/backups/schedules.js";
import { parseServerConfig } from "../src/config/server-config.js";
import { renderStatus } from "../src/report/status-report.js";
import { insertBackup, type BackupRecord } from "../src/store/backups.js";
import { REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor, type RunningApp } from "./harness/app-process.js";
import { useTestStore } from "./harness/test-store.js";

const SLOT_KEY = `${REPO}#backup:production`;

/** The slots a replica ticked and found claimed already (its debug log). */
function slotsLost(app: RunningApp): string[] {
  return app
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes("slot claimed by another replica"))
    .map((line) => JSON.parse(line) as { slotKey: string; slot: string })
    .filter((entry) => entry.slotKey === SLOT_KEY)
    .map((entry) => entry.slot);
}

describe("backups.schedule on two replicas", () => {
  let s: Scenario;
  let second: RunningApp;
  const directory = mkdtempSync(path.join(tmpdir(), "autopilot-scheduled-backups-"));
  // A good backup from long ago, past retention_days (30): the first scheduled backup prunes it.
  const old = { id: "bk_20240101020000_0a1b2c", repo: REPO, environment: "production", createdAt: new Date(Date.now() - 400 * 86_400_000) };
  const oldFile = new LocalBackupStore(directory).pathFor(old);

  before(async () => {
    s = await Scenario.start({
      backupDirectory: directory,
      targetExtra: '    backups:\n      schedule: "*/4 * * * * *"',
      serverExtra: "health:\n  discovery_seconds: 1",
    });
    s.github.setPermission(REPO, "ada", "read");
    writeFileSync(oldFile, "an old dump");
    await s.storeQuery(
      `insert into backups (id, repo, environment, status, path, size_bytes, sha256, duration_ms, created_at, store)
       values ($1, $2, 'production', 'ok', $3, 11, 'x', 1, $4, 'local')`,
      [old.id, REPO, oldFile, old.createdAt],
    );
    second = await s.startAnotherApp();
  });
  after(async () => {
    await second?.stop();
    await s?.stop();
  });

  test("each slot is backed up once, though both replicas tick it; retention prunes after it", async () => {
    const scheduled = () =>
      s.storeQuery<{ id: number; slot: string; status: string }>(
        "select id, params->>'slot' as slot, status from runs where kind = 'backup' and trigger = 'schedule' order by id",
      );
    // Both replicas are up: wait for slots one of them found claimed by the other, and their runs done.
    const contested = await waitFor(
      "three slots ticked by both replicas, each backed up",
      async () => {
        const runs = await scheduled();
        const lost = new Set([...slotsLost(s.app), ...slotsLost(second)]);
        const done = runs.filter((r) => lost.has(new Date(r.slot).toISOString()) && r.status === "success");
        return done.length >= 3 ? done : undefined;
      },
      60_000,
    );
    assert.ok(contested.length >= 3);

    const runs = await scheduled();
    const slots = runs.map((r) => r.slot);
    assert.equal(new Set(slots).size, slots.length, `one run per slot: ${slots.join(", ")}`);
    const claims = await s.storeQuery<{ slot: Date }>("select slot from heal_slots where repo = $1", [SLOT_KEY]);
    const claimed = new Set(claims.map((c) => c.slot.toISOString()));
    assert.ok(
      runs.every((r) => claimed.has(new Date(r.slot).toISOString())),
      "every run is of a claimed slot (a slot whose previous backup is still running is skipped)",
    );

    // Each finished run took a good backup of its own, through the same runbook, recorded and audited.
    for (const run of runs.filter((r) => r.status === "success")) {
      const [backup] = await s.storeQuery<{ status: string; path: string; store: string }>("select status, path, store from backups where run_id = $1", [
        run.id,
      ]);
      assert.equal(backup?.status, "ok", `run ${run.id} recorded a good backup`);
      assert.equal(backup.store, "local");
      assert.ok(backup.path.startsWith(directory));
    }
    const audited = await s.storeQuery("select actor, outcome, detail from audit where action = 'backup' and detail->>'trigger' = 'schedule'");
    assert.ok(audited.length >= 3);
    assert.ok(audited.every((a) => a.actor === "autopilot" && a.outcome === "success"));

    const [pruned] = await s.storeQuery<{ status: string }>("select status from backups where id = $1", [old.id]);
    assert.equal(pruned.status, "pruned");
    assert.equal(existsSync(oldFile), false, "the expired dump is deleted from the store");
  });

  test("/autopilot status names the newest good backup: id, age, store and key, no secrets", async () => {
    // The repository's config names its environments; the release itself is not needed.
    await s.push(shopRepo(["0001_init.sql"]));
    const [{ newest }] = await s.storeQuery<{ newest: Date }>("select max(created_at) as newest from backups where status = 'ok'");
    const id = await s.comment("/autopilot status", { login: "ada" });
    const { reply } = await s.answered(1, id, 30_000);
    const shown =
      /\| \*\*production\*\* \|.*\| `(bk_\w+)` · (\d+) min ago \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\) · local `acme\/shop\/production\/(\S+\.dump)` \|/.exec(reply);
    assert.ok(shown, reply);
    const [backup] = await s.storeQuery<{ status: string; created_at: Date; path: string }>("select status, created_at, path from backups where id = $1", [
      shown[1],
    ]);
    assert.equal(backup.status, "ok");
    assert.ok(backup.created_at >= newest, "the newest good backup when asked, or one taken since");
    assert.ok(Number(shown[2]) <= 1);
    assert.equal(path.basename(backup.path), shown[3]);
    assert.ok(!reply.includes(directory), "the server's backup directory is not shown");
    assert.ok(!reply.includes(TARGET_PASSWORD));
  });
});

describe("the status line of a backup in a remote store", () => {
  test("shows the store and the object key", () => {
    const now = new Date("2026-03-02T05:00:00Z");
    const backup: BackupRecord = {
      id: "bk_20260302020000_abcdef",
      repo: REPO,
      environment: "production",
      runId: 7,
      commitSha: null,
      status: "ok",
      store: "s3",
      path: "backups/acme/shop/production/bk_20260302020000_abcdef-20260302T020000Z.dump.enc",
      encryptionKeyId: "0123456789abcdef",
      sizeBytes: 1024,
      sha256: "f".repeat(64),
      durationMs: 1000,
      error: null,
      createdAt: new Date("2026-03-02T02:00:00Z"),
    };
    const text = renderStatus([{ environment: "production", lastBackup: backup, appliedVersion: "0001", appliedCount: 1 }], [], [], now);
    assert.match(
      text,
      /\| `bk_20260302020000_abcdef` · 3 h ago \(2026-03-02 02:00 UTC\) · s3 `backups\/acme\/shop\/production\/bk_20260302020000_abcdef-20260302T020000Z\.dump\.enc` \|/,
    );
    assert.match(renderStatus([{ environment: "staging", appliedVersion: "none", appliedCount: 0 }], [], [], now), /\| \*\*staging\*\* \|.*\| — \| 0 \|$/m);
  });
});

describe("backups.schedule in the server config", () => {
  const targets = (extra = "") =>
    [
      "targets:",
      "  - { repo: acme/shop, environment: production, database_url_env: A }",
      `  - { repo: acme/shop, environment: staging, database_url_env: B${extra} }`,
      "  - { repo: acme/other, environment: production, database_url_env: C }",
    ].join("\n");

  test("server-wide, overridden per target; each target's schedule is listed", () => {
    const config = parseServerConfig("s.yml", `${targets(', backups: { schedule: "30 3 * * *" }')}\nbackups:\n  schedule: "0 2 * * *"\n`);
    assert.deepEqual(
      scheduledBackups(config, "ACME/Shop").map((b) => `${b.environment} ${b.schedule}`),
      ["production 0 2 * * *", "staging 30 3 * * *"],
    );
    assert.equal(scheduledBackups(config).length, 3);
    const onlyOne = parseServerConfig("s.yml", targets(', backups: { schedule: "0 1 * * *" }'));
    assert.deepEqual(
      scheduledBackups(onlyOne).map((b) => `${b.repo} ${b.environment}`),
      ["acme/shop staging"],
    );
  });

  test("a bad expression is refused with its key", () => {
    assert.throws(() => parseServerConfig("s.yml", 'backups:\n  schedule: "every night"\n'), /s\.yml.*backups\.schedule.*not a valid cron expression/s);
    assert.throws(
      () => parseServerConfig("s.yml", targets(', backups: { schedule: "99 * * * *" }')),
      /targets\.1\.backups\.schedule.*not a valid cron expression|targets\[1\]\.backups\.schedule.*not a valid cron expression/s,
    );
    assert.throws(() => parseServerConfig("s.yml", 'backups:\n  verify_schedule: "every sunday"\n'), /backups\.verify_schedule/);
  });
});

describe("alert rule backup_age_hours", () => {
  const testStore = useTestStore("backup_age");
  const repo = "acme/shop";
  const T0 = new Date("2026-03-02T12:00:00Z");
  const hours = (h: number) => new Date(T0.getTime() + h * 3_600_000);
  const backup = (id: string, environment: string, createdAt: Date, status: "ok" | "failed" = "ok") =>
    insertBackup(testStore.store.pool, {
      id,
      repo,
      environment,
      runId: null,
      commitSha: null,
      status,
      path: status === "ok" ? `/backups/${id}.dump` : null,
      sizeBytes: null,
      sha256: null,
      durationMs: null,
      error: status === "ok" ? null : "pg_dump failed",
      createdAt,
    });

  test("a default warning at 26 h only where backups are scheduled", () => {
    assert.equal(BACKUP_AGE_RULE.threshold, 26);
    assert.equal(BACKUP_AGE_RULE.severity, "warning");
    assert.deepEqual(effectiveRules([], {}), [...DEFAULT_ALERT_RULES]);
    assert.deepEqual(
      effectiveRules([], { backupEnvironments: ["production"] }).map((r) => r.name),
      [...DEFAULT_ALERT_RULES.map((r) => r.name), "backup-age"],
    );
    const stricter = { ...BACKUP_AGE_RULE, threshold: 12 };
    assert.equal(effectiveRules([stricter], { backupEnvironments: ["production"] }).filter((r) => r.name === "backup-age")[0].threshold, 12);
  });

  test("fires when the newest good backup is older, resolves when a fresh one lands", async () => {
    const { pool } = testStore.store;
    const scope = { backupEnvironments: ["production", "staging"] };
    const rules = effectiveRules([], scope);
    await backup("bk_prod_1", "production", hours(-30));
    await backup("bk_prod_2", "production", hours(-27));
    await backup("bk_prod_failed", "production", hours(-3), "failed");
    await backup("bk_staging_1", "staging", hours(-2));
    await backup("bk_preview_1", "preview", hours(-100)); // not scheduled: not measured

    const first = await runAlertCycle(pool, repo, rules, T0, scope);
    const ages = first.values.filter((v) => v.rule.name === "backup-age");
    assert.deepEqual(ages.map((v) => `${v.subject} ${Math.round(v.value!)} ${v.breached}`).sort(), ["production 27 true", "staging 2 false"]);
    assert.deepEqual(
      first.transitions.map((t) => `${t.ruleName}/${t.subject}: ${t.from} → ${t.to} (${t.severity})`),
      ["backup-age/production: inactive → firing (warning)"],
    );
    assert.deepEqual((await runAlertCycle(pool, repo, rules, hours(1), scope)).transitions, [], "still firing, nothing new");

    await backup("bk_prod_3", "production", hours(1.5));
    const fresh = await runAlertCycle(pool, repo, rules, hours(2), scope);
    assert.deepEqual(
      fresh.transitions.map((t) => `${t.ruleName}/${t.subject}: ${t.from} → ${t.to}`),
      ["backup-age/production: firing → resolved"],
    );
    const history = await testStore.store.pool.query("select from_state, to_state, threshold from alert_history where rule = 'backup-age' order by id");
    assert.deepEqual(
      history.rows.map((h) => `${h.from_state}→${h.to_state} ${h.threshold}`),
      ["inactive→firing 26", "firing→resolved 26"],
    );
  });

  test("an environment that never had a good backup is as old as its first attempt; one never tried has no value", async () => {
    const { pool } = testStore.store;
    await backup("bk_new_failed_1", "new", hours(-40), "failed");
    await backup("bk_new_failed_2", "new", hours(-1), "failed");
    const scope = { backupEnvironments: ["new", "untried"] };
    const cycle = await runAlertCycle(pool, "acme/shop", [BACKUP_AGE_RULE], T0, scope);
    assert.deepEqual(cycle.values.map((v) => `${v.subject} ${v.value === null ? "null" : Math.round(v.value)} ${v.breached}`).sort(), [
      "new 40 true",
      "untried null false",
    ]);
  });
});
