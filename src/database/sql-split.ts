// Splits a SQL script into statements the way psql does, so that a no-transaction file can be sent
// one statement at a time (pg wraps a multi-statement string in one implicit transaction, which
// CREATE INDEX CONCURRENTLY refuses). It is a lexer, not a parser: it only needs to know where
// semicolons are real statement ends, i.e. not inside quotes, comments, parentheses or
// BEGIN ATOMIC … END function bodies.

export interface SqlStatement {
  /** Statement text without the terminating semicolon and without leading comments/whitespace. */
  text: string;
  /** Index (JS string index) of the statement's first character in the script. */
  offset: number;
  /** 1-based line of the statement's first character. */
  line: number;
}

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
const isIdentStart = (c: string | undefined) => c !== undefined && /[A-Za-z_\u0080-\uffff]/.test(c);
const isIdentChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(c);

export function splitStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const lines = new LineIndex(sql);
  let start = -1;
  let block = new BlockTracker();
  let i = 0;

  const finish = (end: number) => {
    if (start >= 0) {
      const text = sql.slice(start, end).trimEnd();
      statements.push({ text, offset: start, line: lines.locate(start).line });
    }
    start = -1;
    block = new BlockTracker();
  };

  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (isSpace(c)) i++;
    else if (c === "-" && next === "-") i = skipLineComment(sql, i);
    else if (c === "/" && next === "*") i = skipBlockComment(sql, i);
    else if (c === ";" && block.atTopLevel()) {
      finish(i);
      i++;
    } else {
      if (start < 0) start = i;
      i = skipToken(sql, i, block);
    }
  }
  finish(sql.length);
  return statements;
}

/** Advances over one token (quoted string, identifier, dollar-quoted body, or one character). */
function skipToken(sql: string, i: number, block: BlockTracker): number {
  const c = sql[i];
  if (c === "'") return skipQuoted(sql, i, "'", false);
  if (c === '"') return skipQuoted(sql, i, '"', false);
  if (c === "$") {
    const tag = dollarTagAt(sql, i);
    if (tag !== null) return skipDollarQuoted(sql, i, tag);
    return i + 1;
  }
  if (c === "(") block.openParen();
  if (c === ")") block.closeParen();
  if (isIdentStart(c)) {
    let end = i + 1;
    while (isIdentChar(sql[end])) end++;
    const word = sql.slice(i, end);
    // E'…' is the one string form where backslash escapes a quote.
    if ((word === "E" || word === "e") && sql[end] === "'") return skipQuoted(sql, end, "'", true);
    block.word(word.toLowerCase());
    return end;
  }
  return i + 1;
}

function skipLineComment(sql: string, i: number): number {
  const end = sql.indexOf("\n", i);
  return end < 0 ? sql.length : end + 1;
}

/** PostgreSQL block comments nest. */
function skipBlockComment(sql: string, i: number): number {
  let depth = 0;
  while (i < sql.length) {
    if (sql[i] === "/" && sql[i + 1] === "*") {
      depth++;
      i += 2;
    } else if (sql[i] === "*" && sql[i + 1] === "/") {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** A doubled quote escapes itself; in E'' strings a backslash escapes the next character. */
function skipQuoted(sql: string, i: number, quote: string, backslashEscapes: boolean): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (backslashEscapes && c === "\\") j += 2;
    else if (c === quote && sql[j + 1] === quote) j += 2;
    else if (c === quote) return j + 1;
    else j++;
  }
  return sql.length;
}

/** `$tag$` or `$$` starting at i, else null (`$1` is a parameter, not a quote). */
function dollarTagAt(sql: string, i: number): string | null {
  const match = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 64));
  return match ? match[0] : null;
}

function skipDollarQuoted(sql: string, i: number, tag: string): number {
  const end = sql.indexOf(tag, i + tag.length);
  return end < 0 ? sql.length : end + tag.length;
}

/**
 * psql's heuristic for SQL-standard function bodies: inside CREATE [OR REPLACE] FUNCTION|PROCEDURE,
 * BEGIN (and CASE within it) opens a block that END closes, and semicolons inside do not end the
 * statement. Parentheses are tracked too (CREATE RULE … DO (a; b)).
 */
class BlockTracker {
  private head: string[] = [];
  private depth = 0;
  private parens = 0;

  atTopLevel(): boolean {
    return this.depth === 0 && this.parens === 0;
  }
  openParen(): void {
    this.parens++;
  }
  closeParen(): void {
    if (this.parens > 0) this.parens--;
  }
  word(word: string): void {
    if (this.head.length < 4) this.head.push(word);
    if (!this.isRoutineDefinition() || this.parens > 0) return;
    if (word === "begin") this.depth++;
    else if (word === "case" && this.depth > 0) this.depth++;
    else if (word === "end" && this.depth > 0) this.depth--;
  }
  private isRoutineDefinition(): boolean {
    const [a, b, c, d] = this.head;
    const routine = (w: string | undefined) => w === "function" || w === "procedure";
    return a === "create" && (routine(b) || (b === "or" && c === "replace" && routine(d)));
  }
}

/** Maps string indexes to 1-based line and column (columns count code points). */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") this.starts.push(i + 1);
  }

  locate(index: number): { line: number; column: number } {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid] <= index) low = mid;
      else high = mid - 1;
    }
    const column = [...this.text.slice(this.starts[low], index)].length + 1;
    return { line: low + 1, column };
  }
}

/**
 * PostgreSQL reports an error `position` as a 1-based count of characters (code points) into the
 * query; JS strings index UTF-16 units. Returns the JS index of that character, clamped to the text.
 */
export function indexOfCharacterPosition(text: string, position: number): number {
  let index = 0;
  for (let remaining = position - 1; remaining > 0 && index < text.length; remaining--) {
    const code = text.charCodeAt(index);
    index += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
  }
  return Math.min(Math.max(index, 0), text.length);
}
