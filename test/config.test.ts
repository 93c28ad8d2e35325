import { test } from "node:test";
import assert from "node:assert/strict";
import { environmentForBranch, parseRepoConfig } from "../src/config/repo-config.js";
import { parseServerConfig, resolveTarget, UnboundTargetError } from "../src/config/server-config.js";
import { ConfigError } from "../src/config/yaml-errors.js";

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((p) => `${p.line}:${p.key}:${p.message}`);
  }
  assert.fail("expected a ConfigError");
}

test("an empty or missing repo config gives the documented defaults", () => {
  const config = parseRepoConfig(null);
  assert.equal(config.migrations.directory, "migrations");
  assert.equal(config.migrations.on_failure, "restore");
  assert.equal(environmentForBranch(config, "main")?.environment, "production");
  assert.equal(environmentForBranch(config, "master")?.environment, "production");
  assert.equal(environmentForBranch(config, "feature/x"), undefined);
});

test("branch patterns: * stays within a segment, ** crosses them, first match wins", () => {
  const config = parseRepoConfig(
    "environments:\n  - { branch: 'release/*', environment: preprod }\n  - { branch: 'hotfix/**', environment: production }\n  - { branch: 'release/**', environment: never }\n",
  );
  assert.equal(environmentForBranch(config, "release/1.2")?.environment, "preprod");
  assert.equal(environmentForBranch(config, "release/1.2/rc")?.environment, "never");
  assert.equal(environmentForBranch(config, "hotfix/a/b")?.environment, "production");
  assert.equal(environmentForBranch(config, "releaseX"), undefined);
});

test("every problem of a repo config is reported at once with key and line", () => {
  const problems = problemsOf(() =>
    parseRepoConfig("migrations:\n  directory: ../outside\n  lock_timeout: soon\nenvironments:\n  - { branch: main, environment: 'a b' }\nmigratoins: {}\n"),
  );
  assert.equal(problems.length, 4);
  assert.match(problems[0], /^2:migrations\.directory:must be a path inside the repository/);
  assert.match(problems[1], /^3:migrations\.lock_timeout:must be a PostgreSQL duration/);
  assert.match(problems[2], /^5:environments\[0\]\.environment:/);
  assert.match(problems[3], /^6:migratoins:unknown key/);
});

test("YAML syntax errors carry their line", () => {
  const problems = problemsOf(() => parseRepoConfig("environments:\n  - branch: main\n   environment: x\n"));
  assert.match(problems[0], /^3::not valid YAML/);
});

test("the server config binds targets and reads secrets from the environment only", () => {
  const config = parseServerConfig("s.yml", "targets:\n  - { repo: acme/shop, environment: production, database_url_env: SHOP_DB }\n");
  assert.equal(config.backups.retention_days, 30);
  const target = resolveTarget(config, "ACME/shop", "production", { SHOP_DB: "postgres://x@h/db" });
  assert.equal(target?.databaseUrl, "postgres://x@h/db");
  assert.equal(resolveTarget(config, "acme/shop", "staging", {}), undefined);
  assert.throws(() => resolveTarget(config, "acme/shop", "production", {}), UnboundTargetError);
});

test("the server config refuses connection strings in place of variable names, and twin bindings", () => {
  const problems = problemsOf(() =>
    parseServerConfig("s.yml", "targets:\n  - repo: acme/shop\n    environment: production\n    database_url_env: postgres://u:p@h/db\n"),
  );
  assert.match(problems[0], /^4:targets\[0\]\.database_url_env:must be an environment variable name/);
  assert.throws(
    () =>
      parseServerConfig("s.yml", "targets:\n  - { repo: a/b, environment: p, database_url_env: X }\n  - { repo: A/b, environment: p, database_url_env: Y }\n"),
    /bound twice/,
  );
});

test("the server config names the production environments; default: production; a bad name is refused with its line", () => {
  assert.deepEqual(parseServerConfig("s.yml", "targets: []\n").commands.production_environments, ["production"]);
  assert.deepEqual(parseServerConfig("s.yml", "commands:\n  production_environments: [production, live]\n").commands.production_environments, [
    "production",
    "live",
  ]);
  assert.deepEqual(
    problemsOf(() => parseServerConfig("s.yml", "commands:\n  production_environments: [prod uction]\n")),
    ["2:commands.production_environments[0]:must be a plain environment name"],
  );
});
