import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gitBlobSha, indexMigrations, loadMigrationDirectory, parseMigrationFilename, readMigration } from "../src/database/migration-files.js";

test("the checksum is the git blob SHA-1, as the trees API lists it", () => {
  assert.equal(gitBlobSha(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  assert.equal(gitBlobSha("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
  const content = "create table é (id int);\n";
  const fromGit = execFileSync("git", ["hash-object", "--stdin"], { input: content }).toString().trim();
  assert.equal(gitBlobSha(content), fromGit);
  assert.equal(gitBlobSha(Buffer.from(content)), fromGit);
});

test("file names: version, name, up or down", () => {
  assert.deepEqual(parseMigrationFilename("0001_create_users.sql"), { version: "0001", name: "create_users", kind: "up" });
  assert.deepEqual(parseMigrationFilename("20250127000000_orders.down.sql"), { version: "20250127000000", name: "orders", kind: "down" });
  for (const bad of ["create.sql", "0001.sql", "0001_.sql", "v1_x.sql", "0001-x.sql", "README.md"]) assert.equal(parseMigrationFilename(bad), null, bad);
});

test("indexing a tree listing: only the directory's own .sql files, ordered numerically, downs attached", () => {
  const { refs, problems } = indexMigrations(
    [
      { path: "db/migrations/10_ten.sql", sha: "a" },
      { path: "db/migrations/9_nine.sql", sha: "b" },
      { path: "db/migrations/9_nine.down.sql", sha: "c" },
      { path: "db/migrations/README.md", sha: "d" },
      { path: "db/migrations/nested/1_x.sql", sha: "e" },
      { path: "db/other/1_y.sql", sha: "f" },
      { path: "db/migrations/seed.sql", sha: "g" },
      { path: "db/migrations/3_gone.down.sql", sha: "h" },
    ],
    "db/migrations/",
  );
  assert.deepEqual(
    refs.map((r) => r.filename),
    ["9_nine.sql", "10_ten.sql"],
  );
  assert.equal(refs[0].downPath, "db/migrations/9_nine.down.sql");
  assert.equal(refs[0].downChecksum, "c");
  assert.deepEqual(
    problems.map((p) => [p.code, p.path, p.severity]),
    [
      ["bad-filename", "db/migrations/seed.sql", "error"],
      ["orphan-down", "db/migrations/3_gone.down.sql", "warning"],
    ],
  );
});

const ref = (content: string | Buffer) => ({ version: "1", name: "x", filename: "1_x.sql", path: "m/1_x.sql", checksum: gitBlobSha(content) });

test("reading a file: directives, UTF-8, integrity against the listed blob", () => {
  const sql =
    "-- autopilot:no-transaction\n-- autopilot:lock-timeout 5s\n-- autopilot:statement-timeout 10min\n-- autopilot:ignore adding-index-non-concurrently we know\ncreate index concurrently i on t (a);\n";
  const { file, problems } = readMigration(ref(sql), sql, "drop index i;");
  assert.deepEqual(problems, []);
  assert.deepEqual(file!.directives, {
    noTransaction: true,
    lockTimeout: "5s",
    statementTimeout: "10min",
    ignores: [{ rule: "adding-index-non-concurrently", reason: "we know", line: 4 }],
  });
  assert.equal(file!.down!.sql, "drop index i;");

  const latin1 = Buffer.from([0x73, 0x65, 0x6c, 0xe9]);
  assert.equal(readMigration(ref(latin1), latin1).problems[0].code, "not-utf8");
  assert.equal(readMigration({ ...ref("a"), checksum: "0".repeat(40) }, "b").problems[0].code, "checksum-mismatch");
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("-- autopilot:no-transaction\nselect 1")]);
  assert.equal(readMigration(ref(bom), bom).file!.directives.noTransaction, true);
});

test("bad directives are errors with their line", () => {
  const cases: Array<[string, number, RegExp]> = [
    ["-- autopilot:no-transation\nselect 1", 1, /unknown directive "autopilot:no-transation"/],
    ["-- hello\n-- autopilot:no-transaction\nselect 1", 2, /must be the first line/],
    ["-- autopilot:lock-timeout soon\nselect 1", 1, /needs a duration/],
    ["-- autopilot:statement-timeout 5 parsecs\nselect 1", 1, /needs a duration/],
    ["-- autopilot:ignore some-rule\nselect 1", 1, /needs a rule id and a reason/],
    ["select 1;\n-- autopilot:lock-timeout 5s\nselect 2", 2, /at the top of the file/],
    ["-- autopilot:lock-timeout 5s\n-- autopilot:lock-timeout 6s\n", 2, /given twice/],
  ];
  for (const [sql, line, message] of cases) {
    const [problem] = readMigration(ref(sql), sql).problems;
    assert.equal(problem?.code, "bad-directive", sql);
    assert.equal(problem.line, line, sql);
    assert.match(problem.message, message);
  }
});

test("loading a directory reads contents and checksums", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-mig-"));
  writeFileSync(path.join(dir, "0002_b.sql"), "select 2;");
  writeFileSync(path.join(dir, "0001_a.sql"), "select 1;");
  writeFileSync(path.join(dir, "0001_a.down.sql"), "select -1;");
  writeFileSync(path.join(dir, "notes.txt"), "ignored");
  const { files, problems } = await loadMigrationDirectory(dir);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    files.map((f) => [f.filename, f.checksum, f.down?.sql]),
    [
      ["0001_a.sql", gitBlobSha("select 1;"), "select -1;"],
      ["0002_b.sql", gitBlobSha("select 2;"), undefined],
    ],
  );
  assert.equal(files[0].path, path.join(dir, "0001_a.sql"));
});

test("a directory read hashes each file once and still checks each: the down file's checksum is its own, a file not in UTF-8 is named", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-mig-"));
  writeFileSync(path.join(dir, "0001_a.sql"), "select 1;");
  writeFileSync(path.join(dir, "0001_a.down.sql"), "select -1;");
  writeFileSync(path.join(dir, "0002_latin1.sql"), Buffer.from("select 'caf\xe9';", "latin1"));
  const { files, problems } = await loadMigrationDirectory(dir);
  assert.deepEqual(
    files.map((f) => [f.filename, f.checksum, f.downChecksum, f.down?.checksum]),
    [["0001_a.sql", gitBlobSha("select 1;"), gitBlobSha("select -1;"), gitBlobSha("select -1;")]],
  );
  assert.deepEqual(
    problems.map((p) => [p.code, p.message]),
    [["not-utf8", "0002_latin1.sql is not valid UTF-8"]],
  );
});
