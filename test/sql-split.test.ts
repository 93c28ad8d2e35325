import { test } from "node:test";
import assert from "node:assert/strict";
import { indexOfCharacterPosition, LineIndex, splitStatements } from "../src/database/sql-split.js";

const texts = (sql: string) => splitStatements(sql).map((s) => s.text);

test("splits on semicolons and drops empty statements and comment-only parts", () => {
  assert.deepEqual(texts("select 1;;  ;\nselect 2;\n-- trailing comment\n/* and a block */"), ["select 1", "select 2"]);
  assert.deepEqual(texts("select 1"), ["select 1"]);
  assert.deepEqual(texts(""), []);
});

test("reports each statement's offset and first line, skipping leading comments", () => {
  const sql = "-- header\ncreate table a (id int);\n\n/* why */\ninsert into a values (1);";
  const statements = splitStatements(sql);
  assert.deepEqual(
    statements.map((s) => s.line),
    [2, 5],
  );
  assert.equal(sql.slice(statements[1].offset, statements[1].offset + 6), "insert");
});

test("semicolons inside quotes, identifiers and comments do not split", () => {
  assert.deepEqual(texts("select 'a;b', 'it''s;'; select 2"), ["select 'a;b', 'it''s;'", "select 2"]);
  assert.deepEqual(texts(`select 1 as "we;ird ""x;"""; select 2`), [`select 1 as "we;ird ""x;"""`, "select 2"]);
  assert.deepEqual(texts("select 1 -- no; split\n; select 2"), ["select 1 -- no; split", "select 2"]);
  assert.deepEqual(texts("select /* a; /* nested; */ still; */ 1; select 2"), ["select /* a; /* nested; */ still; */ 1", "select 2"]);
});

test("a standard string ends at a quote even after a backslash; an E'' string honours backslash escapes", () => {
  assert.deepEqual(texts("select 'C:\\'; select 2"), ["select 'C:\\'", "select 2"]);
  assert.deepEqual(texts("select E'it\\'s; fine', e'\\\\'; select 2"), ["select E'it\\'s; fine', e'\\\\'", "select 2"]);
  // an identifier ending in e is not an E'' prefix
  assert.deepEqual(texts("select some_e'x;'"), ["select some_e'x;'"]);
});

test("dollar quotes with and without tags; $1 and identifiers containing $ are not quotes", () => {
  const fn = "create function f() returns int language plpgsql as $body$ begin perform 1; return $$x;$$::int; end $body$";
  assert.deepEqual(texts(`${fn}; select 2`), [fn, "select 2"]);
  assert.deepEqual(texts("do $$ begin raise notice ';'; end $$; select 2"), ["do $$ begin raise notice ';'; end $$", "select 2"]);
  assert.deepEqual(texts("prepare p as select $1; select a$b$ from t; select 3"), ["prepare p as select $1", "select a$b$ from t", "select 3"]);
});

test("BEGIN ATOMIC function bodies and parenthesised rule actions stay whole", () => {
  const body = "create or replace function g() returns int language sql begin atomic select 1; select case when true then 2 end; end";
  assert.deepEqual(texts(`${body}; select 3`), [body, "select 3"]);
  const rule = "create rule r as on insert to a do also (insert into b values (1); insert into c values (2))";
  assert.deepEqual(texts(`${rule}; select 4`), [rule, "select 4"]);
  // BEGIN as a transaction statement is not a block
  assert.deepEqual(texts("begin; select 1; commit;"), ["begin", "select 1", "commit"]);
});

test("unterminated quotes and comments swallow the rest instead of throwing", () => {
  assert.deepEqual(texts("select 1; select 'oops; select 2"), ["select 1", "select 'oops; select 2"]);
  assert.deepEqual(texts("select 1; /* never closed; select 2"), ["select 1"]);
});

test("CRLF line endings and multibyte characters keep lines and columns right", () => {
  const sql = "select 'é';\r\nselect '😀', 2;\r\nselect 3";
  assert.deepEqual(
    splitStatements(sql).map((s) => s.line),
    [1, 2, 3],
  );
  const index = new LineIndex(sql);
  assert.deepEqual(index.locate(sql.indexOf("2;")), { line: 2, column: 13 });
  // PostgreSQL counts characters: position 13 in "select '😀', 2" is the 2
  assert.equal("select '😀', 2"[indexOfCharacterPosition("select '😀', 2", 13)], "2");
});
