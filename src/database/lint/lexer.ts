// Just enough of PostgreSQL's lexer for what the parse tree does not tell: where a statement's first
// token is (its reported location includes the comments before it) and the identifiers as written
// (the parser has already truncated long ones to 63 bytes). Strings, comments and dollar-quoted
// bodies are skipped whole, so nothing inside a function body is looked at.

export interface Identifier {
  /** String index of the identifier's first character (its opening quote when quoted). */
  index: number;
  /** The name as PostgreSQL would store it before truncation (quotes and doubled quotes removed). */
  name: string;
}

const SPACE = /\s/;

/** Index of the first character at or after `from` that is neither whitespace nor a comment. */
export function skipTrivia(text: string, from: number, to = text.length): number {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c === 0x2d /* - */ && text.charCodeAt(i + 1) === 0x2d) i = endOfLineComment(text, i);
    else if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2a /* * */) i = endOfBlockComment(text, i);
    else if (c <= 0x20 || SPACE.test(text[i])) i++;
    else return i;
  }
  return Math.min(i, to);
}

/** Calls `visit` with every identifier (quoted or not) between `from` and `to`. */
export function scanIdentifiers(text: string, from: number, to: number, visit: (identifier: Identifier) => void): void {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c === 0x2d && text.charCodeAt(i + 1) === 0x2d) i = endOfLineComment(text, i);
    else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) i = endOfBlockComment(text, i);
    else if (c === 0x27 /* ' */) i = endOfString(text, i, false);
    else if (c === 0x22 /* " */) i = quotedIdentifier(text, i, visit);
    else if (c === 0x24 /* $ */) i = endOfDollarQuote(text, i);
    else if (isIdentifierStart(c)) i = unquotedIdentifier(text, i, visit);
    else i++;
  }
}

function endOfLineComment(text: string, start: number): number {
  const newline = text.indexOf("\n", start);
  return newline === -1 ? text.length : newline + 1;
}

/** Block comments nest in PostgreSQL: `/* a /* b *\/ c *\/` is one comment. */
function endOfBlockComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.startsWith("/*", i)) {
      depth++;
      i += 2;
    } else if (text.startsWith("*/", i)) {
      i += 2;
      if (--depth === 0) return i;
    } else i++;
  }
  return text.length;
}

/** `'it''s'`; with an E prefix, backslash escapes too (`E'it\'s'`). */
function endOfString(text: string, start: number, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (backslashEscapes && c === 0x5c /* \ */) i += 2;
    else if (c === 0x27) {
      if (text.charCodeAt(i + 1) !== 0x27) return i + 1;
      i += 2;
    } else i++;
  }
  return text.length;
}

function quotedIdentifier(text: string, start: number, visit: (identifier: Identifier) => void): number {
  let i = start + 1;
  let name = "";
  while (i < text.length) {
    const close = text.indexOf('"', i);
    if (close === -1) return text.length;
    name += text.slice(i, close);
    if (text.charCodeAt(close + 1) !== 0x22) {
      visit({ index: start, name });
      return close + 1;
    }
    name += '"';
    i = close + 2;
  }
  return text.length;
}

const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** `$$ … $$` and `$tag$ … $tag$`; an inner `$b$ … $b$` is just text of the outer quote. `$1` is a parameter. */
function endOfDollarQuote(text: string, start: number): number {
  DOLLAR_TAG.lastIndex = start;
  const open = DOLLAR_TAG.exec(text);
  if (!open) return start + 1;
  const close = text.indexOf(open[0], start + open[0].length);
  return close === -1 ? text.length : close + open[0].length;
}

function unquotedIdentifier(text: string, start: number, visit: (identifier: Identifier) => void): number {
  let i = start + 1;
  while (i < text.length && isIdentifierPart(text.charCodeAt(i))) i++;
  // E'…' is an escape string, not the identifier "e" followed by a string.
  if (i === start + 1 && (text[start] === "E" || text[start] === "e") && text.charCodeAt(i) === 0x27) return endOfString(text, i, true);
  visit({ index: start, name: text.slice(start, i) });
  return i;
}

function isIdentifierStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}

function isIdentifierPart(c: number): boolean {
  return isIdentifierStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
}
