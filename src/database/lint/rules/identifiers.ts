// PostgreSQL truncates identifiers longer than 63 bytes (NAMEDATALEN - 1) with only a NOTICE, and
// the parse tree already holds the truncated name, so this rule reads the statement's own text.
import { scanIdentifiers } from "../lexer.js";
import { rule, type Hit } from "../statement.js";

const MAX_IDENTIFIER_BYTES = 63;

export const identifierTooLong = rule("identifier-too-long", (statement) => {
  const hits: Hit[] = [];
  const seen = new Set<string>();
  const text = statement.file.text;
  scanIdentifiers(text, statement.start, statement.end, ({ index, name }) => {
    // A UTF-16 unit is at most 3 UTF-8 bytes, so 21 units always fit: skip the byte count.
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
