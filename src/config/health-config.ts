// The `health` section of `.github/autopilot.yml`. Validated on its own: a mistake here (a bad cron
// expression, say) is reported, but never stops migrations — the rest of the config is still served.
import cron from "node-cron";
import { z } from "zod";
import { issueProblems, type ConfigProblem, type YamlSource } from "./yaml-errors.js";
import { shortestCronIntervalSeconds } from "./cron-interval.js";
import type { ServerConfig } from "./server-config.js";

/** Bounds that keep one repository's config from costing the app (and GitHub, and its targets) without limit. */
export interface HealthLimits {
  /** A schedule may not fire more often than this (the operator's `health.min_schedule_seconds`). */
  minScheduleSeconds: number;
}

export const DEFAULT_HEALTH_LIMITS: HealthLimits = { minScheduleSeconds: 10 };

/** The bounds the operator's server config sets for every repository. */
export function healthLimitsOf(serverConfig: ServerConfig): HealthLimits {
  return { minScheduleSeconds: serverConfig.health.min_schedule_seconds };
}

/** A heal cycle holds its repository's singleton queue slot while it waits to verify. */
export const MAX_RECOVERY_WAIT_SECONDS = 900;
export const MAX_RETRY_DELAY_MS = 300_000;

const statusRange = z.union([z.number().int().min(100).max(599), z.string().regex(/^\d{3}-\d{3}$/, 'must be a status like 200 or a range like "200-299"')]);

const httpCheck = z.strictObject({
  name: z.string().regex(/^[\w.-]+$/, "must be a plain name (letters, digits, . _ -)"),
  url: z.string().url("must be an http(s) URL"),
  method: z.enum(["GET", "HEAD", "POST"]).default("GET"),
  expect_status: statusRange.optional(),
  body_contains: z.string().optional(),
  timeout_ms: z.number().int().positive().max(60_000).default(5000),
});

/** A valid node-cron expression whose tightest gap between two firings is at least `minSeconds`. */
export function cronExpression(minSeconds: number) {
  return z.string().superRefine((expression, ctx) => {
    if (!cron.validate(expression)) {
      ctx.addIssue({ code: "custom", message: "is not a valid cron expression (node-cron syntax; a seconds field is allowed)" });
      return;
    }
    const tooOften = firesTooOften(expression, minSeconds);
    if (tooOften) ctx.addIssue({ code: "custom", message: tooOften });
  });
}

/** Why a valid cron expression fires more often than every `minSeconds` (the operator's floor); undefined when it does not. */
export function firesTooOften(expression: string, minSeconds: number): string | undefined {
  const interval = shortestCronIntervalSeconds(expression);
  return interval < minSeconds ? `"${expression}" fires as often as every ${interval} s; schedules may fire at most every ${minSeconds} s` : undefined;
}

const maintenanceWindow = z.strictObject({
  start: z.iso.datetime({ offset: true }),
  end: z.iso.datetime({ offset: true }),
  checks: z.array(z.string()).optional(),
});

/**
 * One schema per bound, built once: zod compiles a schema on its first parse, so a schema built per
 * config cost a thousand repositories' discovery a second of the event loop (profiled in drill:load).
 */
const schemasByMinimum = new Map<number, ReturnType<typeof buildHealthSchema>>();

export function healthSchemaWithin(limits: HealthLimits) {
  let schema = schemasByMinimum.get(limits.minScheduleSeconds);
  if (!schema) schemasByMinimum.set(limits.minScheduleSeconds, (schema = buildHealthSchema(limits)));
  return schema;
}

function buildHealthSchema(limits: HealthLimits) {
  return z.strictObject({
    schedule: cronExpression(limits.minScheduleSeconds).default("*/5 * * * *"),
    // Anomaly and trend scans over the health log.
    scan_schedule: cronExpression(limits.minScheduleSeconds).default("0 */6 * * *"),
    retries: z.number().int().min(0).max(10).default(3),
    retry_delays_ms: z.array(z.number().int().min(0).max(MAX_RETRY_DELAY_MS, `must be at most ${MAX_RETRY_DELAY_MS} ms (5 min)`)).optional(),
    recovery_wait_seconds: z.number().min(0).max(MAX_RECOVERY_WAIT_SECONDS, `must be at most ${MAX_RECOVERY_WAIT_SECONDS} s (15 min)`).default(90),
    recovery_successes: z.number().int().min(1).default(2),
    reminder_minutes: z.number().positive().default(60),
    degraded_ms: z.number().int().positive().default(2000),
    checks: z.array(httpCheck).default([]),
    database: z.boolean().default(false),
    table_counts: z.array(z.string()).default([]),
    maintenance: z.array(maintenanceWindow).default([]),
  });
}

const healthSchema = healthSchemaWithin(DEFAULT_HEALTH_LIMITS);

export type HealthConfig = z.infer<typeof healthSchema>;
export type HealthCheckConfig = z.infer<typeof httpCheck>;

/** The `health` value of a parsed repo config (undefined: none): the section, or its problems with key and line. */
export function readHealthSection(source: YamlSource, raw: unknown, limits: HealthLimits): { health?: HealthConfig; problems: ConfigProblem[] } {
  if (raw === undefined) return { problems: [] };
  const schema = healthSchemaWithin(limits);
  const result = schema.safeParse(raw);
  if (result.success) return { health: result.data, problems: [] };
  return { problems: issueProblems(source, result.error.issues, schema, ["health"]) };
}

/** Delays between probe attempts: 2 s, then 5 s, as many as `retries` asks for. */
export function retryDelays(health: HealthConfig): number[] {
  const base = health.retry_delays_ms ?? [2000, 5000];
  return Array.from({ length: health.retries }, (_, i) => base[Math.min(i, base.length - 1)] ?? 0);
}

/** `expect_status` as the probe wants it. */
export function expectedStatus(check: HealthCheckConfig): number | { min: number; max: number } | undefined {
  if (typeof check.expect_status !== "string") return check.expect_status;
  const [min, max] = check.expect_status.split("-").map(Number);
  return { min, max };
}
