// Who may run which command, from the commenter's permission on the repository.
// Modelled on Atlantis's split: the server config decides what a repository may change, and a
// repository may only make its own rules stricter, never looser, so a pull request that edits
// `.github/autopilot.yml` cannot grant itself the right to roll back production.
import { z } from "zod";
import { closest } from "../did-you-mean.js";
import { VERBS, type Command, type Verb } from "./parse.js";

export type Permission = "none" | "read" | "triage" | "write" | "maintain" | "admin";

/** Weakest first. GitHub folds maintain into write and triage into read in `permission`; `role_name` keeps them. */
export const PERMISSIONS: readonly Permission[] = ["none", "read", "triage", "write", "maintain", "admin"];

export const DEFAULT_PRODUCTION_ENVIRONMENTS = ["production"];

export interface CommandPolicy {
  /** The repository config's requirements per verb, each at least the non-production default and the floor. */
  repo?: Partial<Record<Verb, Permission>>;
  /** The server config's floor for all repositories. */
  floor?: Partial<Record<Verb, Permission>>;
  /** Environments treated as production: the server config's, plus any the repository config adds. */
  productionEnvironments: string[];
}

export type Authorization = { allowed: true } | { allowed: false; needed: Permission; reason: string };

/** Verbs whose default depends on the environment: write elsewhere, admin on production. */
const GUARDED_ON_PRODUCTION: ReadonlySet<Verb> = new Set<Verb>(["lock", "unlock", "rollback", "cancel"]);

const DEFAULTS: Record<Verb, Permission> = {
  help: "read",
  status: "read",
  plan: "read",
  migrate: "write",
  backup: "write",
  approve: "write",
  heal: "write",
  lock: "write",
  unlock: "write",
  rollback: "write",
  // Both write another tool's word (or the user's) into the history as truth, for every environment.
  adopt: "admin",
  baseline: "admin",
  // Resumes a failed migrate run from its last checkpoint: the same change its push already asked for.
  retry: "write",
  // Stops a queued, waiting or running migration (between files); on production, admin (GUARDED_ON_PRODUCTION).
  cancel: "write",
};

export function rank(permission: Permission): number {
  return PERMISSIONS.indexOf(permission);
}

export function atLeast(have: Permission, need: Permission): boolean {
  return rank(have) >= rank(need);
}

function strictest(...permissions: Array<Permission | undefined>): Permission {
  return permissions.reduce<Permission>((max, p) => (p !== undefined && rank(p) > rank(max) ? p : max), "none");
}

/** The built-in requirement, before any config. */
export function defaultPermission(verb: Verb, production: boolean): Permission {
  return production && GUARDED_ON_PRODUCTION.has(verb) ? "admin" : DEFAULTS[verb];
}

export function isProduction(environment: string, policy: CommandPolicy): boolean {
  return policy.productionEnvironments.some((name) => name.toLowerCase() === environment.toLowerCase());
}

/** The environment a command acts on. */
export function environmentOf(command: Command, defaultEnvironment: string): string {
  return command.environment ?? defaultEnvironment;
}

/**
 * The strictest of the default, the server floor and the repo config. Taking the maximum is what
 * makes a looser repo value harmless; `commandPolicyFor` is what tells the repository about it.
 */
export function requiredPermission(command: Command, policy: CommandPolicy, defaultEnvironment: string): Permission {
  const production = isProduction(environmentOf(command, defaultEnvironment), policy);
  // Accepting drift overrides drift.on_push: block, an admin's call whatever the environment.
  if (command.acceptDrift) return strictest("admin", requirement(command.verb, production, policy));
  return requirement(command.verb, production, policy);
}

/** The requirement for a verb on a production environment or elsewhere (also what `help` shows). */
export function requirement(verb: Verb, production: boolean, policy: CommandPolicy): Permission {
  return strictest(defaultPermission(verb, production), policy.floor?.[verb], policy.repo?.[verb]);
}

/** `login`, when given, names the user in the refusal ("@alice has write"). */
export function authorize(command: Command, user: Permission, policy: CommandPolicy, defaultEnvironment: string, login?: string): Authorization {
  const needed = requiredPermission(command, policy, defaultEnvironment);
  if (atLeast(user, needed)) return { allowed: true };
  return { allowed: false, needed, reason: refusal(command, needed, user, defaultEnvironment, login) };
}

/** "rollback on production needs admin permission; @alice has write" */
function refusal(command: Command, needed: Permission, user: Permission, defaultEnvironment: string, login?: string): string {
  const verb = command.acceptDrift ? `${command.verb} --accept-drift` : command.verb;
  const what = actsOnEnvironment(command.verb) ? `${verb} on ${environmentOf(command, defaultEnvironment)}` : verb;
  const who = login ? `@${login}` : "you";
  const has = user === "none" ? `${who} ${login ? "has" : "have"} no access to this repository` : `${who} ${login ? "has" : "have"} ${user}`;
  return `${what} needs ${needed} permission; ${has}`;
}

/** help and approve do not act on an environment, so naming one in a refusal would mislead. */
function actsOnEnvironment(verb: Verb): boolean {
  // A retry acts on its run's environment, not on one named in the command.
  return verb !== "help" && verb !== "approve" && verb !== "retry";
}

// ── Validating a policy from config ─────────────────────────────────────────────────────────────

export interface PolicyProblem {
  key: string;
  message: string;
}

/**
 * Validates a `verb: permission` mapping from the repo config or the server config. Unknown verbs,
 * unknown permissions and values that would loosen a requirement are left out of `policy` and
 * reported. A repo value is compared with the default (and with `floor` when given); for
 * lock/unlock/rollback, whose default depends on the environment, with the lower (non-production)
 * default, since a value there still raises the requirement outside production.
 */
export function validateCommandPolicy(
  raw: unknown,
  source: "repo" | "server",
  floor?: Partial<Record<Verb, Permission>>,
): { policy: Partial<Record<Verb, Permission>>; problems: PolicyProblem[] } {
  const policy: Partial<Record<Verb, Permission>> = {};
  const problems: PolicyProblem[] = [];
  if (raw === undefined || raw === null) return { policy, problems };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { policy, problems: [{ key: "", message: "must be a mapping of command to permission, e.g. rollback: admin" }] };
  }
  for (const [key, value] of Object.entries(raw)) {
    const malformed = malformedEntry(key, value);
    if (malformed) {
      problems.push({ key, message: malformed });
      continue;
    }
    const verb = key.toLowerCase() as Verb;
    const checked = checkEntry(verb, String(value).toLowerCase() as Permission, source, floor);
    if (typeof checked === "string") policy[verb] = checked;
    else problems.push({ key, message: checked.message });
  }
  return { policy, problems };
}

/** What makes an entry meaningless whatever the other rules say: a misspelt command or permission. */
function malformedEntry(key: string, value: unknown): string | undefined {
  if (!(VERBS as readonly string[]).includes(key.toLowerCase())) return unknownVerbMessage(key);
  const permission = typeof value === "string" ? value.toLowerCase() : undefined;
  if (!permission || !(PERMISSIONS as readonly string[]).includes(permission)) return `must be one of ${PERMISSIONS.join(", ")}`;
  return undefined;
}

function unknownVerbMessage(key: string): string {
  const guess = closest(key, VERBS);
  if (guess) return `unknown key "${key}" — did you mean "${guess}"? ("${key}" is not a command)`;
  return `unknown key "${key}": it is not a command; the commands are ${VERBS.join(", ")}`;
}

function checkEntry(
  verb: Verb,
  permission: Permission,
  source: "repo" | "server",
  floor?: Partial<Record<Verb, Permission>>,
): Permission | { message: string } {
  const minimum = strictest(defaultPermission(verb, false), source === "repo" ? floor?.[verb] : undefined);
  if (rank(permission) < rank(minimum)) {
    // A repository is told and goes on; a server config with such a floor does not start (serverFloorSchema).
    if (source === "server") return { message: `${permission} is below the built-in minimum (${minimum}): the server floor may only raise the requirement` };
    return { message: `${permission} is below the current minimum (${minimum}) and is ignored: the repository config may only raise the requirement` };
  }
  return permission;
}

// ── The permissions sections as config schemas ──────────────────────────────────────────────────

const permissionMapping = z.record(z.string(), z.unknown(), { error: "must be a mapping of command to permission, e.g. rollback: admin" });

/**
 * A repository's `commands.permissions`: a misspelt command or permission is an error of the file,
 * since the stricter rule it meant would silently not hold. A value that would loosen a rule is
 * not an error; `commandPolicyFor` ignores it and tells the repository.
 */
export const repoPermissionsSchema = permissionMapping.superRefine((raw, ctx) => {
  for (const [key, value] of Object.entries(raw)) {
    const malformed = malformedEntry(key, value);
    if (malformed) ctx.addIssue({ code: "custom", path: [key], message: malformed });
  }
});

/** The server config's floor: every problem, a floor that would loosen a rule included, stops the start. */
export const serverFloorSchema = permissionMapping
  .superRefine((raw, ctx) => {
    for (const problem of validateCommandPolicy(raw, "server").problems) ctx.addIssue({ code: "custom", path: [problem.key], message: problem.message });
  })
  .transform((raw) => validateCommandPolicy(raw, "server").policy);

// ── One repository's policy: the server's rules, and what its config may add ────────────────────

/** The server config's `commands` section. */
export interface ServerCommandRules {
  /** The floor, validated with the server config (serverFloorSchema). */
  permissions?: Partial<Record<Verb, Permission>>;
  /** Environments whose lock/unlock/rollback need admin in every repository. */
  production_environments: string[];
}

/** The repository config's `commands` section. */
export interface RepoCommandRules {
  permissions?: unknown;
  production?: string[];
}

/**
 * The policy of one repository: the server's floor and production environments, made stricter by
 * the repository config. What the repository config would loosen — a lower permission, a
 * production environment left out — is ignored and reported with its key.
 */
export function commandPolicyFor(server: ServerCommandRules, repo: RepoCommandRules | undefined): { policy: CommandPolicy; problems: PolicyProblem[] } {
  const floor = server.permissions ?? {};
  const repoPermissions = validateCommandPolicy(repo?.permissions, "repo", floor);
  const production = productionEnvironments(server.production_environments, repo?.production);
  const policy: CommandPolicy = { floor, repo: repoPermissions.policy, productionEnvironments: production.environments };
  const problems = [
    ...repoPermissions.problems.map((p) => ({ key: p.key ? `commands.permissions.${p.key}` : "commands.permissions", message: p.message })),
    ...production.problems,
    ...productionLowerings(policy),
  ];
  return { policy, problems };
}

/** The server's production environments plus those the repository adds: a repository can never remove one. */
function productionEnvironments(server: string[], repo: string[] | undefined): { environments: string[]; problems: PolicyProblem[] } {
  const environments = [...server];
  const problems: PolicyProblem[] = [];
  for (const name of repo ?? []) {
    if (!environments.some((e) => e.toLowerCase() === name.toLowerCase())) environments.push(name);
  }
  if (repo) {
    for (const name of server.filter((s) => !repo.some((r) => r.toLowerCase() === s.toLowerCase()))) {
      problems.push({
        key: "commands.production",
        message: `leaves out ${name}, which the server config names a production environment: it stays production (a repository config may only add environments)`,
      });
    }
  }
  return { environments, problems };
}

/** `rollback: write` in a repository config holds outside production; on production admin stays, and the repository is told. */
function productionLowerings(policy: CommandPolicy): PolicyProblem[] {
  if (policy.productionEnvironments.length === 0) return [];
  const problems: PolicyProblem[] = [];
  for (const [verb, permission] of Object.entries(policy.repo ?? {}) as Array<[Verb, Permission]>) {
    const onProduction = requirement(verb, true, policy);
    if (rank(permission) < rank(onProduction)) {
      problems.push({
        key: `commands.permissions.${verb}`,
        message: `${permission} holds outside production only: ${verb} on ${policy.productionEnvironments.join(", ")} needs ${onProduction}, which a repository config cannot lower`,
      });
    }
  }
  return problems;
}
