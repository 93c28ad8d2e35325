// PostgreSQL truncates identifiers longer than 63 bytes (NAMEDATALEN - 1) with only a NOTICE, and
// the parse tree already holds the truncated name, so this rule reads the statement's own text.
import { scanIdentifiers } from "../lexer.js";
import { rule, type FileFacts, type Hit, type Statement } from "../statement.js";

const MAX_IDENTIFIER_BYTES = 63;

// A UTF-16 unit is at most 3 UTF-8 bytes, so a name needs 22 units to pass 63 bytes (64 in ASCII).
// Runs of name characters that long are rare; only statements that hold one are lexed. (The
// lookbehind makes a run match only from its start, keeping the search linear.)
const LONG_RUN = {
  ascii: /(?<![A-Za-z0-9_$])[A-Za-z0-9_$]{64}|"[^"]{64}|""/g,
  other: /(?<![A-Za-z0-9_$\u0080-\uffff])[A-Za-z0-9_$\u0080-\uffff]{22}|"[^"]{22}|""/g,
};
const longRunsByFile = new WeakMap<FileFacts, number[]>();

function mayHoldLongIdentifier(statement: Statement): boolean {
  const file = statement.file;
  let runs = longRunsByFile.get(file);
  if (!runs) {
    const pattern = Buffer.byteLength(file.text) === file.text.length ? LONG_RUN.ascii : LONG_RUN.other;
    runs = Array.from(file.text.matchAll(pattern), (m) => m.index ?? 0);
    longRunsByFile.set(file, runs);
  }
  if (runs.length === 0) return false;
  // The first run at or after the statement's start (a quote may sit just before it), by bisection.
  let low = 0;
  let high = runs.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (runs[middle] < statement.start - 1) low = middle + 1;
    else high = middle;
  }
  return low < runs.length && runs[low] < statement.end;
}

export const identifierTooLong = rule("identifier-too-long", "any", (statement) => {
  if (!mayHoldLongIdentifier(statement)) return [];
  const hits: Hit[] = [];
  const seen = new Set<string>();
  scanIdentifiers(statement.file.text, statement.start, statement.end, ({ index, name }) => {
    if (name.length <= 21 || seen.has(name)) return;
    const bytes = Buffer.byteLength(name, "utf8");
    if (bytes <= MAX_IDENTIFIER_BYTES) return;
    seen.add(name);
    hits.push({ message: `identifier "${name}" is ${bytes} bytes; PostgreSQL truncates it to "${truncate(name)}"`, index });
  });
  return hits;
});

/** What PostgreSQL keeps: the longest prefix of whole characters within 63 bytes. */
function truncate(name: string): string {
  let bytes = 0;
  let kept = "";
  for (const char of name) {
    bytes += Buffer.byteLength(char, "utf8");
    if (bytes > MAX_IDENTIFIER_BYTES) break;
    kept += char;
  }
  return kept;
}
