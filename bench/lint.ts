// npm run bench:lint — lints 1,000 generated migration files on one core (the main thread) and
// prints files per second, next to the bare parser on the same files: the ratio is what the rules,
// positions and ignores cost on top of PostgreSQL's parser. Each is timed as the best of five rounds
// (the machine may be shared; the median is printed too). Then the same files, written to disk, are
// linted from the command line by `autopilot plan --lint` and by the peer, squawk: one process each
// over the whole directory, start-up included, as their users run them. Last two lines:
// files_per_second=<n> (in process) and ratio=<autopilot seconds / squawk seconds> (command line).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModule, parseSync } from "libpg-query";
import { ensureLintReady, lintMigration, type LintInput } from "../src/database/lint/index.js";

const FILES = 1000;
const WARM_UP_FILES = 200;
const ROUNDS = 5;
const COMMAND_LINE_ROUNDS = 3;
const AUTOPILOT_BIN = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));
const PROJECT = fileURLToPath(new URL("..", import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL("../scripts/build-cli.mjs", import.meta.url));
const SQUAWK_BIN = fileURLToPath(new URL("../node_modules/.bin/squawk", import.meta.url));

/** Deterministic pseudo-random numbers (mulberry32), so every run lints the same files. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pick = <T>(items: readonly T[]) => T;

const NOUNS = ["orders", "customers", "invoices", "line_items", "payments", "shipments", "products", "accounts", "événements", "audit_log"];
const COLUMNS = ["status", "note", "amount", "currency", "created_at", "updated_at", "external_id", "région", "priority", "owner_id"];
const TYPES = ["text", "bigint", "integer", "numeric(12,2)", "timestamptz", "timestamp", "varchar(64)", "boolean", "jsonb", "uuid"];

function statementMaker(pick: Pick, rand: () => number, noTransaction: boolean): Array<() => string> {
  const table = () => pick(NOUNS);
  const column = () => `${pick(COLUMNS)}_${Math.floor(rand() * 90)}`;
  const index = () => `${table()}_${column()}_idx`;
  const transactional = [
    () =>
      `CREATE TABLE IF NOT EXISTS ${table()}_${Math.floor(rand() * 1e4)} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  ${column()} ${pick(TYPES)} NOT NULL DEFAULT 0,\n  ${column()} ${pick(TYPES)},\n  customer_id bigint REFERENCES customers (id),\n  created_at timestamptz NOT NULL DEFAULT now()\n);`,
    () => `ALTER TABLE ${table()} ADD COLUMN ${column()} ${pick(TYPES)}${rand() < 0.3 ? " NOT NULL" : ""}${rand() < 0.5 ? " DEFAULT 'x'" : ""};`,
    () => `ALTER TABLE ${table()} ADD CONSTRAINT ${column()}_check CHECK (${column()} > 0)${rand() < 0.5 ? " NOT VALID" : ""};`,
    () => `ALTER TABLE ${table()} ALTER COLUMN ${column()} ${rand() < 0.5 ? "SET NOT NULL" : "TYPE text"};`,
    () => `CREATE INDEX ${index()} ON ${table()} (${column()}, created_at DESC) WHERE deleted_at IS NULL;`,
    () => `UPDATE ${table()} SET ${column()} = 'migrated' WHERE id IN (SELECT id FROM ${table()} WHERE created_at < now() - interval '30 days' LIMIT 1000);`,
    () => `INSERT INTO ${table()} (${column()}, ${column()}) VALUES ('a', 1), ('b', 2), ('c', 3) ON CONFLICT DO NOTHING;`,
    () =>
      `CREATE OR REPLACE FUNCTION touch_${table()}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.updated_at := now();\n  EXECUTE $q$SELECT 1; DROP TABLE not_really$q$;\n  RETURN NEW;\nEND\n$$;`,
    () => `CREATE TRIGGER touch_${table()} BEFORE UPDATE ON ${table()} FOR EACH ROW EXECUTE FUNCTION touch_${table()}();`,
    () =>
      `CREATE OR REPLACE VIEW active_${table()} AS SELECT o.id, o.${column()}, c.name FROM ${table()} o JOIN customers c ON c.id = o.customer_id WHERE o.${column()} IS NOT NULL;`,
    () => `COMMENT ON TABLE ${table()} IS 'Owned by the billing team; see the runbook';`,
    () => `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN CREATE TYPE mood AS ENUM ('sad', 'ok'); END IF; END $$;`,
    () => `-- keep the old name readable for the reporting job\nGRANT SELECT ON ${table()} TO reporting;`,
    () => `ALTER TABLE ${table()} DROP COLUMN IF EXISTS ${column()};`,
  ];
  const concurrent = [
    () => `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index()} ON ${table()} (${column()});`,
    () => `DROP INDEX CONCURRENTLY IF EXISTS ${index()};`,
    () => `CREATE UNIQUE INDEX CONCURRENTLY ${index()} ON ${table()} (external_id);`,
  ];
  return noTransaction ? concurrent : transactional;
}

function generateMigrations(count: number, seed = 42): LintInput[] {
  const rand = random(seed);
  const pick: Pick = (items) => items[Math.floor(rand() * items.length)];
  return Array.from({ length: count }, (_, i) => {
    const noTransaction = rand() < 0.15;
    const makers = statementMaker(pick, rand, noTransaction);
    const statements = Array.from({ length: 5 + Math.floor(rand() * 26) }, () => pick(makers)());
    const header = noTransaction ? "-- autopilot:no-transaction\n" : `-- Migration ${i}: ${pick(NOUNS)} changes\n`;
    const ignore = rand() < 0.1 ? "-- autopilot:ignore require-concurrent-index-creation small table\n" : "";
    return { path: `migrations/${String(i + 1).padStart(4, "0")}_m.sql`, sql: header + ignore + statements.join("\n\n") + "\n", noTransaction };
  });
}

/** Best of several rounds, in ms: on a shared machine the fastest round is the one least disturbed. */
function bestOf(rounds: number, run: () => void): { best: number; median: number } {
  const times = Array.from({ length: rounds }, () => {
    const started = process.hrtime.bigint();
    run();
    return Number(process.hrtime.bigint() - started) / 1e6;
  }).sort((a, b) => a - b);
  return { best: times[0], median: times[Math.floor(rounds / 2)] };
}

/** Writes the files under a fresh temporary directory; returns it and their paths relative to it. */
function writeToDisk(files: LintInput[]): { root: string; paths: string[] } {
  const root = mkdtempSync(path.join(tmpdir(), "autopilot-bench-lint-"));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file.path)), { recursive: true });
    writeFileSync(path.join(root, file.path), file.sql);
  }
  return { root, paths: files.map((f) => f.path) };
}

/** Seconds one process takes from spawn to exit; exit 1 is fine (both tools exit 1 on findings). */
function timeProcess(command: string, args: string[], cwd: string, expectOutput: RegExp): number {
  const env = { ...process.env };
  delete env.AUTOPILOT_DATABASE_URL; // `plan --lint` without a database lints every file
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.error || (run.status !== 0 && run.status !== 1) || !expectOutput.test(run.stdout)) {
    throw new Error(`${path.basename(command)} ${args.slice(0, 3).join(" ")} … failed (exit ${run.status}): ${run.error ?? run.stderr.slice(0, 2000)}`);
  }
  return seconds;
}

/**
 * Builds the command line's bundle as `npm ci` does: bin/autopilot.js runs the TypeScript itself when
 * any source file is newer than the bundle (after an edit, a checkout or a stash), which would time
 * the compiler, not the lint.
 */
function buildBundle(): void {
  const build = spawnSync(process.execPath, [BUILD_SCRIPT], { cwd: PROJECT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}`);
}

/** Best of a few alternating rounds of each command line over the same directory. */
function timeCommandLines(files: LintInput[]): { autopilot: number; squawk: number } {
  buildBundle();
  const { root, paths } = writeToDisk(files);
  try {
    const directory = path.dirname(paths[0]);
    const autopilot: number[] = [];
    const squawk: number[] = [];
    for (let round = 0; round < COMMAND_LINE_ROUNDS; round++) {
      autopilot.push(timeProcess(process.execPath, [AUTOPILOT_BIN, "plan", "--lint", "--dir", directory], root, /Lint: \d+ error/));
      squawk.push(timeProcess(SQUAWK_BIN, paths, root, /\S/));
    }
    return { autopilot: Math.min(...autopilot), squawk: Math.min(...squawk) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await ensureLintReady();
  await loadModule(); // the parser alone: libpg-query's parseSync, its JSON turned into objects
  const files = generateMigrations(FILES);
  const warmUp = generateMigrations(WARM_UP_FILES, 7);
  const statements = files.reduce((n, f) => n + (f.sql.match(/;\n/g)?.length ?? 0), 0);
  const megabytes = files.reduce((n, f) => n + Buffer.byteLength(f.sql), 0) / 1e6;

  for (const file of warmUp) lintMigration(file);
  const findings = files.reduce((n, f) => n + lintMigration(f).length, 0);
  const parse = bestOf(ROUNDS, () => files.forEach((f) => parseSync(f.sql)));
  const lint = bestOf(ROUNDS, () => files.forEach((f) => lintMigration(f)));

  const perSecond = (ms: number) => Math.round((FILES / ms) * 1000);
  const filesPerSecond = perSecond(lint.best);
  console.log(`${FILES} files, ~${statements} statements, ${megabytes.toFixed(2)} MB; ${findings} findings; best of ${ROUNDS} rounds on the main thread`);
  console.log(`parser alone:        ${parse.best.toFixed(0)} ms, ${perSecond(parse.best)} files/s (median round ${perSecond(parse.median)} files/s)`);
  console.log(
    `lint:                ${lint.best.toFixed(0)} ms, ${filesPerSecond} files/s (median round ${perSecond(lint.median)} files/s); ${(lint.best / parse.best).toFixed(2)}× the parser alone`,
  );
  const commandLine = timeCommandLines(files);
  console.log(
    `command line, one process over the directory, start-up included (best of ${COMMAND_LINE_ROUNDS}): ` +
      `autopilot plan --lint ${commandLine.autopilot.toFixed(2)} s, squawk ${commandLine.squawk.toFixed(2)} s`,
  );
  console.log(`files_per_second=${filesPerSecond}`);
  console.log(`ratio=${(commandLine.autopilot / commandLine.squawk).toFixed(2)}`);
}

await main();
