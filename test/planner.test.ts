import { test } from "node:test";
import assert from "node:assert/strict";
import type { MigrationRef } from "../src/database/migration-files.js";
import { plan, type AppliedMigration } from "../src/database/planner.js";

const ref = (version: string, name: string, checksum = `sum-${name}`): MigrationRef => ({
  version,
  name,
  filename: `${version}_${name}.sql`,
  path: `migrations/${version}_${name}.sql`,
  checksum,
});
const applied = (version: string, name: string, checksum = `sum-${name}`, revertedAt: Date | null = null): AppliedMigration => ({
  version,
  name,
  checksum,
  appliedAt: new Date("2025-01-01T00:00:00Z"),
  durationMs: 5,
  appliedBy: "test",
  commitSha: null,
  revertedAt,
});

test("everything pending on an empty history, in numeric order", () => {
  const result = plan([ref("10", "ten"), ref("9", "nine"), ref("0011", "eleven")], [], { outOfOrder: false });
  assert.deepEqual(
    result.pending.map((r) => r.version),
    ["9", "10", "0011"],
  );
  assert.deepEqual(result.problems, []);
});

test("only new files are pending; nothing when up to date", () => {
  const refs = [ref("1", "a"), ref("2", "b"), ref("3", "c")];
  assert.deepEqual(
    plan(refs, [applied("1", "a"), applied("2", "b")], { outOfOrder: false }).pending.map((r) => r.version),
    ["3"],
  );
  const upToDate = plan(
    refs,
    refs.map((r) => applied(r.version, r.name)),
    { outOfOrder: false },
  );
  assert.deepEqual(upToDate.pending, []);
  assert.deepEqual(upToDate.problems, []);
  assert.equal(upToDate.applied.length, 3);
});

test("an applied file whose content changed is refused", () => {
  const result = plan([ref("0002", "orders", "def4567890abcdef")], [applied("0002", "orders", "abc1234567890abc")], { outOfOrder: false });
  assert.equal(result.problems.length, 1);
  assert.equal(result.problems[0].code, "checksum-mismatch");
  assert.equal(result.problems[0].severity, "error");
  assert.match(result.problems[0].message, /^0002_orders\.sql was applied with checksum abc123456789…, now def4567890ab…/);
});

test("a new file sorting before the latest applied one is refused unless out-of-order is allowed", () => {
  const refs = [ref("1", "a"), ref("2", "late"), ref("3", "c")];
  const history = [applied("1", "a"), applied("3", "c")];
  const strict = plan(refs, history, { outOfOrder: false });
  assert.deepEqual(
    strict.problems.map((p) => [p.code, p.path]),
    [["out-of-order", "migrations/2_late.sql"]],
  );
  const lenient = plan(refs, history, { outOfOrder: true });
  assert.deepEqual(lenient.problems, []);
  assert.deepEqual(
    lenient.pending.map((r) => r.version),
    ["2"],
  );
});

test("duplicate versions (0001 and 1 are the same) are refused and neither is pending", () => {
  const result = plan([ref("0001", "a"), ref("1", "b"), ref("2", "c")], [], { outOfOrder: false });
  assert.deepEqual(
    result.problems.map((p) => p.code),
    ["duplicate-version", "duplicate-version"],
  );
  assert.match(result.problems[0].message, /0001_a\.sql has the same version as 1_b\.sql/);
  assert.deepEqual(
    result.pending.map((r) => r.version),
    ["2"],
  );
});

test("an applied file that is gone is a warning; reverted rows count as not applied", () => {
  const result = plan([ref("2", "b")], [applied("1", "gone"), applied("2", "b", "sum-b", new Date())], { outOfOrder: false });
  assert.deepEqual(
    result.problems.map((p) => [p.code, p.severity]),
    [["missing-file", "warning"]],
  );
  assert.deepEqual(
    result.pending.map((r) => r.version),
    ["2"],
  );
  assert.deepEqual(
    result.applied.map((r) => r.version),
    ["1"],
  );
});

test("history version text matches the file numerically", () => {
  assert.deepEqual(plan([ref("1", "a")], [applied("0001", "a")], { outOfOrder: false }).pending, []);
});
