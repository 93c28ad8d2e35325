// Alert rules: the defaults every repository gets, custom ones from its config, the values they are
// judged on (read from the store), and the state machine inactive → pending → firing → resolved with
// Prometheus `for` semantics: a condition must hold for `for_minutes` before it fires.
//
// The state machine is pure; `runAlertCycle` loads the previous states, steps them and persists the
// result and its history in one transaction. Notifying (Slack, incident issues) is the caller's job:
// it gets the transitions, and a maintenance window silences them without stopping evaluation.
import { z } from "zod";
import type pg from "pg";
import { backupAgeHours, errorCounts, latencyPercentile, migrationFailures, uptimeByWindow, type Queryable } from "./queries.js";

/**
 * What a rule can measure. `check` metrics have one value per health check, `repo` ones one per
 * repository, `environment` ones one per environment with scheduled backups (AlertScope).
 */
export const ALERT_METRICS = {
  uptime_24h_percent: { scope: "check", help: "share of answered checks over the last 24 hours, 0–100" },
  uptime_7d_percent: { scope: "check", help: "share of answered checks over the last 7 days, 0–100" },
  errors_1h: { scope: "check", help: "failed checks in the last hour" },
  error_rate_1h_percent: { scope: "check", help: "failed checks in the last hour, as a share of all, 0–100" },
  p95_response_seconds: { scope: "check", help: "95th percentile response time of answered checks in the last hour" },
  migration_failures_1h: { scope: "repo", help: "failed migrate runs that finished in the last hour" },
  backup_age_hours: { scope: "environment", help: "hours since the environment's newest good backup (never one: since its first attempt)" },
} as const;

export type AlertMetric = keyof typeof ALERT_METRICS;

const CONDITIONS = {
  ">": (v: number, t: number) => v > t,
  ">=": (v: number, t: number) => v >= t,
  "<": (v: number, t: number) => v < t,
  "<=": (v: number, t: number) => v <= t,
  "==": (v: number, t: number) => v === t,
  "!=": (v: number, t: number) => v !== t,
} as const;
type Condition = keyof typeof CONDITIONS;

/** Words people write for the same comparisons. */
const CONDITION_ALIASES: Record<string, Condition> = {
  gt: ">",
  above: ">",
  greater_than: ">",
  gte: ">=",
  ge: ">=",
  lt: "<",
  below: "<",
  less_than: "<",
  lte: "<=",
  le: "<=",
  eq: "==",
  "=": "==",
  ne: "!=",
};

export const alertRuleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "letters, digits, _ . : - (at most 64)"),
    metric: z.enum(Object.keys(ALERT_METRICS) as [AlertMetric, ...AlertMetric[]]),
    condition: z.preprocess(
      (value) => (typeof value === "string" ? (CONDITION_ALIASES[value.trim().toLowerCase()] ?? value.trim()) : value),
      z.enum(Object.keys(CONDITIONS) as [Condition, ...Condition[]]),
    ),
    threshold: z.number().finite(),
    for_minutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(0),
    severity: z.enum(["info", "warning", "critical"]).default("warning"),
  })
  .strict();

export type AlertRule = z.output<typeof alertRuleSchema>;
export type AlertSeverity = AlertRule["severity"];

export const alertRulesSchema = z.array(alertRuleSchema).superRefine((rules, ctx) => {
  const seen = new Set<string>();
  rules.forEach((rule, index) => {
    if (seen.has(rule.name)) ctx.addIssue({ code: "custom", path: [index, "name"], message: `duplicate alert rule name "${rule.name}"` });
    seen.add(rule.name);
  });
});

export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  { name: "uptime-24h-warning", metric: "uptime_24h_percent", condition: "<", threshold: 95, for_minutes: 0, severity: "warning" },
  { name: "uptime-24h-critical", metric: "uptime_24h_percent", condition: "<", threshold: 90, for_minutes: 0, severity: "critical" },
  { name: "errors-1h", metric: "errors_1h", condition: ">", threshold: 10, for_minutes: 0, severity: "warning" },
  { name: "migration-failed", metric: "migration_failures_1h", condition: ">", threshold: 0, for_minutes: 0, severity: "warning" },
  { name: "p95-response-warning", metric: "p95_response_seconds", condition: ">", threshold: 5, for_minutes: 0, severity: "warning" },
  { name: "p95-response-critical", metric: "p95_response_seconds", condition: ">", threshold: 10, for_minutes: 0, severity: "critical" },
];

/** The default of a repository with scheduled backups (server config `backups.schedule`): a nightly one a few hours late. */
export const BACKUP_AGE_RULE: AlertRule = {
  name: "backup-age",
  metric: "backup_age_hours",
  condition: ">",
  threshold: 26,
  for_minutes: 0,
  severity: "warning",
};

/**
 * The defaults plus a repository's custom rules; a custom rule named like a default replaces it.
 * `backup-age` is a default only where backups are scheduled: elsewhere no one promised fresh ones.
 */
export function effectiveRules(custom: readonly AlertRule[] = [], scope: AlertScope = {}): AlertRule[] {
  const names = new Set(custom.map((r) => r.name));
  const defaults = scope.backupEnvironments?.length ? [...DEFAULT_ALERT_RULES, BACKUP_AGE_RULE] : DEFAULT_ALERT_RULES;
  return [...defaults.filter((r) => !names.has(r.name)), ...custom];
}

/** What the rules of one repository are measured over, besides its checks. */
export interface AlertScope {
  /** The environments whose backups are scheduled: the subjects of `backup_age_hours`. */
  backupEnvironments?: readonly string[];
}

export function breaches(rule: AlertRule, value: number | null): boolean {
  return value !== null && CONDITIONS[rule.condition](value, rule.threshold);
}

// ---- evaluation --------------------------------------------------------------------------------

export interface RuleValue {
  rule: AlertRule;
  /** The check's name for a check metric, the environment's for an environment one; '' for a repository-wide one. */
  subject: string;
  /** null when there is no data (no samples in the window): never a breach, as in Prometheus. */
  value: number | null;
  breached: boolean;
}

type MetricValues = Map<string, number | null>;

/** Each rule's current value, per check (for check metrics) or for the repository. */
export async function evaluateRules(db: Queryable, repo: string, rules: readonly AlertRule[], now: Date, scope: AlertScope = {}): Promise<RuleValue[]> {
  const needed = new Set(rules.map((r) => r.metric));
  const values = new Map<AlertMetric, MetricValues>();
  for (const metric of needed) values.set(metric, await readMetric(db, repo, metric, now, scope));
  return rules.flatMap((rule) => [...values.get(rule.metric)!].map(([subject, value]) => ({ rule, subject, value, breached: breaches(rule, value) })));
}

async function readMetric(db: Queryable, repo: string, metric: AlertMetric, now: Date, scope: AlertScope): Promise<MetricValues> {
  switch (metric) {
    case "uptime_24h_percent":
    case "uptime_7d_percent": {
      const window = metric === "uptime_24h_percent" ? "24h" : "7d";
      const rows = (await uptimeByWindow(db, now, repo)).filter((u) => u.window === window);
      return new Map(rows.map((u) => [u.check, u.ratio * 100]));
    }
    case "errors_1h":
      return new Map((await errorCounts(db, now, 60, repo)).map((c) => [c.check, c.errors]));
    case "error_rate_1h_percent":
      return new Map((await errorCounts(db, now, 60, repo)).map((c) => [c.check, (100 * c.errors) / c.samples]));
    case "p95_response_seconds":
      return new Map((await latencyPercentile(db, now, 60, repo)).map((p) => [p.check, p.valueMs / 1000]));
    case "migration_failures_1h":
      return new Map([["", await migrationFailures(db, repo, now, 60)]]);
    case "backup_age_hours":
      return backupAgeHours(db, repo, scope.backupEnvironments ?? [], now);
  }
}

// ---- the state machine -------------------------------------------------------------------------

export type AlertStateName = "inactive" | "pending" | "firing" | "resolved";

export interface AlertState {
  state: AlertStateName;
  value: number | null;
  /** When the condition began to hold, without interruption (Prometheus' activeAt). */
  activeSince: Date | null;
  firedAt: Date | null;
  resolvedAt: Date | null;
}

export const INACTIVE: AlertState = { state: "inactive", value: null, activeSince: null, firedAt: null, resolvedAt: null };

/**
 * One evaluation. A breach starts `pending` (or `firing` at once when `for` is 0); pending becomes
 * firing once the condition has held `forMinutes`, and drops back to inactive (silently: it never
 * fired) if it stops holding before. A firing alert that stops holding is `resolved`, and stays so
 * until the next breach, which starts over from pending.
 */
export function stepAlert(previous: AlertState, breached: boolean, value: number | null, now: Date, forMinutes: number): AlertState {
  if (!breached) {
    if (previous.state === "firing") return { ...previous, state: "resolved", value, resolvedAt: now };
    if (previous.state === "pending") return { ...INACTIVE, value };
    return { ...previous, value };
  }
  const ongoing = previous.state === "pending" || previous.state === "firing";
  const activeSince = ongoing && previous.activeSince ? previous.activeSince : now;
  if (previous.state === "firing") return { ...previous, value };
  const heldMinutes = (now.getTime() - activeSince.getTime()) / 60_000;
  if (heldMinutes >= forMinutes) return { state: "firing", value, activeSince, firedAt: now, resolvedAt: null };
  return { state: "pending", value, activeSince, firedAt: null, resolvedAt: null };
}

export interface AlertTransition {
  repo: string;
  ruleName: string;
  severity: AlertSeverity;
  /** null when the rule is no longer configured (its alert resolves). */
  rule: AlertRule | null;
  subject: string;
  from: AlertStateName;
  to: AlertStateName;
  value: number | null;
  at: Date;
  /** The state it stepped from, for restoreAlertState. */
  previous: AlertState;
}

/** Whether a transition is one people are told about (Slack; an incident for a critical rule). */
export function isNotifiable(transition: Pick<AlertTransition, "to">): boolean {
  return transition.to === "firing" || transition.to === "resolved";
}

// ---- one cycle against the store ---------------------------------------------------------------

export interface AlertCycle {
  values: RuleValue[];
  transitions: AlertTransition[];
}

/**
 * Evaluates a repository's rules, steps every alert from its persisted state, and records states and
 * transitions. An alert whose rule or check has disappeared is stepped as "not breached", so a firing
 * one resolves instead of firing forever.
 */
export async function runAlertCycle(
  pool: pg.Pool,
  repo: string,
  rules: readonly AlertRule[],
  now: Date = new Date(),
  scope: AlertScope = {},
): Promise<AlertCycle> {
  const values = await evaluateRules(pool, repo, rules, now, scope);
  const client = await pool.connect();
  try {
    await client.query("begin");
    // Two replicas evaluating one repository at once would record each transition twice.
    await client.query("select pg_advisory_xact_lock(hashtext('autopilot.alerts'), hashtext($1))", [repo]);
    const previous = await loadAlertStates(client, repo);
    const transitions: AlertTransition[] = [];
    for (const step of stepsFor(values, previous)) {
      const before = previous.get(stateKey(step.ruleName, step.subject))?.state ?? INACTIVE;
      const after = stepAlert(before, step.breached, step.value, now, step.rule?.for_minutes ?? 0);
      await saveAlertState(client, repo, step, after, now);
      if (after.state !== before.state) {
        const { ruleName, severity, rule, subject, value } = step;
        const transition: AlertTransition = { repo, ruleName, severity, rule, subject, from: before.state, to: after.state, value, at: now, previous: before };
        await recordTransition(client, transition);
        transitions.push(transition);
      }
    }
    await client.query("commit");
    return { values, transitions };
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

interface Step {
  ruleName: string;
  subject: string;
  /** null for an alert whose rule is gone. */
  rule: AlertRule | null;
  severity: AlertSeverity;
  breached: boolean;
  value: number | null;
}

function stepsFor(values: RuleValue[], previous: Map<string, StoredAlertState>): Step[] {
  const steps: Step[] = values.map((v) => ({
    ruleName: v.rule.name,
    subject: v.subject,
    rule: v.rule,
    severity: v.rule.severity,
    breached: v.breached,
    value: v.value,
  }));
  const evaluated = new Set(steps.map((s) => stateKey(s.ruleName, s.subject)));
  for (const [key, stored] of previous) {
    if (evaluated.has(key) || stored.state.state === "inactive" || stored.state.state === "resolved") continue;
    steps.push({ ruleName: stored.rule, subject: stored.subject, rule: null, severity: stored.severity, breached: false, value: null });
  }
  return steps;
}

// ---- persistence -------------------------------------------------------------------------------

export interface StoredAlertState {
  repo: string;
  rule: string;
  subject: string;
  severity: AlertSeverity;
  state: AlertState;
  evaluatedAt: Date;
}

function stateKey(rule: string, subject: string): string {
  return `${rule}\u0000${subject}`;
}

export async function loadAlertStates(db: Queryable, repo: string): Promise<Map<string, StoredAlertState>> {
  const { rows } = await db.query("select * from alert_state where repo = $1", [repo]);
  return new Map(rows.map((r) => [stateKey(r.rule, r.subject), toStoredState(r)]));
}

async function saveAlertState(db: Queryable, repo: string, step: Step, state: AlertState, now: Date): Promise<void> {
  await db.query(
    `insert into alert_state (repo, rule, subject, severity, state, value, active_since, fired_at, resolved_at, evaluated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     on conflict (repo, rule, subject) do update
        set severity = excluded.severity, state = excluded.state, value = excluded.value, active_since = excluded.active_since,
            fired_at = excluded.fired_at, resolved_at = excluded.resolved_at, evaluated_at = excluded.evaluated_at`,
    [repo, step.ruleName, step.subject, step.severity, state.state, finiteOrNull(state.value), state.activeSince, state.firedAt, state.resolvedAt, now],
  );
}

async function recordTransition(db: Queryable, t: AlertTransition): Promise<void> {
  await db.query(
    `insert into alert_history (repo, rule, subject, severity, from_state, to_state, value, threshold, at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [t.repo, t.ruleName, t.subject, t.severity, t.from, t.to, finiteOrNull(t.value), t.rule?.threshold ?? null, t.at],
  );
}

/**
 * Puts an alert back in the state `transition` stepped it from, so that the next cycle makes the
 * same transition again: for a transition whose notification did not get through. Only while no
 * later cycle has stepped the alert (its evaluation time is still the transition's).
 */
export async function restoreAlertState(db: Queryable, transition: AlertTransition): Promise<void> {
  const { previous: p } = transition;
  await db.query(
    `update alert_state set state = $4, value = $5, active_since = $6, fired_at = $7, resolved_at = $8
      where repo = $1 and rule = $2 and subject = $3 and evaluated_at = $9`,
    [transition.repo, transition.ruleName, transition.subject, p.state, finiteOrNull(p.value), p.activeSince, p.firedAt, p.resolvedAt, transition.at],
  );
}

function toStoredState(r: any): StoredAlertState {
  return {
    repo: r.repo,
    rule: r.rule,
    subject: r.subject,
    severity: r.severity,
    evaluatedAt: r.evaluated_at,
    state: { state: r.state, value: r.value, activeSince: r.active_since, firedAt: r.fired_at, resolvedAt: r.resolved_at },
  };
}

function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}
