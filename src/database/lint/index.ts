// Migration lint with PostgreSQL's own parser (libpg-query, WebAssembly). Plain data in, plain data
// out: the plan runbook, the CLI and the tests call the same function, and none knows of GitHub.
import { parseDirectives, type IgnoreDirective } from "../directives.js";
import { splitStatements } from "../sql-split.js";
import { as, tableOf } from "./ast.js";
import { resolveRuleId, ruleInfo, type FindingSeverity, type RuleSeverity } from "./catalog.js";
import { checkedApart, loadGrammarsFor, newerSyntax, parseForTarget, parseStatements, type NewerSyntax } from "./grammars.js";
import { KnownSchema, type NotNullCheckOnTarget } from "./known-schema.js";
import { skipTrivia } from "./lexer.js";
import { SourceText } from "./locations.js";
import { statementsOf, type ParseStop, type ParsedText, type RawStatement } from "./parse-tree.js";
import { RULES } from "./rules/index.js";
import { closesTransaction, opensTransaction, transactionNesting } from "./rules/transactions.js";
import { Statement, type FileFacts, type Hit, type Rule } from "./statement.js";

export { LINT_RULES, type FindingSeverity, type RuleSeverity } from "./catalog.js";
export { SUPPORTED_MAJORS } from "./grammars.js";
export { DEFAULT_POSTGRES_VERSION, DEFAULT_SMALL_TABLE_ROWS, lintOptionsOf, lintSettingsOf, validateLintConfig, type LintSettings } from "./config.js";

export interface LintFinding {
  rule: string;
  severity: FindingSeverity;
  path: string;
  /** 1-based, of the offending statement's first token (or of the offending token). */
  line: number;
  column?: number;
  /** What this statement does, naming the object: "drops column orders.total". */
  message: string;
  why: string;
  instead: string;
  /** The affected table, schema-qualified when the SQL is. */
  table?: string;
  /** The lock the statement takes on `table`. */
  lock?: string;
  rewrites?: boolean;
  /** Why the severity is below the rule's: "orders has ~120 rows: notice (under lint.small_table_rows 10,000)". */
  downgraded?: string;
  /** Opted out with `-- autopilot:ignore`: shown with its reason, not counted. */
  ignored?: { reason: string; line: number };
}

export interface LintInput {
  path: string;
  sql: string;
  noTransaction: boolean;
}

export interface LintOptions {
  rules?: Record<string, RuleSeverity>;
  /** The target's PostgreSQL major: syntax its grammar refuses is a finding. Omitted: not checked. */
  postgresVersion?: number;
  /** The target's validated CHECK (col IS NOT NULL) constraints (target-checks.ts): SET NOT NULL skips its scan there. */
  notNullChecks?: NotNullCheckOnTarget[];
}

/**
 * Loads the WebAssembly parser: the grammars of the target's major and up (grammars.ts); call (and
 * await) before lintMigration, with the postgresVersion it will be given.
 */
export async function ensureLintReady(options: { postgresVersion?: number } = {}): Promise<void> {
  await loadGrammarsFor(options.postgresVersion);
}

/**
 * Findings no config or `-- autopilot:ignore` can silence: PostgreSQL would refuse a syntax error
 * whatever the config says, and the migrator refuses a transactional file that ends its own
 * transaction (see findTransactionControl), so the plan must not call either fine. An unpaired
 * BEGIN or COMMIT in a no-transaction file only draws a warning from PostgreSQL: the team's call.
 */
function neverOptional(found: Located): boolean {
  if (found.rule === transactionNesting.id) return !found.statement?.file.noTransaction;
  return found.rule === "syntax-error";
}

/** The words a transaction-control statement starts with. */
const TRANSACTION_START = /^(begin|start|commit|end|rollback|abort|prepare)\b/i;

/**
 * The BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT and PREPARE TRANSACTION statements of a
 * file the migrator runs in one transaction, where each would split it (savepoints are fine): the
 * transaction-nesting rule's findings, by the same parser, never silenced. Empty for a file that
 * does not parse: running it reports PostgreSQL's own syntax error. Loads the parser when needed.
 */
export async function findTransactionControl(input: { path: string; sql: string }): Promise<LintFinding[]> {
  // The statement splitter (no parser) rules out nearly every file, so the migrator loads the parser
  // only for files that may hold such a statement.
  if (!splitStatements(input.sql).some((statement) => TRANSACTION_START.test(statement.text))) return [];
  await ensureLintReady();
  const source = new SourceText(wellFormed(input.sql));
  const parsed = parseStatements(source.text);
  if ("stop" in parsed) return [];
  return toStatements(parsed.statements, source, false, new KnownSchema()).flatMap((statement) =>
    transactionNesting.check!(statement).flatMap(
      (hit) => toFinding({ rule: transactionNesting.id, hit, statement, index: statement.start }, input.path, source, new Map()) ?? [],
    ),
  );
}

/** A rule's hit at a place in the file, before severity and ignores are applied. */
interface Located {
  rule: string;
  hit: Hit;
  /** The start of the statement when there is one (an ignore above it applies), else of the problem. */
  index: number;
  statement?: Statement;
}

export function lintMigration(input: LintInput, options: LintOptions = {}): LintFinding[] {
  return lintInRun(input, options, new KnownSchema(options.notNullChecks));
}

/**
 * Lints files that run one after the other, in that order: what an earlier file defines (a column's
 * type, a validated CHECK (col IS NOT NULL)) tells the rules of a later one what PostgreSQL will skip.
 */
export function lintMigrations(inputs: LintInput[], options: LintOptions = {}): LintFinding[] {
  const schema = new KnownSchema(options.notNullChecks);
  return inputs.flatMap((input) => lintInRun(input, options, schema));
}

function lintInRun(input: LintInput, options: LintOptions, schema: KnownSchema): LintFinding[] {
  const version = options.postgresVersion;
  const { parsed, newer } = parseForTarget(lintableText(input.sql), version);
  return startLint(input, options, schema, parsed).finish((text) => (checkedApart(version) ? newerSyntax(text, version!) : newer));
}

/**
 * A file linted but for the check against the target's grammar, which `finish` asks for only when
 * the file parsed: its answer may come from elsewhere (grammar-thread.ts checks on another thread).
 */
export interface PendingLint {
  finish(newerSyntaxOf: (text: string) => NewerSyntax | undefined): LintFinding[];
}

/** The text the lint parses: what the target-grammar check must be given for a file. */
export function lintableText(sql: unknown): string {
  return wellFormed(typeof sql === "string" ? sql : String(sql ?? ""));
}

/**
 * lintMigrations one file at a time, each waiting for `finish`: every call lints the next file of the
 * run (which learns from the ones before), given the parse of its lintableText that parseForTarget
 * gives (here, or on a worker thread: grammar-thread.ts).
 */
export function startLintRun(options: LintOptions = {}): (input: LintInput, parsed: ParsedText) => PendingLint {
  const schema = new KnownSchema(options.notNullChecks);
  return (input, parsed) => startLint(input, options, schema, parsed);
}

function startLint(input: LintInput, options: LintOptions, schema: KnownSchema, parsed: ParsedText): PendingLint {
  const source = new SourceText(lintableText(input.sql));
  const { located, statements } = analyze(source, Boolean(input.noTransaction), schema, parsed);
  const severities = severityOverrides(options.rules);
  const ignores = new IgnoreIndex(source, input.path, statements?.[0]?.start);
  const findings = located.flatMap((found) => toFinding(found, input.path, source, severities, ignores) ?? []);
  // Only plain findings and the statements' starts wait for `finish`: keeping a directory's parse trees
  // until the grammar check answered cost a quarter more CPU over 1,000 files (garbage collection).
  const starts = statements?.map((statement) => statement.start);
  return {
    finish(newerSyntaxOf) {
      const tooNew =
        options.postgresVersion === undefined || !starts ? undefined : syntaxNewerThanTarget(source, starts, options.postgresVersion, newerSyntaxOf);
      const tooNewFinding = tooNew && toFinding(tooNew, input.path, source, severities, ignores);
      return (tooNewFinding ? [...findings, tooNewFinding] : findings).sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
    },
  };
}

function analyze(source: SourceText, noTransaction: boolean, schema: KnownSchema, given: ParsedText): { located: Located[]; statements?: Statement[] } {
  const text = source.text;
  const nul = text.indexOf("\0");
  if (nul !== -1)
    return { located: [{ rule: "syntax-error", hit: { message: "the file contains a NUL character (byte 0x00), which PostgreSQL refuses" }, index: nul }] };
  if (text.trim() === "") return { located: [emptyMigration()] };

  const parsed = "stop" in given ? given : { statements: statementsOf(given) };
  if ("stop" in parsed) return { located: [syntaxError(parsed.stop, source)] };
  const raw = parsed.statements;
  if (raw.length === 0) return { located: [emptyMigration()] };
  const located: Located[] = [];
  const statements = toStatements(raw, source, noTransaction, schema, (statement) => checkStatement(statement, located));
  return { located: [...located, ...checkFile(statements)], statements };
}

/** The first place the target's grammar refuses, naming the version that introduced what is there. */
function syntaxNewerThanTarget(
  source: SourceText,
  statementStarts: number[],
  postgresVersion: number,
  newerSyntaxOf: (text: string) => NewerSyntax | undefined,
): Located | undefined {
  const newer = newerSyntaxOf(source.text);
  if (!newer) return undefined;
  const index = source.indexOfCodePoint(newer.position);
  const statementStart = statementStarts.filter((start) => start <= index).pop() ?? statementStarts[0];
  const near = /at or near "([^"]*)"/.exec(newer.message)?.[1];
  // A bare word where the older grammar stops is a keyword it does not know there: shown as one.
  const what = near === undefined ? `this syntax (${newer.message})` : /^\w+$/.test(near) ? near.toUpperCase() : `"${near}"`;
  const message = `${what} needs PostgreSQL ${newer.introducedIn}; the target runs ${postgresVersion}`;
  return { rule: "syntax-newer-than-target", hit: { message, index }, index: statementStart };
}

function emptyMigration(): Located {
  return { rule: "empty-migration", hit: { message: "the file has no SQL statement (only whitespace or comments)" }, index: 0 };
}

function syntaxError(stop: ParseStop, source: SourceText): Located {
  return { rule: "syntax-error", hit: { message: stop.message }, index: source.indexOfCodePoint(stop.position) };
}

/**
 * Statements with their text span and what the run has done before them. `visit` sees each statement
 * before the facts learn from it, so a rule knows what came before and never what comes after.
 */
function toStatements(
  raw: RawStatement[],
  source: SourceText,
  noTransaction: boolean,
  schema: KnownSchema,
  visit?: (statement: Statement) => void,
): Statement[] {
  const facts: FileFacts = {
    text: source.text,
    noTransaction,
    createdTables: new Map(),
    createdIndexes: new Map(),
    schema,
    emptiedTables: new Set(),
    sessionInUtc: false,
  };
  const statements: Statement[] = [];
  let inTransactionBlock = false;
  for (const { type, json, from, to } of raw) {
    // `from` is just past the previous semicolon, so it includes comments and blank lines.
    const statement = new Statement(type, json, skipTrivia(source.text, from), to, facts, inTransactionBlock);
    statements.push(statement);
    visit?.(statement);
    if (opensTransaction(statement)) inTransactionBlock = true;
    if (closesTransaction(statement)) inTransactionBlock = false;
    recordCreations(statement, facts);
    recordRowChanges(statement, facts);
    recordTimeZone(statement, facts);
    schema.record(statement);
  }
  return statements;
}

function recordCreations(statement: Statement, facts: FileFacts): void {
  const relation = statement.as("CreateStmt")?.relation ?? statement.as("CreateTableAsStmt")?.into?.rel;
  if (relation) {
    const table = tableOf(relation);
    const schemas = facts.createdTables.get(table.name) ?? new Set();
    facts.createdTables.set(table.name, schemas.add(table.schema));
  }
  const index = statement.as("IndexStmt");
  if (index?.idxname) facts.createdIndexes.set(index.idxname, tableOf(index.relation));
}

/** TRUNCATE and DELETE without WHERE empty a table; a row written since makes it non-empty again. */
function recordRowChanges(statement: Statement, facts: FileFacts): void {
  for (const relation of statement.as("TruncateStmt")?.relations ?? []) facts.emptiedTables.add(tableOf(as(relation, "RangeVar")).name);
  const deletion = statement.as("DeleteStmt");
  if (deletion && !deletion.whereClause && !deletion.usingClause) facts.emptiedTables.add(tableOf(deletion.relation).name);
  // Nothing emptied, nothing to fill: an INSERT's tree (a fifth of the JSON read) is then not read at all.
  if (facts.emptiedTables.size === 0) return;
  const copy = statement.as("CopyStmt");
  const filled = statement.as("InsertStmt")?.relation ?? statement.as("MergeStmt")?.relation ?? (copy?.is_from ? copy.relation : undefined);
  if (filled) facts.emptiedTables.delete(tableOf(filled).name);
}

/** Zones whose offset is zero at every date: PostgreSQL then converts timestamp ↔ timestamptz without a rewrite. */
const UTC_ZONES = new Set(["utc", "etc/utc", "uct", "etc/uct", "gmt", "etc/gmt", "gmt0", "etc/gmt0", "universal", "etc/universal", "zulu", "etc/zulu"]);

function recordTimeZone(statement: Statement, facts: FileFacts): void {
  const set = statement.as("VariableSetStmt");
  if (set?.name?.toLowerCase() !== "timezone") return;
  const value = as(set.args?.[0], "A_Const");
  const zone = value?.sval?.sval?.toLowerCase();
  facts.sessionInUtc = set.kind === "VAR_SET_VALUE" && (zone !== undefined ? UTC_ZONES.has(zone) : value?.ival !== undefined && !value.ival.ival);
}

/** Statement type → the rules that look at it, so a file of INSERTs and functions costs almost nothing. */
const rulesByType = new Map<string, Rule[]>();

function rulesFor(type: string): Rule[] {
  let rules = rulesByType.get(type);
  if (!rules) {
    rules = RULES.filter((rule) => rule.check && (rule.on === "any" || rule.on?.includes(type as Statement["type"])));
    rulesByType.set(type, rules);
  }
  return rules;
}

/** Adds the statement's hits to `located`: a loop, since most checks find nothing and arrays per call added up. */
function checkStatement(statement: Statement, located: Located[]): void {
  for (const rule of rulesFor(statement.type)) {
    for (const hit of rule.check!(statement)) located.push({ rule: rule.id, hit, statement, index: statement.start });
  }
}

function checkFile(statements: Statement[]): Located[] {
  return RULES.flatMap((rule) =>
    (rule.checkFile?.(statements, statements[0].file) ?? []).map(({ statement, ...hit }) => ({ rule: rule.id, hit, statement, index: statement.start })),
  );
}

function toFinding(found: Located, path: string, source: SourceText, severities: Map<string, RuleSeverity>, ignores?: IgnoreIndex): LintFinding | undefined {
  const info = ruleInfo(found.rule);
  const severity = (!neverOptional(found) && severities.get(found.rule)) || info.defaultSeverity;
  if (severity === "off") return undefined;
  const index = tokenIndex(found, source);
  const { line, column } = source.position(index);
  const finding: LintFinding = { rule: found.rule, severity, path, line, column, message: found.hit.message, why: info.why, instead: info.instead };
  if (found.hit.table !== undefined) finding.table = found.hit.table;
  if (found.hit.lock !== undefined) finding.lock = found.hit.lock;
  if (found.hit.rewrites) finding.rewrites = true;
  const ignore = ignores?.find(found, line);
  if (ignore) finding.ignored = { reason: ignore.reason, line: ignore.line };
  return finding;
}

/** The offending token when the rule knows it, else the statement's first token. */
function tokenIndex(found: Located, source: SourceText): number {
  if (found.hit.index !== undefined) return found.hit.index;
  const byteOffset = found.hit.byteOffset;
  if (byteOffset === undefined || byteOffset < 0 || !found.statement) return found.index;
  const index = source.indexOfByte(byteOffset);
  return index >= found.statement.start && index < found.statement.end ? index : found.index;
}

function severityOverrides(rules: Record<string, RuleSeverity> | undefined): Map<string, RuleSeverity> {
  const overrides = new Map<string, RuleSeverity>();
  for (const [name, severity] of Object.entries(rules ?? {})) {
    const id = resolveRuleId(name);
    if (id) overrides.set(id, severity);
  }
  return overrides;
}

/**
 * Which `-- autopilot:ignore` applies to a finding: one in the comment lines directly above its
 * statement (or directly above the offending line inside the statement), or one in the file's
 * leading comment block, which covers the whole file. neverOptional findings cannot be ignored.
 */
class IgnoreIndex {
  private readonly byLine = new Map<number, IgnoreDirective[]>();
  private readonly fileWide: IgnoreDirective[] = [];

  constructor(
    private readonly source: SourceText,
    path: string,
    firstStatementStart: number | undefined,
  ) {
    if (!/autopilot:ignore/i.test(source.text)) return;
    const headerEnd = firstStatementStart !== undefined ? source.position(firstStatementStart).line : Infinity;
    for (const ignore of parseDirectives(source.text, path).directives.ignores) {
      if (ignore.line < headerEnd) this.fileWide.push(ignore);
      else this.byLine.set(ignore.line, [...(this.byLine.get(ignore.line) ?? []), ignore]);
    }
  }

  find(found: Located, line: number): IgnoreDirective | undefined {
    if (neverOptional(found)) return undefined;
    const matches = (ignore: IgnoreDirective) => resolveRuleId(ignore.rule) === found.rule;
    const statementLine = this.source.position(found.index).line;
    return this.above(statementLine, matches) ?? this.above(line, matches) ?? this.fileWide.find(matches);
  }

  private above(line: number, matches: (ignore: IgnoreDirective) => boolean): IgnoreDirective | undefined {
    for (let l = line - 1; l >= 1 && /^\s*--/.test(this.source.lineText(l)); l--) {
      const found = this.byLine.get(l)?.find(matches);
      if (found) return found;
    }
    return undefined;
  }
}

/** Lone surrogates cannot be encoded as UTF-8; U+FFFD keeps every offset where it was. */
function wellFormed(text: string): string {
  if (!/[\uD800-\uDFFF]/.test(text)) return text;
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
