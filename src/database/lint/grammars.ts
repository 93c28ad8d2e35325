// PostgreSQL's grammar of each major version the lint knows. The rules read the parse tree of the
// target's own grammar from PostgreSQL 15 up (15 gave constants the shapes the newest grammar still
// writes, so the trees the rules look at are alike), and of the newest grammar otherwise; a file the
// target's grammar refuses is parsed again by the newest, which tells syntax the target is too old for
// (`syntax-newer-than-target`) from a plain syntax error. Below 15, every file is parsed by the newest
// grammar and checked by the target's apart. Each grammar is its own WebAssembly module (an npm alias
// of libpg-query), loaded only when a run needs it.
// libpg-query 14.4.3 asks for an @pgsql/types version that was never published: package.json's
// `overrides` gives it 15.1.2 (AST types only, which this file does not use).

import type { PgQueryWasm } from "libpg-query-13/wasm/libpg-query.js";
import { parseToJson, statementsOf, type ParsedText, type ParseStop, type RawStatement } from "./parse-tree.js";

/** The newest grammar: the one the rules read without a target, and every target from this major up. */
export const NEWEST_MAJOR = 17;

/** The oldest major whose parse trees have the newest grammar's shapes where the rules look. */
const SAME_TREES_FROM = 15;

// Each package's Emscripten factory, not its index: the lint reads the C library's JSON text itself
// (parse-tree.ts), and a check only needs to know where a file stops parsing.
const IMPORTS: Record<number, () => Promise<{ default: () => Promise<PgQueryWasm> }>> = {
  13: () => import("libpg-query-13/wasm/libpg-query.js"),
  14: () => import("libpg-query-14/wasm/libpg-query.js"),
  15: () => import("libpg-query-15/wasm/libpg-query.js"),
  16: () => import("libpg-query-16/wasm/libpg-query.js"),
  [NEWEST_MAJOR]: () => import("libpg-query/wasm/libpg-query.js"),
};

export const SUPPORTED_MAJORS: readonly number[] = Object.keys(IMPORTS).map(Number);

const OLDEST_MAJOR = SUPPORTED_MAJORS[0];

const loaded = new Map<number, PgQueryWasm>();

/** Compiles a grammar once per thread. */
async function loadGrammar(major: number): Promise<void> {
  if (!loaded.has(major)) loaded.set(major, await (await IMPORTS[major]()).default());
}

function grammar(major: number): PgQueryWasm {
  const wasm = loaded.get(major);
  if (!wasm) throw new Error(`PostgreSQL ${major}'s grammar is not loaded: await ensureLintReady({ postgresVersion }) first`);
  return wasm;
}

/** The grammar whose parse tree the rules read for a target (none given: the newest). */
export function treeMajor(targetMajor?: number): number {
  return targetMajor !== undefined && targetMajor >= SAME_TREES_FROM && targetMajor < NEWEST_MAJOR ? targetMajor : NEWEST_MAJOR;
}

/** Whether each file must also be checked by the target's grammar (a target below 15): the rules read the newest's tree. */
export function checkedApart(targetMajor?: number): boolean {
  return targetMajor !== undefined && targetMajor < SAME_TREES_FROM;
}

/**
 * The grammars between the target's and the newest (exclusive): the target's tells whether a file
 * parses there, the ones above tell which version introduced what it does not parse. A server older
 * than the oldest grammar is checked against the oldest, which misses only syntax older than that.
 */
function majorsToCheck(targetMajor: number): number[] {
  const from = Math.max(targetMajor, OLDEST_MAJOR);
  return SUPPORTED_MAJORS.filter((major) => major >= from && major < NEWEST_MAJOR);
}

/** Every grammar a run for this target may use (none given: the newest). */
export async function loadGrammarsFor(targetMajor?: number): Promise<void> {
  for (const major of [NEWEST_MAJOR, ...(targetMajor === undefined ? [] : majorsToCheck(targetMajor))]) await loadGrammar(major);
}

/** The newest grammar's parse of the text, split into statements, or where it stops. */
export function parseStatements(sql: string): { statements: RawStatement[] } | { stop: ParseStop } {
  const parsed = parseToJson(grammar(NEWEST_MAJOR), sql);
  return "stop" in parsed ? parsed : { statements: statementsOf(parsed) };
}

/** What the rules read of a file: a parse tree (or where the grammars stop), and syntax the target is too old for. */
export interface TargetParse {
  parsed: ParsedText;
  /** Found here only when the rules read the target's own grammar (checkedApart: found by newerSyntax). */
  newer?: NewerSyntax;
}

/**
 * The file parsed for a target: by its own grammar from 15 up, which is all most files need; a file
 * it refuses by the newest, whose tree the rules then read, with what the target is too old for.
 * Loads nothing: ensureLintReady (or loadGrammarsFor) first.
 */
export function parseForTarget(sql: string, targetMajor?: number): TargetParse {
  const first = firstParse(sql, targetMajor);
  return "refused" in first ? afterRefusal(sql, first.refused, treeMajor(targetMajor)) : first;
}

/** parseForTarget, loading the grammars it needs: the target's, and the others only for a file it refuses. */
export async function parseForTargetLoading(sql: string, targetMajor?: number): Promise<TargetParse> {
  await loadGrammar(treeMajor(targetMajor));
  const first = firstParse(sql, targetMajor);
  if (!("refused" in first)) return first;
  await loadGrammarsFor(targetMajor);
  return afterRefusal(sql, first.refused, treeMajor(targetMajor));
}

/** The tree grammar's parse; `refused` where the target's own grammar stops (the newest's stop is a syntax error). */
function firstParse(sql: string, targetMajor?: number): TargetParse | { refused: ParseStop } {
  const major = treeMajor(targetMajor);
  const parsed = parseToJson(grammar(major), sql);
  return "stop" in parsed && major !== NEWEST_MAJOR ? { refused: parsed.stop } : { parsed };
}

/** The newest grammar's parse of a file the target's refused: newer syntax, or a syntax error. */
function afterRefusal(sql: string, stop: ParseStop, targetMajor: number): TargetParse {
  const newest = parseToJson(grammar(NEWEST_MAJOR), sql);
  return "stop" in newest ? { parsed: newest } : { parsed: newest, newer: newerSyntaxAt(sql, stop, targetMajor) };
}

export interface NewerSyntax {
  /** The lowest major whose grammar gets past the place the target's grammar stops at. */
  introducedIn: number;
  /** The target grammar's cursor position, in the units of libpg-query's `cursorPosition`. */
  position: number;
  /** The target grammar's complaint: `syntax error at or near "MERGE"`. */
  message: string;
}

/**
 * Where a file that the newest grammar parses stops parsing with the target's grammar, and the first
 * version that gets past that place (so a file using both MERGE and IS JSON names 15 for MERGE on a
 * 14 target, not 16). Undefined when the target parses it, or runs the newest grammar or later.
 */
export function newerSyntax(sql: string, targetMajor: number): NewerSyntax | undefined {
  const [target] = majorsToCheck(targetMajor);
  if (target === undefined) return undefined;
  const stop = parseStop(sql, target);
  return stop && newerSyntaxAt(sql, stop, target);
}

/** The first version whose grammar gets past where the target's stops. */
function newerSyntaxAt(sql: string, stop: ParseStop, targetMajor: number): NewerSyntax {
  const [, ...newer] = majorsToCheck(targetMajor);
  const introducedIn = newer.find((major) => (parseStop(sql, major)?.position ?? Infinity) > stop.position) ?? NEWEST_MAJOR;
  return { introducedIn, ...stop };
}

/**
 * newerSyntax, loading only the grammars it needs: the target's, and the newer ones only for a file
 * the target refuses (most runs never load them).
 */
export async function newerSyntaxLoading(sql: string, targetMajor: number): Promise<NewerSyntax | undefined> {
  const [target] = majorsToCheck(targetMajor);
  if (target === undefined) return undefined;
  await loadGrammar(target);
  if (!parseStop(sql, target)) return undefined;
  await loadGrammarsFor(targetMajor);
  return newerSyntax(sql, targetMajor);
}

/** Where the grammar stops on the text, as libpg-query's parseSync reports it; undefined when it parses. */
function parseStop(sql: string, major: number): ParseStop | undefined {
  const parsed = parseToJson(grammar(major), sql, false);
  return "stop" in parsed ? parsed.stop : undefined;
}
