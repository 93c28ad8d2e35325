import { test } from "node:test";
import assert from "node:assert/strict";
import { redact, redactDeep, registerEnvironmentSecrets, registerSecret } from "../src/redact.js";

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

test("AUTOPILOT_LLM_KEY is registered as a secret with the other environment secrets", () => {
  const key = "llm-key-7f3a9c2e5b";
  assert.equal(redact(`the endpoint said: invalid key ${key}`), `the endpoint said: invalid key ${key}`, "not shaped like a known credential");
  registerEnvironmentSecrets({ AUTOPILOT_LLM_KEY: key });
  assert.equal(redact(`the endpoint said: invalid key ${key}`), "the endpoint said: invalid key ***");
});
