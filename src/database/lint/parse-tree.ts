// PostgreSQL's parser called through libpg-query's Emscripten factory (each grammar's, grammars.ts),
// handing back the parse tree as the JSON text the C library writes, cut into one
// piece per statement. A piece becomes objects only when a rule or the run's facts look at that
// statement (Statement.node): most statements of a migration (INSERTs, functions, views, grants) are
// never looked into, and turning a directory's 11 MB of JSON into objects cost as much as parsing it.
// The JSON text is also what a worker thread can hand over cheaply (grammar-thread.ts).
import type { PgQueryWasm } from "libpg-query-13/wasm/libpg-query.js";
import type { NodeType } from "./ast.js";
import { SourceText } from "./locations.js";

/** One top-level statement (libpg-query's RawStmt), its tree still JSON text. */
export interface RawStatement {
  type: NodeType;
  /** The statement's tree, `{"AlterTableStmt":{…}}`, as the parser's UTF-8 JSON: decoded only when read (jsonText). */
  json: Uint8Array;
  /** String index just past the previous statement's semicolon (libpg-query's stmt_location, a byte offset). */
  from: number;
  /** String index of the statement's end (stmt_location + stmt_len; the text's end when stmt_len is 0). */
  to: number;
}

/** What the parser says where it stops, as libpg-query's SqlError.sqlDetails (cursor made 0-based). */
export interface ParseStop {
  position: number;
  message: string;
}

/**
 * A text's parse: the tree's JSON text as UTF-8 bytes and where each statement lies in it and in the
 * text (indexStatements), each an ArrayBuffer of its own to transfer between threads; or where the
 * grammar stops.
 */
export type ParsedText = { json: Uint8Array; statements: Int32Array } | { stop: ParseStop };

/**
 * The parse tree's JSON text (or "" when `readTree` is false: whether it parses is all the caller
 * asks), or where the grammar stops: libpg-query's parseSync without its JSON.parse.
 */
export function parseToJson(wasm: PgQueryWasm, sql: string, readTree = true): ParsedText {
  if (sql.trim() === "") return { stop: { position: 0, message: "Query cannot be empty" } };
  const bytes = Buffer.byteLength(sql) + 1;
  const query = wasm._malloc(bytes);
  let result = 0;
  try {
    // Node's own UTF-8 coding both ways: Emscripten's (a JavaScript loop) cost a fifth of a parse.
    const heap = wasm.HEAPU8;
    heap[query + Buffer.from(heap.buffer, heap.byteOffset + query, bytes).write(sql)] = 0;
    result = wasm._wasm_parse_query_raw(query);
    if (!result) return { stop: { position: 0, message: "Failed to allocate memory for parse result" } };
    // PgQueryParseResult { parse_tree, stderr_buffer, error }; PgQueryError { message, funcname, filename, lineno, cursorpos, context }.
    const error = wasm.getValue(result + 8, "i32");
    if (error) {
      const message = wasm.getValue(error, "i32");
      const cursor = wasm.getValue(error + 16, "i32");
      return { stop: { position: cursor > 0 ? cursor - 1 : 0, message: message ? wasm.UTF8ToString(message) : "Unknown error" } };
    }
    const tree = wasm.getValue(result, "i32");
    if (!tree) return { stop: { position: 0, message: "Parse result is null" } };
    if (!readTree) return { json: new Uint8Array(), statements: new Int32Array() };
    const json = bytesAt(wasm.HEAPU8, tree);
    return { json, statements: indexStatements(json, sql) };
  } finally {
    wasm._free(query);
    if (result) wasm._wasm_free_parse_result(result);
  }
}

/** A copy of the NUL-terminated string at the pointer, its bytes as they are. */
function bytesAt(heap: Uint8Array, pointer: number): Uint8Array {
  return heap.slice(pointer, heap.indexOf(0, pointer));
}

/** A statement's tree as JSON text. */
export function jsonText(json: Uint8Array): string {
  return Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8");
}

// `{"version":170007,"stmts":[{"stmt":{"SelectStmt":{…}},"stmt_len":8},{"stmt":{…},"stmt_location":9,"stmt_len":31}]}`:
// only a RawStmt has a field named "stmt" in a raw parse tree, and a quote inside a JSON string is
// escaped, so this text starts each statement and nothing else.
const STATEMENT_START = '{"stmt":{"';
const TREE_OFFSET = '{"stmt":'.length;
// A tree's first key is its node type: `{"AlterTableStmt":…`.
const TYPE_OFFSET = '{"'.length;
// The RawStmt's own fields after its tree; each is left out when 0.
const STATEMENT_END = /(?:,"stmt_location":(\d+))?(?:,"stmt_len":(\d+))?\}$/;

// indexStatements' numbers for each statement, in this order.
const TREE_START = 0;
const TREE_END = 1;
const TYPE_END = 2;
const FROM = 3;
const TO = 4;
const FIELDS = 5;

/**
 * Where each statement of a parse tree's JSON text lies, packed FIELDS numbers a statement: its
 * tree's bytes, its node type's, and its place in the text as string indexes. Numbers, not objects,
 * so the parse thread works them out and hands them over without a copy, and the lint's thread,
 * the busier one, neither searches the JSON nor decodes the text to count characters.
 */
function indexStatements(json: Uint8Array, sql: string): Int32Array {
  const text = Buffer.from(json.buffer, json.byteOffset, json.byteLength);
  const source = new SourceText(sql);
  const found: number[] = [];
  let start = text.indexOf(STATEMENT_START);
  while (start !== -1) {
    const next = text.indexOf(STATEMENT_START, start + STATEMENT_START.length);
    // The piece ends before the comma ahead of the next statement, or before the list's "]".
    const end = next === -1 ? text.lastIndexOf("]") : next - 1;
    const tailStart = Math.max(start, end - 64);
    // The tail is ASCII (field names and numbers), so its characters are its bytes.
    const tail = STATEMENT_END.exec(text.toString("latin1", tailStart, end));
    if (!tail) throw new Error(`unexpected parse tree JSON near offset ${tailStart}`);
    const typeStart = start + STATEMENT_START.length;
    const location = Number(tail[1] ?? 0);
    const length = Number(tail[2] ?? 0);
    found.push(
      start + TREE_OFFSET,
      tailStart + tail.index,
      text.indexOf('"', typeStart),
      source.indexOfByte(location),
      length ? source.indexOfByte(location + length) : sql.length,
    );
    start = next;
  }
  return Int32Array.from(found);
}

/** The statements of a parse, in order, each tree left as bytes: a piece is decoded only when something reads it. */
export function statementsOf(parsed: { json: Uint8Array; statements: Int32Array }): RawStatement[] {
  const { json, statements: index } = parsed;
  const text = Buffer.from(json.buffer, json.byteOffset, json.byteLength);
  const statements: RawStatement[] = [];
  for (let i = 0; i < index.length; i += FIELDS) {
    const treeStart = index[i + TREE_START];
    statements.push({
      type: text.toString("latin1", treeStart + TYPE_OFFSET, index[i + TYPE_END]) as NodeType,
      json: json.subarray(treeStart, index[i + TREE_END]),
      from: index[i + FROM],
      to: index[i + TO],
    });
  }
  return statements;
}
