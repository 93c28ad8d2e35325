// Compares the target's schema with the one its applied migrations build, object by object, and
// says for each difference what it is and which SQL would bring the target back in line with its
// migrations. The SQL is a suggestion for a person to review (it may drop data), never run by us.
import type { ObjectKind, SchemaObject, SchemaSnapshot } from "./schema-objects.js";

export type DriftChange = "only-in-target" | "missing-from-target" | "changed";

export interface AttributeChange {
  attribute: string;
  target: string;
  migrations: string;
}

export interface DriftDifference {
  kind: ObjectKind;
  name: string;
  change: DriftChange;
  /** For a changed object: what differs, both ways. */
  changes: AttributeChange[];
  /** SQL that makes the target match its migrations. */
  suggestion: string;
}

/** Objects are listed in this order, the order in which their SQL suggestions can run. */
const KIND_ORDER: ObjectKind[] = [
  "schema",
  "extension",
  "enum",
  "sequence",
  "table",
  "partitioned table",
  "partition",
  "column",
  "constraint",
  "index",
  "view",
  "materialized view",
  "function",
  "procedure",
  "trigger",
  "policy",
  "grant",
];

/** `target`: the live database; `expected`: the scratch database built from its applied files. */
export function compareSchemas(target: SchemaSnapshot, expected: SchemaSnapshot): DriftDifference[] {
  const differences: DriftDifference[] = [];
  for (const [key, actual] of target) {
    const wanted = expected.get(key);
    if (!wanted) {
      // Dropping the table drops its columns, indexes and the rest: one suggestion says it all.
      if (!(actual.parent && !expected.has(actual.parent))) differences.push(onlyInTarget(actual));
    } else {
      const changes = attributeChanges(actual, wanted);
      if (changes.length) differences.push({ kind: wanted.kind, name: wanted.name, change: "changed", changes, suggestion: alter(actual, wanted, changes) });
    }
  }
  for (const [key, wanted] of expected) {
    if (target.has(key)) continue;
    // A missing table's CREATE TABLE carries its columns; its indexes and constraints are listed on their own.
    if (wanted.kind === "column" && wanted.parent && !target.has(wanted.parent)) continue;
    differences.push({ kind: wanted.kind, name: wanted.name, change: "missing-from-target", changes: [], suggestion: wanted.create });
  }
  return differences.sort(byKindThenName);
}

function onlyInTarget(actual: SchemaObject): DriftDifference {
  return { kind: actual.kind, name: actual.name, change: "only-in-target", changes: [], suggestion: actual.drop };
}

function attributeChanges(actual: SchemaObject, wanted: SchemaObject): AttributeChange[] {
  const names = new Set([...Object.keys(actual.attributes), ...Object.keys(wanted.attributes)]);
  const changes: AttributeChange[] = [];
  for (const attribute of names) {
    const target = actual.attributes[attribute] ?? "";
    const migrations = wanted.attributes[attribute] ?? "";
    if (target !== migrations) changes.push({ attribute, target, migrations });
  }
  // A partition's table and its kind change together; say it once.
  if (actual.kind !== wanted.kind) changes.unshift({ attribute: "kind", target: actual.kind, migrations: wanted.kind });
  return changes;
}

/** The smallest SQL that fixes the change where one exists; otherwise drop and create again. */
function alter(actual: SchemaObject, wanted: SchemaObject, changes: AttributeChange[]): string {
  if (wanted.kind === "column") return alterColumn(wanted, changes) ?? `${actual.drop}\n${wanted.create}`;
  if (wanted.kind === "view" || wanted.kind === "function" || wanted.kind === "procedure") {
    if (actual.kind === wanted.kind && !(wanted.kind === "view" && changes.some((c) => c.attribute === "kind"))) return wanted.create;
  }
  if (wanted.kind === "enum") return alterEnum(wanted, changes[0]) ?? `${actual.drop}\n${wanted.create}`;
  if (wanted.kind === "grant") return `${actual.drop}\n${wanted.create}`;
  if (isTable(wanted) && changes.every((c) => c.attribute === "row level security")) {
    const table = wanted.key.slice("table:".length);
    return changes[0].migrations.startsWith("enabled")
      ? `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;${changes[0].migrations.includes("forced") ? `\nALTER TABLE ${table} FORCE ROW LEVEL SECURITY;` : ""}`
      : `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY;`;
  }
  if (wanted.kind === "trigger" && changes.every((c) => c.attribute === "enabled")) {
    const [, table, trigger] = /^trigger:(.*)\.([^.]+)$/.exec(wanted.key) ?? [];
    return `ALTER TABLE ${table} ${changes[0].migrations === "enabled" ? "ENABLE" : "DISABLE"} TRIGGER ${trigger};`;
  }
  return `${actual.drop}\n${wanted.create}`;
}

function isTable(object: SchemaObject): boolean {
  return object.kind === "table" || object.kind === "partitioned table" || object.kind === "partition";
}

/** Type, nullability and default each have their own ALTER COLUMN; identity and generation do not. */
function alterColumn(wanted: SchemaObject, changes: AttributeChange[]): string | undefined {
  if (changes.some((c) => c.attribute === "identity" || c.attribute === "generated")) return undefined;
  const [, table, column] = /^column:(.*)\.([^.]+)$/.exec(wanted.key) ?? [];
  const statements = changes.map((c) => {
    if (c.attribute === "type") return `ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${c.migrations} USING ${column}::${c.migrations};`;
    if (c.attribute === "nullable") return `ALTER TABLE ${table} ALTER COLUMN ${column} ${c.migrations === "NOT NULL" ? "SET" : "DROP"} NOT NULL;`;
    return c.migrations
      ? `ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT ${c.migrations};`
      : `ALTER TABLE ${table} ALTER COLUMN ${column} DROP DEFAULT;`;
  });
  return statements.join("\n");
}

/** Values the migrations add at the end can be added in place; anything else needs the type rebuilt. */
function alterEnum(wanted: SchemaObject, change: AttributeChange): string | undefined {
  const target = splitLabels(change.target);
  const migrations = splitLabels(change.migrations);
  const prefix = target.every((label, i) => migrations[i] === label);
  if (!prefix) return undefined;
  const type = wanted.key.slice("enum:".length);
  return migrations
    .slice(target.length)
    .map((label) => `ALTER TYPE ${type} ADD VALUE ${label};`)
    .join("\n");
}

/** Labels as quoted literals, split on the separators between them (a label may hold `, `). */
function splitLabels(values: string): string[] {
  return values ? (values.match(/'(?:[^']|'')*'/g) ?? []) : [];
}

function byKindThenName(a: DriftDifference, b: DriftDifference): number {
  return KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.name.localeCompare(b.name) || a.change.localeCompare(b.change);
}
