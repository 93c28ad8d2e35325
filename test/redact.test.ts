import { test } from "node:test";
import assert from "node:assert/strict";
import { redact, redactDeep, registerSecret } from "../src/redact.js";

test("passwords in connection strings are masked", () => {
  assert.equal(redact("could not reach postgres://shop:s3cr%23t@db.internal:5432/shop"), "could not reach postgres://shop:***@db.internal:5432/shop");
  assert.equal(redact("host=db password='x y' user=a"), "host=db password=*** user=a");
});

test("registered secrets are masked wherever they appear, even decoded", () => {
  registerSecret("postgres://u:pa%40ss-word@h/db");
  assert.equal(redact("auth failed for pa@ss-word"), "auth failed for ***");
  assert.equal(redact("url postgres://u:pa%40ss-word@h/db"), "url ***");
});

test("tokens and slack hooks are masked inside nested values", () => {
  const out = redactDeep({ a: ["ghs_abcdefghijklmnopqrstuv", { b: "https://hooks.slack.com/services/T0/B0/XYZ" }] });
  assert.deepEqual(out, { a: ["***", { b: "https://hooks.slack.com/services/***" }] });
});
