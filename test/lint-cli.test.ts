import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase } from "./harness/postgres.js";

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

function autopilot(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = { ...process.env, ...env };
  if (!env.AUTOPILOT_DATABASE_URL) delete clean.AUTOPILOT_DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: clean }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-lint-cli-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const MIGRATIONS = {
  "migrations/0001_users.sql": "create table users (id bigint generated always as identity primary key, name varchar(80));\n",
  "migrations/0002_drop.sql": "-- tidy up\n\nalter table users drop column name;\n",
};

test("plan --lint without a database lints every file: path:line: severity rule-id: message, exit 1 on errors", async () => {
  const dir = repo(MIGRATIONS);
  const { code, stdout } = await autopilot(["plan", "--lint", "--dir", "migrations"], dir);
  assert.equal(code, 1);
  assert.match(stdout, /^migrations\/0001_users\.sql:1: notice prefer-text-field: column users\.name is varchar\(80\)$/m);
  assert.match(stdout, /^migrations\/0002_drop\.sql:3: error ban-drop-column: drops column users\.name$/m);
  assert.match(stdout, /Lint: 1 error\(s\), 0 warning\(s\), 1 notice\(s\) in 2 file\(s\)\./);
});

test("plan --lint takes severities from the repo config's lint section; warnings alone exit 0", async () => {
  const dir = repo({ ...MIGRATIONS, ".github/autopilot.yml": "lint:\n  rules:\n    ban-drop-column: warning\n    prefer-text-field: off\n" });
  const { code, stdout } = await autopilot(["plan", "--lint", "--dir", "migrations"], dir);
  assert.equal(code, 0, stdout);
  assert.match(stdout, /0002_drop\.sql:3: warning ban-drop-column/);
  assert.doesNotMatch(stdout, /prefer-text-field/);
});

test("plan --lint refuses a lint config with an unknown rule, naming the key", async () => {
  const dir = repo({ ...MIGRATIONS, ".github/autopilot.yml": "lint:\n  rules:\n    ban-drop-colum: warning\n" });
  const { code, stderr } = await autopilot(["plan", "--lint", "--dir", "migrations"], dir);
  assert.equal(code, 1);
  assert.match(stderr, /lint\.rules\.ban-drop-colum: unknown lint rule "ban-drop-colum" \(did you mean ban-drop-column\?\)/);
});

test("plan --lint with a database lints only the pending files", async () => {
  const db = await createTestDatabase();
  const dir = repo(MIGRATIONS);
  const env = { AUTOPILOT_DATABASE_URL: db.url };
  const first = await autopilot(["migrate", "--dir", "migrations"], dir, env);
  assert.equal(first.code, 0, first.stderr);
  // both applied: nothing pending, nothing to lint
  const planned = await autopilot(["plan", "--lint", "--dir", "migrations"], dir, env);
  assert.equal(planned.code, 0, planned.stderr);
  assert.match(planned.stdout, /Lint: 0 error\(s\), 0 warning\(s\) in 0 file\(s\)\./);
  writeFileSync(path.join(dir, "migrations/0003_more.sql"), "create index users_name on users (name);\n");
  const more = await autopilot(["plan", "--lint", "--dir", "migrations"], dir, env);
  assert.equal(more.code, 0, more.stderr);
  assert.match(
    more.stdout,
    /^migrations\/0003_more\.sql:1: warning require-concurrent-index-creation: creates index users_name on users without CONCURRENTLY$/m,
  );
  assert.doesNotMatch(more.stdout, /0002_drop/);
  await db.drop();
});
