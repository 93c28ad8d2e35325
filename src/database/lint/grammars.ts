// PostgreSQL's grammar of each major version the lint knows, for `syntax-newer-than-target`: the rules
// run on PostgreSQL 17's parse tree, and an older grammar only re-parses a file to tell whether the
// target can run it. Each grammar is its own WebAssembly module (an npm alias of libpg-query), loaded
// only when a target runs that version or an older one.
// libpg-query 14.4.3 asks for an @pgsql/types version that was never published: package.json's
// `overrides` gives it 15.1.2 (AST types only, which this file does not use).

import type { PgQueryWasm } from "libpg-query-13/wasm/libpg-query.js";
import { parseToJson, type ParseStop } from "./parse-tree.js";

/** The newest grammar: the one the rules read, and every target from this major up. */
export const NEWEST_MAJOR = 17;

// Each package's Emscripten factory, not its index: the check only needs to know whether a file
// parses and where it stops, so it reads the error without turning the tree into JSON and back
// (the index's parseSync does both, about half the cost of a parse).
const IMPORTS: Record<number, () => Promise<{ default: () => Promise<PgQueryWasm> }>> = {
  13: () => import("libpg-query-13/wasm/libpg-query.js"),
  14: () => import("libpg-query-14/wasm/libpg-query.js"),
  15: () => import("libpg-query-15/wasm/libpg-query.js"),
  16: () => import("libpg-query-16/wasm/libpg-query.js"),
};

export const SUPPORTED_MAJORS: readonly number[] = [...Object.keys(IMPORTS).map(Number), NEWEST_MAJOR];

const OLDEST_MAJOR = SUPPORTED_MAJORS[0];

const loaded = new Map<number, PgQueryWasm>();

/**
 * The grammars between the target's and the newest (exclusive): the target's tells whether a file
 * parses there, the ones above tell which version introduced what it does not parse. A server older
 * than the oldest grammar is checked against the oldest, which misses only syntax older than that.
 */
function majorsToCheck(targetMajor: number): number[] {
  const from = Math.max(targetMajor, OLDEST_MAJOR);
  return SUPPORTED_MAJORS.filter((major) => major >= from && major < NEWEST_MAJOR);
}

export async function loadGrammarsFor(targetMajor: number): Promise<void> {
  for (const major of majorsToCheck(targetMajor)) await loadGrammar(major);
}

async function loadGrammar(major: number): Promise<void> {
  if (!loaded.has(major)) loaded.set(major, await (await IMPORTS[major]()).default());
}

/** The grammar a target's check parses every file with (none from the newest major up). */
export async function loadTargetGrammar(targetMajor: number): Promise<void> {
  const [target] = majorsToCheck(targetMajor);
  if (target !== undefined) await loadGrammar(target);
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
  const [target, ...newer] = majorsToCheck(targetMajor);
  if (target === undefined) return undefined;
  const stop = parseStop(sql, target);
  if (!stop) return undefined;
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
  await loadTargetGrammar(targetMajor);
  if (!parseStop(sql, target)) return undefined;
  await loadGrammarsFor(targetMajor);
  return newerSyntax(sql, targetMajor);
}

/** Where the grammar stops on the text, as libpg-query's parseSync reports it; undefined when it parses. */
function parseStop(sql: string, major: number): ParseStop | undefined {
  const wasm = loaded.get(major);
  if (!wasm) throw new Error(`PostgreSQL ${major}'s grammar is not loaded: await ensureLintReady({ postgresVersion }) first`);
  const parsed = parseToJson(wasm, sql, false);
  return "stop" in parsed ? parsed.stop : undefined;
}
