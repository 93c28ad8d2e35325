// The server config's `backups.keep`, `backups.schedule` and `backups.verify_schedule` (README
// "Backup tiers", "Scheduled backups" and "Restore drills"): besides `retention_days`, keep the newest
// good backup of each of the last N days, weeks and months; take a backup of each target on a cron
// schedule; and restore the newest into a scratch database on another (the scheduler's drill runs).
import cron from "node-cron";
import { z } from "zod";
import { cronExpression } from "./health-config.js";

const tierCount = z.number().int().nonnegative();

export const backupScheduleKeys = {
  keep: z.strictObject({ daily: tierCount.optional(), weekly: tierCount.optional(), monthly: tierCount.optional() }).optional(),
};

/** Drills weekly (Sunday 04:00) on a target with a shadow server and no `verify_schedule` of its own. */
export const DEFAULT_VERIFY_SCHEDULE = "0 4 * * 0";

/** `verify_schedule`, server-wide or per target; the operator's own file, so any valid cron expression. */
export const drillScheduleKeys = {
  verify_schedule: cronExpression(1).optional(),
};

/** When a target's restore drills run: its schedule, the weekly default with a shadow server, or never (undefined). */
export function verifyScheduleOf(section: { verify_schedule?: string }, hasShadowServer: boolean): string | undefined {
  if (!hasShadowServer) return undefined;
  return section.verify_schedule ?? DEFAULT_VERIFY_SCHEDULE;
}

/** A valid node-cron expression. The server config is the operator's: no floor, unlike a repository's health schedule. */
const backupCron = z.string().refine((expression) => cron.validate(expression), 'is not a valid cron expression (node-cron syntax, like "0 2 * * *")');

/** `schedule`, server-wide or per target (`targets[].backups.schedule` overrides it). */
export const backupScheduleKey = { schedule: backupCron.optional() };
