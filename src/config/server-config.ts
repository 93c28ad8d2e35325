// The operator's server config: the only place that binds repositories to databases and secrets.
// A repository's own config names environments; it can never reach a target this file does not give it.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ConfigError, parseYamlConfig } from "./yaml-errors.js";

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

export const targetSchema = z.strictObject({
  repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"),
  environment: z.string().min(1),
  database_url_env: envVarName,
  shadow_database_url_env: envVarName.optional(),
  deploy_hook_env: envVarName.optional(),
  slack_webhook_env: envVarName.optional(),
  // HMAC key of POST /autopilot/events for this repository (AUTOPILOT_SECRET also works for it).
  events_secret_env: envVarName.optional(),
});

export const serverConfigSchema = z.strictObject({
  targets: z.array(targetSchema).default([]),
  backups: z
    .strictObject({
      store: z.enum(["local", "supabase"]).default("local"),
      directory: z.string().default("./.autopilot/backups"),
      bucket: z.string().optional(),
      retention_days: z.number().int().positive().default(30),
    })
    .default({ store: "local", directory: "./.autopilot/backups", retention_days: 30 }),
  health: z
    .strictObject({
      allow_hosts: z.array(z.string()).default([]),
      // Windows for every repository (or the listed ones): results recorded, nothing healed or filed.
      maintenance: z
        .array(
          z.strictObject({
            start: z.iso.datetime({ offset: true }),
            end: z.iso.datetime({ offset: true }),
            repos: z.array(z.string()).optional(),
            checks: z.array(z.string()).optional(),
          }),
        )
        .default([]),
      // How often the scheduler re-reads installations and their configs.
      discovery_seconds: z.number().int().min(1).default(60),
    })
    .default({ allow_hosts: [], maintenance: [], discovery_seconds: 60 }),
  // A fork's pull request is linted and rehearsed on the shadow server; reading a target's history
  // and schema for it is the operator's decision.
  forks: z.strictObject({ read_targets: z.boolean().default(false) }).default({ read_targets: false }),
  // A floor for every repository: `commands.permissions.migrate: admin` and so on.
  commands: z.strictObject({ permissions: z.record(z.string(), z.unknown()).optional() }).default({}),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;

/** A target with its secrets resolved from the environment. */
export interface ResolvedTarget {
  repo: string;
  environment: string;
  databaseUrl: string;
  shadowDatabaseUrl?: string;
  deployHookUrl?: string;
  slackWebhookUrl?: string;
}

export function parseServerConfig(file: string, text: string): ServerConfig {
  const config = parseYamlConfig(file, text, serverConfigSchema);
  const seen = new Set<string>();
  config.targets.forEach((t, i) => {
    const key = `${t.repo.toLowerCase()} ${t.environment}`;
    if (seen.has(key)) {
      throw new ConfigError(file, [{ file, key: `targets[${i}]`, message: `${t.repo} / ${t.environment} is bound twice` }]);
    }
    seen.add(key);
  });
  return config;
}

export async function loadServerConfig(file: string): Promise<ServerConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return serverConfigSchema.parse({});
    throw error;
  }
  return parseServerConfig(file, text);
}

export class UnboundTargetError extends Error {}

/** Finds the target for a repository's environment and reads its secrets from `env`. */
export function resolveTarget(config: ServerConfig, repo: string, environment: string, env: NodeJS.ProcessEnv = process.env): ResolvedTarget | undefined {
  const target = config.targets.find((t) => t.repo.toLowerCase() === repo.toLowerCase() && t.environment === environment);
  if (!target) return undefined;
  const databaseUrl = env[target.database_url_env];
  if (!databaseUrl) {
    throw new UnboundTargetError(`the server config binds ${repo} / ${environment} to $${target.database_url_env}, but that variable is not set`);
  }
  return {
    repo: target.repo,
    environment,
    databaseUrl,
    shadowDatabaseUrl: target.shadow_database_url_env ? env[target.shadow_database_url_env] : undefined,
    deployHookUrl: target.deploy_hook_env ? env[target.deploy_hook_env] : undefined,
    slackWebhookUrl: target.slack_webhook_env ? env[target.slack_webhook_env] : undefined,
  };
}
