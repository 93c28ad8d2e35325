// `npm run bench:backup`: a pgbench database at scale 10 backed up by autopilot (local, and s3 against
// s3rver), by raw `pg_dump -Fc` and by `pg_dump | gzip`, seven rounds, medians printed;
// ratio_raw and ratio_s3 last. Goals: ratio_raw <= 1.05, ratio_s3 <= 1.25.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { takeBackup } from "../src/backups/service.js";
import type { BackupSettings } from "../src/config/backup-config.js";
import { connectionEnv } from "../src/database/pg-tools.js";
import { startCluster, type LocalCluster } from "../src/store/local-cluster.js";
import { openStore } from "../src/store/store.js";
import { admin, databaseUrl, median, s3rverSettings } from "./support.js";

const PGBENCH = "/usr/lib/postgresql/15/bin/pgbench";
const ROUNDS = 7;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), "bench-backup-"));
  chmodSync(work, 0o755); // as root the cluster runs as "postgres", which must reach its data folder

  let cluster: LocalCluster | undefined;
  const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: path.join(work, "s3"), configureBuckets: [{ name: "autopilot" }] });
  try {
    const serverUrl = process.env.TEST_DATABASE_URL ?? (cluster = await startCluster({ dataDir: path.join(work, "pg"), disposable: true })).url;
    await admin(serverUrl, "drop database if exists bench_backup");
    await admin(serverUrl, "create database bench_backup");
    await admin(serverUrl, "drop database if exists bench_backup_store");
    await admin(serverUrl, "create database bench_backup_store");
    const url = databaseUrl(serverUrl, "bench_backup");
    const conn = connectionEnv(url);
    // pgbench takes the database as its last argument (its -d is --debug, not --dbname).
    const pgbenchTarget = conn.args.map((a) => a.replace(/^--dbname=/, ""));
    execFileSync(PGBENCH, ["-i", "-s", "10", "-q", ...pgbenchTarget], { env: { ...process.env, ...conn.env }, stdio: "ignore" });
    const store = await openStore(databaseUrl(serverUrl, "bench_backup_store"));
    const { port } = await s3.run();
    const base = (over: Partial<BackupSettings>): BackupSettings => ({
      store: "local",
      directory: path.join(work, "backups"),
      retentionDays: 30,
      keyRing: [],
      keyVariables: [],
      ...over,
    });
    const s3Settings = base({
      store: "s3",
      s3: s3rverSettings(port),
    });
    const timed = async (run: () => unknown | Promise<unknown>) => {
      const started = performance.now();
      await run();
      return performance.now() - started;
    };
    const shell = (command: string) => {
      const result = spawnSync("bash", ["-o", "pipefail", "-c", command], { env: { ...process.env, ...conn.env }, stdio: "ignore" });
      if (result.status !== 0) throw new Error(`${command} failed`);
    };
    const args = conn.args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const cases: Record<string, () => unknown> = {
      raw_pg_dump: () => shell(`pg_dump -Fc ${args} -f ${work}/raw.dump`),
      pg_dump_gzip: () => shell(`pg_dump ${args} | gzip > ${work}/plain.sql.gz`),
      autopilot_local: () =>
        takeBackup({ db: store.pool, settings: base({}), databaseUrl: url, repo: "bench/db", environment: "local", runId: null, commitSha: null }),
      autopilot_s3: () =>
        takeBackup({ db: store.pool, settings: s3Settings, databaseUrl: url, repo: "bench/db", environment: "s3", runId: null, commitSha: null }),
    };
    // Rounds interleave the cases, so a change in the machine's load (shared by other work) weighs on
    // each of them alike rather than on whichever ran during it.
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
    for (let i = 0; i < ROUNDS; i++) for (const [name, run] of Object.entries(cases)) times[name]!.push(await timed(run));
    const results: Record<string, number> = {};
    for (const name of Object.keys(cases)) {
      results[name] = median(times[name]!)!;
      console.log(`${name}_ms=${results[name]!.toFixed(0)}`);
    }
    await store.close();
    console.log(`ratio_raw=${(results.autopilot_local! / results.raw_pg_dump!).toFixed(3)}`);
    console.log(`ratio_s3=${(results.autopilot_s3! / results.raw_pg_dump!).toFixed(3)}`);
  } finally {
    await s3.close().catch(() => undefined);
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
