import { test } from "node:test";
import assert from "node:assert/strict";
import { hideRowValues } from "../src/database/errors.js";

test("row values PostgreSQL quotes in error details are replaced, keeping the message's shape", () => {
  const cases: Array<[string, string]> = [
    ["DETAIL: Key (email)=(ada@example.org) already exists.", "DETAIL: Key (email)=(…) already exists."],
    ["Key (lower(email::text))=(ada@example.org) is duplicated.", "Key (lower(email::text))=(…) is duplicated."],
    ['Key (user_id)=(42) is not present in table "users".', 'Key (user_id)=(…) is not present in table "users".'],
    ['Key (id)=(1) is still referenced from table "orders".', 'Key (id)=(…) is still referenced from table "orders".'],
    [
      "Key (room, during)=(1, [2,3)) conflicts with existing key (room, during)=(1, [1,4)).",
      "Key (room, during)=(…) conflicts with existing key (room, during)=(…).",
    ],
    ["DETAIL: Failing row contains (1, ada@example.org, null).\nHINT: check it", "DETAIL: Failing row contains (…).\nHINT: check it"],
    ["Partition key of the failing row contains (region) = (eu-west).", "Partition key of the failing row contains (region) = (…)."],
    ['invalid input syntax for type integer: "ada@example.org"', 'invalid input syntax for type integer: "…"'],
  ];
  for (const [raw, shown] of cases) assert.equal(hideRowValues(raw), shown);
});

test("messages without row values are unchanged", () => {
  const text = 'ERROR: duplicate key value violates unique constraint "users_email_key"\nSQLSTATE: 23505';
  assert.equal(hideRowValues(text), text);
});

test("a value spanning lines is hidden whole, up to the end of its field; what follows the field stays", () => {
  const cases: Array<[string, string]> = [
    [
      "ERROR: duplicate key value\nDETAIL: Key (note)=(line one\nline two) already exists.\nHINT: dedupe first",
      "ERROR: duplicate key value\nDETAIL: Key (note)=(…) already exists.\nHINT: dedupe first",
    ],
    [
      "DETAIL: Failing row contains (1, 12 Main St\nSpringfield, null).\n\nStatement:\ninsert into t values (1)",
      "DETAIL: Failing row contains (…).\n\nStatement:\ninsert into t values (1)",
    ],
    ['ERROR: invalid input syntax for type integer: "two\nlines"\nSQLSTATE: 22P02', 'ERROR: invalid input syntax for type integer: "…"\nSQLSTATE: 22P02'],
  ];
  for (const [raw, shown] of cases) assert.equal(hideRowValues(raw), shown);
});

test("a title cut to its length limit before the value's closing quote still hides the value", () => {
  const title = `0003_retype failed: invalid input syntax for type integer: "${"ada@example.org ".repeat(20)}`.slice(0, 200);
  assert.equal(hideRowValues(title), '0003_retype failed: invalid input syntax for type integer: "…"');
});
