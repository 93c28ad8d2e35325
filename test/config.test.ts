import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_SERVER_LIMITS, environmentForBranch, loadRepoConfig, sectionWarnings } from "../src/config/repo-config.js";
import { parseServerConfig, resolveTarget, UnboundTargetError } from "../src/config/server-config.js";
import { ConfigError } from "../src/config/yaml-errors.js";
import type { HealthLimits } from "../src/config/health-config.js";
import { shortestCronIntervalSeconds } from "../src/config/cron-interval.js";
import { readEnvironment } from "../src/config/environment.js";

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((p) => `${p.line}:${p.key}:${p.message}`);
  }
  assert.fail("expected a ConfigError");
}

/** The config of a file without errors. */
function parseRepoConfig(text: string | null) {
  const { config, errors } = loadRepoConfig(text);
  assert.deepEqual(errors, []);
  return config;
}

const repoConfigErrors = (text: string) => loadRepoConfig(text).errors.map((p) => `${p.line}:${p.key}:${p.message}`);

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
  const problems = repoConfigErrors(
    "migrations:\n  directory: ../outside\n  lock_timeout: soon\nenvironments:\n  - { branch: main, environment: 'a b' }\nmigratoins: {}\n",
  );
  assert.equal(problems.length, 4);
  assert.match(problems[0], /^2:migrations\.directory:must be a path inside the repository/);
  assert.match(problems[1], /^3:migrations\.lock_timeout:must be a PostgreSQL duration/);
  assert.match(problems[2], /^5:environments\[0\]\.environment:/);
  assert.match(problems[3], /^6:migratoins:unknown key/);
});

test("YAML syntax errors carry their line", () => {
  const problems = repoConfigErrors("environments:\n  - branch: main\n   environment: x\n");
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
    '5:forks.rehearsl:unknown key "rehearsl" — did you mean "rehearse"?',
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

const loadWithHealthLimits = (yaml: string, limits?: HealthLimits) =>
  loadRepoConfig(yaml, { ...DEFAULT_SERVER_LIMITS, health: limits ?? DEFAULT_SERVER_LIMITS.health });
const healthProblems = (yaml: string, limits?: HealthLimits) =>
  sectionWarnings(loadWithHealthLimits(yaml, limits).warnings, "health").map((p) => `${p.line}:${p.key}:${p.message}`);

test("the shortest gap between two firings of a cron expression, not its average rate", () => {
  assert.equal(shortestCronIntervalSeconds("* * * * * *"), 1);
  assert.equal(shortestCronIntervalSeconds("*/5 * * * * *"), 5);
  assert.equal(shortestCronIntervalSeconds("0,5 * * * * *"), 5, "twice a minute, but 5 s apart");
  assert.equal(shortestCronIntervalSeconds("0,59 * * * * *"), 1, ":59 then the next minute's :00");
  assert.equal(shortestCronIntervalSeconds("*/30 * * * * *"), 30);
  assert.equal(shortestCronIntervalSeconds("*/5 * * * *"), 300);
  assert.equal(shortestCronIntervalSeconds("0 0 * * *"), 86_400);
});

test("health schedules firing more often than every 10 s are refused with key and line", () => {
  const yaml = (schedule: string, scan = "0 */6 * * *") => `migrations: {}\nhealth:\n  schedule: "${schedule}"\n  scan_schedule: "${scan}"\n`;
  assert.deepEqual(healthProblems(yaml("* * * * * *")), ['3:health.schedule:"* * * * * *" fires as often as every 1 s; schedules may fire at most every 10 s']);
  assert.match(healthProblems(yaml("0,5 * * * * *"))[0], /^3:health\.schedule:.*every 5 s/);
  assert.match(healthProblems(yaml("*/10 * * * * *", "*/3 * * * * *"))[0], /^4:health\.scan_schedule:.*every 3 s; schedules may fire at most every 10 s/);
  assert.deepEqual(healthProblems(yaml("*/10 * * * * *")), []);
  assert.deepEqual(healthProblems(yaml("*/30 * * * * *")), []);
  assert.match(healthProblems(yaml("every five minutes"))[0], /^3:health\.schedule:is not a valid cron expression/);
  // The operator may lower the floor for every repository (server config health.min_schedule_seconds).
  assert.deepEqual(healthProblems(yaml("*/2 * * * * *"), { minScheduleSeconds: 1 }), []);
});

test("a drift schedule firing more often than the operator's floor is an error with key and line", () => {
  const errors = (schedule: string, limits?: HealthLimits) =>
    loadWithHealthLimits(`drift:\n  schedule: "${schedule}"\n`, limits).errors.map((p) => `${p.line}:${p.key}:${p.message}`);
  assert.deepEqual(errors("*/3 * * * * *"), ['2:drift.schedule:"*/3 * * * * *" fires as often as every 3 s; schedules may fire at most every 10 s']);
  assert.deepEqual(errors("0 6 * * *"), []);
  assert.deepEqual(errors("*/3 * * * * *", { minScheduleSeconds: 1 }), []);
  assert.match(errors("daily")[0], /^2:drift\.schedule:is not a valid cron expression/);
});

test("recovery_wait_seconds over 15 min and retry delays over 5 min are refused with key and line", () => {
  const problems = healthProblems("health:\n  recovery_wait_seconds: 901\n  retry_delays_ms:\n    - 2000\n    - 300001\n");
  assert.deepEqual(problems.sort(), [
    "2:health.recovery_wait_seconds:must be at most 900 s (15 min)",
    "5:health.retry_delays_ms[1]:must be at most 300000 ms (5 min)",
  ]);
  assert.deepEqual(healthProblems("health:\n  recovery_wait_seconds: 900\n  retry_delays_ms: [300000]\n"), []);
});

test("the server config's health.min_schedule_seconds defaults to 10 and must be a whole number of seconds", () => {
  assert.equal(parseServerConfig("s.yml", "targets: []\n").health.min_schedule_seconds, 10);
  const problems = problemsOf(() => parseServerConfig("s.yml", "health:\n  min_schedule_seconds: 0\n"));
  assert.match(problems[0], /^2:health\.min_schedule_seconds:/);
});

test("health.min_schedule_seconds above the default schedule's 5 min is refused: a repository without a schedule would still fire every 5 min", () => {
  assert.deepEqual(loadWithHealthLimits("health:\n  checks: []\n", { minScheduleSeconds: 300 }).config.health?.schedule, "*/5 * * * *");
  assert.equal(parseServerConfig("s.yml", "health:\n  min_schedule_seconds: 300\n").health.min_schedule_seconds, 300);
  const problems = problemsOf(() => parseServerConfig("s.yml", "health:\n  min_schedule_seconds: 600\n"));
  assert.deepEqual(problems, ["2:health.min_schedule_seconds:must be at most 300 (the default schedule fires every 5 min)"]);
});

test("the server config's health.alerts_schedule (alerts-only cycles) defaults to every 5 min; a bad one is refused at its key and line", () => {
  assert.equal(parseServerConfig("s.yml", "targets: []\n").health.alerts_schedule, "*/5 * * * *");
  assert.equal(parseServerConfig("s.yml", 'health:\n  alerts_schedule: "*/2 * * * * *"\n').health.alerts_schedule, "*/2 * * * * *");
  const problems = problemsOf(() => parseServerConfig("s.yml", "health:\n  alerts_schedule: every five minutes\n"));
  assert.deepEqual(problems, ["2:health.alerts_schedule:is not a valid cron expression (node-cron syntax; a seconds field is allowed)"]);
});

test("a job retry backoff longer than 5 min is refused at start-up, naming the variables", () => {
  assert.equal(readEnvironment({}).AUTOPILOT_RETRY_DELAY_SECONDS, 15, "the defaults back off at most 240 s");
  assert.throws(
    () => readEnvironment({ AUTOPILOT_RETRY_DELAY_SECONDS: "60", AUTOPILOT_RETRY_LIMIT: "4" }),
    /AUTOPILOT_RETRY_DELAY_SECONDS: 60 s with AUTOPILOT_RETRY_LIMIT=4 backs off up to 960 s before the last retry; retry delays may be at most 300 s/,
  );
  assert.equal(readEnvironment({ AUTOPILOT_RETRY_DELAY_SECONDS: "600", AUTOPILOT_RETRY_LIMIT: "0" }).AUTOPILOT_RETRY_LIMIT, 0, "no retries, no delay");
});

const lined = (problems: Array<{ line?: number; key: string; message: string }>) => problems.map((p) => `${p.line}:${p.key}:${p.message}`);

test("a misspelt command under commands.permissions is an error of the file, at its line, with the command it meant", () => {
  const { errors, config } = loadRepoConfig("commands:\n  permissions:\n    rolback: admin\n    migrate: admin\n");
  assert.deepEqual(lined(errors), ['3:commands.permissions.rolback:unknown key "rolback" — did you mean "rollback"? ("rolback" is not a command)']);
  assert.equal(config.commands.repo?.rollback, undefined, "the stricter rule it meant does not hold");
  assert.deepEqual(lined(loadRepoConfig("commands:\n  permissions: { migrate: ownr }\n").errors), [
    "2:commands.permissions.migrate:must be one of none, read, triage, write, maintain, admin",
  ]);
});

test("an unknown key is reported at the line of the key, with the closest known key or the known keys", () => {
  const errors = repoConfigErrors("migrations:\n  directroy: db\n\nhelth:\n  checks: []\nnotify: { hourly: true }\n");
  assert.deepEqual(errors, [
    '2:migrations.directroy:unknown key "directroy" — did you mean "directory"?',
    '4:helth:unknown key "helth" — did you mean "health"?',
    '6:notify.hourly:unknown key "hourly" (known keys: hourly_summary)',
  ]);
  assert.deepEqual(lined(loadRepoConfig("lint:\n  rulse: {}\n").warnings), ['2:lint.rulse:unknown key "rulse" — did you mean "rules"?']);
});

test("every problem of every section at once: errors stop the file, warnings stay in their section", () => {
  const yaml = [
    "migrations:",
    "  on_failure: rollback",
    "health:",
    "  schedule: every minute",
    "lint:",
    "  rules:",
    "    ban-drop-colum: warning",
    "commands:",
    "  permissions:",
    "    rolback: admin",
    "    plan: none",
    "  productoin: [live]",
  ].join("\n");
  const { errors, warnings } = loadRepoConfig(`${yaml}\n`);
  assert.deepEqual(lined(errors), [
    `2:migrations.on_failure:${loadRepoConfig("migrations: { on_failure: rollback }").errors[0].message}`,
    '10:commands.permissions.rolback:unknown key "rolback" — did you mean "rollback"? ("rolback" is not a command)',
    '12:commands.productoin:unknown key "productoin" — did you mean "production"?',
  ]);
  assert.deepEqual(
    warnings.map((w) => `${w.line}:${w.key}`),
    ["4:health.schedule", "7:lint.rules.ban-drop-colum", "11:commands.permissions.plan"],
  );
  assert.deepEqual(lined(sectionWarnings(warnings, "lint")), [
    '7:lint.rules.ban-drop-colum:unknown lint rule "ban-drop-colum" (did you mean ban-drop-column?)',
  ]);
});

test("the server's command permission floor is validated with the server config: every problem at its line", () => {
  const floor = parseServerConfig("s.yml", "commands:\n  permissions: { migrate: admin, Rollback: Maintain }\n").commands.permissions;
  assert.deepEqual(floor, { migrate: "admin", rollback: "maintain" });
  const problems = problemsOf(() =>
    parseServerConfig("s.yml", "commands:\n  permissions:\n    rolback: admin\n    plan: none\n    migrate: owner\n  production_enviroments: [live]\n"),
  );
  assert.deepEqual(problems, [
    '3:commands.permissions.rolback:unknown key "rolback" — did you mean "rollback"? ("rolback" is not a command)',
    "4:commands.permissions.plan:none is below the built-in minimum (read): the server floor may only raise the requirement",
    "5:commands.permissions.migrate:must be one of none, read, triage, write, maintain, admin",
    '6:commands.production_enviroments:unknown key "production_enviroments" — did you mean "production_environments"?',
  ]);
});

test("the app does not start on a server config with a bad command floor, and lists every problem", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-config-"));
  const file = path.join(dir, "autopilot.server.yml");
  writeFileSync(file, "commands:\n  permissions:\n    rolback: admin\nforks:\n  rehearsl: true\n");
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/main.ts"],
      { cwd: path.resolve(import.meta.dirname, ".."), env: { PATH: process.env.PATH, HOME: process.env.HOME, AUTOPILOT_SERVER_CONFIG: file } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr }),
    );
  });
  assert.equal(code, 1, output);
  assert.match(output, /Autopilot could not start/);
  assert.match(output, /autopilot\.server\.yml:3: commands\.permissions\.rolback: unknown key \\"rolback\\" — did you mean \\"rollback\\"\?/);
  assert.match(output, /autopilot\.server\.yml:5: forks\.rehearsl: unknown key \\"rehearsl\\" — did you mean \\"rehearse\\"\?/);
});

test("APP_ID is read with the environment: a number, or unset or empty while Probot's setup wizard runs", () => {
  assert.equal(readEnvironment({ APP_ID: "42" }).APP_ID, 42);
  assert.equal(readEnvironment({}).APP_ID, undefined);
  assert.equal(readEnvironment({ APP_ID: "" }).APP_ID, undefined);
  assert.throws(() => readEnvironment({ APP_ID: "my-app" }), /APP_ID:/);
});
