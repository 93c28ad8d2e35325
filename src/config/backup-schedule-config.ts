// The server config's `backups.keep` (README "Scheduled backups and tiers"): besides `retention_days`,
// keep the newest good backup of each of the last N days, weeks and months. `schedule` is not
// accepted yet: nothing runs it, and a key that is silently ignored is worse than one refused at
// start-up. `verify_schedule` (README "Restore drills") is run by the scheduler's drill runs.
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
