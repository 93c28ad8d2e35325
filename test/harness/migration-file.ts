// A migration file as the runbooks read it from a repository, from a file name and its SQL.
import assert from "node:assert/strict";
import { gitBlobSha, readMigration, type MigrationFile } from "../../src/database/migration-files.js";

/** `0001_users.sql` → version 0001, name users, under migrations/; fails the test if the file has problems. */
export function migration(filename: string, sql: string): MigrationFile {
  const [, version, name] = /^(\d+)_(.+)\.sql$/.exec(filename)!;
  const { file, problems } = readMigration({ version, name, filename, path: `migrations/${filename}`, checksum: gitBlobSha(sql) }, sql);
  assert.deepEqual(problems, []);
  return file!;
}
