// The `verify` section of `.github/autopilot.yml`: after a migration (or a rollback) succeeds,
// Autopilot watches the named health checks for a few minutes and compares them with the hour
// before the change. Its mistakes are errors: a typo must not silently turn an automatic rollback off.
import { z } from "zod";
import type { HealthConfig } from "./health-config.js";
import { issueProblems, problemAt, type ConfigProblem, type YamlSource } from "./yaml-errors.js";

export const DEFAULT_VERIFY_MINUTES = 5;
/** Verification holds its repository's migrate queue slot: an hour is the most it may ask for. */
export const MAX_VERIFY_MINUTES = 60;

const verifySchema = z.strictObject({
  minutes: z.number().min(0).max(MAX_VERIFY_MINUTES, `must be at most ${MAX_VERIFY_MINUTES}`).default(DEFAULT_VERIFY_MINUTES),
  checks: z.array(z.string().min(1)).optional(),
  on_regression: z.enum(["comment", "rollback"]).default("comment"),
});

/** What a run verifies after a change; undefined when it verifies nothing. */
export interface VerifySettings {
  minutes: number;
  /** Names of `health.checks` entries. */
  checks: string[];
  onRegression: "comment" | "rollback";
}

/**
 * The `verify` value of a parsed repo config, read against its `health` section: by default every
 * health check is verified for 5 minutes when there is a health section; `minutes: 0` turns it off.
 */
export function readVerifySection(
  source: YamlSource,
  raw: unknown,
  health: HealthConfig | undefined,
  healthWritten: boolean,
): { verify?: VerifySettings; problems: ConfigProblem[] } {
  const parsed = verifySchema.safeParse(raw ?? {});
  if (!parsed.success) return { problems: issueProblems(source, parsed.error.issues, verifySchema, ["verify"]) };
  const { minutes, checks, on_regression } = parsed.data;
  const known = health?.checks.map((c) => c.name) ?? [];
  if (raw !== undefined && minutes > 0 && !healthWritten) {
    return { problems: [problemAt(source, ["verify"], "needs a health section: verification probes the checks it defines")] };
  }
  // An invalid health section is reported on its own and pauses verification with the monitor.
  if (!health) return { problems: [] };
  const unknown = (checks ?? []).flatMap((name, i) =>
    known.includes(name)
      ? []
      : [problemAt(source, ["verify", "checks", i], `"${name}" is not a check of the health section (known: ${known.join(", ") || "none"})`)],
  );
  if (unknown.length) return { problems: unknown };
  const named = checks ?? known;
  if (minutes === 0 || named.length === 0) return { problems: [] };
  return { verify: { minutes, checks: named, onRegression: on_regression }, problems: [] };
}
