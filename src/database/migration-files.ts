// Migration files: names, versions, checksums and contents. A file's checksum is its git blob SHA-1,
// so the runbook can compare the history with a git trees listing (which carries blob SHAs) and
// download only the blobs it does not know yet.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseDirectives, type Directives } from "./directives.js";
import type { Problem } from "./errors.js";

export type { Problem } from "./errors.js";
export type { Directives } from "./directives.js";

export interface MigrationRef {
  version: string;
  name: string;
  filename: string;
  path: string;
  checksum: string;
  downPath?: string;
  downChecksum?: string;
}

export interface MigrationFile extends MigrationRef {
  sql: string;
  directives: Directives;
  down?: { path: string; sql: string; checksum: string };
}

/** `sha1("blob " + byteLength + "\0" + bytes)`: what `git hash-object` prints for the content. */
export function gitBlobSha(content: string | Buffer): string {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/** Versions compare numerically: `0001` and `1` are the same version. */
export function versionKey(version: string): bigint {
  return BigInt(version);
}

export function compareVersions(a: string, b: string): number {
  const [x, y] = [versionKey(a), versionKey(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

const MIGRATION_NAME = /^(\d+)_([^/\\]+?)(\.down)?\.sql$/;

export function parseMigrationFilename(filename: string): { version: string; name: string; kind: "up" | "down" } | null {
  const match = MIGRATION_NAME.exec(filename);
  if (!match || match[2].startsWith(".")) return null;
  return { version: match[1], name: match[2], kind: match[3] ? "down" : "up" };
}

/**
 * Builds the refs of a directory from a tree listing (path + blob SHA), without any file content.
 * Reports file-level problems only (bad names, a down file without its up file); duplicates,
 * order and integrity against the history are the planner's job.
 */
export function indexMigrations(entries: Array<{ path: string; sha: string }>, directory: string): { refs: MigrationRef[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const ups = new Map<string, MigrationRef>();
  const downs: Array<{ path: string; sha: string; key: string }> = [];

  for (const entry of entriesDirectlyIn(entries, directory)) {
    const filename = path.posix.basename(entry.path);
    if (!filename.toLowerCase().endsWith(".sql")) continue; // README.md, .gitkeep, …
    const parsed = parseMigrationFilename(filename);
    if (!parsed) {
      problems.push(badFilename(entry.path, filename));
      continue;
    }
    const key = `${parsed.version}_${parsed.name}`;
    if (parsed.kind === "down") downs.push({ path: entry.path, sha: entry.sha, key });
    else ups.set(key, { version: parsed.version, name: parsed.name, filename, path: entry.path, checksum: entry.sha });
  }

  for (const down of downs) {
    const up = ups.get(down.key);
    if (up) Object.assign(up, { downPath: down.path, downChecksum: down.sha });
    else
      problems.push({
        code: "orphan-down",
        path: down.path,
        message: `${path.posix.basename(down.path)} has no matching ${down.key}.sql`,
        severity: "warning",
      });
  }
  const refs = [...ups.values()].sort((a, b) => compareVersions(a.version, b.version) || a.filename.localeCompare(b.filename));
  return { refs, problems };
}

function entriesDirectlyIn<T extends { path: string }>(entries: T[], directory: string): T[] {
  const normalized = path.posix.normalize(directory || ".").replace(/\/+$/, "");
  const dir = normalized === "." ? "" : normalized;
  const prefix = dir ? `${dir}/` : "";
  return entries.filter((e) => {
    const p = path.posix.normalize(e.path);
    return p.startsWith(prefix) && !p.slice(prefix.length).includes("/");
  });
}

function badFilename(filePath: string, filename: string): Problem {
  return {
    code: "bad-filename",
    path: filePath,
    message: `bad file name "${filename}": migrations are named <version>_<name>.sql (digits, underscore, name), e.g. 0001_create_users.sql`,
    severity: "error",
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes strictly; a BOM is dropped from the SQL (the checksum still covers the raw bytes). */
function decode(content: Buffer | string, filePath: string): { text?: string; problem?: Problem } {
  if (typeof content === "string") return { text: content.replace(/^\uFEFF/, "") };
  try {
    return { text: utf8.decode(content).replace(/^\uFEFF/, "") };
  } catch {
    return { problem: { code: "not-utf8", path: filePath, message: `${path.posix.basename(filePath)} is not valid UTF-8`, severity: "error" } };
  }
}

/** Turns a ref plus its content (and its down file's) into a runnable file, checking encoding, integrity and directives. */
export function readMigration(ref: MigrationRef, content: Buffer | string, down?: Buffer | string): { file?: MigrationFile; problems: Problem[] } {
  const problems: Problem[] = [];
  const checksum = gitBlobSha(content);
  if (ref.checksum && ref.checksum !== checksum) {
    problems.push({ code: "checksum-mismatch", path: ref.path, message: `${ref.filename}: content does not match blob ${ref.checksum}`, severity: "error" });
  }
  const up = decode(content, ref.path);
  if (up.problem) problems.push(up.problem);
  const downFile = down === undefined ? undefined : readDown(ref, down, problems);
  if (up.text === undefined) return { problems };

  const parsed = parseDirectives(up.text, ref.path);
  problems.push(...parsed.problems);
  const file: MigrationFile = { ...ref, checksum, sql: up.text, directives: parsed.directives };
  if (downFile) Object.assign(file, { down: downFile, downChecksum: downFile.checksum });
  return { file, problems };
}

function readDown(ref: MigrationRef, content: Buffer | string, problems: Problem[]): MigrationFile["down"] {
  const downPath = ref.downPath ?? ref.path.replace(/\.sql$/, ".down.sql");
  const decoded = decode(content, downPath);
  if (decoded.problem) problems.push(decoded.problem);
  return decoded.text === undefined ? undefined : { path: downPath, sql: decoded.text, checksum: gitBlobSha(content) };
}

/** Reads a local migrations directory (CLI, bench, the store's own migrations). Paths are `dir/filename`. */
export async function loadMigrationDirectory(dir: string): Promise<{ files: MigrationFile[]; problems: Problem[] }> {
  // Synchronous reads on purpose: this runs in the CLI and at start-up, never while serving, and for
  // hundreds of small files it is several times faster than as many thread-pool round trips.
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
  const contents = new Map<string, Buffer>();
  for (const name of names.filter((n) => n.toLowerCase().endsWith(".sql"))) contents.set(name, readFileSync(path.join(dir, name)));

  const entries = [...contents].map(([name, bytes]) => ({ path: path.posix.join(toPosix(dir), name), sha: gitBlobSha(bytes) }));
  const { refs, problems } = indexMigrations(entries, toPosix(dir));
  const files: MigrationFile[] = [];
  for (const ref of refs) {
    const down = ref.downPath ? contents.get(path.posix.basename(ref.downPath)) : undefined;
    const read = readMigration(ref, contents.get(ref.filename)!, down);
    problems.push(...read.problems);
    if (read.file) files.push(read.file);
  }
  return { files, problems };
}

const toPosix = (p: string) => p.split(path.sep).join("/");
