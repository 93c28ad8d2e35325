import { test } from "node:test";
import assert from "node:assert/strict";
import { selectExpired, type BackupEntry } from "../src/backups/retention.js";

const now = new Date("2025-03-01T00:00:00Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * 24 * 60 * 60 * 1000);
const entry = (id: string, age: number, ok = true): BackupEntry => ({ id, createdAt: daysAgo(age), ok, path: `/b/${id}.dump` });
const ids = (entries: BackupEntry[]) => entries.map((e) => e.id);

test("backups older than the retention window expire, oldest first; recent ones stay", () => {
  const entries = [entry("recent", 1), entry("old", 40), entry("older", 90), entry("edge", 29.9)];
  assert.deepEqual(ids(selectExpired(entries, { retentionDays: 30, now })), ["older", "old"]);
});

test("the newest good backup is never removed, even when it is older than the window", () => {
  const entries = [entry("good-old", 60), entry("good-older", 90), entry("failed-recent", 1, false)];
  assert.deepEqual(ids(selectExpired(entries, { retentionDays: 30, now })), ["good-older"]);
});

test("old failed backups expire too, and a newer failed one does not protect them", () => {
  const entries = [entry("good", 5), entry("failed-old", 45, false), entry("failed-new", 2, false)];
  assert.deepEqual(ids(selectExpired(entries, { retentionDays: 30, now })), ["failed-old"]);
});

test("with only failed backups, every old one goes", () => {
  const entries = [entry("f1", 40, false), entry("f2", 50, false)];
  assert.deepEqual(ids(selectExpired(entries, { retentionDays: 30, now })), ["f2", "f1"]);
});

test("a single old good backup is kept", () => {
  assert.deepEqual(selectExpired([entry("only", 400)], { retentionDays: 30, now }), []);
});

test("retention 0 keeps only the newest good backup", () => {
  const entries = [entry("a", 0.5), entry("b", 0.1), entry("c", 0.2, false)];
  assert.deepEqual(ids(selectExpired(entries, { retentionDays: 0, now })), ["a", "c"]);
});

test("no entries, nothing to do; input is not mutated", () => {
  assert.deepEqual(selectExpired([], { retentionDays: 30, now }), []);
  const entries = [entry("x", 10), entry("y", 50), entry("z", 40)];
  const copy = [...entries];
  selectExpired(entries, { retentionDays: 1, now });
  assert.deepEqual(entries, copy);
});

test("an invalid retention is refused rather than deleting everything", () => {
  assert.throws(() => selectExpired([entry("x", 10)], { retentionDays: -1, now }), /retentionDays/);
  assert.throws(() => selectExpired([entry("x", 10)], { retentionDays: Number.NaN, now }), /retentionDays/);
});
