// `npm run drill:backup-memory`: a 100 MB dump backed up through each store (local, s3 against s3rver,
// supabase against the fake Storage API) with the backing-up process's peak RSS measured. Each store
// runs in a child process of its own, so one store's leftovers never count against the next, and the
// servers (PostgreSQL, s3rver, the fake) run outside the measured process. Prints, per store,
// `peak_rss_above_baseline_mb=<n>`; exits 1 when one reaches the 150 MB limit.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import S3rver from "s3rver";
import { takeBackup } from "../src/backups/service.js";
import type { BackupSettings } from "../src/config/backup-config.js";
import { startCluster, type LocalCluster } from "../src/store/local-cluster.js";
import { openStore } from "../src/store/store.js";
import { startFakeSupabaseStorage } from "../test/harness/fake-supabase-storage.js";
import { admin, databaseUrl, s3rverSettings } from "../bench/support.js";

const LIMIT_MB = 150;
const DUMP_MB = 100;
const STORES = ["local", "s3", "supabase"] as const;

interface ChildInput {
  targetUrl: string;
  storeUrl: string;
  settings: BackupSettings;
}

if (process.argv[2] === "--child") await child(JSON.parse(process.env.BACKUP_MEMORY_DRILL!) as ChildInput);
else await main();

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), "drill-backup-memory-"));
  chmodSync(work, 0o755); // as root the cluster runs as "postgres", which must reach its data folder
  let cluster: LocalCluster | undefined;
  const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: path.join(work, "s3"), configureBuckets: [{ name: "autopilot" }] });
  const supabase = await startFakeSupabaseStorage(["backups"]);
  let failed = false;
  try {
    const serverUrl = process.env.TEST_DATABASE_URL ?? (cluster = await startCluster({ dataDir: path.join(work, "pg"), disposable: true })).url;
    for (const name of ["drill_backup_memory", "drill_backup_memory_store"]) {
      await admin(serverUrl, `drop database if exists ${name}`);
      await admin(serverUrl, `create database ${name}`);
    }
    const targetUrl = databaseUrl(serverUrl, "drill_backup_memory");
    const storeUrl = databaseUrl(serverUrl, "drill_backup_memory_store");
    await seed(targetUrl);
    await (await openStore(storeUrl)).close(); // the store's schema, before any child uses it
    const { port } = (await s3.run()) as { port: number };
    const base = { directory: path.join(work, "backups"), retentionDays: 30, keyRing: [], keyVariables: [] };
    const settings: Record<(typeof STORES)[number], BackupSettings> = {
      local: { ...base, store: "local" },
      s3: {
        ...base,
        store: "s3",
        s3: s3rverSettings(port),
      },
      supabase: { ...base, store: "supabase", supabase: { url: supabase.url, serviceKey: supabase.serviceKey, bucket: "backups", prefix: "" } },
    };
    for (const store of STORES) {
      const input: ChildInput = { targetUrl, storeUrl, settings: settings[store] };
      // Asynchronously: s3rver and the fake serve the child from this process's event loop.
      const { stdout: out } = await promisify(execFile)(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child"], {
        env: { ...process.env, BACKUP_MEMORY_DRILL: JSON.stringify(input) },
        encoding: "utf8",
      });
      const line = out.trim().split("\n").pop()!;
      console.log(`store=${store} ${line}`);
      const peak = Number(/peak_rss_above_baseline_mb=(\d+)/.exec(line)?.[1]);
      if (!(peak < LIMIT_MB)) failed = true;
    }
  } finally {
    await s3.close().catch(() => undefined);
    await supabase.close();
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(failed ? `drill=failed (a store reached ${LIMIT_MB} MB above baseline)` : "drill=passed");
  process.exit(failed ? 1 : 0);
}

/** 100 rows of 1 MiB of random bytes: neither TOAST nor pg_dump can compress them, so the dump is ~100 MB. */
async function seed(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("create table blobs (id int primary key, body bytea not null)");
    for (let i = 0; i < DUMP_MB; i++) await client.query("insert into blobs values ($1, $2)", [i, randomBytes(1024 * 1024)]);
  } finally {
    await client.end();
  }
}

/** One backup, with RSS sampled every 10 ms from just before it to its end. */
async function child(input: ChildInput): Promise<void> {
  const store = await openStore(input.storeUrl, { poolSize: 2 });
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const record = await takeBackup({
      db: store.pool,
      settings: input.settings,
      databaseUrl: input.targetUrl,
      repo: "drill/memory",
      environment: input.settings.store,
      runId: null,
      commitSha: null,
    });
    peak = Math.max(peak, process.memoryUsage().rss);
    const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
    console.log(`dump_mb=${mb(record.sizeBytes!)} baseline_rss_mb=${mb(baseline)} peak_rss_above_baseline_mb=${mb(peak - baseline)}`);
  } finally {
    clearInterval(sampler);
    await store.close();
  }
}
