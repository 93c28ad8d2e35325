// `autopilot backups list|download|verify`: the backups recorded in Autopilot's store (DATABASE_URL, or the
// local cluster in .autopilot/pgdata), as the App took them. Store code (and pg) is imported when a
// command runs, so other commands start without it.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, rename, rm } from "node:fs/promises";
import type { Command } from "commander";
import { registerSecret } from "../redact.js";
import type { BackupRecord } from "../store/backups.js";
import { resolveShadowUrl, runCommand, shadowOptions, type ShadowFlags } from "./common.js";

export function registerBackupsCommands(program: Command): void {
  const backups = program.command("backups").description("the backups recorded in Autopilot's store");
  backups
    .command("list")
    .description("backups still held, newest first")
    .option("--repo <owner/name>", "only this repository")
    .option("--environment <name>", "only this environment")
    .option("--limit <n>", "how many, newest first", "50")
    .option("--json", "one JSON object per line")
    .action((flags: ListFlags) => runCommand(() => listBackups(flags)));
  backups
    .command("download")
    .description("copy a backup to a file, checked against the sha256 recorded when it was taken")
    .requiredOption("--id <backup-id>", "the backup's id (bk_…)")
    .requiredOption("--out <file>", "where to write it")
    .action((flags: { id: string; out: string }) => runCommand(() => downloadBackup(flags)));
  shadowOptions(
    backups
      .command("verify")
      .description("restore drill: restore a backup into a scratch database on the shadow server and compare row counts; exit 1 when it fails")
      .requiredOption("--id <backup-id>", "the backup's id (bk_…)")
      .option("--server-config <file>", "the server config naming the backup's store and keys (default: $AUTOPILOT_SERVER_CONFIG)"),
  ).action((flags: VerifyFlags) => runCommand(() => verifyBackup(flags)));
}

interface VerifyFlags extends ShadowFlags {
  id: string;
  serverConfig?: string;
}

/** One drill by hand, recorded like the scheduler's (the incident issue is the scheduled drills' to open and close). */
async function verifyBackup(flags: VerifyFlags): Promise<void> {
  const shadowUrl = resolveShadowUrl(flags, "the backup is restored into a scratch database there");
  const { readEnvironment } = await import("../config/environment.js");
  const env = readEnvironment();
  const { loadServerConfig } = await import("../config/server-config.js");
  const { backupSecretValues, resolveBackupSettings } = await import("../config/backup-config.js");
  const { getBackup } = await import("../store/backups.js");
  const { drillBackup } = await import("../backups/restore-drill.js");
  const config = await loadServerConfig(flags.serverConfig ?? env.AUTOPILOT_SERVER_CONFIG);
  for (const secret of backupSecretValues(config)) registerSecret(secret);
  const drill = await withStore(async (db) => {
    const backup = await getBackup(db, flags.id);
    if (!backup) throw new Error(`no backup ${flags.id} is recorded in the store`);
    const settings = resolveBackupSettings(config, backup.repo, backup.environment);
    return drillBackup({
      db,
      backup,
      settings,
      shadowUrl,
      runId: null,
      onDropError: (error) => console.error(`warning: ${error.message}`),
    });
  });
  for (const t of drill.tables) console.log([t.table, t.recorded ?? "-", t.restored ?? "missing"].join("\t"));
  if (!drill.ok) throw new Error(`restore drill failed: ${drill.details}`);
  console.log(`restore drill passed: ${drill.details}`);
}

type ListFlags = { repo?: string; environment?: string; limit: string; json?: boolean };

async function listBackups(flags: ListFlags): Promise<void> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error("--limit must be a positive whole number");
  const { findBackups } = await import("../store/backups.js");
  const found = await withStore((db) => findBackups(db, { repo: flags.repo, environment: flags.environment, limit }));
  for (const b of found) {
    if (flags.json) console.log(JSON.stringify(b));
    else console.log([b.id, b.createdAt.toISOString(), b.repo, b.environment, b.status, b.sizeBytes ?? "-", b.path ?? b.error ?? "-"].join("\t"));
  }
  if (!flags.json && found.length === 0) console.error("no backups");
}

async function downloadBackup(flags: { id: string; out: string }): Promise<void> {
  const { getBackup } = await import("../store/backups.js");
  const backup = await withStore((db) => getBackup(db, flags.id));
  if (!backup) throw new Error(`no backup ${flags.id} is recorded in the store`);
  if (backup.status !== "ok" || !backup.path) throw new Error(`backup ${flags.id} is not usable (${backup.status})`);
  await copyVerified(backup, flags.out);
  console.log(`backup ${backup.id} written to ${flags.out} (sha256 ${backup.sha256})`);
}

/** Copies to a temporary name, checks the sha256, then renames: a bad copy never stands at `out`. */
async function copyVerified(backup: BackupRecord, out: string): Promise<void> {
  const partial = `${out}.partial`;
  try {
    await copyFile(backup.path!, partial);
    const actual = await sha256Of(partial);
    if (backup.sha256 && actual !== backup.sha256) throw new Error(`backup ${backup.id} is damaged: sha256 ${actual}, recorded ${backup.sha256}`);
    await rename(partial, out);
  } finally {
    await rm(partial, { force: true });
  }
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

/** Autopilot's store (DATABASE_URL, or the local cluster), open while `use` runs. */
export async function withStore<T>(use: (db: import("pg").Pool) => Promise<T>): Promise<T> {
  const { readEnvironment } = await import("../config/environment.js");
  const env = readEnvironment();
  const { openStore, resolveStoreUrl } = await import("../store/store.js");
  const { url } = await resolveStoreUrl(env.DATABASE_URL, env.AUTOPILOT_DATA_DIR);
  registerSecret(url);
  const store = await openStore(url);
  try {
    return await use(store.pool);
  } finally {
    await store.close();
  }
}
