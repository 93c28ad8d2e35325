// The Emscripten factory inside each libpg-query package (wasm/libpg-query.js), which its own
// index wraps: grammars.ts calls the parser through it to skip turning the parse tree into JSON.
declare module "libpg-query-*/wasm/libpg-query.js" {
  export interface PgQueryWasm {
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _wasm_parse_query_raw(query: number): number;
    _wasm_free_parse_result(result: number): void;
    lengthBytesUTF8(text: string): number;
    stringToUTF8(text: string, pointer: number, maxBytes: number): void;
    getValue(pointer: number, type: "i32"): number;
    UTF8ToString(pointer: number): string;
    /** The module's memory as bytes (a new view after the memory grows). */
    HEAPU8: Uint8Array;
  }
  const factory: () => Promise<PgQueryWasm>;
  export default factory;
}

// The newest grammar's package (libpg-query, unaliased), the same factory.
declare module "libpg-query/wasm/libpg-query.js" {
  const factory: () => Promise<import("libpg-query-13/wasm/libpg-query.js").PgQueryWasm>;
  export default factory;
}
