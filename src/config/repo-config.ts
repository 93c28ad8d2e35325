// `.github/autopilot.yml`, owned by the repository. It names environments and tunes behaviour;
// it never holds connection strings (those live in the server config).
import { z } from "zod";
import { alertRulesSchema } from "../analytics/alerts.js";
import { parseYamlConfig } from "./yaml-errors.js";

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
});

export const DEFAULT_ENVIRONMENTS = [
  { branch: "main", environment: "production", approvals: 0 },
  { branch: "master", environment: "production", approvals: 0 },
  { branch: "release/*", environment: "preprod", approvals: 0 },
  { branch: "staging", environment: "staging", approvals: 0 },
  { branch: "develop", environment: "development", approvals: 0 },
];

export const repoConfigSchema = z.strictObject({
  migrations: migrationsSchema.default(migrationsSchema.parse({})),
  environments: z.array(environmentRule).min(1).default(DEFAULT_ENVIRONMENTS),
  // Validated on its own (config/health-config.ts): its mistakes never stop migrations.
  health: z.unknown().optional(),
  incidents: z.strictObject({ labels: z.array(z.string()).default(["incident", "urgent"]) }).optional(),
  lint: z.record(z.string(), z.unknown()).optional(),
  // Slash commands: `permissions` may only raise who may run a command (validated where used);
  // `production` names the environments whose rollback/lock/unlock need admin.
  commands: z
    .strictObject({
      permissions: z.record(z.string(), z.unknown()).optional(),
      production: z.array(z.string()).optional(),
    })
    .optional(),
  alerts: alertRulesSchema.optional(),
  notify: z.strictObject({ hourly_summary: z.boolean().default(false) }).optional(),
});

export type RepoConfig = z.infer<typeof repoConfigSchema>;
export type EnvironmentRule = z.infer<typeof environmentRule>;

export function parseRepoConfig(text: string | null, file = REPO_CONFIG_PATH): RepoConfig {
  if (text === null || text.trim() === "") return repoConfigSchema.parse({});
  return parseYamlConfig(file, text, repoConfigSchema);
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
