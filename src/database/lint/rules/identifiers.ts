// PostgreSQL truncates identifiers longer than 63 bytes (NAMEDATALEN - 1) with only a NOTICE, and
// the parse tree already holds the truncated name, so this rule reads the statement's own text.
import { scanIdentifiers } from "../lexer.js";
import { rule, type FileFacts, type Hit, type Statement } from "../statement.js";

const MAX_IDENTIFIER_BYTES = 63;

// A UTF-16 unit is at most 3 UTF-8 bytes, so a name needs 22 units to pass 63 bytes (64 in ASCII).
// Runs of name characters that long are rare; only statements that hold one are lexed. One pass over
// the character codes finds them (a regular expression with a lookbehind cost more than the rule).
const longRunsByFile = new WeakMap<FileFacts, number[]>();

const QUOTE = 34;

function isNameChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36 || code >= 128;
}

/** Where runs of at least `min` name characters (bare, or inside double quotes) start; any `""` counts too. */
function longRuns(text: string, min: number): number[] {
  const starts: number[] = [];
  let runStart = -1;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0;
    if (isNameChar(code)) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0 && i - runStart >= min) starts.push(runStart);
    runStart = -1;
    if (code !== QUOTE) continue;
    const close = text.indexOf('"', i + 1);
    const end = close < 0 ? text.length : close;
    if (end - i - 1 >= min || text.charCodeAt(end + 1) === QUOTE) starts.push(i);
    i = end;
  }
  return starts;
}

function mayHoldLongIdentifier(statement: Statement): boolean {
  const file = statement.file;
  let runs = longRunsByFile.get(file);
  if (!runs) {
    runs = longRuns(file.text, Buffer.byteLength(file.text) === file.text.length ? 64 : 22);
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
