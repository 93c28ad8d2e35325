// Object keys of remote backups: <prefix><owner>/<repo>/<environment>/<backup-id>-<timestamp>.dump
// (".dump.enc" when encrypted). The segments follow the local store's rules (the environment
// percent-encoded), so a key never holds "..", a separator or a character a store refuses.
import { backupFolder, segment, timestamp } from "./local-store.js";

export interface ObjectKeyParts {
  prefix: string;
  id: string;
  repo: string;
  environment: string;
  createdAt: Date;
  encrypted: boolean;
}

/** The final key, and the temporary one the upload goes to until it is verified. */
export function backupObjectKeys(parts: ObjectKeyParts): { key: string; temporaryKey: string } {
  const folder = backupFolder(parts.repo, parts.environment).join("/");
  const name = `${segment("backup id", parts.id)}-${timestamp(parts.createdAt)}.dump${parts.encrypted ? ".enc" : ""}`;
  return { key: `${parts.prefix}${folder}/${name}`, temporaryKey: `${parts.prefix}${folder}/.partial-${name}` };
}

/**
 * Where a backup lives, for people: the object key in a remote store; for a local file, its path
 * under the backup directory (owner/repo/environment/file) — the server's own directories are not
 * for readers of a comment or a dashboard.
 */
export function shownLocation(b: { store?: string | null; path: string | null }): string {
  if (!b.path) return "—";
  return (b.store ?? "local") === "local" ? b.path.split(/[\\/]/).slice(-4).join("/") : b.path;
}
