// The operator's server config: the only place that binds repositories to databases and secrets.
// A repository's own config names environments; it can never reach a target this file does not give it.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { isValidDuration } from "../database/directives.js";
import { serverFloorSchema } from "../commands/authorize.js";
import { backupsSchema, refineStoreSections, targetBackupsSchema } from "./backup-config.js";
import { processEnvironment } from "./environment.js";
import { cronExpression } from "./health-config.js";
import { parseYamlConfig } from "./yaml-errors.js";
import { targetOf } from "./targets-of.js";

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** A timeout a fork cannot lift: PostgreSQL duration syntax, never 0 (which would mean none). */
const forcedTimeout = z
  .string({ error: 'must be a duration like "30s" or "2min"' })
  .refine((value) => isValidDuration(value) && Number.parseFloat(value) > 0, 'must be a duration like "30s" or "2min", and not 0');

const STORE_RETENTION_DEFAULTS = { raw_days: 14, days: 400, keep_audit: false };

const FORK_DEFAULTS = { read_targets: false, rehearse: false, statement_timeout: "30s", rehearsal_timeout_seconds: 300 };

export const targetSchema = z.strictObject({
  repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"),
  environment: z.string().min(1),
  database_url_env: envVarName,
  shadow_database_url_env: envVarName.optional(),
  deploy_hook_env: envVarName.optional(),
  slack_webhook_env: envVarName.optional(),
  // GitHub's id of the repository: a repository renamed, or deleted and re-created under this name,
  // has another id and is refused. Unset: the id Autopilot first acts for is recorded and kept.
  repo_id: z.number().int().positive().optional(),
  // PostgreSQL error details quote row values (`Key (email)=(…)`); they are production data, shown
  // in Check Runs, comments and Slack only when the operator allows it.
  show_row_values: z.boolean().default(false),
  // HMAC key of POST /autopilot/events for this repository (AUTOPILOT_SECRET also works for it).
  events_secret_env: envVarName.optional(),
  // Where this target's backups go, key by key over the server-wide `backups` section.
  backups: targetBackupsSchema.optional(),
});

/** How often a repository without a `health` section has its alert rules evaluated: the health schedule's default. */
export const ALERTS_ONLY_SCHEDULE = "*/5 * * * *";
/** Scans (and the weekly insights they post) of repositories without a `health` section: as a section's default. */
export const DATA_ONLY_SCAN_SCHEDULE = "0 */6 * * *";

export const serverConfigSchema = z
  .strictObject({
    targets: z.array(targetSchema).default([]).superRefine(refuseTwinBindings),
    backups: backupsSchema,
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
        // The tightest a repository's health schedules may fire (10 s unless the operator says otherwise).
        // At most the default schedule's 5 min: a repository that sets no schedule gets the default unchecked.
        min_schedule_seconds: z.number().int().min(1).max(300, "must be at most 300 (the default schedule fires every 5 min)").default(10),
        // A repository without a `health` section still has alert rules (migration-failed, backup-age):
        // they are evaluated on this schedule, with nothing probed.
        alerts_schedule: cronExpression(1).default(ALERTS_ONLY_SCHEDULE),
        // Such a repository's scan, which posts the weekly insights when its week had runs (migrations, rollbacks).
        scan_schedule: cronExpression(1).default(DATA_ONLY_SCAN_SCHEDULE),
      })
      .default({
        allow_hosts: [],
        maintenance: [],
        discovery_seconds: 60,
        min_schedule_seconds: 10,
        alerts_schedule: ALERTS_ONLY_SCHEDULE,
        scan_schedule: DATA_ONLY_SCAN_SCHEDULE,
      }),
    // A fork's pull request is linted; running its SQL on the shadow server (sandboxed, under these
    // limits) and reading a target's history and schema for it are the operator's decisions.
    forks: z
      .strictObject({
        read_targets: z.boolean({ error: "must be true or false" }).default(false),
        rehearse: z.boolean({ error: "must be true or false" }).default(false),
        statement_timeout: forcedTimeout.default(FORK_DEFAULTS.statement_timeout),
        rehearsal_timeout_seconds: z
          .number({ error: "must be a number of seconds" })
          .int("must be a whole number of seconds")
          .positive("must be at least 1")
          .default(FORK_DEFAULTS.rehearsal_timeout_seconds),
      })
      .default(FORK_DEFAULTS),
    // A floor for every repository: `commands.permissions.migrate: admin` and so on; and the
    // environments whose lock/unlock/rollback need admin. A repository config may add production
    // environments, never remove these.
    commands: z
      .strictObject({
        permissions: serverFloorSchema.optional(),
        production_environments: z.array(z.string().regex(/^[\w.-]+$/, "must be a plain environment name")).default(["production"]),
      })
      .default({ production_environments: ["production"] }),
    // Who may sign in to the dashboard: only installations on these accounts (organizations or users)
    // are shown; empty lets every user in with the repositories GitHub says they can reach.
    dashboard: z
      .strictObject({
        allowed_orgs: z.array(z.string().regex(/^[\w.-]+$/, "must be an organization or user login")).default([]),
      })
      .default({ allowed_orgs: [] }),
    // How long the app's own store keeps things (README "Store retention"): raw health samples
    // `raw_days` (hourly rollups 90 days, daily ones forever); runs with their steps, audit, alert
    // history and heal actions `days`; audit forever when `keep_audit` is true.
    store: z
      .strictObject({
        retention: z
          .strictObject({
            raw_days: z
              .number({ error: "must be a number of days" })
              .int("must be a whole number of days")
              .min(2, "must be at least 2")
              .max(90, "must be at most 90 (hourly rollups are kept 90 days)")
              .default(14),
            days: z.number({ error: "must be a number of days" }).int("must be a whole number of days").min(30, "must be at least 30").default(400),
            keep_audit: z.boolean({ error: "must be true or false" }).default(false),
          })
          .default(STORE_RETENTION_DEFAULTS),
      })
      .default({ retention: STORE_RETENTION_DEFAULTS }),
  })
  .superRefine(refineStoreSections);

/** One repository and environment bound to two targets would leave which database is migrated to chance. */
function refuseTwinBindings(targets: Array<{ repo: string; environment: string }>, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  targets.forEach((t, i) => {
    const key = `${t.repo.toLowerCase()} ${t.environment}`;
    if (seen.has(key)) ctx.addIssue({ code: "custom", path: [i], message: `${t.repo} / ${t.environment} is bound twice` });
    seen.add(key);
  });
}

export type ServerConfig = z.infer<typeof serverConfigSchema>;

/** A target with its secrets resolved from the environment. */
export interface ResolvedTarget {
  repo: string;
  environment: string;
  databaseUrl: string;
  shadowDatabaseUrl?: string;
  deployHookUrl?: string;
  slackWebhookUrl?: string;
  /** The repository id the operator bound (targets[].repo_id), if any. */
  repoId?: number;
  showRowValues: boolean;
}

/** The whole server config, every problem at once (ConfigError): the app does not start on a bad one. */
export function parseServerConfig(file: string, text: string): ServerConfig {
  return parseYamlConfig(file, text, serverConfigSchema);
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
export function resolveTarget(
  config: ServerConfig,
  repo: string,
  environment: string,
  env: NodeJS.ProcessEnv = processEnvironment(),
): ResolvedTarget | undefined {
  const target = targetOf(config, repo, environment);
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
    repoId: target.repo_id,
    showRowValues: target.show_row_values,
  };
}
