import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommands } from "../src/commands/parse.js";
import { authorize, commandPolicyFor } from "../src/commands/authorize.js";
import { helpText } from "../src/commands/help.js";
import { loadRepoConfig } from "../src/config/repo-config.js";

const environments = ["production", "staging"];
const parsed = (body: string) => parseCommands(body, { environments });
const { policy } = commandPolicyFor({ production_environments: ["production"] }, undefined);

test("`migrate --accept-drift` parses with or without an environment, the flag in any place", () => {
  assert.deepEqual(
    parsed("/autopilot migrate --accept-drift\n/autopilot migrate staging --accept-drift\n/autopilot migrate --ACCEPT-DRIFT production").commands.map((c) => [
      c.environment,
      c.acceptDrift,
    ]),
    [
      [undefined, true],
      ["staging", true],
      ["production", true],
    ],
  );
  assert.equal(parsed("/autopilot migrate staging").commands[0].acceptDrift, undefined);
  assert.match(parsed("/autopilot migrate --accept-drif").errors[0].message, /accept-drif/);
});

test("accepting drift is an admin's call on every environment; a plain migrate stays write", () => {
  const [accept] = parsed("/autopilot migrate staging --accept-drift").commands;
  const [plain] = parsed("/autopilot migrate staging").commands;
  assert.deepEqual(authorize(accept, "write", policy, "production", "ada"), {
    allowed: false,
    needed: "admin",
    reason: "migrate --accept-drift on staging needs admin permission; @ada has write",
  });
  assert.deepEqual(authorize(accept, "admin", policy, "production"), { allowed: true });
  assert.deepEqual(authorize(plain, "write", policy, "production"), { allowed: true });
  assert.match(helpText({ environments, defaultEnvironment: "production" }), /`--accept-drift` \(admin\) applies despite `drift\.on_push: block`/);
});

test("repo config: drift defaults to a daily check and warn; bad values name their key and line", () => {
  assert.deepEqual(loadRepoConfig(null).config.drift, { schedule: "0 6 * * *", on_push: "warn" });
  const good = loadRepoConfig("drift:\n  schedule: '0 */12 * * *'\n  on_push: block\n");
  assert.deepEqual(good.config.drift, { schedule: "0 */12 * * *", on_push: "block" });
  const bad = loadRepoConfig("drift:\n  schedule: every day\n  on_push: stop\n");
  const problems = bad.errors.map((e) => `${e.key}@${e.line}: ${e.message}`);
  assert.ok(
    problems.some((p) => /^drift\.schedule@2: is not a valid cron expression/.test(p)),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /^drift\.on_push@3: /.test(p)),
    problems.join("\n"),
  );
});
