// `.github/autopilot.yml`, owned by the repository. It names environments and tunes behaviour;
// it never holds connection strings (those live in the server config). Read whole, once, by
// `loadRepoConfig`: every section typed, every problem with its key and line.
import { z } from "zod";
import { alertRulesSchema } from "../analytics/alerts.js";
import {
  commandPolicyFor,
  DEFAULT_PRODUCTION_ENVIRONMENTS,
  repoPermissionsSchema,
  type CommandPolicy,
  type RepoCommandRules,
  type ServerCommandRules,
} from "../commands/authorize.js";
import { LAYOUT_NAMES } from "../database/layouts/index.js";
import { lintSettingsOf, validateLintConfig, type LintSettings } from "../database/lint/index.js";
import { driftSchema } from "./drift-config.js";
import { DEFAULT_HEALTH_LIMITS, firesTooOften, healthLimitsOf, readHealthSection, type HealthConfig, type HealthLimits } from "./health-config.js";
import type { ServerConfig } from "./server-config.js";
import { readVerifySection, type VerifySettings } from "./verify-config.js";
import { byLine, issueProblems, problemAt, readYaml, type ConfigProblem, type YamlSource } from "./yaml-errors.js";

export const REPO_CONFIG_PATH = ".github/autopilot.yml";

const interval = z.string().regex(/^\d+(\.\d+)?\s*(ms|s|min|h|d)?$/, 'must be a PostgreSQL duration such as "10s", "5min" or "0"');

const environmentRule = z.strictObject({
  branch: z.string().min(1),
  environment: z.string().regex(/^[\w.-]+$/, "must be a plain name (letters, digits, . _ -)"),
  approvals: z.number().int().min(0).default(0),
});

const migrationsSchema = z.strictObject({
  directory: z
    .string()
    .default("migrations")
    .refine((d) => !d.startsWith("/") && !d.split("/").includes(".."), "must be a path inside the repository"),
  out_of_order: z.boolean().default(false),
  on_failure: z.enum(["restore", "stop"]).default("restore"),
  lock_timeout: interval.default("10s"),
  statement_timeout: interval.default("0"),
  lock_wait_seconds: z.number().int().positive().default(60),
  // Files up to this version are recorded as applied, without running, on a target with no history.
  baseline: z
    .union([z.string(), z.number().int().nonnegative()])
    .transform(String)
    .pipe(z.string().regex(/^\d[\d._-]*$/, "must be a migration version (e.g. 0042, or 1.1 for Flyway)"))
    .optional(),
  // Absent: detected from the directory's file names (database/layouts).
  layout: z.enum(LAYOUT_NAMES).optional(),
});

export const DEFAULT_ENVIRONMENTS = [
  { branch: "main", environment: "production", approvals: 0 },
  { branch: "master", environment: "production", approvals: 0 },
  { branch: "release/*", environment: "preprod", approvals: 0 },
  { branch: "staging", environment: "staging", approvals: 0 },
  { branch: "develop", environment: "development", approvals: 0 },
];

const commandsSchema = z.strictObject({
  // May only raise who may run a command: a looser value is ignored and reported (commandPolicyFor).
  permissions: repoPermissionsSchema.optional(),
  // Environments whose rollback/lock/unlock need admin, added to the server's.
  production: z.array(z.string()).optional(),
});

const repoConfigSchema = z.strictObject({
  migrations: migrationsSchema.default(migrationsSchema.parse({})),
  environments: z.array(environmentRule).min(1).default(DEFAULT_ENVIRONMENTS),
  // Checked on its own (readHealthSection): its mistakes never stop migrations.
  health: z.unknown().optional(),
  incidents: z.strictObject({ labels: z.array(z.string()).default(["incident", "urgent"]) }).optional(),
  // Rule ids, severities and small_table_rows are checked on their own (validateLintConfig): they fail plans, not migrations.
  lint: z.record(z.string(), z.unknown()).optional(),
  commands: commandsSchema.optional(),
  alerts: alertRulesSchema.optional(),
  notify: z.strictObject({ hourly_summary: z.boolean().default(false) }).optional(),
  // Checked against the health section it names checks of (readVerifySection).
  verify: z.unknown().optional(),
  drift: driftSchema.default(driftSchema.parse({})),
});

type RepoConfigSections = z.infer<typeof repoConfigSchema>;

export type RepoConfig = Omit<RepoConfigSections, "health" | "lint" | "commands" | "verify"> & {
  /** Undefined when the file has no health section, or an invalid one. */
  health?: HealthConfig;
  lint: LintSettings;
  /** The server's command rules, made stricter by the file's `commands` section. */
  commands: CommandPolicy;
  /** Undefined when nothing is verified after a change (no health section, or `verify.minutes: 0`). */
  verify?: VerifySettings;
};

export type EnvironmentRule = z.infer<typeof environmentRule>;

/** What the operator's server config bounds for every repository's config. */
export interface ServerLimits {
  health: HealthLimits;
  commands: ServerCommandRules;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  health: DEFAULT_HEALTH_LIMITS,
  commands: { production_environments: DEFAULT_PRODUCTION_ENVIRONMENTS },
};

export function serverLimitsOf(serverConfig: ServerConfig): ServerLimits {
  return { health: healthLimitsOf(serverConfig), commands: serverConfig.commands };
}

const parsers = new WeakMap<ServerConfig, (text: string | null) => LoadedRepoConfig>();

/**
 * loadRepoConfig against one server config's limits, as one function for the process's life:
 * RepoConfigReader keeps what it returns while a config's text is unchanged, for every caller
 * (push routing, discovery, runs), who must not modify it.
 */
export function repoConfigParser(serverConfig: ServerConfig): (text: string | null) => LoadedRepoConfig {
  let parse = parsers.get(serverConfig);
  if (!parse) {
    const limits = serverLimitsOf(serverConfig);
    parse = (text) => loadRepoConfig(text, limits);
    parsers.set(serverConfig, parse);
  }
  return parse;
}

export interface LoadedRepoConfig {
  /** Every section typed; defaults wherever the file is unusable. */
  config: RepoConfig;
  /** Mistakes that make the file unusable: nothing runs on it until they are fixed. */
  errors: ConfigProblem[];
  /**
   * Mistakes confined to a section that goes on without them (keys start with the section's name):
   * an invalid health section is not probed, a bad lint setting fails plans, a command permission
   * that would loosen the rules is ignored.
   */
  warnings: ConfigProblem[];
}

/** `.github/autopilot.yml` (null or empty: none) validated whole, against the server's limits. */
export function loadRepoConfig(text: string | null, limits: ServerLimits = DEFAULT_SERVER_LIMITS, file = REPO_CONFIG_PATH): LoadedRepoConfig {
  const source = readYaml(file, text ?? "");
  // Content around a syntax error is not to be trusted: the defaults stand in for it.
  const raw: unknown = source.syntaxProblems.length > 0 ? {} : (source.doc.toJS() ?? {});
  const rawSections = isPlainObject(raw) ? raw : {};
  const sections = repoConfigSchema.safeParse(raw);
  const health = readHealthSection(source, rawSections.health, limits.health);
  const verify = readVerifySection(source, rawSections.verify, health.health, rawSections.health !== undefined);
  // Each drift check builds a scratch database: its schedule has the health schedules' floor.
  const driftTooOften = sections.success ? firesTooOften(sections.data.drift.schedule, limits.health.minScheduleSeconds) : undefined;
  const errors = [
    ...source.syntaxProblems,
    ...(sections.success ? [] : issueProblems(source, sections.error.issues, repoConfigSchema)),
    ...verify.problems,
    ...(driftTooOften ? [problemAt(source, ["drift", "schedule"], driftTooOften)] : []),
  ];
  const lint = validateLintConfig(isPlainObject(rawSections.lint) ? rawSections.lint : undefined);
  const commands = commandPolicyFor(limits.commands, usableCommandRules(rawSections.commands));
  const warnings = [...health.problems, ...dottedProblems(source, [...lint.problems, ...commands.problems])];
  const { health: _health, lint: _lint, commands: _commands, verify: _verify, ...rest } = sections.success ? sections.data : repoConfigSchema.parse({});
  return {
    config: { ...rest, health: health.health, lint: lintSettingsOf(lint), commands: commands.policy, verify: verify.verify },
    errors,
    // A key that is an error already is not warned about again.
    warnings: warnings.filter((warning) => !errors.some((error) => error.key === warning.key)).sort(byLine),
  };
}

/** The warnings of one section of the file: "health", "lint" or "commands". */
export function sectionWarnings(warnings: ConfigProblem[], section: "health" | "lint" | "commands"): ConfigProblem[] {
  return warnings.filter((p) => p.key === section || p.key.startsWith(`${section}.`) || p.key.startsWith(`${section}[`));
}

/** The `commands` section as far as it can be used; what cannot be is among the file's errors. */
function usableCommandRules(raw: unknown): RepoCommandRules | undefined {
  const parsed = commandsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  return isPlainObject(raw) && isPlainObject(raw.permissions) ? { permissions: raw.permissions } : undefined;
}

/** Problems whose key is a dotted path (lint rule ids and command names hold no dots). */
function dottedProblems(source: YamlSource, problems: Array<{ key: string; message: string }>): ConfigProblem[] {
  return problems.map((p) => problemAt(source, p.key.split("."), p.message));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** First rule whose branch pattern matches wins; `*` matches within one path segment, `**` across. */
export function environmentForBranch(config: RepoConfig, branch: string): EnvironmentRule | undefined {
  return config.environments.find((rule) => branchPattern(rule.branch).test(branch));
}

function branchPattern(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  const source = escaped
    .replace(/\*\*/g, "\u0000")
    .replace(/\*/g, "[^/]*")
    .replace(/\u0000/g, ".*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${source}$`);
}

/** The branch whose pushes migrate `environment`: the first rule naming it with a literal branch (no glob). */
export function branchForEnvironment(config: RepoConfig, environment: string): string | undefined {
  return config.environments.find((e) => e.environment === environment && !/[*?]/.test(e.branch))?.branch;
}
