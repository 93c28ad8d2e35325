// The app's own PostgreSQL: opened once, brought up to date by Autopilot's own migrator (the same
// engine users' migrations run on), and shared by every module through one pool. /healthz has a
// pool of its own and run locks a connection of their own (jobs/liveness.ts), so neither ever waits
// for a slot behind jobs.
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
  /**
   * Only for webhook handlers: an acknowledgement never waits for a connection behind the jobs (36
   * workers and their stand-ins share `pool`), so GitHub gets its answer in milliseconds.
   */
  webhookPool: pg.Pool;
  /** Only for GET /healthz: its one connection is never taken by a job. */
  healthzPool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Connections of the shared pool (AUTOPILOT_STORE_POOL_SIZE). */
  poolSize?: number;
  /** How long a query may wait for a free connection (or for connecting) before it fails. */
  connectionTimeoutMillis?: number;
}

export const DEFAULT_POOL_SIZE = 10;
/** A delivery takes its connection for a few milliseconds (record the run, send its job). */
const WEBHOOK_POOL_SIZE = 4;
const POOL_WAIT_MS = 10_000;
// A liveness probe must answer promptly even when the store does not: 503 beats hanging.
const HEALTHZ_TIMEOUT_MS = 2_000;

export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  await migrateStore(url);
  const pool = new pg.Pool({
    connectionString: url,
    application_name: "autopilot",
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    // Nothing waits forever for a connection: a query that cannot get one in time fails (and its job is retried).
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? POOL_WAIT_MS,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  const webhookPool = new pg.Pool({
    connectionString: url,
    application_name: "autopilot-webhooks",
    max: WEBHOOK_POOL_SIZE,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? POOL_WAIT_MS,
    idleTimeoutMillis: 0, // kept open: a delivery then never waits for a new backend
    keepAlive: true,
  });
  const healthzPool = new pg.Pool({
    connectionString: url,
    application_name: "autopilot-healthz",
    max: 1,
    connectionTimeoutMillis: HEALTHZ_TIMEOUT_MS,
    query_timeout: HEALTHZ_TIMEOUT_MS,
    idleTimeoutMillis: 0, // kept open: a probe then costs one round trip, not a new backend
    keepAlive: true,
  });
  // A dropped idle connection is replaced on next use.
  const pools = [pool, webhookPool, healthzPool];
  for (const p of pools) p.on("error", () => undefined);
  return { pool, webhookPool, healthzPool, url, close: () => Promise.all(pools.map((p) => p.end())).then(() => undefined) };
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
