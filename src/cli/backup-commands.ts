// `autopilot backup`: the same domain code the jobs run, for an operator's terminal (`restore` is in
// restore-commands.ts). Progress goes to stderr, the result line to stdout; a failure prints one redacted line
// and exits 1, never a stack trace. The database code (and pg) is imported when a command runs, so
// other commands start without it.
import path from "node:path";
import type { Command } from "commander";
import type { BackupResult } from "../database/backup.js";
import { connectionOptions, resolveDatabaseUrl, runCommand, type ConnectionFlags } from "./common.js";

const DEFAULT_DIRECTORY = "./.autopilot/backups";

export function registerBackupCommands(program: Command): void {
  connectionOptions(program.command("backup"))
    .description("dump a database (pg_dump custom format), verify the archive and write it atomically")
    .option("--out <file>", "write the backup to this file")
    .option("--dir <directory>", `write <database>_<timestamp>.dump into this directory (default ${DEFAULT_DIRECTORY})`)
    .action((flags: ConnectionFlags & { out?: string; dir?: string }) => runCommand(() => backupCommand(flags)));
}

async function backupCommand(flags: ConnectionFlags & { out?: string; dir?: string }): Promise<void> {
  if (flags.out && flags.dir) throw new Error("give either --out or --dir, not both");
  const databaseUrl = resolveDatabaseUrl(flags);
  const { databaseName } = await import("../database/pg-tools.js");
  const { backupDatabase } = await import("../database/backup.js");
  const file = flags.out ?? defaultBackupPath(flags.dir ?? DEFAULT_DIRECTORY, databaseName(databaseUrl));
  const result = await backupDatabase({ databaseUrl, file, onProgress: progress });
  console.log(`backup written: ${result.file} (${describe(result)})`);
}

export function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

export function defaultBackupPath(directory: string, database: string): string {
  const safeName = database.replace(/[^A-Za-z0-9._-]/g, "_");
  const stamp = new Date().toISOString().replace(/[-:.]/g, "");
  return path.join(directory, `${safeName}_${stamp}.dump`);
}

function describe(result: BackupResult): string {
  return `${formatBytes(result.sizeBytes)}, sha256 ${result.sha256}, ${formatDuration(result.durationMs)}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
