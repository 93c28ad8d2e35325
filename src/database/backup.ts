// Backs a target database up with pg_dump's custom format. The dump is written under a temporary
// name beside the final file (hashed as it is written), proven readable with `pg_restore --list`,
// and only then renamed into place: a backup file that exists is always a complete, verified one.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { connectionEnv, runTool, startTool, ToolError } from "./pg-tools.js";
import { redact } from "../redact.js";

export interface BackupResult {
  file: string;
  sizeBytes: number;
  sha256: string;
  durationMs: number;
  /** Archive entries pg_restore reports (an empty database still has a few: encoding, search_path). */
  tocEntries: number;
  serverVersion?: string;
}

export type BackupStage = "dump" | "verify";

export class BackupError extends Error {
  constructor(
    readonly stage: BackupStage,
    message: string,
  ) {
    super(message);
    this.name = "BackupError";
  }
}

export interface BackupOptions {
  databaseUrl: string;
  file: string;
  onProgress?: (line: string) => void;
  /** pg_dump waits at most this long for each table's shared lock, so a backup never queues for ever
   *  behind a session holding an exclusive lock. Default 60 s. */
  lockWaitTimeoutMs?: number;
  /** Gets the dump's bytes as pg_dump writes them, so an upload overlaps the dump; ended after the
   *  last byte, destroyed with the error when the dump fails. Its backpressure slows the dump. */
  tap?: Writable;
}

/**
 * pg_dump writes the archive to its stdout; this process hashes it and writes it to the partial file
 * (and the tap) in the same pass, so nothing reads the file again. Only `pg_restore --list` does,
 * and it reads the table of contents at the archive's start.
 */
export async function backupDatabase(opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const file = path.resolve(opts.file);
  const partial = await createPartialFile(file);
  try {
    const { sizeBytes, sha256 } = await dump(opts, partial);
    const toc = await verify(partial, opts.onProgress);
    await rename(partial, file);
    await fsyncDirectory(path.dirname(file));
    return { file, sizeBytes, sha256, durationMs: Date.now() - started, ...toc };
  } catch (error) {
    const failure = error instanceof BackupError ? error : new BackupError("dump", redact(String((error as Error).message ?? error)));
    opts.tap?.destroy(failure);
    await rm(partial, { force: true });
    throw failure;
  }
}

/** An empty 0600 file under a unique name in the target's directory (same file system → atomic rename).
 *  Opening it again for writing keeps the mode, so the dump is never world-readable. */
async function createPartialFile(file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.partial`);
  const handle = await open(partial, "wx", 0o600);
  await handle.close();
  return partial;
}

async function dump(opts: BackupOptions, partial: string): Promise<{ sizeBytes: number; sha256: string }> {
  let conn;
  try {
    conn = connectionEnv(opts.databaseUrl);
  } catch (error) {
    throw new BackupError("dump", (error as Error).message);
  }
  const lockWait = `${opts.lockWaitTimeoutMs ?? 60_000}ms`;
  const args = ["--format=custom", "--verbose", "--no-password", `--lock-wait-timeout=${lockWait}`, ...conn.args];
  const handle = await open(partial, "w");
  try {
    const tool = startTool("pg_dump", args, { env: conn.env, secrets: conn.secrets, onStderr: opts.onProgress });
    const sink = fileAndTap(handle, opts.tap);
    // Writing failed (disk full, the upload gone): pg_dump is stopped and the write's error is the one
    // to report. Otherwise pg_dump's exit says whether the dump is whole.
    const [written] = await Promise.allSettled([pipeline(tool.stdout, sink.writable).catch((e) => (tool.kill(), Promise.reject(e))), tool.done]);
    if (written.status === "rejected") throw written.reason;
    await tool.done;
    // pg_dump fsyncs a file it writes itself; its output through a pipe is this process's to make durable.
    await handle.sync();
    return { sizeBytes: sink.bytes(), sha256: sink.sha256() };
  } catch (error) {
    throw new BackupError("dump", toolMessage("pg_dump failed", error));
  } finally {
    await handle.close();
  }
}

/** Writes each chunk to the file and the tap (waiting for both), hashing it on the way. */
function fileAndTap(handle: FileHandle, tap: Writable | undefined): { writable: Writable; bytes: () => number; sha256: () => string } {
  const hash = createHash("sha256");
  let bytes = 0;
  const writable = new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      const tapped = tap ? writeTo(tap, chunk) : undefined;
      Promise.all([handle.write(chunk), tapped]).then(() => done(), done);
    },
    final(done) {
      tap?.end();
      done();
    },
  });
  let hex: string | undefined;
  return { writable, bytes: () => bytes, sha256: () => (hex ??= hash.digest("hex")) };
}

/** Resolves once `stream` can take more; rejects when it is gone (the upload failed). */
async function writeTo(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed) throw stream.errored ?? new Error("the upload stopped reading the dump");
  if (!stream.write(chunk)) await once(stream, "drain");
}

/** Reads the archive's table of contents back: a dump pg_restore cannot list is not a backup. */
async function verify(partial: string, onProgress?: (line: string) => void): Promise<Pick<BackupResult, "tocEntries" | "serverVersion">> {
  let listing: string;
  try {
    listing = (await runTool("pg_restore", ["--list", partial])).stdout;
  } catch (error) {
    throw new BackupError("verify", toolMessage("the dump could not be read back", error));
  }
  const toc = parseTocHeader(listing);
  if (!toc.tocEntries) throw new BackupError("verify", "the dump's table of contents is empty");
  onProgress?.(`verified: ${toc.tocEntries} TOC entries`);
  return toc;
}

/** `pg_restore --list` starts with a header (";     TOC Entries: 10", "; Dumped from database version: 15.18"). */
export function parseTocHeader(listing: string): { tocEntries: number; serverVersion?: string } {
  const entries = /^;\s+TOC Entries:\s*(\d+)/m.exec(listing);
  const version = /^;\s+Dumped from database version:\s*(\S+)/m.exec(listing);
  return { tocEntries: entries ? Number(entries[1]) : 0, ...(version ? { serverVersion: version[1] } : {}) };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Makes the rename itself durable; some file systems refuse to fsync a directory, which is fine. */
async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}

function toolMessage(prefix: string, error: unknown): string {
  const detail = error instanceof ToolError ? error.detail : String((error as Error)?.message ?? error);
  return redact(`${prefix}: ${detail}`);
}
