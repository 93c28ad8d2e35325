// The `lint:` section of the repository config: `lint: { rules: { ban-drop-column: warning } }`.
// A typo must not silently leave a rule at its default, so unknown ids and severities are problems
// that name the key, with the closest valid spelling.
import { unknownKeyMessage } from "../../config/yaml-errors.js";
import { closest, resolveRuleId, unknownRuleMessage, type RuleSeverity } from "./catalog.js";

const SEVERITIES: ReadonlyArray<RuleSeverity> = ["error", "warning", "off"];

/** Rules whose severity is not a matter of taste: PostgreSQL would refuse the file. */
const FIXED_SEVERITY = new Set(["syntax-error"]);

export interface LintConfigProblem {
  key: string;
  message: string;
}

export function validateLintConfig(raw: unknown): { rules: Record<string, RuleSeverity>; problems: LintConfigProblem[] } {
  const rules: Record<string, RuleSeverity> = {};
  const problems: LintConfigProblem[] = [];
  if (raw === undefined || raw === null) return { rules, problems };
  if (!isPlainObject(raw)) return { rules, problems: [{ key: "lint", message: "lint must be a mapping, e.g. lint: { rules: { ban-drop-column: warning } }" }] };

  for (const key of Object.keys(raw).filter((k) => k !== "rules")) {
    problems.push({ key: `lint.${key}`, message: unknownKeyMessage(key, ["rules"]) });
  }
  if (raw.rules === undefined || raw.rules === null) return { rules, problems };
  if (!isPlainObject(raw.rules))
    return { rules, problems: [...problems, { key: "lint.rules", message: "lint.rules must map rule ids to error, warning or off" }] };

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
  return { rules, problems };
}

function isSeverity(value: unknown): value is RuleSeverity {
  return typeof value === "string" && (SEVERITIES as string[]).includes(value);
}

function badSeverityMessage(value: unknown): string {
  const shown = typeof value === "string" ? `"${value}"` : (JSON.stringify(value) ?? String(value));
  const guess = typeof value === "string" ? closest(value.toLowerCase(), SEVERITIES, 3) : undefined;
  return `severity must be error, warning or off (got ${shown})${guess ? ` (did you mean ${guess}?)` : ""}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
