import { test } from "node:test";
import assert from "node:assert/strict";
import { authorize, commandPolicyFor, requiredPermission, validateCommandPolicy, type CommandPolicy, type Permission } from "../src/commands/authorize.js";
import { VERBS, type Command, type Verb } from "../src/commands/parse.js";

const defaults: CommandPolicy = { productionEnvironments: ["production"] };

function command(verb: Verb, environment?: string): Command {
  return { verb, environment, line: 1, text: `/autopilot ${verb}` };
}

// The table: read → help, status, plan; write → migrate, backup, approve, heal, and
// lock/unlock/rollback outside production; admin → everything.
const EXPECTED: Record<Verb, { staging: Permission; production: Permission }> = {
  help: { staging: "read", production: "read" },
  status: { staging: "read", production: "read" },
  plan: { staging: "read", production: "read" },
  migrate: { staging: "write", production: "write" },
  backup: { staging: "write", production: "write" },
  approve: { staging: "write", production: "write" },
  heal: { staging: "write", production: "write" },
  lock: { staging: "write", production: "admin" },
  unlock: { staging: "write", production: "admin" },
  rollback: { staging: "write", production: "admin" },
  adopt: { staging: "admin", production: "admin" },
  baseline: { staging: "admin", production: "admin" },
  retry: { staging: "write", production: "write" },
  cancel: { staging: "write", production: "admin" },
};

const RANK: Permission[] = ["none", "read", "triage", "write", "maintain", "admin"];

test("authorization matrix: read, write, admin × every verb × production and staging", () => {
  for (const verb of VERBS) {
    for (const environment of ["production", "staging"] as const) {
      const needed = EXPECTED[verb][environment];
      assert.equal(requiredPermission(command(verb, environment), defaults, "production"), needed, `${verb} on ${environment}`);
      for (const user of ["read", "write", "admin"] as const) {
        const allowed = RANK.indexOf(user) >= RANK.indexOf(needed);
        const result = authorize(command(verb, environment), user, defaults, "production");
        assert.equal(result.allowed, allowed, `${user} ${verb} on ${environment}`);
      }
    }
  }
});

test("all six GitHub roles rank in order: triage is read-plus, maintain is write-plus", () => {
  assert.equal(authorize(command("plan"), "triage", defaults, "production").allowed, true);
  assert.equal(authorize(command("migrate"), "triage", defaults, "production").allowed, false);
  assert.equal(authorize(command("migrate"), "maintain", defaults, "production").allowed, true);
  assert.equal(authorize(command("rollback"), "maintain", defaults, "production").allowed, false);
  assert.equal(authorize(command("help"), "none", defaults, "production").allowed, false);
});

test("a command without an environment acts on the default environment", () => {
  assert.equal(requiredPermission(command("rollback"), defaults, "production"), "admin");
  assert.equal(requiredPermission(command("rollback"), defaults, "staging"), "write");
  assert.equal(requiredPermission(command("rollback", "staging"), defaults, "production"), "write");
});

test("productionEnvironments decides which environments need admin, case-insensitively", () => {
  const policy: CommandPolicy = { productionEnvironments: ["production", "Preprod"] };
  assert.equal(requiredPermission(command("lock", "Preprod"), policy, "staging"), "admin");
  assert.equal(requiredPermission(command("lock", "PRODUCTION"), policy, "staging"), "admin");
  assert.equal(requiredPermission(command("lock", "live"), { productionEnvironments: ["live"] }, "staging"), "admin");
  assert.equal(requiredPermission(command("lock", "production"), { productionEnvironments: ["live"] }, "staging"), "write");
});

test("a refusal names the permission needed and what the user has", () => {
  assert.deepEqual(authorize(command("rollback", "production"), "write", defaults, "production", "alice"), {
    allowed: false,
    needed: "admin",
    reason: "rollback on production needs admin permission; @alice has write",
  });
  const anonymous = authorize(command("migrate"), "read", defaults, "staging");
  assert.deepEqual(anonymous, { allowed: false, needed: "write", reason: "migrate on staging needs write permission; you have read" });
  const approve = authorize(command("approve"), "triage", defaults, "production", "bob");
  assert.equal(approve.allowed === false && approve.reason, "approve needs write permission; @bob has triage");
  const outsider = authorize(command("status"), "none", defaults, "production", "eve");
  assert.equal(outsider.allowed === false && outsider.reason, "status on production needs read permission; @eve has no access to this repository");
});

test("the repo config may make a command stricter", () => {
  const policy: CommandPolicy = { ...defaults, repo: { migrate: "admin", plan: "write", rollback: "maintain" } };
  assert.equal(requiredPermission(command("migrate", "staging"), policy, "production"), "admin");
  assert.equal(requiredPermission(command("plan"), policy, "production"), "write");
  assert.equal(requiredPermission(command("rollback", "staging"), policy, "production"), "maintain");
  // A raise below the production default leaves production at admin.
  assert.equal(requiredPermission(command("rollback", "production"), policy, "production"), "admin");
  const refused = authorize(command("migrate", "staging"), "write", policy, "production", "carol");
  assert.equal(refused.allowed === false && refused.reason, "migrate on staging needs admin permission; @carol has write");
});

test("a looser repo value is ignored by authorization and reported by validation", () => {
  // Even if a caller passes the raw repo values through, they cannot lower the requirement.
  const loose: CommandPolicy = { ...defaults, repo: { rollback: "read", migrate: "none", status: "none" } };
  assert.equal(requiredPermission(command("rollback", "production"), loose, "production"), "admin");
  assert.equal(requiredPermission(command("rollback", "staging"), loose, "production"), "write");
  assert.equal(requiredPermission(command("migrate"), loose, "production"), "write");
  assert.equal(authorize(command("status"), "none", loose, "production").allowed, false);

  const { policy, problems } = validateCommandPolicy({ rollback: "read", migrate: "admin", status: "none" }, "repo");
  assert.deepEqual(policy, { migrate: "admin" });
  assert.deepEqual(
    problems.map((p) => p.key),
    ["rollback", "status"],
  );
  assert.match(problems[0].message, /read is below the current minimum \(write\) and is ignored: the repository config may only raise the requirement/);
});

test("the server floor raises the minimum for all repositories", () => {
  const policy: CommandPolicy = { ...defaults, floor: { plan: "write", rollback: "admin", help: "triage" } };
  assert.equal(requiredPermission(command("plan"), policy, "production"), "write");
  assert.equal(requiredPermission(command("rollback", "staging"), policy, "production"), "admin");
  assert.equal(requiredPermission(command("help"), policy, "production"), "triage");
  assert.equal(authorize(command("rollback", "staging"), "write", policy, "production").allowed, false);
  // The repo can still raise above the floor, and cannot go below it.
  const both: CommandPolicy = { ...policy, repo: { plan: "maintain", help: "read" } };
  assert.equal(requiredPermission(command("plan"), both, "production"), "maintain");
  assert.equal(requiredPermission(command("help"), both, "production"), "triage");
});

test("validation reports repo values below the server floor when the floor is given", () => {
  const { policy, problems } = validateCommandPolicy({ plan: "write", migrate: "write" }, "repo", { migrate: "maintain" });
  assert.deepEqual(policy, { plan: "write" });
  assert.deepEqual(problems, [
    { key: "migrate", message: "write is below the current minimum (maintain) and is ignored: the repository config may only raise the requirement" },
  ]);
});

test("validation of a server floor: a floor below the default has no effect and says so", () => {
  const { policy, problems } = validateCommandPolicy({ rollback: "admin", plan: "none" }, "server");
  assert.deepEqual(policy, { rollback: "admin" });
  assert.match(problems[0].message, /the server floor may only raise the requirement/);
});

test("validation: unknown commands, unknown permissions, wrong shapes; case of values is forgiven", () => {
  const { policy, problems } = validateCommandPolicy({ deploy: "admin", migrate: "owner", heal: 3, Backup: "Admin" }, "repo");
  assert.deepEqual(policy, { backup: "admin" });
  assert.deepEqual(
    problems.map((p) => p.key),
    ["deploy", "migrate", "heal"],
  );
  assert.match(problems[0].message, /is not a command/);
  assert.match(problems[1].message, /must be one of none, read, triage, write, maintain, admin/);
  assert.deepEqual(validateCommandPolicy(undefined, "repo"), { policy: {}, problems: [] });
  assert.deepEqual(validateCommandPolicy(null, "server"), { policy: {}, problems: [] });
  assert.equal(validateCommandPolicy(["rollback"], "repo").problems.length, 1);
  assert.equal(validateCommandPolicy("admin", "repo").problems.length, 1);
});

test("validation ignores prototype tricks", () => {
  const raw = JSON.parse('{"__proto__": {"admin": true}, "constructor": "read", "plan": "write"}');
  const { policy, problems } = validateCommandPolicy(raw, "repo");
  assert.deepEqual(policy, { plan: "write" });
  assert.deepEqual(
    problems.map((p) => p.key),
    ["__proto__", "constructor"],
  );
  assert.equal(Object.getPrototypeOf(policy), Object.prototype);
});

test("a repository may add production environments, never remove the server's; the removal is reported", () => {
  const { policy, problems } = commandPolicyFor({ production_environments: ["production", "live"] }, { production: ["staging", "LIVE"] });
  assert.deepEqual(policy.productionEnvironments, ["production", "live", "staging"]);
  assert.equal(requiredPermission(command("rollback", "production"), policy, "production"), "admin");
  assert.equal(requiredPermission(command("unlock", "staging"), policy, "production"), "admin");
  assert.deepEqual(problems, [
    {
      key: "commands.production",
      message:
        "leaves out production, which the server config names a production environment: it stays production (a repository config may only add environments)",
    },
  ]);
  assert.deepEqual(commandPolicyFor({ production_environments: ["production"] }, undefined).problems, []);
});

test("a repo value that would lower rollback/lock on production is kept outside production only, and reported", () => {
  const { policy, problems } = commandPolicyFor(
    { production_environments: ["production"] },
    { permissions: { rollback: "write", lock: "admin", plan: "none" } },
  );
  assert.equal(authorize(command("rollback", "production"), "write", policy, "production").allowed, false);
  assert.equal(authorize(command("rollback", "staging"), "write", policy, "production").allowed, true);
  assert.deepEqual(
    problems.map((p) => `${p.key}: ${p.message}`),
    [
      "commands.permissions.plan: none is below the current minimum (read) and is ignored: the repository config may only raise the requirement",
      "commands.permissions.rollback: write holds outside production only: rollback on production needs admin, which a repository config cannot lower",
    ],
  );
});
