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

test("a target may name its repository id and allow row values; a bad repo_id is refused at its key", () => {
  const config = parseServerConfig(
    "s.yml",
    "targets:\n  - { repo: acme/shop, environment: production, database_url_env: SHOP_DB, repo_id: 42, show_row_values: true }\n",
  );
  const target = resolveTarget(config, "acme/shop", "production", { SHOP_DB: "postgres://x@h/db" });
  assert.equal(target?.repoId, 42);
  assert.equal(target?.showRowValues, true);
  const defaults = resolveTarget(parseServerConfig("s.yml", "targets:\n  - { repo: a/b, environment: p, database_url_env: X }\n"), "a/b", "p", { X: "y" });
  assert.equal(defaults?.showRowValues, false, "row values are hidden by default");
  const problems = problemsOf(() =>
    parseServerConfig("s.yml", "targets:\n  - repo: acme/shop\n    environment: production\n    database_url_env: SHOP_DB\n    repo_id: shop\n"),
  );
  assert.match(problems[0], /^5:targets\[0\]\.repo_id:/);
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

test("forks: nothing of a fork's runs by default; each forks key refuses a bad value at its line", () => {
  assert.deepEqual(parseServerConfig("s.yml", "targets: []\n").forks, {
    read_targets: false,
    rehearse: false,
    statement_timeout: "30s",
    rehearsal_timeout_seconds: 300,
  });
  const chosen = parseServerConfig("s.yml", "forks:\n  rehearse: true\n  statement_timeout: 2min\n  rehearsal_timeout_seconds: 60\n").forks;
  assert.deepEqual(chosen, { read_targets: false, rehearse: true, statement_timeout: "2min", rehearsal_timeout_seconds: 60 });

  const problems = problemsOf(() =>
    parseServerConfig("s.yml", 'forks:\n  rehearse: "yes please"\n  statement_timeout: "0"\n  rehearsal_timeout_seconds: 1.5\n  rehearsl: true\n'),
  );
  assert.deepEqual(problems.sort(), [
    "2:forks.rehearse:must be true or false",
    '3:forks.statement_timeout:must be a duration like "30s" or "2min", and not 0',
    "4:forks.rehearsal_timeout_seconds:must be a whole number of seconds",
    "5:forks.rehearsl:unknown key (check the spelling)",
  ]);
  assert.match(problemsOf(() => parseServerConfig("s.yml", "forks:\n  statement_timeout: soon\n"))[0], /^2:forks\.statement_timeout:must be a duration/);
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
