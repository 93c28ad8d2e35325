// The app's own PostgreSQL: opened once, brought up to date by Autopilot's own migrator (the same
// engine users' migrations run on), and shared by every module through one pool.
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { loadMigrationDirectory } from "../database/migration-files.js";
import { migrate } from "../database/migrator.js";
import { readHistoryFromUrl } from "../database/history.js";
import { plan } from "../database/planner.js";
import { startCluster } from "./local-cluster.js";

export const STORE_MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");

export interface Store {
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

export async function openStore(url: string): Promise<Store> {
  await migrateStore(url);
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", () => undefined); // a dropped idle connection is replaced on next use
  return { pool, url, close: () => pool.end() };
}

async function migrateStore(url: string): Promise<void> {
  const { files, problems } = await loadMigrationDirectory(STORE_MIGRATIONS_DIR);
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length) throw new Error(`store migrations are broken: ${errors.map((p) => p.message).join("; ")}`);
  const pending = plan(files, await readHistoryFromUrl(url), { outOfOrder: false });
  if (pending.problems.some((p) => p.severity === "error")) {
    throw new Error(`store schema history disagrees with migrations/: ${pending.problems.map((p) => p.message).join("; ")}`);
  }
  const todo = files.filter((f) => pending.pending.some((p) => p.version === f.version));
  const result = await migrate({ databaseUrl: url, migrations: todo, appliedBy: "autopilot", commitSha: null });
  if (result.failure) throw new Error(`store migration ${result.failure.file.filename} failed: ${result.failure.message}`);
}

/**
 * DATABASE_URL when set; otherwise a cluster of the machine's PostgreSQL in `<dataDir>/pgdata`
 * holding a database named `autopilot`, so `npm start` works with no set-up.
 */
export async function resolveStoreUrl(databaseUrl: string | undefined, dataDir: string): Promise<{ url: string; stop?: () => Promise<void> }> {
  if (databaseUrl) return { url: databaseUrl };
  const cluster = await startCluster({ dataDir: path.join(dataDir, "pgdata") });
  // However the process ends (Probot's own SIGINT handler exits directly), a cluster this process
  // started stops with it; one another process runs (the app, while the CLI reads) is left alone.
  if (cluster.startedHere) process.once("exit", () => cluster.stopSync());
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  try {
    const exists = await admin.query("select 1 from pg_database where datname = 'autopilot'");
    if (exists.rowCount === 0) await admin.query("create database autopilot");
  } finally {
    await admin.end();
  }
  const url = new URL(cluster.url);
  url.pathname = "/autopilot";
  return { url: url.toString(), stop: cluster.startedHere ? cluster.stop : undefined };
}
