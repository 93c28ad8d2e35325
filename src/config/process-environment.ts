// The environment variables that the command line and redaction read, without environment.ts's
// validation (and its zod): `autopilot plan --lint` starts without loading the schema library.

/** The process environment, for the variables configuration names (a target's `database_url_env`, `--database-url-env`). */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/** The CLI's connection string when no flag gives one. */
export const CLI_DATABASE_URL_VARIABLE = "AUTOPILOT_DATABASE_URL";

/** The CLI's shadow server (where `autopilot drift` builds its scratch database) when no flag gives one. */
export const CLI_SHADOW_DATABASE_URL_VARIABLE = "AUTOPILOT_SHADOW_DATABASE_URL";

/**
 * The variables that hold secrets whatever the server config says. The LLM key is among them: an
 * OpenAI-compatible endpoint may echo it back in an error or in its answer.
 */
const SECRET_VARIABLES = [
  "WEBHOOK_SECRET",
  "PRIVATE_KEY",
  "AUTOPILOT_SECRET",
  "AUTOPILOT_METRICS_TOKEN",
  "AUTOPILOT_LLM_KEY",
  "DATABASE_URL",
  "GITHUB_CLIENT_SECRET",
] as const;

/** The values of the secret variables that are set. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_VARIABLES.map((name) => env[name]).filter((value): value is string => Boolean(value));
}
