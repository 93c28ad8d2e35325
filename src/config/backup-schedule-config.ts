// The server config's `backups.keep` and `backups.schedule` (README "Backup tiers" and "Scheduled backups"):
// besides `retention_days`, keep the newest good backup of each of the last N days, weeks and months;
// and take a backup of each target on a cron schedule. `verify_schedule` is not accepted yet: nothing
// runs it, and a key that is silently ignored is worse than one refused at start-up.
import cron from "node-cron";
import { z } from "zod";

const tierCount = z.number().int().nonnegative();

export const backupScheduleKeys = {
  keep: z.strictObject({ daily: tierCount.optional(), weekly: tierCount.optional(), monthly: tierCount.optional() }).optional(),
};

/** A valid node-cron expression. The server config is the operator's: no floor, unlike a repository's health schedule. */
const backupCron = z.string().refine((expression) => cron.validate(expression), 'is not a valid cron expression (node-cron syntax, like "0 2 * * *")');

/** `schedule`, server-wide or per target (`targets[].backups.schedule` overrides it). */
export const backupScheduleKey = { schedule: backupCron.optional() };
