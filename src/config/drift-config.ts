// The repository's `drift:` section: when the scheduled drift check runs, and whether a push to an
// environment whose schema drifted from its migrations is held (`block`) or only warned about.
import cron from "node-cron";
import { z } from "zod";

/** Daily, at 06:00 server time: drift accrues over days, and a check builds a whole scratch database. */
export const DEFAULT_DRIFT_SCHEDULE = "0 6 * * *";

export const driftSchema = z.strictObject({
  schedule: z
    .string()
    .refine((expression) => cron.validate(expression), "is not a valid cron expression (node-cron syntax; a seconds field is allowed)")
    .default(DEFAULT_DRIFT_SCHEDULE),
  on_push: z.enum(["warn", "block"]).default("warn"),
});

export type DriftConfig = z.infer<typeof driftSchema>;
