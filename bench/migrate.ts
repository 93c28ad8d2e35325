// Applies 500 generated migrations with Autopilot and with node-pg-migrate (its SQL-file layout,
// its programmatic runner, same process, same cluster), each into its own empty database, then
// re-runs both with nothing to do. Prints the times per phase and, last, ratio=<autopilot/peer>:
// the worse of the two phase ratios (lower is better; ≤ 1.00 means no slower than the peer).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runner } from "node-pg-migrate";
import { readHistoryFromUrl } from "../src/database/history.js";
import { loadMigrationDirectory } from "../src/database/migration-files.js";
import { migrate } from "../src/database/migrator.js";
import { plan } from "../src/database/planner.js";
import { startCluster, type LocalCluster } from "../src/store/local-cluster.js";
import { admin, databaseUrl, median } from "./support.js";

const COUNT = Number(process.env.BENCH_MIGRATIONS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5); // medians of several interleaved rounds: this machine is noisy

function migrationSql(n: number): string {
  const table = `t_${n}`;
  return [
    `create table ${table} (id bigserial primary key, name text not null, created_at timestamptz not null default now());`,
    `create index ${table}_name on ${table} (name);`,
    `insert into ${table} (name) values ('alpha'), ('beta'), ('gamma');`,
  ].join("\n");
}

/** The same migrations in both layouts: Autopilot's up/down files and node-pg-migrate's single file with markers. */
function generate(root: string): { autopilotDir: string; peerDir: string } {
  const autopilotDir = path.join(root, "autopilot");
  const peerDir = path.join(root, "node-pg-migrate");
  mkdirSync(autopilotDir);
  mkdirSync(peerDir);
  for (let n = 1; n <= COUNT; n++) {
    const name = `${String(n).padStart(4, "0")}_create_t_${n}`;
    writeFileSync(path.join(autopilotDir, `${name}.sql`), migrationSql(n) + "\n");
    writeFileSync(path.join(autopilotDir, `${name}.down.sql`), `drop table t_${n};\n`);
    writeFileSync(path.join(peerDir, `${name}.sql`), `-- Up Migration\n${migrationSql(n)}\n\n-- Down Migration\ndrop table t_${n};\n`);
  }
  return { autopilotDir, peerDir };
}

/** Autopilot's full path, as the CLI runs it: read the directory, read the history, plan, apply. */
async function runAutopilot(databaseUrl: string, dir: string): Promise<number> {
  const { files, problems } = await loadMigrationDirectory(dir);
  if (problems.length) throw new Error(problems[0].message);
  const planned = plan(files, await readHistoryFromUrl(databaseUrl), { outOfOrder: false });
  const pending = new Set(planned.pending.map((r) => r.path));
  const todo = files.filter((f) => pending.has(f.path));
  if (todo.length === 0) return 0;
  const result = await migrate({ databaseUrl, migrations: todo, appliedBy: "bench" });
  if (result.failure) throw new Error(result.failure.message);
  return result.applied.length;
}

async function runPeer(databaseUrl: string, dir: string): Promise<number> {
  const ran = await runner({ databaseUrl, dir, direction: "up", migrationsTable: "pgmigrations", log: () => undefined });
  return ran.length;
}

async function timed(fn: () => Promise<number>, expected: number): Promise<number> {
  const started = performance.now();
  const count = await fn();
  if (count !== expected) throw new Error(`expected ${expected} migrations to run, got ${count}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), "autopilot-bench-"));
  // The cluster's directory is its own temp dir: when we run as root, initdb runs as `postgres`
  // and must be able to reach it (it is chowned to that user, its root-owned parent would not be).
  const dataDir = mkdtempSync(path.join(tmpdir(), "autopilot-bench-pg-"));
  let cluster: LocalCluster | undefined;
  try {
    const { autopilotDir, peerDir } = generate(root);
    const serverUrl = process.env.TEST_DATABASE_URL ?? (cluster = await startCluster({ dataDir, disposable: true })).url;
    const times = { autopilot: { apply: [] as number[], noop: [] as number[] }, peer: { apply: [] as number[], noop: [] as number[] } };

    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first so neither always gets the colder cache.
      const tools = round % 2 === 0 ? (["autopilot", "peer"] as const) : (["peer", "autopilot"] as const);
      for (const tool of tools) {
        const name = `bench_${tool}_${process.pid}_${round}`.replace("-", "_");
        await admin(serverUrl, `create database ${name}`);
        const url = databaseUrl(serverUrl, name);
        const run = tool === "autopilot" ? () => runAutopilot(url, autopilotDir) : () => runPeer(url, peerDir);
        times[tool].apply.push(await timed(run, COUNT));
        times[tool].noop.push(await timed(run, 0));
        await admin(serverUrl, `drop database ${name} with (force)`);
      }
    }

    const phases = ["apply", "noop"] as const;
    const ratios = phases.map((phase) => median(times.autopilot[phase]) / median(times.peer[phase]));
    console.log(`${COUNT} migrations, median of ${ROUNDS} rounds`);
    phases.forEach((phase, i) => {
      console.log(
        `${phase.padEnd(6)} autopilot ${median(times.autopilot[phase]).toFixed(0)} ms   node-pg-migrate ${median(times.peer[phase]).toFixed(0)} ms   ratio ${ratios[i].toFixed(2)}`,
      );
    });
    console.log(`ratio=${Math.max(...ratios).toFixed(2)}`);
  } finally {
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
