// Backups kept in a local directory, one folder per repository and environment:
//   <dir>/<owner>/<repo>/<environment>/<timestamp>_<id>.dump
// The names come from webhook-derived data, so each part must stay a single path segment: a name must
// never walk out of the backup directory. GitHub owner/repo names and our backup ids are always
// safe and are checked; environment names are free text in the server config, so they are encoded.
import { mkdirSync } from "node:fs";
import { access, rm } from "node:fs/promises";
import path from "node:path";

export interface BackupLocation {
  id: string;
  /** "owner/name" */
  repo: string;
  environment: string;
  createdAt: Date;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class LocalBackupStore {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = path.resolve(directory);
  }

  /** Where a backup goes; creates its folders (0700: dumps hold the whole database). */
  pathFor(b: BackupLocation): string {
    const folder = path.join(this.directory, ...backupFolder(b.repo, b.environment));
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    return path.join(folder, `${timestamp(b.createdAt)}_${segment("backup id", b.id)}.dump`);
  }

  /** Deletes a backup file; a file already gone is not an error (retention may run twice). */
  async remove(file: string): Promise<void> {
    await rm(this.inside(file), { force: true });
  }

  async exists(file: string): Promise<boolean> {
    return access(this.inside(file)).then(
      () => true,
      () => false,
    );
  }

  /** Paths come back from the audit store; refuse to touch anything outside our directory. */
  private inside(file: string): string {
    const resolved = path.resolve(file);
    const relative = path.relative(this.directory, resolved);
    if (!relative || relative.startsWith("..") || path.isAbsolute(relative)) {
      throw new Error(`refusing to touch a path outside the backup directory: ${file}`);
    }
    return resolved;
  }
}

/** owner, repository and encoded environment: the folders of a target's backups, locally and in object stores. */
export function backupFolder(repo: string, environment: string): string[] {
  const [owner, name, ...rest] = repo.split("/");
  if (!owner || !name || rest.length) throw new Error(`repository must be "owner/name": ${JSON.stringify(repo)}`);
  return [segment("owner", owner), segment("repository", name), encodeSegment(environment)];
}

export function segment(what: string, value: string): string {
  if (!SEGMENT.test(value) || value.length > 200) throw new Error(`invalid ${what} for a backup path: ${JSON.stringify(value)}`);
  return value;
}

/** Percent-encodes anything but [A-Za-z0-9_-] (and '.' after the first character): one-to-one, so two
 *  environments never share a folder, and never ".", ".." or a separator. */
function encodeSegment(value: string): string {
  if (!value) throw new Error("invalid environment for a backup path: empty");
  return [...Buffer.from(value, "utf8")]
    .map((byte, i) => {
      const ch = String.fromCharCode(byte);
      return /[A-Za-z0-9_-]/.test(ch) || (ch === "." && i > 0) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

/** 20250127T120000123Z: sorts by time as text, and has no ':' (invalid in Windows file names). */
export function timestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new Error("invalid backup date");
  return date.toISOString().replace(/[-:.]/g, "");
}
