// The process environment, validated once at start-up so a typo fails loudly and early. Every
// variable is read here; elsewhere only the variables the server config or a flag names are read,
// by their configured name, from `processEnvironment()`.
import path from "node:path";
import { z } from "zod";

// What the command line and redaction read lives without zod, so a short command does not load it.
export { CLI_DATABASE_URL_VARIABLE, CLI_SHADOW_DATABASE_URL_VARIABLE, processEnvironment, secretValues } from "./process-environment.js";

const envSchema = z.object({
  // Probot's GitHub App id; unset (or left empty in .env) while its setup wizard runs.
  APP_ID: z.preprocess((value) => (value === "" ? undefined : value), z.coerce.number().int().positive().optional()),
  DATABASE_URL: z.string().optional(),
  AUTOPILOT_SERVER_CONFIG: z.string().default("./autopilot.server.yml"),
  AUTOPILOT_SECRET: z.string().optional(),
  AUTOPILOT_METRICS_TOKEN: z.string().optional(),
  // "true" serves GET /metrics without a token; anything but a clear yes or no is a start-up error.
  AUTOPILOT_METRICS_PUBLIC: z.stringbool({ error: (issue) => `must be true or false (got ${JSON.stringify(issue.input)})` }).default(false),
  AUTOPILOT_DATA_DIR: z.string().default("./.autopilot"),
  AUTOPILOT_RETRY_LIMIT: z.coerce.number().int().min(0).default(4),
  AUTOPILOT_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).default(15),
  AUTOPILOT_JOB_POLL_SECONDS: z.coerce.number().min(0.5).default(1),
  AUTOPILOT_REAPER_SECONDS: z.coerce.number().int().min(1).default(30),
  // "web": this replica answers HTTP (webhooks, commands, the dashboard, /metrics) and runs no jobs,
  // scheduler or housekeeping, so its answers never wait behind them; "all" (the default) does everything.
  AUTOPILOT_ROLE: z.enum(["all", "web"], { error: (issue) => `must be all or web (got ${JSON.stringify(issue.input)})` }).default("all"),
  // Connections of the store pool that jobs, webhooks and the reaper share (run locks and /healthz have their own).
  AUTOPILOT_STORE_POOL_SIZE: z.coerce.number().int().min(2).max(1000).default(10),
  // Seconds between two probes of a verification (30): tests and drills shorten it; see verifyProbeSeconds.
  AUTOPILOT_VERIFY_PROBE_SECONDS: z.coerce.number().positive().max(300).default(30),
  // Waits before each retry of a failed deploy hook of a migration or rollback (it counts as failed after the last).
  AUTOPILOT_DEPLOY_HOOK_RETRY_SECONDS: z
    .string()
    .regex(/^\s*(\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*)*)?$/, "must be seconds separated by commas, e.g. 30,120,300 (empty: no retry)")
    .default("30,120,300"),
  // The GitHub App's OAuth credentials (Probot's setup wizard writes them): "Sign in with GitHub" on the dashboard.
  GITHUB_CLIENT_ID: z.string().optional(),
  GITHUB_CLIENT_SECRET: z.string().optional(),
  // Probot's GitHub Enterprise (or fake) host: the dashboard's sign-in goes to the same GitHub as the API.
  GHE_HOST: z.string().optional(),
  GHE_PROTOCOL: z.string().default("https"),
});

export type AutopilotEnv = z.infer<typeof envSchema>;

/** The longest wait between two attempts of a job (5 min): past that, a retry is no longer a retry. */
export const MAX_RETRY_DELAY_SECONDS = 300;

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): AutopilotEnv {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join("\n")}`);
  }
  const tooLong = retryDelayProblem(result.data);
  if (tooLong) throw new Error(`Invalid environment:\n${tooLong}`);
  return result.data;
}

/** pg-boss backs off exponentially: retry n (from 0) waits up to delay × 2^(n+1), so the last one the longest. */
function retryDelayProblem(env: AutopilotEnv): string | undefined {
  const longest = env.AUTOPILOT_RETRY_DELAY_SECONDS * 2 ** env.AUTOPILOT_RETRY_LIMIT;
  if (env.AUTOPILOT_RETRY_LIMIT === 0 || longest <= MAX_RETRY_DELAY_SECONDS) return undefined;
  return (
    `AUTOPILOT_RETRY_DELAY_SECONDS: ${env.AUTOPILOT_RETRY_DELAY_SECONDS} s with AUTOPILOT_RETRY_LIMIT=${env.AUTOPILOT_RETRY_LIMIT} backs off up to ${longest} s ` +
    `before the last retry; retry delays may be at most ${MAX_RETRY_DELAY_SECONDS} s (lower the delay or the limit)`
  );
}

/** The directories of PATH, where PostgreSQL's binaries are looked for first. */
export function executableSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PATH ?? "").split(path.delimiter);
}

/** Probot's LOG_LEVEL: read before anything else is validated, so even a start-up failure is logged at it. */
export function logLevel(env: NodeJS.ProcessEnv = process.env): string {
  return env.LOG_LEVEL ?? "info";
}

/** The OpenAI-compatible endpoint that writes the insights narrative; undefined when AUTOPILOT_LLM_URL is unset. */
export interface LlmEndpoint {
  url: string;
  model: string;
  key?: string;
}

export function llmEndpoint(env: NodeJS.ProcessEnv = process.env): LlmEndpoint | undefined {
  const url = env.AUTOPILOT_LLM_URL?.trim();
  if (!url) return undefined;
  return { url, model: env.AUTOPILOT_LLM_MODEL || "gpt-4o-mini", key: env.AUTOPILOT_LLM_KEY || undefined };
}

/** The nominal gap between two verification probes: a `verify.minutes` of 5 makes 10 probes. */
export const VERIFY_PROBE_NOMINAL_SECONDS = 30;

/**
 * The real seconds between two verification probes (AUTOPILOT_VERIFY_PROBE_SECONDS, default 30). The
 * number of probes stays `minutes × 2`, so a shorter gap makes a whole verification shorter in proportion.
 */
export function verifyProbeSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AUTOPILOT_VERIFY_PROBE_SECONDS;
  const parsed = envSchema.shape.AUTOPILOT_VERIFY_PROBE_SECONDS.safeParse(raw);
  if (!parsed.success) throw new Error(`Invalid environment:\nAUTOPILOT_VERIFY_PROBE_SECONDS: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

/** The waits before each retry of a migration's or rollback's deploy hook (AUTOPILOT_DEPLOY_HOOK_RETRY_SECONDS, default 30 s, 2 min, 5 min). */
export function deployHookRetryDelaysMs(env: NodeJS.ProcessEnv = process.env): number[] {
  const parsed = envSchema.shape.AUTOPILOT_DEPLOY_HOOK_RETRY_SECONDS.safeParse(env.AUTOPILOT_DEPLOY_HOOK_RETRY_SECONDS);
  if (!parsed.success) throw new Error(`Invalid environment:\nAUTOPILOT_DEPLOY_HOOK_RETRY_SECONDS: ${parsed.error.issues[0].message}`);
  return parsed.data
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => Number(s) * 1000);
}
