// Migration files: names, versions, checksums and contents. A file's checksum is its git blob SHA-1,
// so the runbook can compare the history with a git trees listing (which carries blob SHAs) and
// download only the blobs it does not know yet.
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, type Dirent } from "node:fs";
import path from "node:path";
import { parseDirectives, type Directives } from "./directives.js";
import type { Problem } from "./errors.js";
import {
  detectLayout,
  hasDbmateMarkers,
  layoutNamed,
  SUPABASE_DIRECTORY,
  type Detection,
  type LayoutChoice,
  type LayoutName,
  type MigrationLayout,
} from "./layouts/index.js";

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
  /** The layout the file was named in (absent: autopilot's). */
  layout?: LayoutName;
  /** A Flyway repeatable: re-run whenever its checksum changes, after the versioned files. */
  repeatable?: boolean;
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

/**
 * Versions compare numerically, part by part: `0001` and `1` are one version, and so are Flyway's
 * `1.0` and `1`; `1.2` < `1.10` < `2`. Anything else (a Flyway repeatable's `R__<name>`) is its own key.
 */
export function versionKey(version: string): string {
  if (!isVersioned(version)) return version;
  const parts = version.split(".").map((part) => BigInt(part).toString());
  while (parts.length > 1 && parts.at(-1) === "0") parts.pop();
  return parts.join(".");
}

const VERSIONED = /^\d+(\.\d+)*$/;

/** A numbered version, as opposed to a repeatable migration's name. */
export function isVersioned(version: string): boolean {
  return VERSIONED.test(version);
}

/** Numbered versions first, in numeric order; repeatables after them, by name (as Flyway runs them). */
export function compareVersions(a: string, b: string): number {
  if (isVersioned(a) !== isVersioned(b)) return isVersioned(a) ? -1 : 1;
  if (!isVersioned(a)) return a < b ? -1 : a > b ? 1 : 0;
  const [x, y] = [a.split(".").map(BigInt), b.split(".").map(BigInt)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const [p, q] = [x[i] ?? 0n, y[i] ?? 0n];
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

export function parseMigrationFilename(filename: string): { version: string; name: string; kind: "up" | "down" } | null {
  const parsed = layoutNamed("autopilot").parse(filename);
  return parsed && { version: parsed.version, name: parsed.name, kind: parsed.role === "down" ? "down" : "up" };
}

export interface MigrationIndex {
  refs: MigrationRef[];
  problems: Problem[];
  /** The layout used, and whether it was set or detected (the plan shows which). */
  layout: LayoutChoice;
  /** The directory read: `supabase/migrations` stands in for an absent default `migrations`. */
  directory: string;
}

/**
 * Builds the refs of a directory from a tree listing (path + blob SHA), without any file content,
 * in the given layout or the one its file names give away. Reports file-level problems only (bad
 * names, a down file without its up file); duplicates, order and integrity against the history are
 * the planner's job. `contentOf` (the CLI has the files) lets detection recognise dbmate files.
 */
export function indexMigrations(
  entries: Array<{ path: string; sha: string }>,
  configuredDirectory: string,
  layout?: LayoutName,
  contentOf?: (path: string) => string | undefined,
): MigrationIndex {
  const directory = resolveDirectory(entries, configuredDirectory);
  const inDirectory = entriesUnder(entries, directory);
  const detection: Detection = layout
    ? { choice: { name: layout } }
    : detectLayout(
        inDirectory.map((e) => e.relative),
        directory,
        contentOf && ((relative) => contentOf(path.posix.join(directory, relative))),
      );
  if ("error" in detection) {
    const problem: Problem = { code: "ambiguous-layout", path: directory || ".", message: detection.error, severity: "error" };
    return { refs: [], problems: [problem], layout: { name: "autopilot", detectedFrom: [] }, directory };
  }
  return { ...indexInLayout(inDirectory, layoutNamed(detection.choice.name)), layout: detection.choice, directory };
}

/**
 * dbmate's files are named like Autopilot's: only the `-- migrate:up` line inside tells them apart. A
 * listing carries no content, so where the layout was detected as autopilot's, one file's content
 * (`sample`, a file the caller downloads anyway) decides: with dbmate's markers the listing is
 * indexed again as dbmate's; otherwise the index stands (undefined).
 */
export function dbmateIndexFromSample(
  entries: Array<{ path: string; sha: string }>,
  index: MigrationIndex,
  sample: { path: string; content: Buffer | string },
): MigrationIndex | undefined {
  if (index.layout.name !== "autopilot" || !index.layout.detectedFrom) return undefined;
  const text = sample.content.toString();
  if (!hasDbmateMarkers(text)) return undefined;
  return indexMigrations(entries, index.directory, undefined, (filePath) => (filePath === sample.path ? text : undefined));
}

type DirectoryEntry = { path: string; sha: string; relative: string };

function indexInLayout(entries: DirectoryEntry[], layout: MigrationLayout): { refs: MigrationRef[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const refs: MigrationRef[] = [];
  const upByKey = new Map<string, MigrationRef>();
  const downs: Array<DirectoryEntry & { key: string }> = [];

  for (const entry of entries) {
    const unread = layout.unread?.(entry.relative);
    if (unread) problems.push({ code: "unread-file", path: entry.path, message: unread, severity: "warning" });
  }
  for (const entry of entries.filter((e) => layout.considers(e.relative))) {
    const parsed = layout.parse(entry.relative);
    if (!parsed) {
      problems.push(badFilename(entry.path, entry.relative, layout.naming));
      continue;
    }
    if (parsed.role === "down") {
      downs.push({ ...entry, key: parsed.key });
      continue;
    }
    const ref: MigrationRef = {
      version: parsed.version,
      name: parsed.name,
      filename: entry.relative,
      path: entry.path,
      checksum: entry.sha,
      layout: layout.name,
    };
    if (parsed.role === "repeatable") ref.repeatable = true;
    // dbmate's down half is in the file itself.
    if (layout.sections) Object.assign(ref, { downPath: entry.path, downChecksum: entry.sha });
    refs.push(ref);
    if (!upByKey.has(parsed.key)) upByKey.set(parsed.key, ref);
  }

  for (const down of downs) {
    const up = upByKey.get(down.key);
    if (up) Object.assign(up, { downPath: down.path, downChecksum: down.sha });
    else problems.push({ code: "orphan-down", path: down.path, message: `${down.relative} has no matching migration to undo`, severity: "warning" });
  }
  refs.sort((a, b) => compareVersions(a.version, b.version) || a.filename.localeCompare(b.filename));
  return { refs, problems };
}

/** The default `migrations` directory, when absent, gives way to the Supabase CLI's `supabase/migrations`. */
export function resolveDirectory(entries: Array<{ path: string }>, directory: string): string {
  if (directory !== DEFAULT_DIRECTORY || entriesUnder(entries, directory).length > 0) return directory;
  return entriesUnder(entries, SUPABASE_DIRECTORY).length > 0 ? SUPABASE_DIRECTORY : directory;
}

export const DEFAULT_DIRECTORY = "migrations";

/** Entries in the directory or one folder down (the folder-per-migration layouts), with their path relative to it. */
function entriesUnder<T extends { path: string }>(entries: T[], directory: string): Array<T & { relative: string }> {
  const normalized = path.posix.normalize(directory || ".").replace(/\/+$/, "");
  const dir = normalized === "." ? "" : normalized;
  const prefix = dir ? `${dir}/` : "";
  return entries.flatMap((e) => {
    const p = path.posix.normalize(e.path);
    const relative = p.slice(prefix.length);
    return p.startsWith(prefix) && relative.split("/").length <= 2 ? [{ ...e, relative }] : [];
  });
}

function badFilename(filePath: string, relative: string, naming: string): Problem {
  return { code: "bad-filename", path: filePath, message: `bad file name "${relative}": ${naming}`, severity: "error" };
}

/**
 * Decodes strictly; a BOM is dropped from the SQL (the checksum still covers the raw bytes). isUtf8
 * then toString: a fatal TextDecoder took several times longer over a directory of files.
 */
function decode(content: Buffer | string, filePath: string): { text?: string; problem?: Problem } {
  if (typeof content === "string") return { text: content.replace(/^\uFEFF/, "") };
  if (!isUtf8(content)) {
    return { problem: { code: "not-utf8", path: filePath, message: `${path.posix.basename(filePath)} is not valid UTF-8`, severity: "error" } };
  }
  return { text: content.toString("utf8").replace(/^\uFEFF/, "") };
}

/**
 * Turns a ref plus its content (and its down file's) into a runnable file, checking encoding, integrity
 * and directives. `shaOf`: a caller that has hashed these very bytes already answers from what it has.
 */
export function readMigration(
  ref: MigrationRef,
  content: Buffer | string,
  down?: Buffer | string,
  shaOf: (content: Buffer | string) => string = gitBlobSha,
): { file?: MigrationFile; problems: Problem[] } {
  const problems: Problem[] = [];
  const checksum = shaOf(content);
  if (ref.checksum && ref.checksum !== checksum) {
    problems.push({ code: "checksum-mismatch", path: ref.path, message: `${ref.filename}: content does not match blob ${ref.checksum}`, severity: "error" });
  }
  const up = decode(content, ref.path);
  if (up.problem) problems.push(up.problem);
  if (up.text === undefined) return { problems };
  const sections = layoutSections(ref, up.text, checksum, problems);
  const downFile = sections.down ?? (down === undefined ? undefined : readDown(ref, down, shaOf(down), problems));

  const parsed = parseDirectives(sections.up, ref.path);
  problems.push(...parsed.problems);
  parsed.directives.noTransaction ||= sections.noTransaction;
  const file: MigrationFile = { ...ref, checksum, sql: sections.up, directives: parsed.directives };
  if (downFile) Object.assign(file, { down: downFile, downChecksum: downFile.checksum });
  return { file, problems };
}

/**
 * dbmate's file holds both halves. Any other layout runs the whole file, so a file with dbmate's
 * markers there is refused: its down half would run right after its up half.
 */
function layoutSections(
  ref: MigrationRef,
  text: string,
  checksum: string,
  problems: Problem[],
): { up: string; down?: MigrationFile["down"]; noTransaction: boolean } {
  const layout = layoutNamed(ref.layout ?? "autopilot");
  if (!layout.sections) {
    if ((layout.name === "autopilot" || layout.name === "supabase") && hasDbmateMarkers(text)) {
      const message = `${ref.filename} has dbmate's -- migrate:up/-- migrate:down sections; set migrations.layout: dbmate so only its up half is applied`;
      problems.push({ code: "wrong-layout", path: ref.path, message, severity: "error" });
    }
    return { up: text, noTransaction: false };
  }
  const sections = layout.sections(text);
  for (const p of sections.problems) problems.push({ code: "bad-sections", path: ref.path, line: p.line, message: p.message, severity: "error" });
  const down = sections.down === undefined ? undefined : { path: ref.path, sql: sections.down, checksum };
  return { up: sections.up, down, noTransaction: sections.noTransaction };
}

/**
 * The SQL that undoes a ref, from the bytes of its down file (for dbmate, the file itself); undefined
 * when there is none (a dbmate file without a `-- migrate:down` half).
 */
export function downSqlOf(ref: MigrationRef, content: Buffer): string | undefined {
  const layout = layoutNamed(ref.layout ?? "autopilot");
  const text = content.toString("utf8").replace(/^\uFEFF/, "");
  return layout.sections ? layout.sections(text).down : text;
}

function readDown(ref: MigrationRef, content: Buffer | string, checksum: string, problems: Problem[]): MigrationFile["down"] {
  const downPath = ref.downPath ?? ref.path.replace(/\.sql$/, ".down.sql");
  const decoded = decode(content, downPath);
  if (decoded.problem) problems.push(decoded.problem);
  return decoded.text === undefined ? undefined : { path: downPath, sql: decoded.text, checksum };
}

export interface LoadedDirectory {
  files: MigrationFile[];
  problems: Problem[];
  layout: LayoutChoice;
}

/**
 * Reads a local migrations directory (CLI, bench, the store's own migrations) in the given layout,
 * or the one detected from its files (contents included: dbmate's markers). Paths are `dir/…`.
 */
export async function loadMigrationDirectory(dir: string, layout?: LayoutName): Promise<LoadedDirectory> {
  // Synchronous reads on purpose: this runs in the CLI and at start-up, never while serving, and for
  // hundreds of small files it is several times faster than as many thread-pool round trips.
  const contents = new Map<string, Buffer>();
  for (const relative of sqlFilesIn(dir)) contents.set(path.posix.join(toPosix(dir), relative), readFileSync(path.join(dir, relative)));

  // Each file hashed once: the index is built from these SHAs, and readMigration's check reuses them.
  const shas = new Map([...contents.values()].map((bytes) => [bytes, gitBlobSha(bytes)]));
  const shaOf = (bytes: Buffer | string) => (typeof bytes !== "string" && shas.get(bytes)) || gitBlobSha(bytes);
  const entries = [...contents].map(([filePath, bytes]) => ({ path: filePath, sha: shaOf(bytes) }));
  const index = indexMigrations(entries, toPosix(dir), layout, (filePath) => contents.get(filePath)?.toString("utf8"));
  const problems = [...index.problems];
  const files: MigrationFile[] = [];
  for (const ref of index.refs) {
    const down = ref.downPath && ref.downPath !== ref.path ? contents.get(ref.downPath) : undefined;
    const read = readMigration(ref, contents.get(ref.path)!, down, shaOf);
    problems.push(...read.problems);
    if (read.file) files.push(read.file);
  }
  return { files, problems, layout: index.layout };
}

/** `.sql` files (and diesel's metadata.toml, to warn about) in the directory and one folder down, relative to it. */
function sqlFilesIn(dir: string): string[] {
  const isSql = (d: Dirent) => d.isFile() && (d.name.toLowerCase().endsWith(".sql") || d.name === "metadata.toml");
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (isSql(d)) return [d.name];
    if (!d.isDirectory()) return [];
    return readdirSync(path.join(dir, d.name), { withFileTypes: true })
      .filter(isSql)
      .map((inner) => `${d.name}/${inner.name}`);
  });
}

const toPosix = (p: string) => p.split(path.sep).join("/");
