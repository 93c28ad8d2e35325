// The process environment, validated once at start-up so a typo fails loudly and early.
import { z } from "zod";

const envSchema = z.object({
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
});

export type AutopilotEnv = z.infer<typeof envSchema>;

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): AutopilotEnv {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join("\n")}`);
  }
  return result.data;
}
