// PostgreSQL's grammar of each major version the lint knows, for `syntax-newer-than-target`: the rules
// run on PostgreSQL 17's parse tree, and an older grammar only re-parses a file to tell whether the
// target can run it. Each grammar is its own WebAssembly module (an npm alias of libpg-query), loaded
// only when a target runs that version or an older one.
// libpg-query 14.4.3 asks for an @pgsql/types version that was never published: package.json's
// `overrides` gives it 15.1.2 (AST types only, which this file does not use).

/** libpg-query's WebAssembly API, the same from 13 to 17. */
interface Grammar {
  loadModule(): Promise<void>;
  parseSync(sql: string): unknown;
}

/** The newest grammar: the one the rules read, and every target from this major up. */
export const NEWEST_MAJOR = 17;

const IMPORTS: Record<number, () => Promise<Grammar>> = {
  13: () => import("libpg-query-13"),
  14: () => import("libpg-query-14"),
  15: () => import("libpg-query-15"),
  16: () => import("libpg-query-16"),
};

export const SUPPORTED_MAJORS: readonly number[] = [...Object.keys(IMPORTS).map(Number), NEWEST_MAJOR];

const OLDEST_MAJOR = SUPPORTED_MAJORS[0];

const loaded = new Map<number, Grammar>();

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
  for (const major of majorsToCheck(targetMajor)) {
    if (loaded.has(major)) continue;
    const grammar = await IMPORTS[major]();
    await grammar.loadModule();
    loaded.set(major, grammar);
  }
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

function parseStop(sql: string, major: number): { position: number; message: string } | undefined {
  const grammar = loaded.get(major);
  if (!grammar) throw new Error(`PostgreSQL ${major}'s grammar is not loaded: await ensureLintReady({ postgresVersion }) first`);
  try {
    grammar.parseSync(sql);
    return undefined;
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    return { position: details?.cursorPosition ?? 0, message: details?.message ?? (error instanceof Error ? error.message : String(error)) };
  }
}
