// bin/autopilot.js runs the esbuild bundle in dist/cli/ only while it is newer than every source file,
// so an edit to src/ is never hidden by a stale build; and the bundle that `npm run build` writes works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function run(command: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.AUTOPILOT_DATABASE_URL;
  return new Promise((resolve) => {
    // A run that hangs is killed after two minutes and reported with code -1.
    execFile(command, args, { cwd, env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error?.killed ? -1 : error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The bundle built into a directory of its own inside the project (packages resolve from there), so
 * that another test running dist/cli meanwhile never loses a chunk to this rebuild.
 */
async function buildPrivateBundle(t: { after(fn: () => void): void }): Promise<string> {
  mkdirSync(path.join(root, "dist"), { recursive: true });
  const outdir = mkdtempSync(path.join(root, "dist", "test-"));
  t.after(() => rmSync(outdir, { recursive: true, force: true }));
  const build = await run(process.execPath, ["scripts/build-cli.mjs", outdir], root);
  assert.equal(build.code, 0, build.stderr);
  return path.join(outdir, "main.cjs");
}

/** A checkout whose src/ and node_modules/ are the real ones and whose dist/cli/main.cjs only says "bundle". */
function checkoutWithFakeBundle(): { bin: string; bundle: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-cli-bundle-"));
  mkdirSync(path.join(dir, "bin"));
  copyFileSync(path.join(root, "bin/autopilot.js"), path.join(dir, "bin/autopilot.js"));
  for (const shared of ["src", "node_modules", "package.json"]) symlinkSync(path.join(root, shared), path.join(dir, shared));
  mkdirSync(path.join(dir, "dist/cli"), { recursive: true });
  const bundle = path.join(dir, "dist/cli/main.cjs");
  writeFileSync(bundle, 'console.log("bundle");\n');
  return { bin: path.join(dir, "bin/autopilot.js"), bundle };
}

test("bin/autopilot.js runs the bundle while it is newer than src/, and the TypeScript once src/ is newer", async () => {
  const { bin, bundle } = checkoutWithFakeBundle();
  const fresh = await run(process.execPath, [bin, "--help"], root);
  assert.equal(fresh.stdout, "bundle\n");

  utimesSync(bundle, new Date(0), new Date(0)); // built before every source file was last changed
  const stale = await run(process.execPath, [bin, "--help"], root);
  assert.equal(stale.code, 0, stale.stderr);
  assert.match(stale.stdout, /^Usage: autopilot/);
});

test("the bundle npm run build writes lints a directory: findings, counts and exit code", async (t) => {
  const bundle = await buildPrivateBundle(t);
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-cli-bundle-lint-"));
  mkdirSync(path.join(dir, "migrations"));
  writeFileSync(path.join(dir, "migrations/0001_users.sql"), "create table users (id bigint primary key, name varchar(80));\n");
  writeFileSync(path.join(dir, "migrations/0002_drop.sql"), "-- tidy up\n\nalter table users drop column name;\n");
  const bundled = await run(process.execPath, [bundle, "plan", "--lint", "--dir", "migrations"], dir);
  assert.deepEqual(bundled, {
    code: 1,
    stderr: "",
    stdout: [
      "No database given: linting all 2 file(s).",
      "migrations/0001_users.sql:1: notice prefer-text-field: column users.name is varchar(80)",
      "migrations/0002_drop.sql:3: error ban-drop-column: drops column users.name",
      "Lint: 1 error(s), 0 warning(s), 1 notice(s) in 2 file(s).",
      "",
    ].join("\n"),
  });

  // The parse thread starts before the repo config is read: a bad config still ends the run at once
  // with its error (a thread left holding the process would show as a hang, code -1).
  mkdirSync(path.join(dir, ".github"));
  writeFileSync(path.join(dir, ".github/autopilot.yml"), "lint:\n  rules:\n    no-such-rule: error\n");
  const badConfig = await run(process.execPath, [bundle, "plan", "--lint", "--dir", "migrations"], dir);
  assert.equal(badConfig.code, 1);
  assert.equal(badConfig.stdout, "");
  assert.match(badConfig.stderr, /\.github\/autopilot\.yml:3: lint\.rules\.no-such-rule: unknown lint rule "no-such-rule"/);

  // `--lint` starts the thread before the command line is parsed; a command that has no such option
  // is refused, and the idle thread does not hold the process.
  const notALint = await run(process.execPath, [bundle, "migrate", "--lint", "--dir", "migrations"], dir);
  assert.equal(notALint.code, 1);
  assert.match(notALint.stderr, /unknown option '--lint'/);
});

test("the bundle's grammar check on a worker thread reports exactly what the in-thread check of the sources reports", async (t) => {
  const bundle = await buildPrivateBundle(t);
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-cli-grammar-thread-"));
  mkdirSync(path.join(dir, "migrations"));
  mkdirSync(path.join(dir, ".github"));
  writeFileSync(path.join(dir, ".github/autopilot.yml"), "lint:\n  postgres_version: 14\n");
  const newer = [
    "merge into accounts a using incoming i on a.id = i.id when matched then update set balance = i.balance;", // 15
    "select '{}' is json;", // 16
    "select * from json_table('[1]', '$[*]' columns (n int path '$'));", // 17
    "create table broken (id int primary key,;", // a syntax error in every grammar
  ];
  // Statements' places move to the worker thread as string indexes: files with multi-byte characters
  // (two-byte, three-byte, and a four-byte one that is two UTF-16 units) before and inside findings.
  const multiByte = (i: number) =>
    `-- café ☕ 🚀 ${i}\ncreate table "événements_${i}" (id int primary key, "région" varchar(20));\nalter table "événements_${i}" add column "🚀" text not null;`;
  for (let i = 1; i <= 40; i++) {
    const version = String(i).padStart(4, "0");
    const plain = `create table t${i} (id int primary key, name varchar(20));\nalter table t${i} add column note text not null;`;
    const sql = i % 10 === 0 ? newer[i / 10 - 1] : i % 3 === 0 ? multiByte(i) : plain;
    writeFileSync(path.join(dir, `migrations/${version}_step${i}.sql`), `${sql}\n`);
    if (i % 7 === 0) writeFileSync(path.join(dir, `migrations/${version}_step${i}.down.sql`), i === 21 ? `${newer[0]}\n` : `drop table t${i};\n`);
  }
  const args = ["plan", "--lint", "--dir", "migrations"];
  const bundled = await run(process.execPath, [bundle, ...args], dir);
  const sources = await run(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(root, "src/cli/main.ts"), ...args], dir);
  assert.match(bundled.stdout, /syntax-newer-than-target/, "the target's grammar refused some files");
  assert.match(
    bundled.stdout,
    /\/0003_step3\.sql:2: notice prefer-text-field: column événements_3\.région/,
    "a finding after multi-byte characters, on its line",
  );
  assert.deepEqual(bundled, sources);

  // The grammar thread starts before the files are read; a run that fails reading them still exits.
  const refused = await run(process.execPath, [bundle, ...args, "--layout", "flyaway"], dir);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: --layout must be one of .* \(got "flyaway"\)$/m);
});
