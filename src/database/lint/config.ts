// The `lint:` section of the repository config: `lint: { rules: { ban-drop-column: warning }, small_table_rows: 10000 }`.
// A typo must not silently leave a rule at its default, so unknown ids and severities are problems
// that name the key, with the closest valid spelling.
import { unknownKeyMessage } from "../../config/unknown-key.js";
import { closest } from "../../did-you-mean.js";
import { resolveRuleId, unknownRuleMessage, type RuleSeverity } from "./catalog.js";
import { SUPPORTED_MAJORS } from "./grammars.js";
import type { LintOptions } from "./index.js";

const SEVERITIES: ReadonlyArray<RuleSeverity> = ["error", "warning", "notice", "off"];

/** Below this many estimated rows, a lock is over before anyone waits on it (see small-tables.ts). */
export const DEFAULT_SMALL_TABLE_ROWS = 10_000;

/** The target's PostgreSQL major when the plan has no database to ask (see syntax-newer-than-target). */
export const DEFAULT_POSTGRES_VERSION = 15;

const KNOWN_KEYS = ["rules", "small_table_rows", "postgres_version"];

/** Rules whose severity is not a matter of taste: PostgreSQL would refuse the file. */
const FIXED_SEVERITY = new Set(["syntax-error"]);

export interface LintConfigProblem {
  key: string;
  message: string;
}

/** The section as the repository config holds it, defaults filled in. */
export interface LintSettings {
  /** Severities by canonical rule id; only the valid entries. */
  rules: Record<string, RuleSeverity>;
  small_table_rows: number;
  postgres_version: number;
}

/** The valid settings as given (`small_table_rows` and `postgres_version` only when the file sets them), and the problems. */
export interface ValidatedLintConfig {
  rules: Record<string, RuleSeverity>;
  small_table_rows?: number;
  postgres_version?: number;
  problems: LintConfigProblem[];
}

export function lintSettingsOf(validated: ValidatedLintConfig): LintSettings {
  return {
    rules: validated.rules,
    small_table_rows: validated.small_table_rows ?? DEFAULT_SMALL_TABLE_ROWS,
    postgres_version: validated.postgres_version ?? DEFAULT_POSTGRES_VERSION,
  };
}

/**
 * What a run lints with, the same on GitHub and in a terminal: the section's severities, and the
 * target's real major when the plan could ask the database, else the section's `postgres_version`.
 */
export function lintOptionsOf(settings: LintSettings, targetMajor?: number): LintOptions {
  return { rules: settings.rules, postgresVersion: targetMajor ?? settings.postgres_version };
}

export function validateLintConfig(raw: unknown): ValidatedLintConfig {
  const rules: Record<string, RuleSeverity> = {};
  const problems: LintConfigProblem[] = [];
  if (raw === undefined || raw === null) return { rules, problems };
  if (!isPlainObject(raw)) return { rules, problems: [{ key: "lint", message: "lint must be a mapping, e.g. lint: { rules: { ban-drop-column: warning } }" }] };

  for (const key of Object.keys(raw).filter((k) => !KNOWN_KEYS.includes(k))) {
    problems.push({ key: `lint.${key}`, message: unknownKeyMessage(key, KNOWN_KEYS) });
  }
  const smallTableRows = validateSmallTableRows(raw.small_table_rows, problems);
  const postgresVersion = validatePostgresVersion(raw.postgres_version, problems);
  const settings = {
    ...(smallTableRows === undefined ? {} : { small_table_rows: smallTableRows }),
    ...(postgresVersion === undefined ? {} : { postgres_version: postgresVersion }),
  };
  if (raw.rules === undefined || raw.rules === null) return { rules, ...settings, problems };
  if (!isPlainObject(raw.rules))
    return { rules, ...settings, problems: [...problems, { key: "lint.rules", message: "lint.rules must map rule ids to error, warning, notice or off" }] };

  for (const [name, given] of Object.entries(raw.rules)) {
    // YAML 1.1 readers turn a bare `off` into false.
    const value = given === false ? "off" : given;
    const key = `lint.rules.${name}`;
    const id = resolveRuleId(name);
    if (!id) problems.push({ key, message: unknownRuleMessage(name) });
    else if (!isSeverity(value)) problems.push({ key, message: badSeverityMessage(value) });
    else if (FIXED_SEVERITY.has(id) && value !== "error") problems.push({ key, message: `${id} is always an error: PostgreSQL would refuse the file` });
    else rules[id] = value;
  }
  return { rules, ...settings, problems };
}

function validateSmallTableRows(value: unknown, problems: LintConfigProblem[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  const shown = typeof value === "string" ? `"${value}"` : (JSON.stringify(value) ?? String(value));
  problems.push({
    key: "lint.small_table_rows",
    message: `small_table_rows must be a whole number of rows, 0 or more (0 turns the downgrade off; got ${shown})`,
  });
  return undefined;
}

function validatePostgresVersion(value: unknown, problems: LintConfigProblem[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && SUPPORTED_MAJORS.includes(value)) return value;
  const shown = typeof value === "string" ? `"${value}"` : (JSON.stringify(value) ?? String(value));
  problems.push({
    key: "lint.postgres_version",
    message: `postgres_version must be a PostgreSQL major version the lint has the grammar of: ${SUPPORTED_MAJORS.join(", ")} (got ${shown})`,
  });
  return undefined;
}

function isSeverity(value: unknown): value is RuleSeverity {
  return typeof value === "string" && (SEVERITIES as string[]).includes(value);
}

function badSeverityMessage(value: unknown): string {
  const shown = typeof value === "string" ? `"${value}"` : (JSON.stringify(value) ?? String(value));
  const guess = typeof value === "string" ? closest(value.toLowerCase(), SEVERITIES, 3) : undefined;
  return `severity must be error, warning, notice or off (got ${shown})${guess ? ` (did you mean ${guess}?)` : ""}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
