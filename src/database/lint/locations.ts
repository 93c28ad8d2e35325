// Positions in a migration file. The parser reports statement locations as BYTE offsets into the
// UTF-8 text and syntax errors as 0-based CHARACTER (code point) offsets, while JavaScript strings
// index UTF-16 code units; this file converts all of them to 1-based lines and columns (columns in
// characters, as an editor counts them).

export interface Position {
  line: number;
  column: number;
}

export class SourceText {
  /** When every character is one byte, all three kinds of offset are the same number. */
  readonly ascii: boolean;
  private lineStarts?: number[];
  // Offsets arrive nearly in order (statement after statement), so byte → index conversion walks
  // from the last answer instead of from the start: linear in the file, not quadratic.
  private cursor = { byte: 0, index: 0 };
  private bytes?: Buffer;

  constructor(readonly text: string) {
    this.ascii = Buffer.byteLength(text, "utf8") === text.length;
  }

  /** String index of a UTF-8 byte offset. */
  indexOfByte(byteOffset: number): number {
    if (this.ascii) return Math.min(byteOffset, this.text.length);
    this.bytes ??= Buffer.from(this.text, "utf8");
    const target = Math.max(0, Math.min(byteOffset, this.bytes.length));
    const { byte, index } = this.cursor;
    // Decoding the bytes in between (natively) and counting UTF-16 units is the conversion.
    const moved = target >= byte ? this.bytes.toString("utf8", byte, target).length : -this.bytes.toString("utf8", target, byte).length;
    this.cursor = { byte: target, index: index + moved };
    return index + moved;
  }

  /** String index of a 0-based code point offset (how PostgreSQL counts an error's cursor). */
  indexOfCodePoint(codePoint: number): number {
    if (this.ascii) return Math.min(codePoint, this.text.length);
    let index = 0;
    for (let seen = 0; seen < codePoint && index < this.text.length; seen++) {
      index += isHighSurrogate(this.text.charCodeAt(index)) && isLowSurrogate(this.text.charCodeAt(index + 1)) ? 2 : 1;
    }
    return index;
  }

  /** 1-based line and column (in characters) of a string index. */
  position(index: number): Position {
    const starts = this.lines();
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle] <= index) low = middle;
      else high = middle - 1;
    }
    const before = this.text.slice(starts[low], index);
    return { line: low + 1, column: (this.ascii ? before.length : codePointCount(before)) + 1 };
  }

  /** The text of a 1-based line, without its line break. */
  lineText(line: number): string {
    const starts = this.lines();
    const start = starts[line - 1];
    if (start === undefined) return "";
    const end = line < starts.length ? starts[line] - 1 : this.text.length;
    return this.text.slice(start, end).replace(/\r$/, "");
  }

  get lineCount(): number {
    return this.lines().length;
  }

  private lines(): number[] {
    if (!this.lineStarts) {
      const starts = [0];
      for (let at = this.text.indexOf("\n"); at !== -1; at = this.text.indexOf("\n", at + 1)) starts.push(at + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

function codePointCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    if (!(isLowSurrogate(text.charCodeAt(i)) && i > 0 && isHighSurrogate(text.charCodeAt(i - 1)))) count++;
  }
  return count;
}
