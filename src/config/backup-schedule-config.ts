// The server config's `backups` keys for schedules and tiers (README "Scheduled backups and tiers"):
// `schedule` (cron) takes backups, `verify_schedule` (cron) runs restore drills, `keep` keeps the
// newest good backup of each of the last N days, weeks and months besides `retention_days`.
import cron from "node-cron";
import { z } from "zod";

const cronExpression = z.string().refine((expression) => cron.validate(expression), {
  error: (issue) => `${JSON.stringify(issue.input)} is not a valid cron expression (node-cron syntax, e.g. "0 2 * * *")`,
});

const tierCount = z.number().int().nonnegative();

export const backupScheduleKeys = {
  schedule: cronExpression.optional(),
  verify_schedule: cronExpression.optional(),
  keep: z.strictObject({ daily: tierCount.optional(), weekly: tierCount.optional(), monthly: tierCount.optional() }).optional(),
};
