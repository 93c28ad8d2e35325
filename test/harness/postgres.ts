// One throw-away PostgreSQL cluster per test process (or TEST_DATABASE_URL), and a fresh database
// per test so tests never see each other's data.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { startCluster, type LocalCluster } from "../../src/store/local-cluster.js";

let server: Promise<string> | undefined;
let counter = 0;

export function testServerUrl(): Promise<string> {
  server ??= process.env.TEST_DATABASE_URL ? Promise.resolve(process.env.TEST_DATABASE_URL) : startThrowAwayCluster();
  return server;
}

async function startThrowAwayCluster(): Promise<string> {
  const cluster = await startDisposableCluster();
  return cluster.url;
}

/** A separate cluster the caller owns (e.g. to take a "target" database down and up again). */
export async function startDisposableCluster(port?: number): Promise<LocalCluster> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "autopilot-pg-"));
  const cluster = await startCluster({ dataDir, port, disposable: true });
  process.once("exit", () => {
    cluster.stopSync();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return cluster;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = "t"): Promise<TestDatabase> {
  const adminUrl = await testServerUrl();
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`.toLowerCase();
  await adminQuery(adminUrl, `create database "${name}"`);
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () => adminQuery(adminUrl, `drop database if exists "${name}" with (force)`),
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs one query against a database and returns its rows; for assertions. */
export async function query<T extends pg.QueryResultRow = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
