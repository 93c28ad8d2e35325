// Retention by tiers (server config `backups.keep`) over a simulated year of nightly backups, pruned
// after each one as the backup service does; and the config keys' validation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { selectExpired, type BackupEntry } from "../src/backups/retention.js";
import { parseServerConfig } from "../src/config/server-config.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const day = (iso: string) => new Date(`${iso}T02:00:00Z`);

test("a year of nightly backups keeps the last 7 days, the newest of the last 4 weeks and of the last 12 months", () => {
  let kept: BackupEntry[] = [];
  const start = day("2026-01-01").getTime();
  for (let n = 0; n < 365; n++) {
    const createdAt = new Date(start + n * DAY_MS);
    const id = createdAt.toISOString().slice(0, 10);
    // The 15th of each month and 2026-12-30 fail; a failed backup is never kept by a tier, nor counted in one.
    kept.push({ id, createdAt, ok: !id.endsWith("-15") && id !== "2026-12-30", path: `/b/${n}.dump` });
    const expired = new Set(selectExpired(kept, { retentionDays: 1, keep: { daily: 7, weekly: 4, monthly: 12 }, now: new Date(createdAt.getTime() + 60_000) }));
    kept = kept.filter((e) => !expired.has(e));
  }
  // 2026-12-31 is a Thursday; 12-30 failed, so the 7 days that have a good backup reach back to 12-24.
  const daily = ["2026-12-31", "2026-12-29", "2026-12-28", "2026-12-27", "2026-12-26", "2026-12-25", "2026-12-24"];
  const weekly = ["2026-12-20", "2026-12-13"]; // with 12-31 and 12-27 (a Sunday ends an ISO week)
  const monthly = [
    "2026-11-30",
    "2026-10-31",
    "2026-09-30",
    "2026-08-31",
    "2026-07-31",
    "2026-06-30",
    "2026-05-31",
    "2026-04-30",
    "2026-03-31",
    "2026-02-28",
    "2026-01-31",
  ];
  const expected = [...daily, ...weekly, ...monthly].sort();
  assert.deepEqual(kept.map((e) => e.id).sort(), expected);
});

test("tiers without a retention window still keep the newest good backup, and no failed one", () => {
  const now = new Date("2026-06-15T12:00:00Z");
  const entries: BackupEntry[] = [
    { id: "failed-new", createdAt: new Date(now.getTime() - DAY_MS), ok: false, path: "/b/f" },
    { id: "good-old", createdAt: new Date(now.getTime() - 90 * DAY_MS), ok: true, path: "/b/g" },
  ];
  assert.deepEqual(
    selectExpired(entries, { retentionDays: 0, keep: { daily: 3 }, now }).map((e) => e.id),
    ["failed-new"],
  );
});

test("the server config accepts keep, names the key of a bad one, and accepts the backup and drill schedules it runs", () => {
  const config = parseServerConfig("s.yml", "backups:\n  keep: { daily: 7, weekly: 4, monthly: 12 }\n");
  assert.deepEqual(config.backups.keep, { daily: 7, weekly: 4, monthly: 12 });
  assert.throws(() => parseServerConfig("s.yml", "backups:\n  keep: { daily: -1 }\n"), /s\.yml.*backups\.keep\.daily/s);
  assert.throws(() => parseServerConfig("s.yml", "backups:\n  keep: { hourly: 2 }\n"), /backups\.keep.*hourly/s);
  // Scheduled backups (test/backup-schedule.test.ts) and restore drills (test/restore-drill.test.ts) both run.
  assert.equal(parseServerConfig("s.yml", 'backups:\n  schedule: "0 2 * * *"\n').backups.schedule, "0 2 * * *");
  assert.equal(parseServerConfig("s.yml", 'backups:\n  verify_schedule: "0 4 * * 0"\n').backups.verify_schedule, "0 4 * * 0");
});
