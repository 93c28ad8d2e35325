// The server config's `backups.keep` (README "Scheduled backups and tiers"): besides `retention_days`,
// keep the newest good backup of each of the last N days, weeks and months. `schedule` and
// `verify_schedule` are not accepted yet: nothing runs them, and a key that is silently ignored is
// worse than one refused at start-up.
import { z } from "zod";

const tierCount = z.number().int().nonnegative();

export const backupScheduleKeys = {
  keep: z.strictObject({ daily: tierCount.optional(), weekly: tierCount.optional(), monthly: tierCount.optional() }).optional(),
};
